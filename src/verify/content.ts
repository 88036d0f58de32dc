import type { CertificatePayload } from '../certificates/schemas.js'
import { CERT_ID_CHECK_CHAR_EXCEPTION, certIdProblemText, checkCharExceptionText, isValidCreditCode, parseCertId, parseCreditCode, parseIdNumber } from '../ids/index.js'
import { fail, pass, passWithWarning, type CheckResult } from './checkList.js'
import type { TrustIssuer, TrustType } from './trust.js'

/**
 * Why a holder ID is not valid for its ID type, or undefined (then `value` is the normalised ID).
 * Shared by the certificate check and the printed-fields lookup; it never repeats the ID.
 */
export function holderIdProblem(idType: string, id: string, exceptions: ReadonlySet<string>, now: Date): { reason: string; detail: string } | { value: string } {
  if (idType === '111') {
    const parsed = parseIdNumber(id, now)
    // The expected check character alone is safe to name: the number itself is never repeated.
    return parsed.ok ? { value: parsed.value } : { reason: 'HOLDER_ID_INVALID', detail: `not a valid citizen ID number (${parsed.problem})${shouldBe(parsed.expected)}` }
  }
  if (idType === '001') {
    if (isValidCreditCode(id, exceptions)) return { value: id }
    const parsed = parseCreditCode(id)
    return { reason: 'HOLDER_ID_INVALID', detail: `not a valid unified social credit code${!parsed.ok && parsed.expected ? ` (CHECK_CHAR)${shouldBe(parsed.expected)}` : ''}` }
  }
  return { reason: 'HOLDER_ID_TYPE_UNKNOWN', detail: `holder ID type ${idType} cannot be validated` }
}

const shouldBe = (expected: string | undefined) => (expected ? `; the check character should be ${expected}` : '')

/**
 * The identifier is well formed and its type and issuer segments equal the payload's. A lone
 * wrong check character of an issuer in `certIdExceptions` (CERT_ID_CHECK_EXCEPTIONS) passes
 * with the named warning CERT_ID_CHECK_CHAR_EXCEPTION: it changes no result code, and is never silent.
 */
export function identifierCheck(p: CertificatePayload, certIdExceptions?: ReadonlySet<string>): CheckResult {
  const parsed = parseCertId(p.id, { checkCharExceptionFor: certIdExceptions, issuerCode: p.issuer.code })
  if (!parsed.ok) return fail('identifier', 'CERT_ID_INVALID', certIdProblemText(parsed))
  if (parsed.value.typeCode !== p.typeCode) return fail('identifier', 'CERT_ID_TYPE_MISMATCH', "the identifier's type segment differs from typeCode")
  if (parsed.value.issuerCode !== p.issuer.code) return fail('identifier', 'CERT_ID_ISSUER_MISMATCH', "the identifier's issuer segment differs from issuer.code")
  const exception = parsed.value.checkCharException
  if (exception) return passWithWarning('identifier', CERT_ID_CHECK_CHAR_EXCEPTION, checkCharExceptionText(exception))
  return pass('identifier')
}

/** The holder ID is valid for its type, and the type is issued to that kind of holder. */
export function holderIdCheck(p: CertificatePayload, type: TrustType | undefined, exceptions: ReadonlySet<string>, now: Date): CheckResult {
  const problem = holderIdProblem(p.holder.idType, p.holder.id, exceptions, now)
  if ('reason' in problem) return fail('holderId', problem.reason, problem.detail)
  if (type && !type.holderIdTypes.includes(p.holder.idType)) return fail('holderId', 'HOLDER_ID_TYPE_NOT_ALLOWED', 'this type is not issued to this kind of holder')
  return pass('holderId')
}

/** Both the catalogue (the type's issuers) and the issuer's registration (its types) allow the pair. */
export function issuerAllowedCheck(p: CertificatePayload, type: TrustType | undefined, issuer: TrustIssuer | undefined): CheckResult {
  if (!type) return fail('issuerAllowed', 'TYPE_UNKNOWN', 'no such certificate type in the catalogue')
  if (!issuer) return fail('issuerAllowed', 'ISSUER_UNKNOWN', 'no registered issuer with this code')
  if (!type.issuers.includes(p.issuer.code)) return fail('issuerAllowed', 'ISSUER_NOT_ALLOWED_FOR_TYPE', 'the catalogue does not allow this issuer for this type')
  if (!issuer.typeCodes.includes(p.typeCode)) return fail('issuerAllowed', 'ISSUER_NOT_ALLOWED_FOR_TYPE', 'the issuer is not registered for this type')
  return pass('issuerAllowed')
}

/** `today` (China Standard Time) lies in [validFrom, validUntil]; no validUntil means long-term (长期). */
export function validityCheck(p: CertificatePayload, today: string): CheckResult {
  if (p.validFrom > today) return fail('validityPeriod', 'NOT_YET_IN_FORCE', `in force from ${p.validFrom}`)
  if (p.validUntil !== undefined && p.validUntil < today) return fail('validityPeriod', 'EXPIRED', `expired after ${p.validUntil}`)
  return pass('validityPeriod', p.validUntil ? `${p.validFrom} to ${p.validUntil}` : `from ${p.validFrom}, long-term`)
}
