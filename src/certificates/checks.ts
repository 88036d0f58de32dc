import { createHash } from 'node:crypto'
import type { ValidateFunction } from 'ajv'
import { chinaToday } from '../chinaDate.js'
import { certIdProblemText, isValidCreditCode, parseCertId, parseCreditCode, parseIdNumber, type ParsedCertId } from '../ids/index.js'
import type { FieldProblem } from '../errors.js'
import type { CertificateType } from '../types/schemas.js'
import { createAjv } from '../types/dataSchema.js'
import { CertificatePayload } from './schemas.js'
import { checkSignature, type SigningContext } from './signature.js'
import { CERT_JWS_TYP } from '../crypto/jws.js'
import { decodeCompactJws } from '../crypto/compactJws.js'


/** What a push needs to know beyond the JWS itself; lookups are memoised per request. */
export interface CheckContext extends SigningContext {
  callerOrg: string
  now: Date
  maxBytes: number
  exceptions: ReadonlySet<string>
  /** Issuers whose identifiers may carry another check character (CERT_ID_CHECK_EXCEPTIONS); none when absent. */
  certIdCheckExceptions?: ReadonlySet<string>
  type(code: string): Promise<CertificateType | undefined>
  dataValidator(type: CertificateType): ValidateFunction
  /** Reads a type and an issuer together, for `type()` and `issuer()` to answer from: one round trip where there were two. */
  prefetch?(typeCode: string, issuerCode: string): void
}

export interface CheckedCertificate {
  /** Absent or 'jws': `jws` is the signed JWS. 'ofd': a sealed OFD alone; `jws` is the payload read from its metadata (canonical JSON), `jwsSha256` the SHA-256 of the file. */
  form?: 'jws' | 'ofd'
  jws: string
  jwsSha256: string
  payload: CertificatePayload
  /** The parsed identifier; `checkCharException` says it was taken in under CERT_ID_CHECK_EXCEPTIONS. */
  certId: ParsedCertId
  /** Normalised holder ID (upper-case X). */
  holderId: string
  signingKid: string
}

type Problems = FieldProblem[]
const validatePayload = createAjv().compile(CertificatePayload)

/**
 * Every check a pushed certificate must pass, each problem with a code and a pointer (`at` is
 * where the JWS sits in the request; payload fields are addressed below `${at}/payload`).
 * Nothing here writes: a certificate with any problem is stored nowhere.
 */
export async function checkCertificate(jws: string, ctx: CheckContext, at: string): Promise<{ ok: true; value: CheckedCertificate } | { ok: false; problems: Problems }> {
  const problem = (pointer: string, code: string, message: string) => ({ pointer: `${at}${pointer}`, code, message })
  // Size first: nothing larger is even parsed.
  if (Buffer.byteLength(jws, 'utf8') > ctx.maxBytes) return { ok: false, problems: [problem('', 'JWS_TOO_LARGE', `larger than ${ctx.maxBytes} bytes`)] }
  // One reading of the signed bytes only: no duplicate members, no b64/crit, no embedded keys.
  const decoded = decodeCompactJws(jws)
  if (!decoded.ok) return { ok: false, problems: decoded.problems.map((p) => problem(p.pointer, p.code, p.message)) }
  const { header, payload } = decoded.value
  const problems: Problems = []

  // The header: pinned algorithms, our media type, a key id.
  if (header.typ !== CERT_JWS_TYP) problems.push(problem('/header/typ', 'TYP_INVALID', `typ must be ${CERT_JWS_TYP}`))
  if (typeof header.kid !== 'string' || header.kid.length === 0) problems.push(problem('/header/kid', 'KID_MISSING', 'the header must name the signing key'))

  // The payload's shape; later checks only look at fields that passed it.
  const shape = payloadShapeProblems(payload, problem)
  if (shape.length > 0) return { ok: false, problems: [...problems, ...shape] }
  const p = payload as CertificatePayload
  ctx.prefetch?.(p.typeCode, p.issuer.code)

  const content = await checkPayloadContent(p, ctx, problem)
  problems.push(...content.problems)
  const signing = await checkSignature(jws, header, p.issuer.code, p.typeCode, ctx)
  for (const s of signing.problems) problems.push(problem(s.pointer, s.code, s.message))

  if (problems.length > 0 || !content.certId) return { ok: false, problems }
  return {
    ok: true,
    value: { jws, jwsSha256: createHash('sha256').update(jws).digest('hex'), payload: p, certId: content.certId, holderId: content.holderId, signingKid: header.kid as string },
  }
}

export type MakeProblem = (pointer: string, code: string, message: string) => FieldProblem

/** Where the payload's shape fails (addressed below `/payload`), or nothing. */
export function payloadShapeProblems(payload: unknown, problem: MakeProblem): Problems {
  if (validatePayload(payload)) return []
  return (validatePayload.errors ?? []).map((e) => {
    const missing = (e.params as { missingProperty?: string; additionalProperty?: string }).missingProperty ?? (e.params as { additionalProperty?: string }).additionalProperty
    // Text PostgreSQL cannot store (NUL, an unpaired surrogate) gets its own code, as at the boundary.
    const code = e.keyword === 'storableText' ? 'UNSTORABLE_TEXT' : 'PAYLOAD_INVALID'
    return problem(`/payload${e.instancePath}${missing ? `/${missing}` : ''}`, code, e.message ?? 'is invalid')
  })
}

