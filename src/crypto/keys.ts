import { createPublicKey, type KeyObject, type JsonWebKey } from 'node:crypto'
import { calculateJwkThumbprint, type JWK } from 'jose'
import { sm2Jwk, sm2PublicKeyOf } from './sm2.js'

/** Token algorithms this service can ever accept, and the key each needs. */
export const TOKEN_ALGORITHMS = ['ES256', 'EdDSA', 'RS256', 'PS256'] as const
export type TokenAlgorithm = (typeof TOKEN_ALGORITHMS)[number]

/**
 * Algorithms an issuer's signing key may use: the token algorithms and SM2 (SM2-with-SM3, ID
 * 1234567812345678, signature r ‖ s). SM2 is never a token algorithm: the identity provider's
 * tokens are checked by fast-jwt, which has no SM2.
 */
export type SigningAlgorithm = TokenAlgorithm | 'SM2'

// Pinned in one place: an RSA key below this size is refused outright.
export const MIN_RSA_BITS = 2048

export interface VerificationKey {
  kid: string
  /** RFC 7638 thumbprint: the key's identity whatever `kid` a JWKS gave it. */
  thumbprint: string
  /** SPKI PEM, the form fast-jwt verifies with. */
  pem: string
  /** The algorithms this key may verify, from its type. */
  algorithms: TokenAlgorithm[]
}

/** Which token algorithms a public key can serve, or a reason it cannot serve any. */
export function algorithmsForKey(key: KeyObject): TokenAlgorithm[] | string {
  const algorithms = signingAlgorithmsForKey(key)
  if (typeof algorithms === 'string') return algorithms
  return algorithms.includes('SM2') ? 'SM2 keys cannot sign identity-provider tokens' : (algorithms as TokenAlgorithm[])
}

/** Which algorithms a key (public or private) can sign with, SM2 included, or why none. */
export function signingAlgorithmsForKey(key: KeyObject): SigningAlgorithm[] | string {
  switch (key.asymmetricKeyType) {
    case 'ec':
      if (key.asymmetricKeyDetails?.namedCurve === 'SM2') return sm2PublicKeyOf(key) ? ['SM2'] : 'not a valid SM2 key'
      return key.asymmetricKeyDetails?.namedCurve === 'prime256v1' ? ['ES256'] : 'only P-256 and SM2 EC keys are accepted'
    case 'ed25519':
      return ['EdDSA']
    case 'rsa': {
      const bits = key.asymmetricKeyDetails?.modulusLength ?? 0
      return bits >= MIN_RSA_BITS ? ['RS256', 'PS256'] : `RSA keys need at least ${MIN_RSA_BITS} bits, this one has ${bits}`
    }
    case undefined:
    case 'sm2' as string:
      // node:crypto names no type for SM2 (an EC key on curve 1.2.156.10197.1.301).
      try {
        if (sm2PublicKeyOf(key)) return ['SM2']
      } catch (err) {
        return (err as Error).message
      }
      return 'unsupported key type'
    default:
      return `unsupported key type ${key.asymmetricKeyType}`
  }
}

/** The public JWK of a key: node:crypto's export, or the SM2 profile's `{crv: "SM2", kty: "EC", x, y}`. */
export function publicJwk(key: KeyObject): JWK {
  const sm2 = sm2PublicKeyOf(key)
  if (sm2) return sm2Jwk(sm2)
  return (key.type === 'private' ? createPublicKey(key) : key).export({ format: 'jwk' }) as JWK
}

/** RFC 7638 SHA-256 thumbprint of a public key (SM2: over `{"crv":"SM2","kty":"EC","x","y"}`). */
export async function keyThumbprint(key: KeyObject): Promise<string> {
  return calculateJwkThumbprint(publicJwk(key), 'sha256')
}

/**
 * Reads public keys from the text of a PEM file or a JWKS file. Private keys are refused: the
 * service only ever needs the identity provider's public half.
 */
export async function parseVerificationKeys(text: string): Promise<VerificationKey[]> {
  const trimmed = text.trim()
  if (trimmed.startsWith('{')) {
    const jwks = JSON.parse(trimmed) as { keys?: (JsonWebKey & { kid?: string; d?: string })[] }
    if (!Array.isArray(jwks.keys) || jwks.keys.length === 0) throw new Error('JWKS has no "keys" array')
    return Promise.all(
      jwks.keys.map(async (jwk) => {
        if (jwk.d !== undefined) throw new Error('JWKS holds a private key')
        const key = createPublicKey({ key: jwk, format: 'jwk' })
        return toVerificationKey(key, jwk.kid)
      }),
    )
  }
  if (/PRIVATE KEY-----/.test(trimmed)) throw new Error('PEM holds a private key; give the public key')
  const key = createPublicKey(trimmed)
  return [await toVerificationKey(key, undefined)]
}

async function toVerificationKey(key: KeyObject, kid: string | undefined): Promise<VerificationKey> {
  const algorithms = algorithmsForKey(key)
  if (typeof algorithms === 'string') throw new Error(algorithms)
  const thumbprint = await keyThumbprint(key)
  return { kid: kid ?? thumbprint, thumbprint, pem: key.export({ type: 'spki', format: 'pem' }).toString(), algorithms }
}
