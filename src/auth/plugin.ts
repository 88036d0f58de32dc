import fastifyJwt, { type TokenOrHeader } from '@fastify/jwt'
import fp from 'fastify-plugin'
import type { FastifyInstance, FastifyRequest, onRequestAsyncHookHandler } from 'fastify'
import type { Config } from '../config.js'
import { AppError } from '../errors.js'
import { isValidCreditCode, isValidIdNumber } from '../ids/index.js'
import { maskPersonalData } from '../logging.js'
import { isRole, type Role } from './roles.js'
import { recordedSubject } from './subject.js'

/** Who is calling, from a verified token. */
export interface Caller {
  /** The token's subject as the service stores and signs it: a holder's is a keyed hash (./subject.ts). */
  sub: string
  /** The caller's organisation (unified social credit code). */
  org: string
  roles: Role[]
  /** Present on holder tokens only. */
  holder?: { idType: string; id: string }
}

declare module '@fastify/jwt' {
  interface FastifyJWT {
    user: Caller
  }
}

declare module 'fastify' {
  interface FastifyInstance {
    /** onRequest hook: a valid token carrying at least one of `roles` (any role when empty). */
    auth(roles?: Role[]): onRequestAsyncHookHandler
  }
}

// How far ahead of our clock a token's `iat` may be: the same skew `exp` and `nbf` are allowed.
const CLOCK_SKEW_MS = 30_000

/**
 * RFC 8725 §3.11 explicit typing: an access token says `JWT` or `at+jwt` (RFC 9068), with or
 * without `application/`, in any case. Anything else is another kind of JWS that happens to be
 * signed by a trusted key (a certificate `zhengzhao-cert+jws`, a receipt) and is never a bearer
 * token. A token without `typ` is accepted: common identity providers omit it, and every JWS this
 * service signs or stores carries a `typ` of its own, so none of them can pass as a token.
 */
