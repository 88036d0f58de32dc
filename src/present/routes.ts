import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { createAccessLog } from '../audit/accessLog.js'
import { CertificateIdParams } from '../certificates/schemas.js'
import type { Config } from '../config.js'
import { holderIndex } from '../crypto/dataProtection.js'
import type { Db } from '../db/client.js'
import { AppError } from '../errors.js'
import { presentationPage, refusedPage, PRESENT_CSP } from '../pages/present.js'
import { publicRateLimit } from '../public/rateLimit.js'
import { LangQuery } from '../public/schemas.js'
import { authErrors, Problem } from '../schemas.js'
import { createVerifyService } from '../verify/service.js'
import type { Refusal } from './repository.js'
import { PresentationCreated, PresentationResult, TokenParams } from './schemas.js'
import { createPresentationService } from './service.js'
import { createPresentationUse } from './use.js'

const REFUSED: Record<Refusal, { status: number; code: 'PRESENTATION_USED' | 'PRESENTATION_EXPIRED' | 'PRESENTATION_NOT_FOUND' }> = {
  used: { status: 410, code: 'PRESENTATION_USED' },
  expired: { status: 410, code: 'PRESENTATION_EXPIRED' },
  unknown: { status: 404, code: 'PRESENTATION_NOT_FOUND' },
}

function html(reply: FastifyReply, status: number, body: string) {
  // The whole certificate, the holder's name in full: never kept by a browser cache or a proxy.
  return reply.code(status).header('content-security-policy', PRESENT_CSP).header('cache-control', 'no-store').type('text/html; charset=utf-8').send(body)
}

/** 亮证: a holder makes a one-time presentation; a clerk scans it (the page) or a system uses it (JSON). */
export const presentRoutes: FastifyPluginAsyncTypebox<{ db: Db; config: Config }> = async (app, { db, config }) => {
  const presentations = createPresentationService(db, config, app.transparencyLog, app.log)
  const accessLog = createAccessLog(app.transparencyLog, app.log)
  const presented = createPresentationUse(db, config, { verify: createVerifyService(db, config), accessLog })
  const rateLimit = publicRateLimit(config)
  app.addSchema(PresentationCreated)
  app.addSchema(PresentationResult)

  const holderRefOf = (request: FastifyRequest): string => {
    const holder = request.user.holder
    if (!holder) throw new AppError('FORBIDDEN', 'This operation needs a holder token')
    return holderIndex(config.dataProtection, holder.idType, holder.id)
  }

  app.post(
    '/v1/me/certificates/:id/presentations',
    {
      onRequest: app.auth(['holder']),
      schema: {
        tags: ['holder'],
        operationId: 'createPresentation',
        summary: 'Show a certificate (亮证): a one-time URL and QR code, valid for PRESENTATION_TTL seconds (holder)',
        description:
          "The holder's own certificate, in force today. Whoever opens the URL first (GET /s/{token}, or POST /v1/public/presentations/{token}) sees the whole certificate and its verification, once; the holder's access log then shows it as shown by them (`presentation: true`). The token (192 random bits) appears only in the URL; the service keeps its SHA-256. Making one is an audit event (presentation.created). Another holder's certificate, or none, is 404 CERTIFICATE_NOT_FOUND; one revoked, suspended, superseded, expired or not yet valid is 409 CERTIFICATE_NOT_IN_FORCE.",
        security: [{ bearer: [] }],
        params: CertificateIdParams,
        response: { 201: PresentationCreated, 404: Problem, 409: Problem, ...authErrors() },
      },
    },
    async (request, reply) => {
      const made = await presentations.create({ holderRef: holderRefOf(request), certificateId: request.params.id, requestId: request.id, actorSub: request.user.sub, clientRequestId: request.clientRequestId })
      return reply.code(201).send({ url: made.url, expiresAt: made.expiresAt, qr: { svg: made.qrSvg, png: made.qrPng.toString('base64') } })
    },
  )

  app.post(
    '/v1/public/presentations/:token',
    {
      config: { rateLimit },
      // A reader's token is optional: when sent it must be good (and is checked before the presentation is used), and names who saw it.
      onRequest: async function (request, reply) {
        if (request.headers.authorization !== undefined) await app.auth(['reader']).call(this, request, reply)
      },
      schema: {
        tags: ['public'],
        operationId: 'usePresentation',
        security: [{}, { bearer: [] }],
        summary: "Use a holder's presentation, for machines: the whole certificate and its verification, once (anonymous, or a reader)",
        description:
          "What the page GET /s/{token} shows, as JSON. POST, not GET, because it changes state: the first use consumes the presentation (atomically: of two at once exactly one succeeds), so no prefetch, cache or retry of a GET may spend it. With a reader's bearer token the holder's log names that organisation; without one the reader is anonymous. A used presentation is 410 PRESENTATION_USED, a late one 410 PRESENTATION_EXPIRED, an unknown token 404 PRESENTATION_NOT_FOUND: none says anything about the certificate. Rate-limited like the other anonymous routes. Each use is an access event (access.read, details {purpose: presentation, presentation: true}) in the holder's access log, written before the answer leaves.",
        params: TokenParams,
        response: { 200: PresentationResult, 401: Problem, 403: Problem, 404: Problem, 410: Problem, 429: Problem, 503: Problem },
      },
    },
    async (request) => {
      const reader = request.headers.authorization !== undefined ? { sub: request.user.sub, org: request.user.org } : undefined
      const got = await presented.use(request.params.token, { requestId: request.id, clientRequestId: request.clientRequestId, form: 'json', ...(reader ? { reader } : {}) })
      if (typeof got === 'string') throw new AppError(REFUSED[got].code)
      return got
    },
  )

  app.get(
    '/s/:token',
    {
      config: { rateLimit },
      schema: {
        tags: ['pages'],
        operationId: 'getPresentationPage',
        security: [],
        summary: "亮证: the page a holder's one-time QR code leads to (anonymous, HTML)",
        description:
          'The whole certificate (the holder\'s name in full, a citizen\'s ID number with its last four characters only) and its verification, once: opening it uses the presentation. Opened again, late, or with an unknown token, it is a page saying which (410 already used, 410 expired, 404 unknown) and nothing about the certificate. `?lang=en` for English; the page carries both languages, so switching does not open it again. A HEAD request does not use it.',
        params: TokenParams,
        querystring: LangQuery,
        produces: ['text/html'],
      },
      // Any unknown query parameter is answered as the page in Chinese rather than a JSON 400.
      attachValidation: true,
    },
    async (request, reply) => {
      const lang = request.validationError ? 'zh' : request.query.lang === 'en' ? 'en' : 'zh'
      // A link checker or preview sends HEAD: it learns the status, and the presentation stays unused.
      if (request.method === 'HEAD') {
        const state = await presented.peek(request.params.token)
        return html(reply, state === 'usable' ? 200 : REFUSED[state].status, '')
      }
      const got = await presented.use(request.params.token, { requestId: request.id, clientRequestId: request.clientRequestId, form: 'page' })
      return typeof got === 'string' ? html(reply, REFUSED[got].status, refusedPage(got, lang)) : html(reply, 200, presentationPage(got, lang))
    },
  )
}
