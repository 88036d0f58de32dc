import { CertificatePayload } from '../certificates/schemas.js'
import { certIdProblemText, isValidCreditCode, parseCertId, parseIdNumber } from '../ids/index.js'
import { jsonErrorPosition } from '../jsonPosition.js'
import { createAjv } from '../types/dataSchema.js'

/** One problem found before signing: a JSON pointer into the file and the code the server would give. */
export interface LocalProblem {
  pointer: string
  code: string
  message: string
}

type Checked = { ok: true; payload: unknown } | { ok: false; problems: LocalProblem[] }

// The server's own payload schema, so a file that passes here is not refused for its shape.
const validatePayload = createAjv().compile(CertificatePayload)

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)
const field = (v: unknown, key: string): unknown => (isObject(v) ? v[key] : undefined)

/**
 * The checks `zhengzhao sign` makes before signing: what can be known without the server's
 * catalogue. Every problem is listed; messages never repeat the holder's ID.
 */
export function checkCertificateJson(text: string, opts: { checkIds: boolean }): Checked {
  let payload: unknown
  try {
    payload = JSON.parse(text.replace(/^\uFEFF/, ''))
  } catch {
    // JSON.parse's message quotes the text around the error, which may be an ID number: say where instead.
    const at = jsonErrorPosition(text.replace(/^\uFEFF/, ''))
    return { ok: false, problems: [{ pointer: '', code: 'JSON_INVALID', message: `not valid JSON${at ? ` (line ${at.line}, column ${at.column})` : ''}` }] }
  }
  if (!opts.checkIds) return { ok: true, payload }
  if (!isObject(payload)) return { ok: false, problems: [{ pointer: '', code: 'PAYLOAD_INVALID', message: 'must be a JSON object' }] }
  const problems = [...shapeProblems(payload), ...identifierProblems(payload), ...holderProblems(payload), ...dateProblems(payload)]
  return problems.length === 0 ? { ok: true, payload } : { ok: false, problems }
}

function shapeProblems(payload: Record<string, unknown>): LocalProblem[] {
  if (validatePayload(payload)) return []
  return (validatePayload.errors ?? []).map((e) => {
    const params = e.params as { missingProperty?: string; additionalProperty?: string }
    const name = params.missingProperty ?? params.additionalProperty
    return { pointer: `${e.instancePath}${name ? `/${name}` : ''}`, code: 'PAYLOAD_INVALID', message: e.message ?? 'is invalid' }
  })
}

/** The identifier is well formed and names the payload's type and issuer. */
function identifierProblems(payload: Record<string, unknown>): LocalProblem[] {
  const { id, typeCode } = payload
  if (typeof id !== 'string') return [] // reported by the shape check
  const parsed = parseCertId(id)
  if (!parsed.ok) return [{ pointer: '/id', code: 'CERT_ID_INVALID', message: certIdProblemText(parsed) }]
  const problems: LocalProblem[] = []
  if (typeof typeCode === 'string' && parsed.value.typeCode !== typeCode) {
    problems.push({ pointer: '/id', code: 'CERT_ID_TYPE_MISMATCH', message: "the identifier's type segment differs from typeCode" })
  }
  const issuerCode = field(payload.issuer, 'code')
  if (typeof issuerCode === 'string' && parsed.value.issuerCode !== issuerCode) {
    problems.push({ pointer: '/id', code: 'CERT_ID_ISSUER_MISMATCH', message: "the identifier's issuer segment differs from issuer.code" })
  }
  return problems
}

/** The holder's ID is valid for its type: a citizen ID number (111) or a credit code (001). */
function holderProblems(payload: Record<string, unknown>): LocalProblem[] {
  const idType = field(payload.holder, 'idType')
  const id = field(payload.holder, 'id')
  if (typeof idType !== 'string' || typeof id !== 'string') return [] // reported by the shape check
  if (idType === '111') {
    const parsed = parseIdNumber(id)
    return parsed.ok ? [] : [{ pointer: '/holder/id', code: 'HOLDER_ID_INVALID', message: `not a valid citizen ID number (${parsed.problem})` }]
  }
  if (idType === '001') {
    return isValidCreditCode(id) ? [] : [{ pointer: '/holder/id', code: 'HOLDER_ID_INVALID', message: 'not a valid unified social credit code' }]
  }
  return [{ pointer: '/holder/idType', code: 'HOLDER_ID_TYPE_UNKNOWN', message: 'holder.idType must be 111 (citizen ID number) or 001 (credit code)' }]
}

/** The dates are in order, as the push checks them (YYYY-MM-DD strings compare as dates). */
function dateProblems(payload: Record<string, unknown>): LocalProblem[] {
  const { issuedOn, validFrom, validUntil } = payload
  if (typeof validUntil !== 'string') return []
  const problems: LocalProblem[] = []
  if (typeof validFrom === 'string' && validUntil < validFrom) problems.push({ pointer: '/validUntil', code: 'DATES_INCONSISTENT', message: `validUntil ${validUntil} is before validFrom ${validFrom}` })
  if (typeof issuedOn === 'string' && validUntil < issuedOn) problems.push({ pointer: '/validUntil', code: 'DATES_INCONSISTENT', message: `validUntil ${validUntil} is before issuedOn ${issuedOn}` })
  return problems
}