/**
 * The checks a payload gets whatever signed it (a JWS, or the seal of an OFD file its payload was
 * read from): identifier, caller, holder ID, dates, catalogue. Problems are addressed below `/payload`.
 */
export async function checkPayloadContent(p: CertificatePayload, ctx: CheckContext, problem: MakeProblem): Promise<{ problems: Problems; certId: ParsedCertId | undefined; holderId: string }> {
  const problems: Problems = []
  // The identifier is well formed and names this type and this issuer.
  // A lone wrong check character passes only for an issuer the operator named; the store records it.
  const parsedId = parseCertId(p.id, { checkCharExceptionFor: ctx.certIdCheckExceptions, issuerCode: p.issuer.code })
  if (!parsedId.ok) problems.push(problem('/payload/id', 'CERT_ID_INVALID', certIdProblemText(parsedId)))
  else {
    if (parsedId.value.typeCode !== p.typeCode) problems.push(problem('/payload/id', 'CERT_ID_TYPE_MISMATCH', 'the identifier\'s type segment differs from typeCode'))
    if (parsedId.value.issuerCode !== p.issuer.code) problems.push(problem('/payload/id', 'CERT_ID_ISSUER_MISMATCH', 'the identifier\'s issuer segment differs from issuer.code'))
  }
  // The caller pushes only what its own organisation issued.
  if (p.issuer.code !== ctx.callerOrg) problems.push(problem('/payload/issuer/code', 'ISSUER_NOT_CALLER', 'issuer.code is not the caller\'s organisation'))

  const holderId = checkHolderId(p, ctx, problem, problems)
  checkDates(p, ctx.now, problem, problems)
  await checkAgainstType(p, ctx, problem, problems)
  return { problems, certId: parsedId.ok ? parsedId.value : undefined, holderId }
}

function checkHolderId(p: CertificatePayload, ctx: CheckContext, problem: MakeProblem, problems: Problems): string {
  const { idType, id } = p.holder
  if (idType === '111') {
    const parsed = parseIdNumber(id, ctx.now)
    if (parsed.ok) return parsed.value
    // The expected check character alone is safe to name: the number itself is never repeated.
    const should = parsed.expected ? `; the check character should be ${parsed.expected}` : ''
    problems.push(problem('/payload/holder/id', 'HOLDER_ID_INVALID', `not a valid citizen ID number (${parsed.problem})${should}`))
  } else if (idType === '001') {
    if (isValidCreditCode(id, ctx.exceptions)) return id
    const parsed = parseCreditCode(id)
    const should = !parsed.ok && parsed.expected ? ` (CHECK_CHAR); the check character should be ${parsed.expected}` : ''
    problems.push(problem('/payload/holder/id', 'HOLDER_ID_INVALID', `not a valid unified social credit code${should}`))
  } else {
    problems.push(problem('/payload/holder/idType', 'HOLDER_ID_TYPE_UNKNOWN', `holder ID type ${idType} cannot be validated`))
  }
  return id
}

function checkDates(p: CertificatePayload, now: Date, problem: MakeProblem, problems: Problems): void {
  const today = chinaToday(now)
  if (p.issuedOn > today) problems.push(problem('/payload/issuedOn', 'ISSUED_IN_FUTURE', 'issuedOn is after today'))
  if (p.validUntil !== undefined && p.validUntil < p.validFrom) problems.push(problem('/payload/validUntil', 'DATES_INCONSISTENT', 'validUntil is before validFrom'))
  if (p.validUntil !== undefined && p.validUntil < p.issuedOn) problems.push(problem('/payload/validUntil', 'DATES_INCONSISTENT', 'validUntil is before issuedOn'))
}

async function checkAgainstType(p: CertificatePayload, ctx: CheckContext, problem: MakeProblem, problems: Problems): Promise<void> {
  const type = await ctx.type(p.typeCode)
  if (!type) {
    problems.push(problem('/payload/typeCode', 'TYPE_UNKNOWN', 'no such certificate type in the catalogue'))
    return
  }
  if (!type.issuers.includes(p.issuer.code)) problems.push(problem('/payload/issuer/code', 'ISSUER_NOT_ALLOWED_FOR_TYPE', 'the catalogue does not allow this issuer for this type'))
  if (!type.holderIdTypes.includes(p.holder.idType)) problems.push(problem('/payload/holder/idType', 'HOLDER_ID_TYPE_NOT_ALLOWED', 'this type is not issued to this kind of holder'))
  const validate = ctx.dataValidator(type)
  if (!validate(p.data)) {
    for (const e of validate.errors ?? []) {
      const missing = (e.params as { missingProperty?: string }).missingProperty
      problems.push(problem(`/payload/data${e.instancePath}${missing ? `/${missing}` : ''}`, 'DATA_INVALID', e.message ?? 'is invalid'))
    }
  }
}
