import { createPublicKey } from 'node:crypto'
import { compactVerify, importSPKI } from 'jose'
import type { SigningAlgorithm } from './keys.js'
import { sm2PublicKeyOf, type Sm2PublicKey } from './sm2.js'
import { verifySm2Jws } from './sm2Jws.js'

export { decodeBase64url, verifySm2Jws } from './sm2Jws.js'

/**
 * Checks the signature of a compact JWS with a known public key and a pinned algorithm, for the
 * push path, the verifier and the offline CLI alike. jose covers ES256, EdDSA, RS256 and PS256
 * (over WebCrypto, on libuv's thread pool); SM2 is the profile of DESIGN.md §3: SM2-with-SM3,
 * ID 1234567812345678, over the ASCII signing input, signature exactly 64 bytes r ‖ s.
 * Never throws: any malformed input is "does not verify".
 */

type Imported = { alg: 'SM2'; key: Sm2PublicKey } | { alg: Exclude<SigningAlgorithm, 'SM2'>; key: Awaited<ReturnType<typeof importSPKI>> }

// Imported keys by kid and algorithm. jose converts a KeyObject on every call, which measured
// 3.3 times slower for RS256 than reusing the imported CryptoKey; an SM2 key's Z_A is computed once.
const MAX_KEYS = 1000
const imported = new Map<string, Promise<Imported | undefined>>()

async function importKey(publicKeyPem: string, alg: SigningAlgorithm): Promise<Imported | undefined> {
  try {
    if (alg === 'SM2') {
      const key = sm2PublicKeyOf(createPublicKey(publicKeyPem))
      return key ? { alg, key } : undefined
    }
    return { alg, key: await importSPKI(publicKeyPem, alg) }
  } catch {
    return undefined
  }
}

/** The key for `alg`, imported once per process (`id` names the key: its kid, or the PEM itself). */
function verifierKey(id: string, publicKeyPem: string, alg: SigningAlgorithm): Promise<Imported | undefined> {
  const memo = `${id}\n${alg}\n${publicKeyPem}`
  let found = imported.get(memo)
  if (!found) {
    if (imported.size >= MAX_KEYS) imported.clear()
    imported.set(memo, (found = importKey(publicKeyPem, alg)))
  }
  return found
}

// Where SM2 signatures are checked: on this thread, unless the app has handed them to a worker
// pool (crypto/sm2Pool.ts). One per process, as the pool's threads are sized to the cores.
let sm2Offload: ((jws: string, key: Sm2PublicKey) => Promise<boolean>) | undefined

/** Sends SM2 verifications to `verify` (a worker pool's) instead of this thread; undefined brings them back. */
export function offloadSm2Verification(verify: ((jws: string, key: Sm2PublicKey) => Promise<boolean>) | undefined): void {
  sm2Offload = verify
}

/**
 * Whether `jws` carries a valid `alg` signature by the key in `publicKeyPem`. The caller has
 * already pinned `alg` (the header's, checked against the allow-list and the key's algorithms).
 */
export async function verifyJwsSignature(jws: string, alg: SigningAlgorithm, publicKeyPem: string, keyId: string = publicKeyPem): Promise<boolean> {
  const key = await verifierKey(keyId, publicKeyPem, alg)
  if (!key) return false
  if (key.alg === 'SM2') return sm2Offload ? sm2Offload(jws, key.key) : verifySm2Jws(jws, key.key)
  try {
    await compactVerify(jws, key.key, { algorithms: [alg] })
    return true
  } catch {
    return false
  }
}
