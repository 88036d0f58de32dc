import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto'
import { CompactSign, exportJWK, importPKCS8, type JWK } from 'jose'
import { keyThumbprint, publicJwk, signingAlgorithmsForKey } from './keys.js'
import { signSm2Jws } from './jws.js'
import { sm2PrivateKeyOf, type Sm2PrivateKey } from './sm2.js'

/** Media types of what the service signs. */
export const RECEIPT_TYP = 'zhengzhao-receipt+jws'
export const TRUST_BUNDLE_TYP = 'zhengzhao-trust-bundle+jws'

/** SM2 lets a deployment that must use 国密 only sign receipts and bundles with SM2-with-SM3. */
type ServiceAlgorithm = 'EdDSA' | 'ES256' | 'SM2'
const SERVICE_ALGORITHMS: readonly string[] = ['EdDSA', 'ES256', 'SM2']

export interface ServiceKey {
  kid: string
  alg: ServiceAlgorithm
  privateKey: KeyObject
  /** The same key imported for WebCrypto once (jose would otherwise convert it on every signature); none for SM2. */
  signingKey: Awaited<ReturnType<typeof importPKCS8>> | undefined
  /** An SM2 key, parsed once: re-reading it for every receipt cost five times the signature. */
  sm2?: Sm2PrivateKey
  jwk: JWK
}

/** The service's signing keys: the first signs, all are published (so keys rotate). */
export interface ServiceKeys {
  active: ServiceKey
  all: ServiceKey[]
}

/** Reads PKCS#8 PEM private keys (Ed25519, P-256 or SM2); throws with a precise message otherwise. */
export async function parseServiceKeys(pems: string[]): Promise<ServiceKeys> {
  if (pems.length === 0) throw new Error('at least one service key is needed')
  const all = await Promise.all(
    pems.map(async (pem) => {
      const privateKey = createPrivateKey(pem)
      if (privateKey.type !== 'private') throw new Error('a service key must be a private key')
      const algs = signingAlgorithmsForKey(privateKey)
      const alg = Array.isArray(algs) ? (algs.find((a) => SERVICE_ALGORITHMS.includes(a)) as ServiceAlgorithm | undefined) : undefined
      if (!alg) throw new Error('a service key must be Ed25519, P-256 or SM2')
      const kid = await keyThumbprint(privateKey)
      const signingKey = alg === 'SM2' ? undefined : await importPKCS8(privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), alg)
      const jwk = alg === 'SM2' ? publicJwk(privateKey) : await exportJWK(createPublicKey(privateKey))
      const sm2 = alg === 'SM2' ? sm2PrivateKeyOf(privateKey) : undefined
      return { kid, alg, privateKey, signingKey, ...(sm2 ? { sm2 } : {}), jwk: { ...jwk, kid, alg, use: 'sig' } }
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
  const { kid, alg, signingKey, privateKey, sm2 } = keys.active
  const bytes = Buffer.from(JSON.stringify(payload), 'utf8')
  if (!signingKey) return signSm2Jws(bytes, { alg, kid, typ }, sm2 ?? privateKey)
  return new CompactSign(bytes).setProtectedHeader({ alg, kid, typ }).sign(signingKey)
}
