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

/** A check character other than the one MOD 37,36 gives, accepted for an issuer an operator named. */
export interface CheckCharException {
  /** What ISO 7064 MOD 37,36 gives. */
  expected: string
  /** What the identifier carries. */
  found: string
}

export interface ParsedCertId extends CertId {
  check: string
  text: string
  /** Present only when the identifier was accepted under `checkCharExceptionFor`. */
  checkCharException?: CheckCharException
}

export type CertIdResult =
  | { ok: true; value: ParsedCertId }
  /** `expected`: for `CHECK_CHAR`, the character MOD 37,36 gives. */
  | { ok: false; problem: CertIdProblem; expected?: string }

/** How strict a parse is at ingest; without options a parse is strict. */
export interface CertIdParseOptions {
  /**
   * Issuer codes (ZZBFJGDM) an operator named (CERT_ID_CHECK_EXCEPTIONS): some provinces' systems
   * compute the check character differently, and their real certificates must still be taken in.
   */
  checkCharExceptionFor?: ReadonlySet<string>
  /** The issuer the identifier is presented for (the payload's issuer.code); it must equal the identifier's issuer segment. */
  issuerCode?: string
}

/**
 * Computes the ISO 7064 MOD 37,36 check character over `body` (type code, issuer code, serial
 * and version joined without dots).
 * @throws TypeError if `body` is empty or has characters other than `0-9` and `A-Z`.
 */
export function certIdCheckChar(body: string): string {
  if (body.length === 0) throw new TypeError('expected characters 0-9 and A-Z')
  let p = 36
  for (let i = 0; i < body.length; i++) {
    // 0-9 are 48-57, A-Z 65-90: their values 0-35 by code unit, without a search.
    const c = body.charCodeAt(i)
    const v = c >= 48 && c <= 57 ? c - 48 : c >= 65 && c <= 90 ? c - 55 : -1
    if (v < 0) throw new TypeError('expected characters 0-9 and A-Z')
    const r = (p + v) % 36
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
 * a check segment that is not the single correct character → `CHECK_CHAR`, with the
 * `expected` one. No normalisation: lower case and whitespace are rejected.
 *
 * With `opts.checkCharExceptionFor`, an identifier whose ONLY fault is its check character (a
 * single `0-9A-Z` character, every other part valid) is accepted when its issuer segment is in
 * the set (and equals `opts.issuerCode` when given); the value then carries
 * `checkCharException: { expected, found }`, which the caller must record and show, never drop.
 * Pure: no I/O. Minting ({@link formatCertId}) never uses it.
 */
export function parseCertId(input: string, opts: CertIdParseOptions = {}): CertIdResult {
  const segments = input.split('.')
  if (segments.length !== 10 || segments.some((s) => s === '')) return { ok: false, problem: 'FORMAT' }
  if (segments.slice(0, 5).join('.') !== CERT_ID_PREFIX) return { ok: false, problem: 'PREFIX' }
  const [typeCode, issuerCode, serial, versionText, check] = segments.slice(5) as [string, string, string, string, string]
  // NaN for a malformed version, so partProblem reports it in its place after the serial.
  const id: CertId = { typeCode, issuerCode, serial, version: VERSION.test(versionText) ? Number(versionText) : NaN }
  const problem = partProblem(id)
  if (problem !== undefined) return { ok: false, problem }
  const expected = certIdCheckChar(bodyOf(id))
  // Written out rather than `{ ...id, check, text }`: on Node 20 a spread followed by more
  // properties cost about 2 µs here, a third of the whole parse, and ingest parses each
  // identifier several times.
  const value: ParsedCertId = { typeCode, issuerCode, serial, version: id.version, check, text: input }
  if (check === expected) return { ok: true, value }
  if (isExcepted(id.issuerCode, check, opts)) {
    value.checkCharException = { expected, found: check }
    return { ok: true, value }
  }
  return { ok: false, problem: 'CHECK_CHAR', expected }
}

function isExcepted(issuerCode: string, check: string, opts: CertIdParseOptions): boolean {
  // A check segment that is not one character of the alphabet is a structural fault, never excepted.
  if (!/^[0-9A-Z]$/.test(check) || opts.checkCharExceptionFor === undefined) return false
  if (opts.issuerCode !== undefined && opts.issuerCode !== issuerCode) return false
  return opts.checkCharExceptionFor.has(issuerCode)
}

/** A problem as a sentence a person can act on: a wrong check character names the right one. */
export function certIdProblemText(result: { problem: CertIdProblem; expected?: string }): string {
  const why = `not a valid GB/T 36904 identifier (${result.problem})`
  return result.expected === undefined ? why : `${why}; the check character should be ${result.expected}`
}

/** The warning an excepted identifier carries wherever it is shown (push, verification). */
export function checkCharExceptionText(e: CheckCharException): string {
  return `the identifier's check character is ${e.found} where GB/T 36904 (ISO 7064 MOD 37,36) gives ${e.expected}; accepted only because its issuer is named in CERT_ID_CHECK_EXCEPTIONS`
}

/** The stable code of that warning. */
export const CERT_ID_CHECK_CHAR_EXCEPTION = 'CERT_ID_CHECK_CHAR_EXCEPTION'

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

/** True if `input` is a valid e-certificate identifier, strictly (see {@link parseCertId}). */
export function isValidCertId(input: string): boolean {
  return parseCertId(input).ok
}

/**
 * The check-character fault of an identifier whose every other part is valid (the one fault an
 * operator may except), or undefined when it is valid or has any other fault. For code that must
 * say, after the fact, that a stored identifier was taken in under an exception.
 */
export function checkCharFaultOf(input: string): CheckCharException | undefined {
  const parsed = parseCertId(input)
  if (parsed.ok || parsed.problem !== 'CHECK_CHAR' || parsed.expected === undefined) return undefined
  const found = input.slice(input.lastIndexOf('.') + 1)
  return /^[0-9A-Z]$/.test(found) ? { expected: parsed.expected, found } : undefined
}

/** True if every part is well formed, whatever the check character: safe to show (no personal data). */
export function isWellFormedCertId(input: string): boolean {
  const parsed = parseCertId(input)
  return parsed.ok || parsed.problem === 'CHECK_CHAR'
}
