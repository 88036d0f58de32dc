import { constants, createPublicKey, verify, type KeyObject } from 'node:crypto'
import { MIN_RSA_BITS, type SigningAlgorithm } from './keys.js'
import { sm2PublicKeyOf, type Sm2PublicKey } from './sm2.js'
import { BASE64URL, decodeBase64url, verifySm2Jws } from './sm2Jws.js'

export { decodeBase64url, verifySm2Jws } from './sm2Jws.js'

/**
 * Checks the signature of a compact JWS with a known public key and a pinned algorithm, for the
 * push path, the verifier and the offline CLI alike. ES256, EdDSA, RS256 and PS256 are checked
 * with node:crypto's one-shot `verify` on this thread (RFC 7515 §5.2 and RFC 7518 §3: the
 * signature over the ASCII of `header.payload`; ES256 as r ‖ s, 64 bytes; PS256 with MGF1 SHA-256
 * and a salt as long as the hash); SM2 is the profile of DESIGN.md §3: SM2-with-SM3, ID
 * 1234567812345678, over the same input, signature exactly 64 bytes r ‖ s.
 * Never throws: any malformed input is "does not verify".
 *
 * Why not jose's `compactVerify` any more: it goes through WebCrypto, whose job hands each check
 * to libuv's pool. Measured on this machine (2026-12-01), an RS256 check cost 43-60 us of CPU
 * that way against 28-32 us with `verify`, and under load the thread that handed it over was
 * often preempted by the pool thread it woke. The header rules jose applied are kept here: the
 * header's alg must be the pinned one, and `crit` or `b64` make it "does not verify" (the
 * certificate decoder refuses both before this is reached, DESIGN.md §3).
 */

type Imported = { alg: 'SM2'; key: Sm2PublicKey } | { alg: Exclude<SigningAlgorithm, 'SM2'>; key: KeyObject }

// Imported keys by kid and algorithm: a PEM is parsed once per process; an SM2 key's Z_A is
// computed once.
const MAX_KEYS = 1000
const imported = new Map<string, Promise<Imported | undefined>>()

/** Whether `key` is one `alg` may use: RSA of at least MIN_RSA_BITS, P-256 or Ed25519 (as jose allowed). */
function keyFits(key: KeyObject, alg: Exclude<SigningAlgorithm, 'SM2'>): boolean {
  const type = key.asymmetricKeyType
  switch (alg) {
    case 'RS256':
      return type === 'rsa' && (key.asymmetricKeyDetails?.modulusLength ?? 0) >= MIN_RSA_BITS
    case 'PS256':
      return (type === 'rsa' || type === 'rsa-pss') && (key.asymmetricKeyDetails?.modulusLength ?? 0) >= MIN_RSA_BITS
    case 'ES256':
      return type === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1'
    case 'EdDSA':
      return type === 'ed25519'
  }
}

async function importKey(publicKeyPem: string, alg: SigningAlgorithm): Promise<Imported | undefined> {
  try {
    if (alg === 'SM2') {
      const key = sm2PublicKeyOf(createPublicKey(publicKeyPem))
      return key ? { alg, key } : undefined
    }
    const key = createPublicKey(publicKeyPem)
    return keyFits(key, alg) ? { alg, key } : undefined
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

/** An ES256, EdDSA, RS256 or PS256 compact JWS checked with `key` (see the module's comment). */
export function verifyNodeJws(jws: string, alg: Exclude<SigningAlgorithm, 'SM2'>, key: KeyObject): boolean {
  const first = jws.indexOf('.')
  const second = jws.indexOf('.', first + 1)
  if (first <= 0 || second <= first + 1 || jws.indexOf('.', second + 1) !== -1) return false
  const headerText = jws.slice(0, first)
  // Both parts are non-empty (the dots' places above); the alphabet is base64url's.
  if (!BASE64URL.test(headerText) || !BASE64URL.test(jws.slice(first + 1, second))) return false
  const signature = decodeBase64url(jws.slice(second + 1))
  if (!signature) return false
  let header: unknown
  try {
    header = JSON.parse(Buffer.from(headerText, 'base64url').toString('utf8'))
  } catch {
    return false
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) return false
  const h = header as Record<string, unknown>
  if (h.alg !== alg || 'crit' in h || 'b64' in h) return false
  const data = Buffer.from(jws.slice(0, second), 'ascii')
  try {
    switch (alg) {
      case 'RS256':
        return verify('sha256', data, key, signature)
      case 'PS256':
        return verify('sha256', data, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST }, signature)
      case 'ES256':
        return signature.length === 64 && verify('sha256', data, { key, dsaEncoding: 'ieee-p1363' }, signature)
      case 'EdDSA':
        return verify(null, data, key, signature)
    }
  } catch {
    return false
  }
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
  return verifyNodeJws(jws, key.alg, key.key)
}