function isAccessTokenType(typ: unknown): boolean {
  if (typ === undefined) return true
  if (typeof typ !== 'string') return false
  const t = typ.toLowerCase().replace(/^application\//, '')
  return t === 'jwt' || t === 'at+jwt'
}

async function authPlugin(app: FastifyInstance, opts: { config: Config }): Promise<void> {
  const { issuer, audience, algorithms, keys } = opts.config.auth
  const byKid = new Map(keys.map((k) => [k.kid, k]))

  await app.register(fastifyJwt, {
    // The key is chosen by `kid`; a token without one is accepted only when a single key is configured.
    secret: {
      public: async (_request: FastifyRequest, token: TokenOrHeader) => {
        const header = 'header' in token ? token.header : token
        const { alg, kid } = header
        if (!isAccessTokenType((header as { typ?: unknown }).typ)) throw new AppError('INVALID_TOKEN', 'Token "typ" must be JWT or at+jwt')
        // Refuse before any crypto: `none` (any casing), HS* with a public key as secret, anything unpinned.
        if (typeof alg !== 'string' || !(algorithms as string[]).includes(alg)) throw new AppError('INVALID_TOKEN', 'Token algorithm is not allowed')
        const key = kid !== undefined ? byKid.get(kid) : keys.length === 1 ? keys[0] : undefined
        if (!key) throw new AppError('INVALID_TOKEN', 'Token is signed by an unknown key')
        if (!(key.algorithms as string[]).includes(alg)) throw new AppError('INVALID_TOKEN', 'Token algorithm does not match its key')
        return key.pem
      },
    },
    decode: { complete: true },
    verify: {
      algorithms,
      allowedIss: issuer,
      allowedAud: audience,
      requiredClaims: ['iss', 'aud', 'exp', 'sub'],
      clockTolerance: 30_000,
      cache: 10_000,
    },
  })

  app.decorate('auth', (roles: Role[] = []) => {
    return async (request: FastifyRequest) => {
      const caller = await verifyCaller(request, opts.config)
      request.user = caller
      if (roles.length > 0 && !roles.some((r) => caller.roles.includes(r))) {
        throw new AppError('FORBIDDEN', `This operation needs the role ${roles.join(' or ')}`)
      }
    }
  })
}

async function verifyCaller(request: FastifyRequest, config: Config): Promise<Caller> {
  let payload: Record<string, unknown>
  try {
    payload = (await request.jwtVerify()) as unknown as Record<string, unknown>
  } catch (err) {
    if (err instanceof AppError) throw err
    const code = (err as { code?: string }).code
    if (code === 'FST_JWT_NO_AUTHORIZATION_IN_HEADER') throw new AppError('AUTH_REQUIRED')
    const claims = unverifiedClaims(request.headers.authorization)
    if (code === 'FST_JWT_AUTHORIZATION_TOKEN_EXPIRED') {
      const at = typeof claims.exp === 'number' && Number.isFinite(claims.exp) ? new Date(claims.exp * 1000).toISOString() : undefined
      logRefusal(request, config, { failed: 'exp', reason: `expired${at ? ` at ${at}` : ''}`, claims })
      throw new AppError('TOKEN_EXPIRED', `The bearer token expired${at ? ` at ${at}` : ''} (its "exp" claim): get a new one`)
    }
    const failed = failedClaim(err as Error)
    const reason = tokenReason(code, failed, /signature is invalid/.test((err as Error).message ?? ''))
    logRefusal(request, config, { failed: failed?.claim ?? code ?? 'token', reason, claims })
    throw new AppError('INVALID_TOKEN', reason)
  }
  return callerFromClaims(payload, config)
}

/** Which registered claim fast-jwt refused, from its message (which never quotes the token). */
function failedClaim(err: Error): { claim: string; missing: boolean } | undefined {
  const m = /The (\w+) claim (value is not allowed|is required|must be)|None of (\w+) claim values are allowed/.exec(err.message ?? '')
  if (!m) return undefined
  return { claim: (m[1] ?? m[3])!, missing: m[2] === 'is required' }
}

/**
 * iss, aud and exp of a refused token, read without trusting them, for the operator's log line
 * only: an operator wiring an identity provider needs to see what it sends. Never the token.
 */
function unverifiedClaims(authorization: string | undefined): { iss?: unknown; aud?: unknown; exp?: unknown } {
  try {
    const payload = JSON.parse(Buffer.from((authorization ?? '').split('.')[1] ?? '', 'base64url').toString('utf8')) as Record<string, unknown>
    return { iss: payload.iss, aud: payload.aud, exp: payload.exp }
  } catch {
    return {}
  }
}

const short = (v: unknown): unknown => (typeof v === 'string' ? maskPersonalData(v.slice(0, 200)) : Array.isArray(v) ? v.slice(0, 5).map(short) : typeof v === 'number' ? v : undefined)

function logRefusal(request: FastifyRequest, config: Config, what: { failed: string; reason: string; claims: { iss?: unknown; aud?: unknown; exp?: unknown } }): void {
  request.log.info(
    {
      token: { failedClaim: what.failed, reason: what.reason, iss: short(what.claims.iss), aud: short(what.claims.aud), exp: short(what.claims.exp) },
      expected: { iss: config.auth.issuer, aud: config.auth.audience },
    },
    'bearer token refused',
  )
}

function tokenReason(code: string | undefined, failed: { claim: string; missing: boolean } | undefined, signatureFailed: boolean): string {
  // The claim is named, not the value expected: the issuer and audience are the operator's to read in the log.
  if (failed?.missing) return `Token has no "${failed.claim}" claim (iss, aud, exp and sub are required)`
  if (failed?.claim === 'aud') return 'Token "aud" claim is not this service\'s audience (AUTH_AUDIENCE)'
  if (failed?.claim === 'iss') return 'Token "iss" claim is not the configured identity provider (AUTH_ISSUER)'
  if (failed !== undefined) return `Token "${failed.claim}" claim is not valid`
  switch (code) {
    case 'FST_JWT_BAD_REQUEST':
      return 'Authorization header must be "Bearer <token>"'
    case 'FAST_JWT_MALFORMED':
    case 'FAST_JWT_INVALID_TYPE':
      return 'Token is malformed'
    case 'FST_JWT_AUTHORIZATION_TOKEN_INVALID':
      return signatureFailed ? 'Token signature does not verify with the identity provider\'s key' : 'Token signature or claims are not valid'
    case 'FAST_JWT_INACTIVE':
      return 'Token is not valid yet'
    default:
      return 'Token is not valid'
  }
}

/** The service's own claims, checked after the signature and the registered claims. */
function callerFromClaims(claims: Record<string, unknown>, config: Config): Caller {
  const { sub, org, roles, idType, id, iat } = claims
  if (typeof sub !== 'string' || sub.length === 0 || sub.length > 200) throw new AppError('INVALID_TOKEN', 'Token "sub" claim is not valid')
  // A token "issued" in the future was minted with a wrong clock or made to outlive its key's rotation.
  if (iat !== undefined && (typeof iat !== 'number' || !Number.isFinite(iat) || iat * 1000 > Date.now() + CLOCK_SKEW_MS)) {
    throw new AppError('INVALID_TOKEN', 'Token "iat" claim is in the future or not a number')
  }
  if (typeof org !== 'string' || !isValidCreditCode(org, config.creditCodeExceptions)) {
    throw new AppError('INVALID_TOKEN', 'Token "org" claim is not a valid unified social credit code')
  }
  if (!Array.isArray(roles) || roles.length === 0 || !roles.every(isRole)) throw new AppError('INVALID_TOKEN', 'Token "roles" claim is not a list of known roles')
  const isHolder = roles.includes('holder')
  const caller: Caller = { sub: recordedSubject(config.dataProtection, sub, isHolder), org, roles: [...new Set(roles)] }
  if (isHolder) {
    const valid = (idType === '111' && typeof id === 'string' && isValidIdNumber(id)) || (idType === '001' && typeof id === 'string' && isValidCreditCode(id, config.creditCodeExceptions))
    if (!valid) throw new AppError('INVALID_TOKEN', 'A holder token needs valid "idType" and "id" claims')
    caller.holder = { idType: idType as string, id: (id as string).toUpperCase() }
  }
  return caller
}

export default fp(authPlugin, { name: 'zhengzhao-auth' })
