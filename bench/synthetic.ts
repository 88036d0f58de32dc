// Synthetic certificates for the benchmarks: the logic of generate-certificates.ts as importable
// functions (that script stays a standalone CLI). Holders are synthetic ID numbers with valid
// check digits; certificates are marriage certificates of the example catalogue, signed with the
// development issuer key from keys.example/ (what the service registers in development).
import { createPrivateKey, createPublicKey, randomInt, type KeyObject } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { CompactSign, calculateJwkThumbprint, exportJWK } from 'jose'
import { EXAMPLE_KEYS_DIR } from '../src/config.js'
import { formatCertId, idNumberCheckChar } from '../src/ids/index.js'

export const TYPE_CODE = '11100000000013338W011'
export const ISSUER_CODE = '11330100MB1234567E'
export const CERT_TYP = 'zhengzhao-cert+jws'

/** The n-th synthetic holder: a valid ID number, born 1950–1999, region 110101 (unique for n < 18,000,000). */
export function syntheticHolder(n: number): string {
  const birth = new Date(Date.UTC(1950, 0, 1) + (n % 18000) * 86_400_000).toISOString().slice(0, 10).replaceAll('-', '')
  const body = `110101${birth}${String(Math.floor(n / 18000) % 1000).padStart(3, '0')}`
  return body + idNumberCheckChar(body)
}

/** The serial of the i-th certificate of a run: `prefix` keeps runs against one database apart. */
export function serialOf(prefix: string, i: number): string {
  return `${prefix}${String(i).padStart(9, '0')}`
}

export function certificateIdOf(serial: string): string {
  return formatCertId({ typeCode: TYPE_CODE, issuerCode: ISSUER_CODE, serial, version: 1 })
}

/** The payload of a certificate exactly as generate-certificates.ts shapes it. */
export function certificatePayload(serial: string, holderN: number) {
  return {
    id: certificateIdOf(serial),
    typeCode: TYPE_CODE,
    name: '结婚证',
    number: serial,
    holder: { idType: '111', id: syntheticHolder(holderN), name: '测试持证人' },
    issuer: { code: ISSUER_CODE, name: '杭州市民政局' },
    issuedOn: '2024-05-20',
    validFrom: '2024-05-20',
    data: { registeredOn: '2024-05-20', spouseName: '测试配偶' },
  }
}

export interface CertificateSigner {
  alg: string
  kid: string
  publicKey: KeyObject
  sign(payload: object): Promise<string>
}

/** The development issuer's signer (RS256 for the example key). */
export async function createSigner(keyFile = join(EXAMPLE_KEYS_DIR, `issuer-${ISSUER_CODE}.private.pem`)): Promise<CertificateSigner> {
  const privateKey = createPrivateKey(readFileSync(keyFile, 'utf8'))
  const publicKey = createPublicKey(privateKey)
  const kid = await calculateJwkThumbprint(await exportJWK(publicKey), 'sha256')
  const type = privateKey.asymmetricKeyType
  const alg = type === 'rsa' ? 'RS256' : type === 'ed25519' ? 'EdDSA' : 'ES256'
  return {
    alg,
    kid,
    publicKey,
    sign: (payload) => new CompactSign(Buffer.from(JSON.stringify(payload))).setProtectedHeader({ alg, kid, typ: CERT_TYP }).sign(privateKey),
  }
}

export interface SignedSet {
  jws: string[]
  ids: string[]
  /** The holder number (see syntheticHolder) of each certificate. */
  holders: Int32Array
}

/**
 * Signs certificates `first` … `first + count - 1` of a run, each for a random holder below
 * `holders`. jose signs through WebCrypto on libuv's thread pool: a window of 256 stays in flight.
 */
export async function signCertificates(signer: CertificateSigner, prefix: string, first: number, count: number, holders: number): Promise<SignedSet> {
  const set: SignedSet = { jws: [], ids: [], holders: new Int32Array(count) }
  for (let start = 0; start < count; start += 256) {
    const window: Promise<string>[] = []
    for (let i = start; i < Math.min(count, start + 256); i++) {
      const holder = randomInt(holders)
      const payload = certificatePayload(serialOf(prefix, first + i), holder)
      set.holders[i] = holder
      set.ids.push(payload.id)
      window.push(signer.sign(payload))
    }
    set.jws.push(...(await Promise.all(window)))
  }
  return set
}
