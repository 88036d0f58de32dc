import type {} from '@fastify/cookie'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { Caller } from '../auth/plugin.js'
import type { Config } from '../config.js'
import { AppError } from '../errors.js'

/*
 * How a page without script knows its holder. A browser cannot put a bearer header on a link or a
 * form, so the holder's page takes the very token the API takes from one of two places:
 *   1. an `Authorization: Bearer …` header, put there by a proxy in front of the service that signs
 *      people in with the identity provider (oauth2-proxy and the like): production;
 *   2. a cookie holding the token, set by POST /me/sign-in from a pasted development token, or by
 *      the identity provider's own integration under the same name.
 * Either way the token is checked by the API's own hook (app.auth, src/auth/plugin.ts): the same
 * pinned algorithms, issuer, audience, expiry and holder claims, so a page accepts exactly what
 * GET /v1/me/certificates accepts.
 */

/** The cookie over HTTPS: `__Host-` makes a browser keep it only when Secure, Path=/ and host-only. */
export const SECURE_COOKIE = '__Host-zhengzhao-holder'
/** Over plain HTTP (development on localhost), where a `__Host-` cookie cannot be set. */
export const PLAIN_COOKIE = 'zhengzhao-holder'

// A pasted token with the newlines a textarea adds; a JWS is never longer than a few kilobytes.
const MAX_TOKEN_LENGTH = 16_384

function isHttps(request: FastifyRequest): boolean {
  return request.protocol === 'https'
}

/**
 * Over HTTPS only the `__Host-` cookie counts: a plain-named one could have been planted by a
 * sibling subdomain or over HTTP, and must not decide who the holder is.
 */
export function cookieNameOf(request: FastifyRequest): string {
  return isHttps(request) ? SECURE_COOKIE : PLAIN_COOKIE
}

/** Why a page sends someone to the sign-in page, which says so in words. */
export type SignInReason = 'required' | 'expired' | 'invalid' | 'not-holder' | 'signed-out'

export type Session = { caller: Caller } | { refused: SignInReason; code: string; detail?: string }

/**
 * The holder behind this request, verified as the API verifies, or why there is none. The proxy's
 * header wins over the cookie: behind a proxy the identity provider is the authority.
 */
export async function holderSession(app: FastifyInstance, request: FastifyRequest, reply: FastifyReply, pasted?: string): Promise<Session> {
  if (pasted !== undefined) {
    const token = pasted.replace(/\s+/g, '')
    if (token === '' || token.length > MAX_TOKEN_LENGTH) return { refused: 'invalid', code: 'INVALID_TOKEN', detail: 'Token is malformed' }
    request.headers.authorization = `Bearer ${token}`
  } else if (!request.headers.authorization) {
    const token = request.cookies[cookieNameOf(request)]
    if (!token) return { refused: 'required', code: 'AUTH_REQUIRED' }
    request.headers.authorization = `Bearer ${token}`
  }
  try {
    await app.auth(['holder']).call(app, request, reply)
    return { caller: request.user }
  } catch (err) {
    if (!(err instanceof AppError)) throw err
    if (err.code === 'TOKEN_EXPIRED') return { refused: 'expired', code: err.code }
    if (err.code === 'FORBIDDEN') return { refused: 'not-holder', code: err.code }
    if (err.code === 'INVALID_TOKEN' || err.code === 'AUTH_REQUIRED') return { refused: 'invalid', code: err.code, detail: err.message }
    throw err
  }
}

/** Seconds until the (verified) token's `exp`; the cookie never outlives the token. */
function secondsLeft(token: string, now = Date.now()): number {
  const { exp } = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as { exp?: unknown }
  return typeof exp === 'number' ? Math.floor(exp - now / 1000) : 0
}

/**
 * Keeps a verified token for the pages: HttpOnly (no script can read it, and there is none),
 * SameSite=Strict (no other site's link or form carries it), Secure and `__Host-` over HTTPS,
 * Path=/ and no Domain, Max-Age at most the token's remaining life. Returns false for a token
 * already past its `exp` (accepted within the verifier's clock tolerance), which is not kept.
 */
export function keepToken(request: FastifyRequest, reply: FastifyReply): boolean {
  const token = (request.headers.authorization ?? '').replace(/^Bearer /i, '')
  const maxAge = secondsLeft(token)
  if (maxAge <= 0) return false
  reply.setCookie(cookieNameOf(request), token, { httpOnly: true, sameSite: 'strict', secure: isHttps(request), path: '/', maxAge })
  return true
}

/** Forgets the token: the same attributes, expired now. */
export function forgetToken(request: FastifyRequest, reply: FastifyReply): void {
  reply.clearCookie(cookieNameOf(request), { httpOnly: true, sameSite: 'strict', secure: isHttps(request), path: '/' })
}

/**
 * CSRF: a state-changing form (sign in, sign out, 出示) is a POST that must come from this
 * service's own pages. SameSite=Strict is not enough on its own: a "site" is the registrable
 * domain, so another service under the same gov.cn domain is same-site; and behind a signing-in
 * proxy the bearer header comes from the proxy's own cookie, whatever its SameSite. So the
 * browser's own word is checked, in headers a page cannot set: `Sec-Fetch-Site` must be
 * `same-origin`, and an `Origin` (when it is not "null", which our pages' no-referrer policy
 * makes it) must be this service's (PUBLIC_BASE_URL's, or the Host the browser addressed). A POST
 * that confirms neither is refused. No token to keep: nothing is stored per session.
 */
export function isSameOrigin(request: FastifyRequest, config: Config): boolean {
  const site = request.headers['sec-fetch-site']
  const origin = request.headers.origin
  const own = new Set([new URL(config.publicBaseUrl).origin, `${request.protocol}://${request.host}`])
  if (site !== undefined && site !== 'same-origin') return false
  if (origin !== undefined && origin !== 'null' && !own.has(origin)) return false
  return site === 'same-origin' || (origin !== undefined && origin !== 'null')
}
