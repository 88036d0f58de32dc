import { randomUUID } from 'node:crypto'
import { readFileSync } from 'node:fs'
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify'
import helmet from '@fastify/helmet'
import rateLimit from '@fastify/rate-limit'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { DestinationStream } from 'pino'
import authPlugin from './auth/plugin.js'
import type { Config } from './config.js'
import { compilersFactory } from './compilers.js'
import { installSm2Pool } from './crypto/sm2Pool.js'
import { installOfdPool } from './ofd/pool.js'
import { openDatabase, type Database } from './db/client.js'
import { runMigrations } from './db/migrate.js'
import { AppError, clientErrorHandler, frameworkErrors, installErrorHandlers } from './errors.js'
import { healthRoutes } from './health/routes.js'
import { connectionLimits, installDraining } from './draining.js'
import { createLogger, maskPersonalData } from './logging.js'
import { ProblemSchema, refuseUnstorableText } from './schemas.js'
import { CertificateView } from './certificates/read.js'
import { ReceiptSchema } from './audit/receipts.js'
import { typeRoutes } from './types/routes.js'
import { issuerRoutes } from './issuers/routes.js'
import { certificateRoutes } from './certificates/routes.js'
import { grantRoutes } from './grants/routes.js'
import { lookupRoutes } from './lookup/routes.js'
import { verifyRoutes } from './verify/routes.js'
import { trustRoutes } from './trust/routes.js'
import { meRoutes } from './me/routes.js'
import { auditRoutes } from './audit/routes.js'
import { createTransparencyLog, type TransparencyLog } from './log/integrator.js'
import { logRoutes } from './log/routes.js'
import { polishOpenApi } from './openapi.js'
import { problemRoutes } from './problems/routes.js'
import { publicRoutes } from './public/routes.js'
import { presentRoutes } from './present/routes.js'
import { holderPageRoutes } from './pages/routes.js'
import { seedExampleCatalogue } from './types/seed.js'
import { seedExampleIssuers } from './issuers/seed.js'

export const VERSION: string = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version

export interface AppDeps {
  /** An open database; when absent the app opens one from config and closes it on close. */
  database?: Database
  /** Apply pending migrations before serving (default true). */
  migrate?: boolean
  /** Where log lines go (tests capture them); stdout by default. */
  logStream?: DestinationStream
  /** The Merkle log's appender; by default this process appends (src/cluster.ts: a worker asks its primary). */
  transparencyLog?: (db: Database['db']) => TransparencyLog
}

// A client-supplied request id is kept (as a correlation hint) only when it cannot smuggle anything into logs.
const SAFE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/

declare module 'fastify' {
  interface FastifyInstance {
    /** The Merkle log every audit and access event goes into (src/log/). */
    transparencyLog: TransparencyLog
  }
  interface FastifyRequest {
    /**
     * Every event this request wrote is in the Merkle log already, in a signed checkpoint (a push
     * stored by the log's own statement): its answer need not wait for an append.
     */
    eventsInTree: boolean
    /**
     * The x-request-id the client sent, when it is safe to keep: stored beside the service's own
     * request id, never instead of it (two organisations may send the same one).
     */
    clientRequestId: string | null
  }
}

/** Pending migrations, then (in development) the example catalogue and issuers. */
export async function prepareDatabase(config: Config, database: Database): Promise<void> {
  await runMigrations(database)
  if (config.seedExamples) {
    await seedExampleCatalogue(database.db)
    await seedExampleIssuers(database.db, config.trustAnchors)
  }
}

