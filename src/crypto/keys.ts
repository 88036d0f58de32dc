import { createPublicKey, type KeyObject, type JsonWebKey } from 'node:crypto'
import { calculateJwkThumbprint, type JWK } from 'jose'

/** Token algorithms this service can ever accept, and the key each needs. */
export const TOKEN_ALGORITHMS = ['ES256', 'EdDSA', 'RS256', 'PS256'] as const
export type TokenAlgorithm = (typeof TOKEN_ALGORITHMS)[number]

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

/** Which algorithms a public key can serve, or a reason it cannot serve any. */
export function algorithmsForKey(key: KeyObject): TokenAlgorithm[] | string {
  switch (key.asymmetricKeyType) {
    case 'ec':
      return key.asymmetricKeyDetails?.namedCurve === 'prime256v1' ? ['ES256'] : 'only P-256 EC keys are accepted'
    case 'ed25519':
      return ['EdDSA']
    case 'rsa': {
      const bits = key.asymmetricKeyDetails?.modulusLength ?? 0
      return bits >= MIN_RSA_BITS ? ['RS256', 'PS256'] : `RSA keys need at least ${MIN_RSA_BITS} bits, this one has ${bits}`
    }
    default:
      return `unsupported key type ${key.asymmetricKeyType ?? 'unknown'}`
  }
}

/** RFC 7638 SHA-256 thumbprint of a public key. */
export async function keyThumbprint(key: KeyObject): Promise<string> {
  return calculateJwkThumbprint(key.export({ format: 'jwk' }) as JWK, 'sha256')
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
