import { failed, type CheckName, type CheckResult } from './checkList.js'

/*
 * GB/T 36906 verification result codes, and how the checks map onto them. The first row that
 * applies wins; `checks` always says everything that was found.
 *
 * | result | when                                                                                     |
 * |--------|------------------------------------------------------------------------------------------|
 * | 400    | (not a result) the body is none of {certificate} | {id} | {typeCode, number, holder}, or  |
 * |        | has extra or mistyped fields: the caller's program is wrong, nothing was verified         |
 * | 4      | format fails (not a compact JWS, wrong typ, unpinned alg, not a certificate payload, too   |
 * |        | large); {id} is not a valid GB/T 36904 identifier; the printed holder ID is not valid for |
 * |        | its ID type: what was presented cannot identify or be checked against anything             |
 * | 6      | signature, registeredKey, identifier or holderId fails: the content is not what a          |
 * |        | registered issuer signed (forged, altered, or signed by an unknown key), stored or not    |
 * | 5      | matchesRecord fails NO_RECORD: a correctly signed certificate never stored, or no stored   |
 * |        | certificate under this identifier / these printed fields                                  |
 * | 6      | matchesRecord fails otherwise: the identifier is stored with other bytes (RECORD_MISMATCH) |
 * |        | or the printed number is stored for another holder (HOLDER_MISMATCH)                      |
 * | 3      | status revoked or superseded                                                               |
 * | 3      | keyWindow, trustChain or issuerAllowed fails for a stored certificate: e.g. its key was    |
 * |        | revoked as compromised before the certificate was received, or the anchor was withdrawn  |
 * | 3      | validityPeriod fails EXPIRED                                                               |
 * | 2      | status suspended                                                                           |
 * | 1      | validityPeriod fails NOT_YET_IN_FORCE                                                      |
 * | 0      | every check passes                                                                         |
 *
 * Revoked outranks expired, and expired outranks suspended: "invalid" is final, "temporarily
 * invalid" is not. resultText names which of revoked, expired, superseded or the key applies.
 */

export type ResultCode = 0 | 1 | 2 | 3 | 4 | 5 | 6

export const RESULT_TEXT: Record<ResultCode, string> = {
  0: 'correct and valid',
  1: 'correct, not yet in force',
  2: 'correct, temporarily invalid (suspended)',
  3: 'correct, invalid',
  4: 'too little information to verify',
  5: 'no such record',
  6: 'information inconsistent with the record',
}

export interface VerifyResult {
  result: ResultCode
  resultText: string
}

export function resultFor(result: ResultCode, why?: string): VerifyResult {
  return { result, resultText: why ? `${RESULT_TEXT[result]}: ${why}` : RESULT_TEXT[result] }
}

/** Too little to verify: for the {id} and printed-fields paths that stop before any check. */
export function insufficient(why: string): VerifyResult {
  return resultFor(4, why)
}

const AUTHENTICITY: CheckName[] = ['signature', 'registeredKey', 'identifier', 'holderId']
const TRUST: CheckName[] = ['keyWindow', 'trustChain', 'issuerAllowed']

/** The result code the checks add up to, following the table above. */
export function resultOf(checks: readonly CheckResult[]): VerifyResult {
  const format = failed(checks, 'format')
  if (format) return resultFor(4, format.detail)
  const forged = failed(checks, ...AUTHENTICITY)
  if (forged) return resultFor(6, `${forged.check}: ${forged.detail ?? forged.reason}`)
  const record = failed(checks, 'matchesRecord')
  if (record) return record.reason === 'NO_RECORD' ? resultFor(5) : resultFor(6, record.detail)
  const status = failed(checks, 'status')
  if (status && status.reason !== 'SUSPENDED') return resultFor(3, status.detail)
  const trust = failed(checks, ...TRUST)
  if (trust) return resultFor(3, `${trust.check}: ${trust.detail ?? trust.reason}`)
  const validity = failed(checks, 'validityPeriod')
  if (validity?.reason === 'EXPIRED') return resultFor(3, validity.detail)
  if (status) return resultFor(2)
  if (validity) return resultFor(1, validity.detail)
  return resultFor(0)
}
