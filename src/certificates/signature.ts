import { CERT_SIGNING_ALGORITHMS } from '../crypto/jws.js'
import { verifyJwsSignature } from '../crypto/jwsVerify.js'
import type { SigningAlgorithm } from '../crypto/keys.js'
import type { KeyRow } from '../issuers/repository.js'
import type { Issuer } from '../issuers/schemas.js'

// Certificate signature algorithms are pinned in one place, crypto/jws.ts (DESIGN.md §3).
const CERT_ALGORITHMS = CERT_SIGNING_ALGORITHMS

export interface SigningContext {
  now: Date
  issuer(code: string): Promise<{ issuer: Issuer; keys: KeyRow[] } | undefined>
}

interface SigningProblem {
  pointer: string
  code: string
  message: string
}

/** Why a key may not sign at `now`, or undefined when its window covers `now`. */
export function keyWindowProblem(key: KeyRow, now: Date): string | undefined {
  if (key.compromisedAt && key.compromisedAt <= now) return 'the key was revoked as compromised'
  if (key.retiredAt && key.retiredAt <= now) return 'the key is retired'
  if (key.activeFrom > now || key.notBefore > now) return 'the key is not valid yet'
  if (key.notAfter <= now) return 'the key\'s certificate has expired'
  return undefined
}

/**
 * The signature was made by a registered key of this issuer whose window covers now, with an
 * algorithm pinned for certificates and allowed for that key. ES256, EdDSA, RS256 and PS256 are
 * checked with node:crypto on this thread (crypto/jwsVerify.ts); SM2 in JavaScript (crypto/sm2.ts),
 * on the SM2 worker threads when the app has them.
 */
export async function checkSignature(jws: string, header: Record<string, unknown>, issuerCode: string, typeCode: string, ctx: SigningContext): Promise<{ problems: SigningProblem[] }> {
  const problems: SigningProblem[] = []
  const alg = header.alg
  if (typeof alg !== 'string' || !(CERT_ALGORITHMS as readonly string[]).includes(alg)) {
    return { problems: [{ pointer: '/header/alg', code: 'ALG_NOT_ALLOWED', message: `alg must be one of ${CERT_ALGORITHMS.join(', ')}` }] }
  }
  const registered = await ctx.issuer(issuerCode)
  if (!registered) return { problems: [{ pointer: '/payload/issuer/code', code: 'ISSUER_UNKNOWN', message: 'no registered issuer with this code' }] }
  if (!registered.issuer.typeCodes.includes(typeCode)) {
    problems.push({ pointer: '/payload/typeCode', code: 'ISSUER_NOT_ALLOWED_FOR_TYPE', message: 'the issuer is not registered for this type' })
  }
  const key = registered.keys.find((k) => k.kid === header.kid)
  if (!key) return { problems: [...problems, { pointer: '/header/kid', code: 'KID_UNKNOWN', message: 'not a registered key of this issuer' }] }
  if (!key.algorithms.includes(alg)) return { problems: [...problems, { pointer: '/header/alg', code: 'ALG_KEY_MISMATCH', message: `this key signs with ${key.algorithms.join(' or ')}` }] }
  const window = keyWindowProblem(key, ctx.now)
  if (window) problems.push({ pointer: '/header/kid', code: 'KEY_NOT_ACTIVE', message: window })
  // The key's own algorithms were checked above, so an SM2 header never meets an RSA or P-256
  // key, nor an ES256 header an SM2 key (alg confusion is ALG_KEY_MISMATCH).
  if (!(await verifyJwsSignature(jws, alg as SigningAlgorithm, key.publicKeyPem, key.kid))) {
    problems.push({ pointer: '', code: 'SIGNATURE_INVALID', message: 'the signature does not verify with the named key' })
  }
  return { problems }
}
