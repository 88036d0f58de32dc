import { Type, type Static } from '@sinclair/typebox'
import { DatePattern } from '../schemas.js'

// Years 1900–9999: PostgreSQL refuses year 0000, and no certificate lies outside that range.
const date = Type.String({ format: 'date', pattern: DatePattern })

/** The signed payload (DESIGN.md §3, GB/T 36903 field names in the descriptions). */
export const CertificatePayload = Type.Object(
  {
    id: Type.String({ minLength: 1, maxLength: 200, description: 'GB/T 36904 identifier (ZZBS)' }),
    typeCode: Type.String({ minLength: 21, maxLength: 21, description: 'type code (ZZLXDM)' }),
    name: Type.String({ minLength: 1, maxLength: 100, description: 'certificate name (ZZMC)' }),
    number: Type.String({ minLength: 1, maxLength: 64, description: 'number as printed (ZZBH)' }),
    holder: Type.Object(
      {
        idType: Type.String({ pattern: '^[0-9]{3}$', description: 'holder ID type (CZZTDMLXDM)' }),
        id: Type.String({ minLength: 1, maxLength: 64, description: 'holder ID (CZZTDM)' }),
        name: Type.String({ minLength: 1, maxLength: 200, description: 'holder (CZZT)' }),
      },
      { additionalProperties: false },
    ),
    issuer: Type.Object(
      { code: Type.String({ minLength: 18, maxLength: 18, description: 'issuer code (ZZBFJGDM)' }), name: Type.String({ minLength: 1, maxLength: 200, description: 'issuer (ZZBFJG)' }) },
      { additionalProperties: false },
    ),
    issuedOn: Type.Unsafe<string>({ ...date, description: 'issue date (ZZBFRQ)' }),
    validFrom: Type.Unsafe<string>({ ...date, description: 'valid from (ZZYXQQSRQ)' }),
    validUntil: Type.Optional(Type.Unsafe<string>({ ...date, description: 'valid until (ZZYXQJZRQ); absent = long-term' })),
    data: Type.Object({}, { additionalProperties: true, description: "fields defined by the type's JSON Schema" }),
    document: Type.Optional(
      Type.Object(
        {
          mediaType: Type.Literal('application/ofd'),
          sm3: Type.String({ pattern: '^[0-9a-f]{64}$', description: 'hex SM3 of the exact bytes of the sealed OFD file' }),
          size: Type.Integer({ minimum: 1, description: 'its size in bytes' }),
        },
        { additionalProperties: false, description: 'the sealed OFD document (GB/T 33190) this certificate carries: the digest binds the signed metadata to the exact file' },
      ),
    ),
  },
  // storableText (types/dataSchema.ts): every string, data's included, is storable text, and the
  // payload nests at most PAYLOAD_MAX_DEPTH levels, so what is accepted can be stored and served.
  { additionalProperties: false, storableText: true },
)
export type CertificatePayload = Static<typeof CertificatePayload>

const Jws = Type.String({
  minLength: 1,
  description:
    'compact JWS, typ zhengzhao-cert+jws, signed by the issuer with alg ES256, EdDSA, RS256, PS256 or SM2. SM2 is SM2-with-SM3 (GM/T 0003) with the distinguishing ID 1234567812345678 over the JWS signing input, the signature 64 bytes r‖s, kid the RFC 7638 thumbprint of the JWK {"crv":"SM2","kty":"EC","x","y"} (32-byte coordinates).',
})

const SealedFile = (description: string) => Type.String({ minLength: 1, contentEncoding: 'base64', description })

const PushJws = Type.Object(
  {
    certificate: Jws,
    document: Type.Optional(
      SealedFile("the sealed OFD file the payload's document names, base64 (RFC 4648 §4, padded): it must have that SM3 and size, its seals must verify, and the sealing certificate must be a registered key of the same issuer"),
    ),
  },
  { additionalProperties: false, title: 'a signed JWS, with the sealed OFD file its payload names, if any' },
)

