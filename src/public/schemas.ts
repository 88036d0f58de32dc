import { Type } from '@sinclair/typebox'
import { STATUSES } from '../certificates/schemas.js'
import { CHECK_NAMES } from '../verify/checkList.js'

export const CodeParams = Type.Object(
  { code: Type.String({ description: 'a verification code: 32 characters of base32 (A-Z 2-7), case-insensitive', examples: ['JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP'] }) },
  // No pattern: any text is answered as an unknown code (404), never a 400 that says which shapes exist.
  { additionalProperties: false },
)

export const LangQuery = Type.Object({ lang: Type.Optional(Type.Union([Type.Literal('zh'), Type.Literal('en')], { description: 'zh (default) or en' })) }, { additionalProperties: false })

const Status = Type.Union(STATUSES.map((s) => Type.Literal(s)))

const PublicCheck = Type.Object({
  check: Type.Unsafe<string>({ type: 'string', enum: [...CHECK_NAMES] }),
  outcome: Type.Unsafe<string>({ type: 'string', enum: ['pass', 'fail', 'skipped'] }),
  reason: Type.Optional(Type.String({ description: 'stable code of a failure, e.g. REVOKED, EXPIRED, SIGNATURE_INVALID' })),
  detail: Type.Optional(Type.String({ description: 'for people; any ID-number-shaped text masked' })),
})

const ResultCode = Type.Integer({
  minimum: 0,
  maximum: 6,
  description: 'GB/T 36906: 0 correct and valid; 1 not yet in force; 2 temporarily invalid (suspended); 3 invalid (revoked, expired or superseded); 4 too little information; 5 no such record; 6 inconsistent with the record',
})

export const ScanResult = Type.Object(
  {
    result: ResultCode,
    resultText: Type.String(),
    reason: Type.Optional(Type.Union(['revoked', 'superseded', 'expired', 'suspended', 'notYetInForce', 'key', 'inconsistent'].map((r) => Type.Literal(r)), { description: 'why the certificate is not in force, when it is not' })),
    checks: Type.Array(Type.Omit(PublicCheck, ['detail'])),
    status: Status,
    statusChangedAt: Type.String({ format: 'date-time', description: 'since when the status holds' }),
    typeName: Type.String(),
    issuerName: Type.String(),
    number: Type.String({ description: 'the number as printed (ZZBH)' }),
    validFrom: Type.String({ format: 'date' }),
    validUntil: Type.Union([Type.String({ format: 'date' }), Type.Null()], { description: 'null: long-term (长期)' }),
    holderName: Type.String({ description: 'masked: first and last character kept for three or more (张*三), the first for two (张*)' }),
    checkedAt: Type.String({ format: 'date-time' }),
  },
  { $id: 'ScanResult', additionalProperties: false },
)

export const PublicVerifyBody = Type.Union(
  [
    Type.Object({ certificate: Type.String({ minLength: 1, description: 'a presented compact JWS certificate' }) }, { additionalProperties: false, title: 'by certificate' }),
    Type.Object({ document: Type.String({ minLength: 1, contentEncoding: 'base64', description: 'a presented sealed OFD file, padded base64' }) }, { additionalProperties: false, title: 'by a sealed OFD file' }),
    Type.Object({ code: Type.String({ minLength: 1, maxLength: 64, description: 'a verification code (扫码核验)' }) }, { additionalProperties: false, title: 'by verification code' }),
  ],
  { description: 'Exactly one form; anything else is 400 VALIDATION_FAILED.' },
)

export const PublicVerifyResult = Type.Object(
  {
    result: ResultCode,
    resultText: Type.String(),
    checks: Type.Array(PublicCheck, { description: 'every check, in a fixed order; skipped when not examined' }),
    status: Type.Optional(Status),
    statusChangedAt: Type.Optional(Type.String({ format: 'date-time' })),
    certificate: Type.Optional(
      Type.Object({
        id: Type.String(),
        typeCode: Type.String(),
        issuerCode: Type.String(),
        version: Type.Integer(),
        validFrom: Type.String({ format: 'date' }),
        validUntil: Type.Optional(Type.String({ format: 'date', description: 'absent: long-term (长期)' })),
      }),
    ),
    document: Type.Optional(Type.Object({ code: Type.Integer({ minimum: 0, maximum: 2, description: 'verifyFile: 0 correct, 1 seal signature failed, 2 file check failed' }), resultText: Type.String(), sm3: Type.String() })),
  },
  { $id: 'PublicVerifyResult', additionalProperties: false },
)

export const CodeFormatQuery = Type.Object(
  { format: Type.Optional(Type.Union([Type.Literal('json'), Type.Literal('svg'), Type.Literal('png')], { description: 'json (default), or the QR code alone as svg or png' })) },
  { additionalProperties: false },
)

export const VerificationCodeView = Type.Object(
  {
    certificateId: Type.String(),
    code: Type.String({ description: 'the current code (32 characters of base32)' }),
    url: Type.String({ description: 'PUBLIC_BASE_URL/v/{code}: what the QR code encodes' }),
    createdAt: Type.String({ format: 'date-time' }),
    qr: Type.Object({ svg: Type.String({ description: 'the QR code as an SVG document' }), png: Type.String({ description: 'the QR code as a PNG, base64' }) }),
  },
  { $id: 'VerificationCode' },
)
