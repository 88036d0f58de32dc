import { createHash, randomBytes, type KeyObject } from 'node:crypto'
import { weierstrass } from '@noble/curves/abstract/weierstrass.js'
import { children, DerError, decodeSignatureValue, encodeSignatureValue, expectTag, readOid, readTlv, readUnsignedInteger, readWhole, value } from './der.js'

/**
 * SM2 signatures (GM/T 0003.2, GB/T 32918.2) with SM3 (GB/T 32905). The curve arithmetic is
 * @noble/curves' short-Weierstrass code with the SM2 parameters; SM3 is node:crypto's. What is
 * ours is the strict wrapper: the distinguishing ID is always 1234567812345678 (GM/T 0009),
 * signatures are exactly 64 bytes r‖s or strict DER, 1 ≤ r, s < n, and no input ever throws out
 * of a verification: a malformed signature or key is simply "does not verify".
 */

/** The default distinguishing ID of GM/T 0009, the one OpenSSL needs `-sigopt distid:` for. */
export const SM2_ID = '1234567812345678'
export const OID_EC_PUBLIC_KEY = '1.2.840.10045.2.1'
export const OID_SM2_CURVE = '1.2.156.10197.1.301'
export const OID_SM2_WITH_SM3 = '1.2.156.10197.1.501'

const CURVE = {
  p: 0xfffffffeffffffffffffffffffffffffffffffff00000000ffffffffffffffffn,
  a: 0xfffffffeffffffffffffffffffffffffffffffff00000000fffffffffffffffcn,
  b: 0x28e9fa9e9d9f5e344d5a9e4bcf6509a7f39789f515ab8f92ddbcbd414d940e93n,
  n: 0xfffffffeffffffffffffffffffffffff7203df6b21c6052b53bbf40939d54123n,
  h: 1n,
  Gx: 0x32c4ae2c1f1981195f9904466a39c9948fe30bbff2660be1715a4589334c74c7n,
  Gy: 0xbc3736a2f4f6779c59bdcee36b692153d0a9877cc62a474002df32e52139f0a0n,
}
const Point = weierstrass(CURVE)
type Point = InstanceType<typeof Point>
const { n } = CURVE
const Fn = Point.Fn
// The base point's table (window 8) is built on first use: about 0.1 s once per process.
let baseReady = false
const base = (): Point => {
  if (!baseReady) Point.BASE.precompute(8, false)
  baseReady = true
  return Point.BASE
}

const be32 = (x: bigint): Buffer => Buffer.from(x.toString(16).padStart(64, '0'), 'hex')
const toBigInt = (bytes: Uint8Array): bigint => (bytes.length === 0 ? 0n : BigInt('0x' + Buffer.from(bytes).toString('hex')))
const mod = (x: bigint): bigint => ((x % n) + n) % n

export interface Sm2PublicKey {
  /** Affine coordinates, 32 bytes each. */
  readonly x: Buffer
  readonly y: Buffer
  /** Z_A = SM3(ENTL ‖ ID ‖ a ‖ b ‖ xG ‖ yG ‖ xA ‖ yA) for the default ID, computed once. */
  readonly za: Buffer
  readonly point: Point
}

export interface Sm2PrivateKey {
  readonly d: bigint
  readonly publicKey: Sm2PublicKey
}

export class Sm2KeyError extends Error {}

const ZA_PREFIX = Buffer.concat([Buffer.from([0x00, SM2_ID.length * 8]), Buffer.from(SM2_ID, 'ascii'), be32(CURVE.a), be32(CURVE.b), be32(CURVE.Gx), be32(CURVE.Gy)])

function publicKeyFromPoint(point: Point): Sm2PublicKey {
  const { x, y } = point.toAffine()
  const xb = be32(x)
  const yb = be32(y)
  return { x: xb, y: yb, point, za: createHash('sm3').update(ZA_PREFIX).update(xb).update(yb).digest() }
}

/** An SM2 public key from its coordinates; refuses points off the curve and the point at infinity. */
export function sm2PublicKeyFromCoordinates(x: Uint8Array, y: Uint8Array): Sm2PublicKey {
  if (x.length !== 32 || y.length !== 32) throw new Sm2KeyError('SM2 coordinates are 32 bytes each')
  try {
    const point = Point.fromAffine({ x: toBigInt(x), y: toBigInt(y) })
    point.assertValidity()
    return publicKeyFromPoint(point)
  } catch {
    throw new Sm2KeyError('not a point on the SM2 curve')
  }
}

/** An uncompressed point 04 ‖ x ‖ y. */
function fromUncompressed(bytes: Uint8Array): Sm2PublicKey {
  if (bytes.length !== 65 || bytes[0] !== 0x04) throw new Sm2KeyError('an SM2 public key must be an uncompressed point (04 ‖ x ‖ y)')
  return sm2PublicKeyFromCoordinates(bytes.subarray(1, 33), bytes.subarray(33))
}