const PushOfdOnly = Type.Object(
  {
    document: SealedFile(
      'a sealed OFD file alone, base64 (RFC 4648 §4, padded): its seals must verify, its GB/T 36903 metadata (DocInfo/CustomDatas in OFD.xml: ZZBS, ZZLXDM, ZZBH, ZZMC, CZZT, CZZTDM, CZZTDMLXDM, ZZBFJG, ZZBFJGDM, ZZBFRQ, ZZYXQQSRQ, ZZYXQJZRQ; any other name is a field of data) must lie in a file a seal covers, and the payload read from it passes every check a JWS payload passes',
    ),
  },
  { additionalProperties: false, title: 'a sealed OFD file alone, its payload read from its metadata' },
)

export const PushBody = Type.Union([PushJws, PushOfdOnly], {
  description: 'Exactly one form: {certificate} or {certificate, document} (a JWS, and the file its payload names), or {document} alone (a sealed OFD whose metadata is the payload). Anything else is 400 VALIDATION_FAILED.',
})
export const BatchBody = Type.Object({ certificates: Type.Array(Jws, { minItems: 1, maxItems: 1000 }) }, { additionalProperties: false })

export const CertificateIdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 200 }) }, { additionalProperties: false })

export const STATUSES = ['valid', 'suspended', 'revoked', 'superseded'] as const
export type CertificateStatus = (typeof STATUSES)[number]

export const StatusBody = Type.Object(
  {
    status: Type.Union([Type.Literal('valid'), Type.Literal('suspended'), Type.Literal('revoked')], { description: 'revoked is final; valid reinstates a suspended certificate' }),
    reason: Type.String({ minLength: 1, maxLength: 1000 }),
  },
  { additionalProperties: false },
)

export const StatusChange = Type.Object({
  at: Type.String({ format: 'date-time' }),
  from: Type.String(),
  to: Type.String(),
  reason: Type.String(),
  actorOrg: Type.Union([Type.String(), Type.Null()]),
  actorSub: Type.Union([Type.String(), Type.Null()]),
})

/** What the issuer gets back: no personal data, which it has already. */
/** Something accepted that a person should know about, e.g. CERT_ID_CHECK_CHAR_EXCEPTION. */
const CertificateWarning = Type.Object({ pointer: Type.String(), code: Type.String({ description: 'stable code, e.g. CERT_ID_CHECK_CHAR_EXCEPTION' }), message: Type.String() })

export const StoredCertificate = Type.Object(
  {
    id: Type.String(),
    typeCode: Type.String(),
    issuerCode: Type.String(),
    version: Type.Integer(),
    status: Type.Union(STATUSES.map((s) => Type.Literal(s))),
    statusChangedAt: Type.String({ format: 'date-time' }),
    receivedAt: Type.String({ format: 'date-time' }),
    jwsSha256: Type.String({ description: 'hex SHA-256 of the JWS as stored' }),
    history: Type.Optional(Type.Array(StatusChange)),
    warnings: Type.Optional(Type.Array(CertificateWarning, { description: 'push only: what was accepted under an operator\'s exception' })),
  },
  { $id: 'StoredCertificate' },
)
export type StoredCertificate = Static<typeof StoredCertificate>

const ItemProblem = Type.Object({ pointer: Type.String(), code: Type.String(), message: Type.String() })

export const BatchResult = Type.Object(
  {
    results: Type.Array(
      Type.Object({
        index: Type.Integer(),
        outcome: Type.Union([Type.Literal('created'), Type.Literal('unchanged'), Type.Literal('rejected')]),
        status: Type.Integer({ description: 'the status a single push would have had: 201, 200, 409 or 422' }),
        id: Type.Optional(Type.String()),
        code: Type.Optional(Type.String()),
        problems: Type.Optional(Type.Array(ItemProblem)),
        warnings: Type.Optional(Type.Array(CertificateWarning, { description: 'what was accepted under an operator\'s exception' })),
      }),
    ),
    summary: Type.Object({ created: Type.Integer(), unchanged: Type.Integer(), rejected: Type.Integer() }),
  },
  { $id: 'BatchResult' },
)
export type BatchResult = Static<typeof BatchResult>
