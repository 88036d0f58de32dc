import cookie from '@fastify/cookie'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import type { FastifyReply } from 'fastify'
import type { Config } from '../config.js'
import { decodeCursor, type Cursor } from '../audit/cursor.js'
import { createAuditEventRepository } from '../audit/events.js'
import { createCertificateReader, chinaToday, type CertificateRow } from '../certificates/read.js'
import type { CertificatePayload } from '../certificates/schemas.js'
import { holderIndex } from '../crypto/dataProtection.js'
import type { Db } from '../db/client.js'
import { maskIdNumbersIn } from '../ids/index.js'
import { entryOf } from '../me/routes.js'
import { qrSvg } from '../public/qr.js'
import { createVerificationCodeRepository } from '../public/repository.js'
import { CertificateIdParams } from '../certificates/schemas.js'
import { AppError } from '../errors.js'
import { createPresentationService } from '../present/service.js'
import { publicRateLimit } from '../public/rateLimit.js'
import type { ScanService } from '../public/scan.js'
import { CodeParams, LangQuery } from '../public/schemas.js'
import { PAGE_CSP, type Lang } from './html.js'
import { cannotPresentPage, crossOriginPage, myPage, presentationPage, signInPage, type MyCertificateCard } from './me.js'
import { forgetToken, holderSession, isSameOrigin, keepToken, type SignInReason } from './session.js'
import { codeNotFoundPage, verificationPage } from './verification.js'

function html(reply: FastifyReply, status: number, body: string) {
  // A page that names a certificate's holder, even masked, is never cached by a browser or a proxy.
  return reply.code(status).header('content-security-policy', PAGE_CSP).header('cache-control', 'no-store').type('text/html; charset=utf-8').send(body)
}

/** Pages for people: server-rendered HTML, no script, phone first, 中文 with an English switch. */
export const pageRoutes: FastifyPluginAsyncTypebox<{ config: Config; scan: ScanService }> = async (app, { config, scan }) => {
  app.get(
    '/v/:code',
    {
      config: { rateLimit: publicRateLimit(config) },
      schema: {
        tags: ['pages'],
        operationId: 'getVerificationPage',
        security: [],
        summary: 'Scan-to-verify (扫码核验): the page a printed QR code leads to (anonymous, HTML)',
        description: 'The same content as GET /v1/public/verification/{code}, as a page; `?lang=en` for English. An unknown code is a 404 page that says nothing about any certificate.',
        params: CodeParams,
        querystring: LangQuery,
        produces: ['text/html'],
      },
      // Any unknown query parameter is answered as the page in Chinese rather than a JSON 400.
      attachValidation: true,
    },
    async (request, reply) => {
      const lang = request.validationError ? 'zh' : request.query.lang === 'en' ? 'en' : 'zh'
      const view = await scan.scan(request.params.code, { requestId: request.id, clientRequestId: request.clientRequestId, via: 'page' })
      return view ? html(reply, 200, verificationPage(view, lang)) : html(reply, 404, codeNotFoundPage(lang))
    },
  )
}

// The access log, a page at a time: a phone screen's worth.
const LOG_PAGE = 20

const HtmlPage = (description: string) => ({ description, content: { 'text/html': { schema: Type.String() } } })
const SeeOther = (description: string) => Type.Null({ description })
const LangField = Type.Optional(Type.Union([Type.Literal('zh'), Type.Literal('en')], { description: 'zh (default) or en' }))
const FormLang = { lang: LangField }
const SignInForm = Type.Object({ token: Type.Optional(Type.String({ maxLength: 20_000, description: 'a holder bearer token (JWT), as `zhengzhao token --role holder …` prints it' })), ...FormLang }, { additionalProperties: false })
const LangForm = Type.Object(FormLang, { additionalProperties: false })
const MeQuery = Type.Object({ lang: LangField, cursor: Type.Optional(Type.String({ maxLength: 200, description: 'the "older" link\'s position in the access log' })) }, { additionalProperties: false })
const SignInQuery = Type.Object(
  { lang: LangField, reason: Type.Optional(Type.Union(['required', 'expired', 'invalid', 'not-holder', 'signed-out'].map((r) => Type.Literal(r)), { description: 'why the page was opened: it says so' })) },
  { additionalProperties: false },
)
// The holder's session: a proxy's bearer header, or the cookie POST /me/sign-in (or the identity provider's integration) set.
const HOLDER_SECURITY: { [scheme: string]: string[] }[] = [{ bearer: [] }, { holderCookie: [] }]

