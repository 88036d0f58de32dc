import { createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto'
import { sm2PrivateKeyOf, sm2Spki, type Sm2PrivateKey } from './sm2.js'

export interface Sm2KeyPair {
  /** PKCS#8 PEM in the form `openssl genpkey -algorithm SM2` writes (id-ecPublicKey, curve 1.2.156.10197.1.301). */
  privateKeyPem: string
  /** The key as node:crypto reads it back from that PEM (asymmetricKeyType undefined on OpenSSL 3.0). */
  privateKey: KeyObject
  /** The key for sm2Sign. */
  key: Sm2PrivateKey
  /** SubjectPublicKeyInfo of the public key, DER. */
  spki: Buffer
}

/**
 * A fresh SM2 key pair. node:crypto (OpenSSL) generates an EC key on the SM2 curve and writes
 * the same PKCS#8 as `openssl genpkey -algorithm SM2`; only the signing is ours. The PEM is read
 * back through sm2PrivateKeyOf so a key is never handed out that our own signer would refuse:
 * OpenSSL's EC generator draws d from [1, n-1], SM2 needs [1, n-2] (1 + d must be invertible),
 * so the one-in-2^256 key d = n-1 is drawn again.
 */
export function generateSm2KeyPair(): Sm2KeyPair {
  for (;;) {
    const { privateKey: generated } = generateKeyPairSync('ec', { namedCurve: 'SM2' })
    const privateKeyPem = generated.export({ type: 'pkcs8', format: 'pem' }).toString()
    const privateKey = createPrivateKey(privateKeyPem)
    let key: Sm2PrivateKey | undefined
    try {
      key = sm2PrivateKeyOf(privateKey)
    } catch {
      continue
    }
    if (!key) throw new Error('node:crypto did not write an SM2 key for curve SM2')
    return { privateKeyPem, privateKey, key, spki: sm2Spki(key.publicKey) }
  }
}
