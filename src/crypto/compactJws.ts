import { decodeBase64url } from './sm2Jws.js'
import { parseStrictJsonBytes } from './strictJson.js'

/**
 * Reads a certificate's compact JWS so that its signed content has exactly one meaning
 * (DESIGN.md §3): three canonical base64url parts, a header and a payload that are UTF-8 JSON
 * objects without duplicate member names, and none of the header parameters that change how the
 * bytes are read or which key is trusted. Used by the push and by every verifier alike.
 */

export type CompactJwsProblemCode = 'JWS_MALFORMED' | 'INVALID_UTF8' | 'DUPLICATE_MEMBER' | 'HEADER_CRIT_NOT_ALLOWED' | 'HEADER_B64_NOT_ALLOWED' | 'HEADER_KEY_NOT_ALLOWED'

export interface CompactJwsProblem {
  /** `/header…` or `/payload…`, or '' for the whole. */
  pointer: string
  code: CompactJwsProblemCode
  message: string
}

export interface DecodedJws {
  header: Record<string, unknown>
  payload: Record<string, unknown>
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

// `b64: false` (RFC 7797) makes the payload readable two ways; `crit` asks the verifier to
// understand extensions it may not; an embedded or fetched key (jwk, x5c, jku, x5u) invites a
// verifier to trust the signer's own word. Keys come from the registry, by kid, and nowhere else.
const EMBEDDED_KEY_PARAMETERS = ['jwk', 'x5c', 'jku', 'x5u'] as const

function part(segment: string, where: 'header' | 'payload'): { ok: true; value: Record<string, unknown> } | { ok: false; problem: CompactJwsProblem } {
  const bytes = decodeBase64url(segment)
  if (!bytes) return { ok: false, problem: { pointer: `/${where}`, code: 'JWS_MALFORMED', message: `the ${where} is not canonical base64url` } }
  const parsed = parseStrictJsonBytes(bytes)
  if (!parsed.ok) {
    const code = parsed.code === 'JSON_INVALID' ? 'JWS_MALFORMED' : parsed.code
    return { ok: false, problem: { pointer: `/${where}${parsed.pointer}`, code, message: `the ${where}: ${parsed.message}` } }
  }
  if (!isObject(parsed.value)) return { ok: false, problem: { pointer: `/${where}`, code: 'JWS_MALFORMED', message: `the ${where} must be a JSON object` } }
  return { ok: true, value: parsed.value }
}

/** Decodes without trusting anything: the signature is checked elsewhere, with a registered key. */
export function decodeCompactJws(jws: string): { ok: true; value: DecodedJws } | { ok: false; problems: CompactJwsProblem[] } {
  const parts = jws.split('.')
  if (parts.length !== 3 || !parts[0] || !parts[1] || !parts[2]) {
    return { ok: false, problems: [{ pointer: '', code: 'JWS_MALFORMED', message: 'not a compact JWS (three base64url parts)' }] }
  }
  const header = part(parts[0], 'header')
  const payload = part(parts[1], 'payload')
  const problems = [header, payload].flatMap((r) => (r.ok ? [] : [r.problem]))
  if (!header.ok || !payload.ok) return { ok: false, problems }
  const h = header.value
  if ('b64' in h) problems.push({ pointer: '/header/b64', code: 'HEADER_B64_NOT_ALLOWED', message: 'b64 is not allowed: the payload is always base64url-encoded JSON' })
  if ('crit' in h) problems.push({ pointer: '/header/crit', code: 'HEADER_CRIT_NOT_ALLOWED', message: 'crit is not allowed: a certificate uses no header extensions' })
  for (const name of EMBEDDED_KEY_PARAMETERS) {
    if (name in h) problems.push({ pointer: `/header/${name}`, code: 'HEADER_KEY_NOT_ALLOWED', message: `${name} is not allowed: the signing key is the issuer's registered key named by kid` })
  }
  if (problems.length > 0) return { ok: false, problems }
  return { ok: true, value: { header: h, payload: payload.value } }
}
