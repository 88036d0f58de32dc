import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto'
import { CompactSign, exportJWK, importPKCS8, type JWK } from 'jose'
import { algorithmsForKey, keyThumbprint } from './keys.js'

/** Media types of what the service signs. */
export const RECEIPT_TYP = 'zhengzhao-receipt+jws'
export const TRUST_BUNDLE_TYP = 'zhengzhao-trust-bundle+jws'

export interface ServiceKey {
  kid: string
  alg: 'EdDSA' | 'ES256'
  privateKey: KeyObject
  /** The same key imported for WebCrypto once: jose would otherwise convert it on every signature. */
  signingKey: Awaited<ReturnType<typeof importPKCS8>>
  jwk: JWK
}

/** The service's signing keys: the first signs, all are published (so keys rotate). */
export interface ServiceKeys {
  active: ServiceKey
  all: ServiceKey[]
}

/** Reads PKCS#8 PEM private keys (Ed25519 or P-256); throws with a precise message otherwise. */
export async function parseServiceKeys(pems: string[]): Promise<ServiceKeys> {
  if (pems.length === 0) throw new Error('at least one service key is needed')
  const all = await Promise.all(
    pems.map(async (pem) => {
      const privateKey = createPrivateKey(pem)
      const publicKey = createPublicKey(privateKey)
      const algs = algorithmsForKey(publicKey)
      const alg = Array.isArray(algs) ? algs.find((a): a is 'EdDSA' | 'ES256' => a === 'EdDSA' || a === 'ES256') : undefined
      if (!alg) throw new Error('a service key must be Ed25519 or P-256')
      const kid = await keyThumbprint(publicKey)
      const signingKey = await importPKCS8(privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), alg)
      return { kid, alg, privateKey, signingKey, jwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } }
    }),
  )
  return { active: all[0]!, all }
}

/** The public JWKS published at /.well-known/jwks.json. */
export function serviceJwks(keys: ServiceKeys): { keys: JWK[] } {
  return { keys: keys.all.map((k) => k.jwk) }
}

/** Signs a JSON payload as a compact JWS with the active key, verifiable with the JWKS alone. */
export async function signServiceJws(keys: ServiceKeys, payload: unknown, typ: string): Promise<string> {
  const { kid, alg, signingKey } = keys.active
  return new CompactSign(Buffer.from(JSON.stringify(payload), 'utf8')).setProtectedHeader({ alg, kid, typ }).sign(signingKey)
}
