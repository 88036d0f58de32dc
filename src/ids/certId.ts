// GB/T 36904 e-certificate identifier (电子证照标识):
// 1.2.156.3005.2.<type code 21>.<issuer code 18>.<serial>.<version 3 digits>.<check>
import { parseCreditCode } from './creditCode.js'

export const CERT_ID_PREFIX = '1.2.156.3005.2'

const BASE36 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ'
const SERIAL = /^[A-Z0-9]{1,64}$/
const VERSION = /^[0-9]{3}$/
const MAX_VERSION = 999

export interface CertId {
  typeCode: string
  issuerCode: string
  serial: string
  version: number
}

export type CertIdProblem = 'FORMAT' | 'PREFIX' | 'TYPE_CODE' | 'ISSUER_CODE' | 'SERIAL' | 'VERSION' | 'CHECK_CHAR'

export type CertIdResult =
  | { ok: true; value: CertId & { check: string; text: string } }
  | { ok: false; problem: CertIdProblem }

/**
 * Computes the ISO 7064 MOD 37,36 check character over `body` (type code, issuer code, serial
 * and version joined without dots).
 * @throws TypeError if `body` is empty or has characters other than `0-9` and `A-Z`.
 */
export function certIdCheckChar(body: string): string {
  if (!/^[0-9A-Z]+$/.test(body)) throw new TypeError('expected characters 0-9 and A-Z')
  let p = 36
  for (const c of body) {
    const r = (p + BASE36.indexOf(c)) % 36
    p = (2 * (r === 0 ? 36 : r)) % 37
  }
  // The check x satisfies (p + x) mod 36 = 1.
  return BASE36[(37 - p) % 36]!
}

function isTypeCode(s: string): boolean {
  return s.length === 21 && parseCreditCode(s.slice(0, 18)).ok && /^[0-9]{3}$/.test(s.slice(18))
}

function isIssuerCode(s: string): boolean {
  return parseCreditCode(s).ok
}

function isVersionNumber(v: number): boolean {
  return Number.isInteger(v) && v >= 1 && v <= MAX_VERSION
}

function padVersion(v: number): string {
  return String(v).padStart(3, '0')
}

/** The first invalid part of an identifier, checked in the order the parts are written. */
function partProblem(id: CertId): CertIdProblem | undefined {
  if (!isTypeCode(id.typeCode)) return 'TYPE_CODE'
  if (!isIssuerCode(id.issuerCode)) return 'ISSUER_CODE'
  if (!SERIAL.test(id.serial)) return 'SERIAL'
  if (!isVersionNumber(id.version)) return 'VERSION'
  return undefined
}

function bodyOf(id: CertId): string {
  return `${id.typeCode}${id.issuerCode}${id.serial}${padVersion(id.version)}`
}

/**
 * Parses an e-certificate identifier, reporting the first problem found: not ten non-empty
 * dot-separated segments → `FORMAT`; wrong OID prefix → `PREFIX`; then each part in order;
 * a check segment that is not the single correct character → `CHECK_CHAR`. No normalisation:
 * lower case and whitespace are rejected.
 */
export function parseCertId(input: string): CertIdResult {
  const segments = input.split('.')
  if (segments.length !== 10 || segments.some((s) => s === '')) return { ok: false, problem: 'FORMAT' }
  if (segments.slice(0, 5).join('.') !== CERT_ID_PREFIX) return { ok: false, problem: 'PREFIX' }
  const [typeCode, issuerCode, serial, versionText, check] = segments.slice(5) as [string, string, string, string, string]
  // NaN for a malformed version, so partProblem reports it in its place after the serial.
  const id: CertId = { typeCode, issuerCode, serial, version: VERSION.test(versionText) ? Number(versionText) : NaN }
  const problem = partProblem(id)
  if (problem !== undefined) return { ok: false, problem }
  if (check !== certIdCheckChar(bodyOf(id))) return { ok: false, problem: 'CHECK_CHAR' }
  return { ok: true, value: { ...id, check, text: input } }
}

/**
 * Formats an identifier and computes its check character.
 * @throws TypeError if any part is invalid: minting is strict, so nothing invalid is ever issued.
 */
export function formatCertId(id: CertId): string {
  const problem = partProblem(id)
  if (problem !== undefined) throw new TypeError(`invalid e-certificate identifier part: ${problem}`)
  const body = bodyOf(id)
  return `${CERT_ID_PREFIX}.${id.typeCode}.${id.issuerCode}.${id.serial}.${padVersion(id.version)}.${certIdCheckChar(body)}`
}

/**
 * Returns the identifier of the next version (after a change to the certificate).
 * @throws TypeError if `id.version` is not an integer 1..999; RangeError if it is already 999.
 */
export function nextVersion(id: CertId): CertId {
  if (!isVersionNumber(id.version)) throw new TypeError('invalid version')
  if (id.version === MAX_VERSION) throw new RangeError('version cannot exceed 999')
  return { ...id, version: id.version + 1 }
}

/** True if `input` is a valid e-certificate identifier (see {@link parseCertId}). */
export function isValidCertId(input: string): boolean {
  return parseCertId(input).ok
}
