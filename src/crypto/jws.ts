import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto'
import { CompactSign } from 'jose'
import forge from 'node-forge'
import { keyThumbprint, signingAlgorithmsForKey } from './keys.js'
import { sm2PrivateKeyOf, sm2Sign, type Sm2PrivateKey } from './sm2.js'

/** The media type in every certificate's protected header (DESIGN.md §3). */
export const CERT_JWS_TYP = 'zhengzhao-cert+jws'

/**
 * The algorithms a certificate may be signed with; RSA needs MIN_RSA_BITS (crypto/keys.ts).
 * `SM2` is SM2-with-SM3 with the ID 1234567812345678 over the JWS signing input, the signature
 * 64 bytes r ‖ s (as RFC 7518 §3.4 does for ES256), the key the JWK {crv: "SM2", kty: "EC", x, y}.
 */
export const CERT_SIGNING_ALGORITHMS = ['ES256', 'EdDSA', 'RS256', 'PS256', 'SM2'] as const
export type CertSigningAlgorithm = (typeof CERT_SIGNING_ALGORITHMS)[number]

export type SigningErrorCode =
  | 'ERR_KEY_NOT_PRIVATE'
  | 'ERR_KEY_UNREADABLE'
  | 'ERR_KEY_PASSWORD'
  | 'ERR_KEY_UNSUPPORTED'
  | 'ERR_KEY_TOO_SMALL'
  | 'ERR_ALG_MISMATCH'
  | 'ERR_P12_MALFORMED'
  | 'ERR_P12_NO_KEY'
  | 'ERR_P12_MANY_KEYS'
  | 'ERR_PAYLOAD_INVALID'

/** A key that cannot be loaded or cannot sign as asked; `code` is stable, the message may change. */
export class SigningError extends Error {
  constructor(
    readonly code: SigningErrorCode,
    message: string,
  ) {
    super(message)
  }
}

/** The algorithm to sign with: the one asked for if this key may use it, else the key's default. */
function chooseAlgorithm(key: KeyObject, asked: CertSigningAlgorithm | undefined): CertSigningAlgorithm {
  if (key.type !== 'private') throw new SigningError('ERR_KEY_NOT_PRIVATE', 'signing needs a private key')
  const allowed = signingAlgorithmsForKey(key)
  if (typeof allowed === 'string') throw new SigningError(key.asymmetricKeyType === 'rsa' ? 'ERR_KEY_TOO_SMALL' : 'ERR_KEY_UNSUPPORTED', allowed)
  if (asked === undefined) return allowed[0]!
  if (!(allowed as readonly string[]).includes(asked)) {
    throw new SigningError('ERR_ALG_MISMATCH', `this ${key.asymmetricKeyType ?? 'SM2'} key signs with ${allowed.join(' or ')}, not ${String(asked)}`)
  }
  return asked
}

/**
 * Signs a certificate payload as its issuer: a compact JWS whose payload is the UTF-8 of
 * `JSON.stringify(payload)` and whose protected header is `{ alg, kid, typ }`, `kid` being the
 * RFC 7638 SHA-256 thumbprint of the public key. `alg` defaults by key: P-256 ES256, Ed25519
 * EdDSA, RSA RS256 (PS256 on request), SM2 SM2.
 * @throws SigningError for an unsupported or too small key, or an `alg` the key cannot use.
 */
export async function signCertificate(payload: unknown, privateKey: KeyObject, opts: { alg?: CertSigningAlgorithm } = {}): Promise<string> {
  const alg = chooseAlgorithm(privateKey, opts.alg)
  let json: string | undefined
  try {
    json = JSON.stringify(payload)
  } catch (err) {
    throw new SigningError('ERR_PAYLOAD_INVALID', `the payload cannot be serialised: ${(err as Error).message}`)
  }
  if (json === undefined) throw new SigningError('ERR_PAYLOAD_INVALID', 'the payload has no JSON form')
  const kid = await keyThumbprint(privateKey)
  if (alg === 'SM2') return signSm2Jws(Buffer.from(json, 'utf8'), { alg, kid, typ: CERT_JWS_TYP }, privateKey)
  return new CompactSign(Buffer.from(json, 'utf8')).setProtectedHeader({ alg, kid, typ: CERT_JWS_TYP }).sign(privateKey)
}