/** The curve named by an AlgorithmIdentifier { id-ecPublicKey, namedCurve } or undefined. */
function ecCurve(der: Uint8Array, alg: ReturnType<typeof readTlv>): string | undefined {
  const [oid, params] = children(der, expectTag(alg, 0x30))
  if (readOid(der, oid!) !== OID_EC_PUBLIC_KEY || !params || params.tag !== 0x06) return undefined
  return readOid(der, params)
}

/** Reads a DER SubjectPublicKeyInfo; undefined when it is well formed but not an SM2 key. */
export function sm2PublicKeyFromSpki(der: Uint8Array): Sm2PublicKey | undefined {
  try {
    const [alg, bits] = children(der, readWhole(der, 0x30))
    if (ecCurve(der, alg!) !== OID_SM2_CURVE) return undefined
    const v = value(der, expectTag(bits, 0x03))
    if (v[0] !== 0) throw new Sm2KeyError('unused bits in the public key')
    return fromUncompressed(v.subarray(1))
  } catch (err) {
    if (err instanceof Sm2KeyError) throw err
    if (err instanceof DerError) throw new Sm2KeyError(`malformed public key: ${err.message}`)
    throw err
  }
}

/** The SubjectPublicKeyInfo of an SM2 key, DER. */
export function sm2Spki(key: Sm2PublicKey): Buffer {
  return Buffer.concat([Buffer.from('3059301306072a8648ce3d020106082a811ccf5501822d03420004', 'hex'), key.x, key.y])
}

/** The SPKI PEM of an SM2 key (what node:crypto and OpenSSL read). */
export function sm2SpkiPem(key: Sm2PublicKey): string {
  const b64 = sm2Spki(key).toString('base64').replace(/.{64}/g, '$&\n')
  return `-----BEGIN PUBLIC KEY-----\n${b64}\n-----END PUBLIC KEY-----\n`
}

// node:crypto on OpenSSL 3.0 names no asymmetricKeyType for an SM2 key; a later build may say 'sm2'.
// A key made in process by generateKeyPairSync('ec', { namedCurve: 'SM2' }) says 'ec' and SM2.
const maybeSm2 = (key: KeyObject): boolean =>
  key.asymmetricKeyType === undefined || (key.asymmetricKeyType as string) === 'sm2' || (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'SM2')

/** The SM2 public key a KeyObject holds, or undefined for any other kind of key. */
export function sm2PublicKeyOf(key: KeyObject): Sm2PublicKey | undefined {
  if (!maybeSm2(key)) return undefined
  if (key.type === 'private') return sm2PrivateKeyOf(key)?.publicKey
  return sm2PublicKeyFromSpki(key.export({ type: 'spki', format: 'der' }))
}

/** The SM2 private key a KeyObject holds (PKCS#8 as `openssl genpkey -algorithm SM2` writes), or undefined. */
export function sm2PrivateKeyOf(key: KeyObject): Sm2PrivateKey | undefined {
  if (key.type !== 'private' || !maybeSm2(key)) return undefined
  const der = key.export({ type: 'pkcs8', format: 'der' })
  try {
    // PrivateKeyInfo { version, AlgorithmIdentifier, OCTET STRING { ECPrivateKey } }
    const [, alg, octets] = children(der, readWhole(der, 0x30))
    if (ecCurve(der, alg!) !== OID_SM2_CURVE) return undefined
    const inner = value(der, expectTag(octets, 0x04))
    const [, secret] = children(inner, readWhole(inner, 0x30))
    const d = toBigInt(value(inner, expectTag(secret, 0x04)))
    if (d < 1n || d >= n - 1n) throw new Sm2KeyError('the SM2 private key is out of range')
    return { d, publicKey: publicKeyFromPoint(base().multiply(d)) }
  } catch (err) {
    if (err instanceof DerError) throw new Sm2KeyError(`malformed SM2 private key: ${err.message}`)
    throw err
  }
}

/** The JWK of the SM2 JWS profile: `{"crv":"SM2","kty":"EC","x":…,"y":…}`, 32-byte coordinates. */
export function sm2Jwk(key: Sm2PublicKey): { kty: 'EC'; crv: 'SM2'; x: string; y: string } {
  return { kty: 'EC', crv: 'SM2', x: key.x.toString('base64url'), y: key.y.toString('base64url') }
}

