import { readFileSync, writeFileSync } from 'node:fs'
import { STATUS_CODES } from 'node:http'
import { fileURLToPath, pathToFileURL } from 'node:url'
import type { SwaggerTransformObject } from '@fastify/swagger'
import type { Database } from './db/client.js'
import { ERRORS } from './errors.js'

export const OPENAPI_FILE = fileURLToPath(new URL('../openapi.yaml', import.meta.url))

/**
 * What each success answer is, by operationId and status: a client generator names its types
 * after these, and `/docs` shows them. An operation missing here still gets "<status phrase>:
 * <summary>", never fastify-swagger's "Default Response" (test/openapi.test.ts checks).
 */
const SUCCESS: Record<string, Record<string, string>> = {
  getLiveness: { 200: 'The process is alive' },
  getReadiness: { 200: 'Ready: the database answers and every migration is applied', 503: 'Not ready: the database does not answer, a migration is not applied, or the service is shutting down' },
  listCertificateTypes: { 200: 'The catalogue of certificate types' },
  getCertificateType: { 200: 'The certificate type' },
  putCertificateType: { 200: 'The type was replaced', 201: 'The type was created' },
  putIssuer: { 200: 'The issuer was updated', 201: 'The issuer was registered' },
  getIssuer: { 200: 'The issuer, the types it may issue and its signing keys with their windows' },
  addIssuerKey: { 200: 'The issuer has this key already', 201: 'The key was added' },
  revokeIssuerKey: { 200: 'The key as it now stands: retired, or compromised from the given time' },
  pushCertificate: { 200: 'The same bytes are stored already: nothing changed', 201: 'The certificate was stored' },
  pushCertificateBatch: { 200: 'One result per item, in order: stored, unchanged, or refused with its code and problems' },
  changeCertificateStatus: { 200: 'The certificate\'s status and full history (a repeat changes nothing)' },
  putGrants: { 200: 'The organisation\'s grants were replaced', 201: 'The organisation\'s grants were created' },
  getGrants: { 200: 'The organisation\'s name and grants' },
  lookupCertificates: { 200: 'The holder\'s certificates of the granted types, and the receipt of this access' },
  readCertificate: { 200: 'The certificate, its status history and the receipt of this access' },
  verifyCertificate: { 200: 'The result code (0–6), every check with its outcome, the status, and the receipt of this verification' },
  getTrustBundle: { 200: 'The trust bundle, signed by the service key' },
  listMyCertificates: { 200: 'The holder\'s own certificates, every status' },
  listMyAccessLog: { 200: 'A page of accesses to the holder\'s certificates, newest first, with the cursor of the next' },
  listAuditEvents: { 200: 'A page of audit events, newest first, with the cursor of the next' },
  searchAuditEvents: { 200: 'A page of the holder\'s audit events, newest first, with the cursor of the next' },
  getInclusionProof: { 200: 'The leaf\'s inclusion proof in the tree of that size, with that size\'s signed checkpoint' },
  getConsistencyProof: { 200: 'The consistency proof between the two tree sizes, with the newer signed checkpoint' },
  getLogEntries: { 200: 'The leaves in the range, with their salts and openings' },
  getVerificationPage: { 200: 'The scan-to-verify page (HTML): the certificate verified now, the holder\'s name masked' },
  getPublicVerification: { 200: 'What the scan-to-verify page shows: the result, type, issuer, number, validity, status, the holder\'s name masked' },
  verifyPresented: { 200: 'The result code (0–6), every check and the stored status, nothing personal beyond what was presented' },
  rotateVerificationCode: { 201: 'The new verification code, its URL and QR code; the old one answers 404 from now on' },
}

const DEFAULT_DESCRIPTION = 'Default Response'
const PROBLEM_REF = '#/components/schemas/Problem'

/** "Not Found: RFC 9457 problem details; `code` is one of those with this status (ROUTE_NOT_FOUND, …)". */
function problemDescription(status: string): string {
  if (status === '4XX') return 'Refused before the route runs (400 INVALID_URL or MALFORMED_REQUEST, 408 REQUEST_TIMEOUT, 414 URI_TOO_LONG, 431 HEADERS_TOO_LARGE): RFC 9457 problem details'
  const codes = Object.entries(ERRORS).filter(([, e]) => String(e.status) === status).map(([code]) => code)
  return `${STATUS_CODES[Number(status)] ?? status}: RFC 9457 problem details; \`code\` is one of those with this status (${codes.join(', ')})`
}