/** A compact JWS signed SM2-with-SM3 (the profile above): `header` is written as given. */
export function signSm2Jws(payload: Uint8Array, header: Record<string, unknown>, privateKey: KeyObject | Sm2PrivateKey): string {
  // A parsed key may be passed once and reused (the service key): parsing costs more than signing.
  const key = 'd' in privateKey ? privateKey : sm2PrivateKeyOf(privateKey)
  if (!key) throw new SigningError('ERR_KEY_UNSUPPORTED', 'not an SM2 private key')
  const input = `${Buffer.from(JSON.stringify(header), 'utf8').toString('base64url')}.${Buffer.from(payload).toString('base64url')}`
  return `${input}.${sm2Sign(key, Buffer.from(input, 'ascii')).toString('base64url')}`
}

/**
 * Loads an issuer's private signing key from a PEM (PKCS#8, PKCS#1 or SEC1, optionally
 * encrypted with `password`) or from a PKCS#12 file holding exactly one key.
 * @throws SigningError with a code saying why the key cannot be loaded (ERR_KEY_PASSWORD for a
 * wrong or missing password).
 */
export function loadSigningKey(opts: { keyPem?: string; p12?: Buffer; password?: string }): KeyObject {
  if ((opts.keyPem === undefined) === (opts.p12 === undefined)) throw new TypeError('give exactly one of keyPem and p12')
  return opts.keyPem !== undefined ? keyFromPem(opts.keyPem, opts.password) : keyFromP12(opts.p12!, opts.password)
}

function keyFromPem(pem: string, password: string | undefined): KeyObject {
  if (!/-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/.test(pem)) throw new SigningError('ERR_KEY_NOT_PRIVATE', 'not a PEM private key (PKCS#8, PKCS#1 or SEC1)')
  try {
    return createPrivateKey(password === undefined ? pem : { key: pem, format: 'pem', passphrase: password })
  } catch (err) {
    if (/ENCRYPTED/.test(pem)) {
      throw new SigningError('ERR_KEY_PASSWORD', password === undefined ? 'the private key is encrypted: give its password' : 'wrong password for the encrypted private key')
    }
    throw new SigningError('ERR_KEY_UNREADABLE', `cannot read the private key: ${(err as Error).message}`)
  }
}

const { pkcs8ShroudedKeyBag, keyBag } = forge.pki.oids as Record<string, string>

function keyFromP12(p12: Buffer, password: string | undefined): KeyObject {
  let pfx: forge.pkcs12.Pkcs12Pfx
  try {
    const asn1 = forge.asn1.fromDer(forge.util.createBuffer(p12.toString('binary')))
    pfx = forge.pkcs12.pkcs12FromAsn1(asn1, false, password ?? '')
  } catch (err) {
    // forge says "MAC could not be verified. Invalid password?" or "... wrong password?".
    if (/password/i.test((err as Error).message)) {
      throw new SigningError('ERR_KEY_PASSWORD', password === undefined ? 'the PKCS#12 file needs its password' : 'wrong password for the PKCS#12 file')
    }
    throw new SigningError('ERR_P12_MALFORMED', `not a readable PKCS#12 file: ${(err as Error).message}`)
  }
  const bags = [pkcs8ShroudedKeyBag!, keyBag!].flatMap((bagType) => pfx.getBags({ bagType })[bagType] ?? [])
  if (bags.length === 0) throw new SigningError('ERR_P12_NO_KEY', 'the PKCS#12 file holds no private key')
  // Refuse to guess which of several keys an issuer meant to sign with.
  if (bags.length > 1) throw new SigningError('ERR_P12_MANY_KEYS', `the PKCS#12 file holds ${bags.length} private keys; export the signing key on its own`)
  const bag = bags[0]!
  // forge decodes RSA keys itself; any other key stays a PrivateKeyInfo that node:crypto reads.
  const info = bag.key ? forge.pki.wrapRsaPrivateKey(forge.pki.privateKeyToAsn1(bag.key)) : bag.asn1
  const der = Buffer.from(forge.asn1.toDer(info).getBytes(), 'binary')
  try {
    return createPrivateKey({ key: der, format: 'der', type: 'pkcs8' })
  } catch (err) {
    throw new SigningError('ERR_KEY_UNSUPPORTED', `the key in the PKCS#12 file cannot be read: ${(err as Error).message}`)
  }
}