export function sm2PublicKeyFromJwk(jwk: { kty?: unknown; crv?: unknown; x?: unknown; y?: unknown; d?: unknown }): Sm2PublicKey {
  if (jwk.kty !== 'EC' || jwk.crv !== 'SM2' || typeof jwk.x !== 'string' || typeof jwk.y !== 'string') throw new Sm2KeyError('not an SM2 JWK')
  if (jwk.d !== undefined) throw new Sm2KeyError('the JWK holds a private key')
  const strict = /^[A-Za-z0-9_-]{43}$/
  if (!strict.test(jwk.x) || !strict.test(jwk.y)) throw new Sm2KeyError('SM2 JWK coordinates are 32 bytes, base64url without padding')
  return sm2PublicKeyFromCoordinates(Buffer.from(jwk.x, 'base64url'), Buffer.from(jwk.y, 'base64url'))
}

/** e = SM3(Z_A ‖ M) as an integer. */
const digest = (key: Sm2PublicKey, message: Uint8Array): bigint => toBigInt(createHash('sm3').update(key.za).update(message).digest())

/** Signs `message` (SM2-with-SM3, default ID); the signature is 64 bytes r ‖ s. */
export function sm2Sign(key: Sm2PrivateKey, message: Uint8Array): Buffer {
  const e = digest(key.publicKey, message)
  const inverse = Fn.inv(1n + key.d)
  for (;;) {
    // 384 random bits reduced mod n-1: the bias is negligible (2^-128).
    const k = (toBigInt(randomBytes(48)) % (n - 1n)) + 1n
    const x1 = base().multiply(k).toAffine().x
    const r = mod(e + x1)
    if (r === 0n || r + k === n) continue
    const s = mod(inverse * (k - r * key.d))
    if (s === 0n) continue
    return Buffer.concat([be32(r), be32(s)])
  }
}

// Precomputed tables make a verification with a known key about three times faster, but each
// costs about 0.1 s and ~1 MB: built for a key on its second use, for a bounded set of keys.
const MAX_TABLES = 16
const uses = new Map<string, Point>()
const tables = new Map<string, Point>()

function pointForVerify(key: Sm2PublicKey): Point {
  const id = key.x.toString('hex') + key.y.toString('hex')
  const table = tables.get(id)
  if (table) return table
  if (!uses.has(id)) {
    if (uses.size >= 4096) uses.clear()
    uses.set(id, key.point)
    return key.point
  }
  if (tables.size >= MAX_TABLES) tables.delete(tables.keys().next().value!)
  const point = Point.fromAffine(key.point.toAffine()).precompute(8, false)
  tables.set(id, point)
  return point
}

function verifyRs(key: Sm2PublicKey, message: Uint8Array, r: bigint, s: bigint): boolean {
  if (r < 1n || r >= n || s < 1n || s >= n) return false
  const t = mod(r + s)
  if (t === 0n) return false
  const P = pointForVerify(key)
  const sum = tables.has(key.x.toString('hex') + key.y.toString('hex')) ? base().multiply(s).add(P.multiply(t)) : base().multiply(s).add(P.multiplyUnsafe(t))
  if (sum.is0()) return false
  return mod(digest(key, message) + sum.toAffine().x) === r
}

/**
 * Whether `signature` is a valid SM2-with-SM3 signature of `message` by `key` with the default
 * ID. `format` says what the container defines: `raw` is exactly 64 bytes r ‖ s (the JWS
 * profile, some seals), `der` is a strict DER SEQUENCE { r, s } with nothing after it.
 * Never throws.
 */
export function sm2Verify(key: Sm2PublicKey, message: Uint8Array, signature: Uint8Array, format: 'raw' | 'der'): boolean {
  try {
    let r: bigint
    let s: bigint
    if (format === 'raw') {
      if (signature.length !== 64) return false
      r = toBigInt(signature.subarray(0, 32))
      s = toBigInt(signature.subarray(32))
    } else {
      ;({ r, s } = decodeSignatureValue(signature))
    }
    return verifyRs(key, message, r, s)
  } catch {
    return false
  }
}

/** 64-byte r ‖ s to strict DER, for tools (OpenSSL) that want DER. */
export function sm2RawToDer(raw: Uint8Array): Uint8Array {
  if (raw.length !== 64) throw new RangeError('an SM2 raw signature is 64 bytes')
  return encodeSignatureValue(toBigInt(raw.subarray(0, 32)), toBigInt(raw.subarray(32)))
}

/** Strict DER to 64-byte r ‖ s; throws on anything else. */
export function sm2DerToRaw(der: Uint8Array): Buffer {
  const { r, s } = decodeSignatureValue(der)
  if (r >= 2n ** 256n || s >= 2n ** 256n) throw new DerError('integer too large for SM2')
  return Buffer.concat([be32(r), be32(s)])
}

// Exposed for tests: the curve order, to build out-of-range signatures.
export const SM2_ORDER = n
