import { Type } from '@sinclair/typebox'
import { STATUSES } from '../certificates/schemas.js'
import { CHECK_NAMES } from '../verify/checkList.js'

export const TokenParams = Type.Object(
  { token: Type.String({ description: 'a presentation token: 32 characters of base64url, from the QR code on the holder\'s phone' }) },
  // No pattern: any text is answered as an unknown presentation (404), never a 400 that says which shapes exist.
  { additionalProperties: false },
)

export const PresentationCreated = Type.Object(
  {
    url: Type.String({ description: 'PUBLIC_BASE_URL/s/{token}: what the QR codes encode, and the only place the token appears' }),
    expiresAt: Type.String({ format: 'date-time', description: 'PRESENTATION_TTL seconds (at most 300) after it was made' }),
    qr: Type.Object({ svg: Type.String({ description: 'the QR code as an SVG document' }), png: Type.String({ description: 'the QR code as a PNG, base64' }) }),
  },
  { $id: 'PresentationCreated', additionalProperties: false },
)

const ResultCode = Type.Integer({
  minimum: 0,
  maximum: 6,
  description: 'GB/T 36906: 0 correct and valid; 1 not yet in force; 2 temporarily invalid (suspended); 3 invalid (revoked, expired or superseded); 4 too little information; 5 no such record; 6 inconsistent with the record',
})

export const PresentationResult = Type.Object(
  {
    result: ResultCode,
    resultText: Type.String(),
    reason: Type.Optional(Type.Union(['revoked', 'superseded', 'expired', 'suspended', 'notYetInForce', 'key', 'inconsistent'].map((r) => Type.Literal(r)), { description: 'why the certificate is not in force, when it is not' })),
    checks: Type.Array(
      Type.Object({
        check: Type.Unsafe<string>({ type: 'string', enum: [...CHECK_NAMES] }),
        outcome: Type.Unsafe<string>({ type: 'string', enum: ['pass', 'fail', 'skipped'] }),
        reason: Type.Optional(Type.String()),
      }),
    ),
    status: Type.Union(STATUSES.map((s) => Type.Literal(s))),
    statusChangedAt: Type.String({ format: 'date-time' }),
    checkedAt: Type.String({ format: 'date-time' }),
    certificate: Type.Object({
      id: Type.String({ description: 'GB/T 36904 identifier (ZZBS)' }),
      typeCode: Type.String(),
      typeName: Type.String({ description: 'as the catalogue names the type' }),
      name: Type.String({ description: 'the certificate\'s name (ZZMC)' }),
      number: Type.String({ description: 'as printed (ZZBH)' }),
      issuer: Type.Object({ code: Type.String(), name: Type.String() }),
      holder: Type.Object({
        idType: Type.String(),
        id: Type.String({ description: 'a citizen\'s ID number (111) with all but its last four characters as *; a credit code (001) whole' }),
        name: Type.String({ description: 'in full: the holder chose to show it' }),
      }),
      issuedOn: Type.String({ format: 'date' }),
      validFrom: Type.String({ format: 'date' }),
      validUntil: Type.Union([Type.String({ format: 'date' }), Type.Null()], { description: 'null: long-term (长期)' }),
      data: Type.Object({}, { additionalProperties: true, description: "the type's own fields, ID-number-shaped text masked" }),
    }),
    presentation: Type.Object({
      createdAt: Type.String({ format: 'date-time' }),
      expiresAt: Type.String({ format: 'date-time' }),
      usedAt: Type.String({ format: 'date-time', description: 'now: this answer used it' }),
      seenBy: Type.Union([Type.String(), Type.Null()], { description: "the reader organisation whose token came with the request; null when anonymous" }),
    }),
  },
  { $id: 'PresentationResult', additionalProperties: false },
)