/** Builds the whole service: the same in production, in the CLI's tools and in tests. */
export async function buildApp(config: Config, deps: AppDeps = {}): Promise<FastifyInstance> {
  const ownsDatabase = !deps.database
  const database = deps.database ?? (await openDatabase(config.database))
  // Whoever prepares the database (migrations) also seeds it; a cluster's primary does both once.
  if (deps.migrate ?? true) await prepareDatabase(config, database)

  const app = Fastify({
    loggerInstance: createLogger(config.logLevel, deps.logStream) as FastifyBaseLogger,
    bodyLimit: config.bodyLimit,
    ...connectionLimits(config.requestTimeoutMs),
    trustProxy: config.trustProxy,
    requestIdHeader: false,
    logController: new LogController({ requestIdLogLabel: 'requestId' }),
    // Always the service's own: audit events, receipts and problems name requests by it.
    genReqId: () => randomUUID(),
    // Unknown properties are an error, never silently dropped; report every failing field.
    // GB/T 36904 identifiers run past Fastify's default 100-character path parameters.
    routerOptions: { maxParamLength: 256 },
    ajv: { customOptions: { removeAdditional: false, allErrors: true, coerceTypes: false } },
    // Route schemas are compiled once per process, not once per app (src/compilers.ts).
    schemaController: { compilersFactory },
    // Fastify's and Node's own refusals (bad URL, over-long segment, 431, malformed request line)
    // are problem+json with a stable code like every other error.
    frameworkErrors,
    clientErrorHandler,
  }).withTypeProvider<TypeBoxTypeProvider>()

  installErrorHandlers(app)
  installDraining(app)
  // One text check for every route, before its schema: no NUL or lone surrogate reaches the database.
  app.addHook('preValidation', refuseUnstorableText)
  app.addSchema(ProblemSchema)
  app.addSchema(CertificateView)
  app.addSchema(ReceiptSchema)
  app.decorateRequest('clientRequestId', null)
  app.decorateRequest('eventsInTree', false)
  app.addHook('onRequest', async (request, reply) => {
    const given = request.headers['x-request-id']
    // An ID number is no correlation id: it would be stored in clear beside the event.
    request.clientRequestId = typeof given === 'string' && SAFE_REQUEST_ID.test(given) && maskPersonalData(given) === given ? given : null
    reply.header('x-request-id', request.id)
    // API answers carry personal data (lookups, reads, a holder's own pages) or answer for a
    // caller's token: no shared or browser cache may keep them, errors included.
    if (request.url.startsWith('/v1/')) reply.header('cache-control', 'no-store')
  })
  if (ownsDatabase) app.addHook('onClose', () => database.close())
  // SM2 signatures are JavaScript arithmetic: checked on worker threads, started on the first one.
  // A worker that cannot start makes every SM2 signature fail to verify: say so loudly.
  const sm2 = installSm2Pool(config.sm2Threads, (err) => app.log.error({ err }, 'an SM2 verification worker failed: SM2 signatures do not verify until one starts'))
  app.addHook('onClose', () => sm2.close())
  // Sealed OFD files (unzip, SM3, SM2 in JavaScript) too: a pushed or presented file holds no other request.
  const ofd = installOfdPool(config.ofdThreads, (err) => app.log.error({ err }, 'an OFD verification worker failed: the file is refused (VERIFIER_FAILED)'))
  app.addHook('onClose', () => ofd.close())

  // JSON API: no HTML of ours needs a CSP except /docs, which sets its own (staticCSP).
  await app.register(helmet, { contentSecurityPolicy: false, global: true })
  if (config.rateLimit.max > 0) {
    await app.register(rateLimit, {
      global: false,
      max: config.rateLimit.max,
      timeWindow: config.rateLimit.windowMs,
      // Probes are not clients: a load balancer polling health must never be turned away.
      allowList: (req) => req.url === '/healthz' || req.url === '/readyz',
      errorResponseBuilder: (_req, ctx) => new AppError('RATE_LIMITED', `Rate limit of ${ctx.max} requests per ${ctx.after} exceeded`),
    })
    // As an instance hook it runs before every route's own hooks, so token guessing is limited too.
    // A route with its own limit (the anonymous ones, src/public/) is counted by that limit alone:
    // the plugin lets only the first limiter that runs on a request count it.
    const apiLimit = app.rateLimit()
    app.addHook('onRequest', function (request, reply) {
      return request.routeOptions.config?.rateLimit ? Promise.resolve() : apiLimit.call(this, request, reply)
    })
  }
  await app.register(swagger, {
    // Components are named by their $id (Problem, CertificateType…), not def-0, def-1.
    refResolver: { buildLocalReference: (json, _base, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
    // servers, named responses, problem+json, public routes: src/openapi.ts.
    transformObject: polishOpenApi,
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Zhengzhao (证照) electronic certificate library',
        version: VERSION,
        description:
          'Signed e-certificates keyed by the holder\'s ID number. Errors are RFC 9457 application/problem+json with a stable `code`. Certificates are signed ES256, EdDSA, RS256, PS256 or SM2 (SM2-with-SM3, ID 1234567812345678, signature r‖s, key JWK {"crv":"SM2","kty":"EC","x","y"}); receipts and trust bundles are signed by the service key (EdDSA, ES256 or SM2), published at /.well-known/jwks.json.',
      },
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
          // The holder's page (/me): the same token, kept by POST /me/sign-in (zhengzhao-holder over plain HTTP).
          holderCookie: { type: 'apiKey', in: 'cookie', name: '__Host-zhengzhao-holder', description: 'a holder bearer token, as POST /me/sign-in or the identity provider\'s integration sets it (pages only)' },
        },
      },
    },
  })
  await app.register(swaggerUi, { routePrefix: '/docs', staticCSP: true })
  await app.register(authPlugin, { config })

  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger())
  const transparencyLog = deps.transparencyLog?.(database.db) ?? createTransparencyLog(database.db, { origin: config.logOrigin, serviceKeys: config.serviceKeys })
  app.decorate('transparencyLog', transparencyLog)
  // A change (issuance, status, issuer keys, grants, catalogue) writes its event in its own
  // transaction; the answer waits until that event is in the tree too. A failed append is
  // logged, not turned into an error: the change is committed and the next append takes it.
  // (Lookups, reads, verifications and auditor searches wait in the access log itself.)
  const CHANGES = ['/v1/certificates', '/v1/issuers', '/v1/grants', '/v1/types']
  // A callback hook, not an async one: every other answer (an early 404 before its body is read
  // above all) goes on at once, without a turn of the event loop for the socket to fill buffers.
  app.addHook('onSend', (request, reply, payload, done) => {
    const route = request.routeOptions.url ?? ''
    if (request.method === 'GET' || request.method === 'HEAD' || reply.statusCode < 200 || reply.statusCode >= 300 || request.eventsInTree || !CHANGES.some((p) => route.startsWith(p))) return done(null, payload)
    transparencyLog.integrate().then(
      () => done(null, payload),
      (err: Error) => {
        request.log.error({ err: { message: err.message } }, 'events could not be appended to the log')
        done(null, payload)
      },
    )
  })
  await app.register(healthRoutes, { database })
  await app.register(typeRoutes, { db: database.db, config })
  await app.register(issuerRoutes, { db: database.db, config })
  await app.register(certificateRoutes, { db: database.db, config })
  await app.register(grantRoutes, { db: database.db, config })
  await app.register(lookupRoutes, { db: database.db, config })
  await app.register(verifyRoutes, { db: database.db, config })
  await app.register(trustRoutes, { db: database.db, config })
  await app.register(meRoutes, { db: database.db, config })
  await app.register(auditRoutes, { db: database.db, config })
  await app.register(logRoutes, { tlog: transparencyLog })
  await app.register(problemRoutes)
  // Anonymous: the scan-to-verify page (/v/{code}), its JSON form and POST /v1/public/verify.
  await app.register(publicRoutes, { db: database.db, config })
  // 亮证: a holder's one-time presentation (/v1/me/…/presentations) and its use (/s/{token}, its JSON form).
  await app.register(presentRoutes, { db: database.db, config })
  // The holder's page (/me) and its sign-in: cookies and form bodies are read in that scope only.
  await app.register(holderPageRoutes, { db: database.db, config })
  return app
}
