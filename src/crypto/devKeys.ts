import { generateKeyPairSync } from 'node:crypto'
import { calculateJwkThumbprint, exportJWK } from 'jose'

/** The development identity provider's ES256 signing key (PKCS#8 PEM). */
export const DEV_PRIVATE_KEY_FILE = 'idp-es256.private.pem'
/** Its public half as a JWKS: what AUTH_KEYS points at. */
export const DEV_JWKS_FILE = 'idp.jwks.json'
/** The service's own Ed25519 signing key (receipts, trust bundles): what SERVICE_KEYS points at. */
export const DEV_SERVICE_KEY_FILE = 'service-ed25519.private.pem'

export interface DevKeySet {
  /** File name → contents, ready to write. */
  files: Record<string, string>
  /** RFC 7638 SHA-256 thumbprint of the key, also its `kid`. */
  kid: string
}

/** True for files of a key set that hold private keys (written mode 0600). */
export function isPrivateKeyFile(name: string): boolean {
  return name.endsWith('.private.pem')
}

/**
 * A fresh development key set: the identity provider's ES256 (P-256) private key and the JWKS
 * that verifies it, and the service's Ed25519 signing key. Pure: the caller decides where the
 * files go.
 */
export async function generateDevKeySet(): Promise<DevKeySet> {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const jwk = await exportJWK(publicKey)
  const kid = await calculateJwkThumbprint(jwk, 'sha256')
  const jwks = { keys: [{ ...jwk, kid, alg: 'ES256', use: 'sig' }] }
  return {
    files: {
      [DEV_PRIVATE_KEY_FILE]: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      [DEV_JWKS_FILE]: `${JSON.stringify(jwks, null, 2)}\n`,
      [DEV_SERVICE_KEY_FILE]: generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    },
    kid,
  }
}