const langIn = (value: unknown): Lang => ((value as { lang?: unknown } | undefined)?.lang === 'en' ? 'en' : 'zh')
const signInUrl = (lang: Lang, reason: SignInReason) => `/me/sign-in?${new URLSearchParams({ ...(lang === 'en' ? { lang } : {}), reason })}`

/**
 * The holder's page (/me) and its sign-in: the same data GET /v1/me/certificates and
 * /v1/me/access-log give, as server-rendered HTML without script. Cookies and form bodies are
 * read in this scope only: the JSON API takes neither.
 */
export const holderPageRoutes: FastifyPluginAsyncTypebox<{ db: Db; config: Config }> = async (app, { db, config }) => {
  await app.register(cookie)
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 32_768 }, (_request, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(body as string)))
  })
  const reader = createCertificateReader(db, config.dataProtection)
  const events = createAuditEventRepository(db)
  const codes = createVerificationCodeRepository(db, config.dataProtection)
  const pasteForm = config.env !== 'production'
  const presentations = createPresentationService(db, config, app.transparencyLog, app.log)

  async function cardOf(row: CertificateRow): Promise<MyCertificateCard & { holderName: string; issuedOn: string }> {
    const view = reader.view(row)
    const payload = view.payload ?? (JSON.parse(Buffer.from(view.jws!.split('.')[1]!, 'base64url').toString('utf8')) as CertificatePayload)
    const names = await codes.names(row.typeCode, row.issuerCode)
    // A holder may see the QR code of their own certificate (this row was found by their blind
    // index): fetched as its issuer fetches it, so both print the same code, made on first use.
    const { code } = await codes.currentCode(row.id, row.issuerCode)
    const verifyUrl = `${config.publicBaseUrl}/v/${code}`
    return {
      id: row.id,
      typeName: names.typeName ?? payload.name,
      issuerName: names.issuerName ?? payload.issuer.name,
      number: maskIdNumbersIn(row.number),
      validFrom: row.validFrom,
      validUntil: row.validUntil,
      status: view.status,
      statusChangedAt: view.statusChangedAt,
      inForce: view.inForce,
      verifyUrl,
      qrSvg: await qrSvg(verifyUrl),
      holderName: payload.holder.name,
      issuedOn: row.issuedOn,
    }
  }

  app.get(
    '/me',
    {
      schema: {
        tags: ['pages'],
        operationId: 'getMyPage',
        security: HOLDER_SECURITY,
        summary: "The holder's page: my certificates with their QR codes, and who looked at them (holder, HTML)",
        description:
          'Server-rendered, no script; `?lang=en` for English. The holder is the one the token names: a bearer header from a signing-in proxy, or the cookie POST /me/sign-in set. The access log is newest first, 20 entries a page, denials and anonymous scans included, organisations by name; the "older" link carries the cursor. No ID number appears in the page. Without a session, or with an expired or refused token, 303 to /me/sign-in saying why.',
        querystring: MeQuery,
        produces: ['text/html'],
        response: { 200: HtmlPage("The holder's page"), 303: SeeOther('No session, or its token expired or was refused: to /me/sign-in?reason=…') },
      },
      attachValidation: true,
    },
    async (request, reply) => {
      const lang = langIn(request.query)
      const session = await holderSession(app, request, reply)
      if ('refused' in session) {
        if (session.refused !== 'required') forgetToken(request, reply)
        return reply.redirect(signInUrl(lang, session.refused), 303)
      }
      const holder = session.caller.holder!
      const holderRef = holderIndex(config.dataProtection, holder.idType, holder.id)
      const [rows, log] = await Promise.all([reader.byHolder(holderRef), events.accessLog(holderRef, {}, { cursor: cursorIn(request.validationError ? undefined : request.query.cursor), limit: LOG_PAGE })])
      const cards = await Promise.all(rows.map(cardOf))
      const newest = cards.reduce<(typeof cards)[number] | undefined>((a, c) => (!a || c.issuedOn > a.issuedOn ? c : a), undefined)
      const view = { holderName: newest?.holderName ?? null, certificates: cards, entries: log.rows.map(entryOf), older: Boolean(!request.validationError && request.query.cursor), canPresent: true, ...(log.nextCursor ? { nextCursor: log.nextCursor } : {}) }
      return html(reply, 200, myPage(view, lang, chinaToday()))
    },
  )

  app.get(
    '/me/sign-in',
    {
      schema: {
        tags: ['pages'],
        operationId: 'getSignInPage',
        security: [],
        summary: "Sign in to the holder's page (HTML)",
        description: 'Outside production: a form to paste a holder token (`zhengzhao token --role holder …`). In production the page says to sign in through the identity provider, which puts the token in front of /me itself. `reason` makes the page say why it was opened (expired, signed-out…).',
        querystring: SignInQuery,
        produces: ['text/html'],
        response: { 200: HtmlPage('The sign-in page') },
      },
      attachValidation: true,
    },
    async (request, reply) => {
      const reason = request.validationError ? undefined : (request.query.reason as SignInReason | undefined)
      return html(reply, 200, signInPage(langIn(request.query), { pasteForm, ...(reason ? { reason } : {}) }))
    },
  )

  if (pasteForm) {
    app.post(
      '/me/sign-in',
      {
        schema: {
          tags: ['pages'],
          operationId: 'signInToMyPage',
          security: [],
          summary: 'Sign in with a pasted holder token: the token kept in an HttpOnly cookie (not in production; HTML)',
          description:
            'The token is verified exactly as the API verifies a bearer token, and must carry the holder role. Accepted: 303 to /me with `Set-Cookie: __Host-zhengzhao-holder` over HTTPS (`zhengzhao-holder` over plain HTTP), HttpOnly, SameSite=Strict, Secure over HTTPS, Path=/, Max-Age no longer than the token lives. Refused: the sign-in page saying why (401 expired or not valid, 403 not a holder token). The form must come from this service\'s own page (Sec-Fetch-Site same-origin, or a matching Origin): otherwise 403 and nothing is set. Not registered in production.',
          consumes: ['application/x-www-form-urlencoded'],
          body: SignInForm,
          produces: ['text/html'],
          response: {
            200: HtmlPage('The form came without a token: the sign-in page again'),
            303: SeeOther('Signed in: to /me, with the cookie set'),
            401: HtmlPage('The token expired or is not valid: the sign-in page, saying why'),
            403: HtmlPage('Not a holder token, or a form from another origin: a page saying so; no cookie set'),
          },
        },
        attachValidation: true,
      },
      async (request, reply) => {
        const lang = langIn(request.body)
        if (!isSameOrigin(request, config)) return html(reply, 403, crossOriginPage(lang))
        const pasted = request.validationError ? undefined : request.body.token
        if (!pasted?.trim()) return html(reply, 200, signInPage(lang, { pasteForm, reason: 'required' }))
        const session = await holderSession(app, request, reply, pasted)
        if ('refused' in session) {
          const { refused, code, detail } = session
          return html(reply, refused === 'not-holder' ? 403 : 401, signInPage(lang, { pasteForm, reason: refused, code, ...(detail ? { detail } : {}) }))
        }
        if (!keepToken(request, reply)) return html(reply, 401, signInPage(lang, { pasteForm, reason: 'expired', code: 'TOKEN_EXPIRED' }))
        return reply.redirect(lang === 'en' ? '/me?lang=en' : '/me', 303)
      },
    )
  }

  app.post(
    '/me/certificates/:id/present',
    {
      schema: {
        tags: ['pages'],
        operationId: 'presentMyCertificate',
        security: HOLDER_SECURITY,
        summary: '出示 (亮证) from the holder\'s page: a one-time QR code of one of my certificates in force (holder, HTML)',
        description:
          'The 出示 button of GET /me. Makes a presentation as POST /v1/me/certificates/{id}/presentations does (src/present/service.ts: single use, PRESENTATION_TTL) and answers a page with its QR code, big, the time it expires and a link back. The form must come from this service\'s own page: otherwise 403 and nothing is made. Without a session, 303 to /me/sign-in.',
        params: CertificateIdParams,
        consumes: ['application/x-www-form-urlencoded'],
        body: LangForm,
        produces: ['text/html'],
        response: {
          200: HtmlPage('The presentation: its QR code, its expiry, a link back to /me'),
          303: SeeOther('No session, or its token expired or was refused: to /me/sign-in?reason=…'),
          403: HtmlPage('A form from another origin: a page saying so; nothing made'),
          404: HtmlPage('Not a certificate of this holder: a page saying so (CERTIFICATE_NOT_FOUND)'),
          409: HtmlPage('The certificate is not in force: a page saying so (CERTIFICATE_NOT_IN_FORCE)'),
        },
      },
      attachValidation: true,
    },
    async (request, reply) => {
      const lang = langIn(request.body)
      if (!isSameOrigin(request, config)) return html(reply, 403, crossOriginPage(lang))
      const session = await holderSession(app, request, reply)
      if ('refused' in session) {
        if (session.refused !== 'required') forgetToken(request, reply)
        return reply.redirect(signInUrl(lang, session.refused), 303)
      }
      const holder = session.caller.holder!
      const holderRef = holderIndex(config.dataProtection, holder.idType, holder.id)
      const certificateId = request.params.id
      try {
        const shown = await presentations.create({ holderRef, certificateId, requestId: request.id, actorSub: session.caller.sub, clientRequestId: request.clientRequestId })
        const row = (await reader.byId(certificateId))!
        const names = await codes.names(row.typeCode, row.issuerCode)
        return html(reply, 200, presentationPage(lang, { typeName: names.typeName ?? row.typeCode, number: maskIdNumbersIn(row.number), qrSvg: shown.qrSvg, expiresAt: shown.expiresAt }))
      } catch (err) {
        if (err instanceof AppError && (err.code === 'CERTIFICATE_NOT_FOUND' || err.code === 'CERTIFICATE_NOT_IN_FORCE')) return html(reply, err.status, cannotPresentPage(lang, err.code))
        throw err
      }
    },
  )

  app.post(
    '/me/sign-out',
    {
      schema: {
        tags: ['pages'],
        operationId: 'signOutOfMyPage',
        security: [],
        summary: "Sign out of the holder's page: the cookie cleared (HTML)",
        description: "Clears the cookie POST /me/sign-in set and answers the sign-in page saying so. Behind a signing-in proxy, the proxy's own sign-out ends its session. The form must come from this service's own page: otherwise 403 and nothing changes.",
        consumes: ['application/x-www-form-urlencoded'],
        body: LangForm,
        produces: ['text/html'],
        response: { 200: HtmlPage('Signed out: the sign-in page, saying so'), 403: HtmlPage('A form from another origin: a page saying so; nothing changed') },
      },
      attachValidation: true,
    },
    async (request, reply) => {
      const lang = langIn(request.body)
      if (!isSameOrigin(request, config)) return html(reply, 403, crossOriginPage(lang))
      forgetToken(request, reply)
      return html(reply, 200, signInPage(lang, { pasteForm, reason: 'signed-out' }))
    },
  )
}

/** The "older" link's cursor; anything else is the newest page (a person following a link needs no 400). */
function cursorIn(text: string | undefined): Cursor | undefined {
  if (!text) return undefined
  try {
    return decodeCursor(text, '/querystring/cursor')
  } catch {
    return undefined
  }
}