interface Media { schema?: { $ref?: string } }
interface Response { description?: string; content?: Record<string, Media> }
interface Operation { operationId?: string; summary?: string; responses?: Record<string, Response>; requestBody?: { content?: Record<string, Media> } }

/** JSON with every object's keys sorted, so two equal schemas print the same. */
const canonical = (value: unknown): string =>
  JSON.stringify(value, (_key, v: unknown) => (v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : 1))) : v))

/**
 * fastify-swagger inlines a route's schema even when it is a named component (LookupResult,
 * Issuer…): point at the component instead, so generated clients share one type and no component
 * is left unused.
 */
function referToComponents(media: Record<string, Media> | undefined, named: Map<string, string>): void {
  for (const m of Object.values(media ?? {})) {
    const name = m.schema && !m.schema.$ref ? named.get(canonical(m.schema)) : undefined
    if (name) m.schema = { $ref: `#/components/schemas/${name}` }
  }
}

/**
 * The last touches fastify-swagger cannot make from route schemas: a server, the licence, a
 * description for every response, errors as `application/problem+json` (what the error handler
 * sends), and a 4XX on operations that declare none (Node's and Fastify's own refusals reach every
 * route). Applied to `/openapi.json`, `/docs` and openapi.yaml alike.
 */
export const polishOpenApi: SwaggerTransformObject = (documentObject) => {
  if (!('openapiObject' in documentObject)) return documentObject.swaggerObject
  const doc = documentObject.openapiObject
  // Relative: the service that serves the document, wherever it is deployed ("Try it out" calls it).
  doc.servers = [{ url: '/', description: 'the service that serves this document' }]
  doc.info = { ...doc.info!, license: { name: 'Apache-2.0', identifier: 'Apache-2.0' } }
  const named = new Map(Object.entries(doc.components?.schemas ?? {}).map(([name, schema]) => [canonical(schema), name]))
  for (const pathItem of Object.values(doc.paths ?? {}) as Record<string, Operation>[]) {
    for (const op of Object.values(pathItem)) {
      const responses = (op.responses ??= {})
      referToComponents(op.requestBody?.content, named)
      for (const response of Object.values(responses)) referToComponents(response.content, named)
      if (!Object.keys(responses).some((s) => s.startsWith('4'))) responses['4XX'] = { content: { 'application/json': { schema: { $ref: PROBLEM_REF } } } }
      for (const [status, response] of Object.entries(responses)) {
        const json = response.content?.['application/json']
        if (json?.schema?.$ref === PROBLEM_REF) {
          response.content = { 'application/problem+json': json }
          response.description = problemDescription(status)
        } else if (!response.description || response.description === DEFAULT_DESCRIPTION) {
          response.description = SUCCESS[op.operationId ?? '']?.[status] ?? `${STATUS_CODES[Number(status)] ?? status}: ${op.summary ?? ''}`
        }
      }
    }
  }
  return doc
}

/**
 * The OpenAPI document the route schemas describe, as YAML. Needs no database content: the app
 * is built on `given` (left open), or on a new in-memory database, never migrated.
 */
export async function generateOpenApi(given?: Database): Promise<string> {
  // Imported here, not at the top: app.ts imports polishOpenApi from this file.
  const [{ buildApp }, { loadConfig }, { openDatabase }] = await Promise.all([import('./app.js'), import('./config.js'), import('./db/client.js')])
  const config = await loadConfig({ NODE_ENV: 'test', DATA_DIR: 'memory://', SEED_EXAMPLES: 'false', LOG_LEVEL: 'silent' })
  const database = given ?? (await openDatabase({ dataDir: 'memory://' }))
  const app = await buildApp(config, { database, migrate: false })
  try {
    await app.ready()
    return app.swagger({ yaml: true })
  } finally {
    await app.close()
    if (!given) await database.close()
  }
}

// `npm run openapi` writes openapi.yaml; `--check` exits 1 when the committed file is stale.
// No top-level await: app.ts imports this module, which must finish evaluating before app.ts can.
async function main(): Promise<void> {
  const spec = await generateOpenApi()
  if (process.argv.includes('--check')) {
    const current = readFileSync(OPENAPI_FILE, 'utf8')
    if (current !== spec) {
      process.stderr.write('openapi.yaml is out of date: run `npm run openapi`\n')
      process.exit(1)
    }
  } else {
    writeFileSync(OPENAPI_FILE, spec)
    process.stdout.write(`wrote ${OPENAPI_FILE}\n`)
  }
}
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    process.stderr.write(`${String((err as Error)?.stack ?? err)}\n`)
    process.exit(2)
  })
}
