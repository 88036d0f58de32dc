import { Type } from '@sinclair/typebox'
import { STATUSES } from '../certificates/schemas.js'
import { HolderRef } from '../lookup/schemas.js'
import { TypeCodeSchema } from '../schemas.js'
import { CHECK_NAMES, WARNING_CODES, type CheckName, type CheckOutcome, type WarningCode } from './checkList.js'
import { OFD_CHECK_NAMES, type OfdCheckName } from '../ofd/verify.js'

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

const ByDocument = Type.Object(
  {
    document: Type.String({
      minLength: 1,
      contentEncoding: 'base64',
      description: 'a sealed OFD file (GB/T 33190, GB/T 38540 / GM/T 0031 seals), padded base64: its seals are checked in full, and it is matched by SM3 against the documents certificates carry',
    }),
  },
  { additionalProperties: false, title: 'by a sealed OFD file' },
)

export const VerifyBody = Type.Union([ByCertificate, ById, ByPrintedFields, ByDocument], {
  description: 'Exactly one form. Anything else (e.g. a typeCode alone) is 400 VALIDATION_FAILED; a form that is complete but cannot be read is answered with result 4.',
})

export const VerifyCheck = Type.Object({
  // A plain enum (not a union of literals) keeps the OpenAPI document readable.
  check: Type.Unsafe<CheckName>({ type: 'string', enum: [...CHECK_NAMES] }),
  outcome: Type.Unsafe<CheckOutcome>({ type: 'string', enum: ['pass', 'fail', 'skipped'] }),
  reason: Type.Optional(Type.String({ description: 'stable code of a failure, e.g. SIGNATURE_INVALID, KEY_COMPROMISED, REVOKED, EXPIRED' })),
  detail: Type.Optional(Type.String()),
})

export const VerifyWarningSchema = Type.Object({
  code: Type.Unsafe<WarningCode>({ type: 'string', enum: [...WARNING_CODES], description: 'CERT_ID_CHECK_CHAR_EXCEPTION: the identifier\'s check character is not what GB/T 36904 gives; it was taken in only because its issuer is named in CERT_ID_CHECK_EXCEPTIONS (the message names the expected character)' }),
  check: Type.Unsafe<CheckName>({ type: 'string', enum: [...CHECK_NAMES] }),
  message: Type.String(),
})

const OfdCheckSchema = Type.Object({
  check: Type.Unsafe<OfdCheckName>({ type: 'string', enum: [...OFD_CHECK_NAMES] }),
  outcome: Type.Unsafe<CheckOutcome>({ type: 'string', enum: ['pass', 'fail', 'skipped'] }),
  reason: Type.Optional(Type.String({ description: 'stable code of a failure, e.g. DIGEST_MISMATCH, SEAL_SIGNATURE_INVALID, NOT_TRUSTED' })),
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
    warnings: Type.Array(VerifyWarningSchema, { description: 'named warnings of checks that passed, e.g. CERT_ID_CHECK_CHAR_EXCEPTION; they never change the result code; empty when none' }),
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
    document: Type.Optional(
      Type.Object(
        {
          code: Type.Integer({ minimum: 0, maximum: 2, description: 'verifyFile: 0 correct, 1 seal signature failed, 2 file check failed' }),
          resultText: Type.String(),
          sm3: Type.String({ description: 'hex SM3 of the file presented' }),
          checks: Type.Array(OfdCheckSchema, { description: 'every seal check, each failing if it failed for any signature' }),
          signatures: Type.Array(
            Type.Object({
              id: Type.String(),
              type: Type.Union([Type.Literal('Seal'), Type.Literal('Sign')]),
              path: Type.String({ description: 'the Signature.xml inside the package' }),
              sealName: Type.Optional(Type.String()),
              sealVersion: Type.Optional(Type.Integer()),
              signingTime: Type.Optional(Type.String()),
              checks: Type.Array(OfdCheckSchema),
            }),
          ),
        },
        { description: 'for a presented OFD file: what its seals gave' },
      ),
    ),
    receipt: Type.Ref('Receipt'),
  },
  { $id: 'VerifyResult' },
)
