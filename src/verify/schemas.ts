import { Type } from '@sinclair/typebox'
import { STATUSES } from '../certificates/schemas.js'
import { HolderRef } from '../lookup/schemas.js'
import { TypeCodeSchema } from '../schemas.js'
import { CHECK_NAMES, type CheckName, type CheckOutcome } from './checkList.js'

const ByCertificate = Type.Object(
  { certificate: Type.String({ minLength: 1, description: 'the compact JWS presented (typ zhengzhao-cert+jws), checked byte for byte against the stored one' }) },
  { additionalProperties: false, title: 'by certificate' },
)

const ById = Type.Object(
  { id: Type.String({ minLength: 1, maxLength: 200, description: 'GB/T 36904 e-certificate identifier (ZZBS)' }) },
  { additionalProperties: false, title: 'by identifier' },
)

const ByPrintedFields = Type.Object(
  {
    typeCode: TypeCodeSchema,
    number: Type.String({ minLength: 1, maxLength: 64, description: 'the number as printed (ZZBH)' }),
    holder: HolderRef,
  },
  { additionalProperties: false, title: 'by the printed fields of a paper copy' },
)

export const VerifyBody = Type.Union([ByCertificate, ById, ByPrintedFields], {
  description: 'Exactly one form. Anything else (e.g. a typeCode alone) is 400 VALIDATION_FAILED; a form that is complete but cannot be read is answered with result 4.',
})

export const VerifyCheck = Type.Object({
  // A plain enum (not a union of literals) keeps the OpenAPI document readable.
  check: Type.Unsafe<CheckName>({ type: 'string', enum: [...CHECK_NAMES] }),
  outcome: Type.Unsafe<CheckOutcome>({ type: 'string', enum: ['pass', 'fail', 'skipped'] }),
  reason: Type.Optional(Type.String({ description: 'stable code of a failure, e.g. SIGNATURE_INVALID, KEY_COMPROMISED, REVOKED, EXPIRED' })),
  detail: Type.Optional(Type.String()),
})

export const VerifyResultSchema = Type.Object(
  {
    result: Type.Integer({
      minimum: 0,
      maximum: 6,
      description:
        'GB/T 36906: 0 correct and valid; 1 correct, not yet in force; 2 correct, temporarily invalid (suspended); 3 correct, invalid (revoked, expired or superseded); 4 too little information to verify; 5 no such record; 6 information inconsistent with the record',
    }),
    resultText: Type.String(),
    checks: Type.Array(VerifyCheck, { description: 'every check, in a fixed order; skipped when not examined' }),
    status: Type.Optional(Type.Union(STATUSES.map((s) => Type.Literal(s)), { description: 'the stored status, when the answer speaks for a stored certificate' })),
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
    receipt: Type.String({ description: 'compact JWS (typ zhengzhao-receipt+jws, kind verify) signed by the service key; verify with /.well-known/jwks.json' }),
  },
  { $id: 'VerifyResult' },
)
