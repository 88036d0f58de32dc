import { Type, type Static } from '@sinclair/typebox'
import { CreditCodeSchema, InstantSchema, TypeCodeSchema } from '../schemas.js'

export const IssuerCodeParams = Type.Object({ code: CreditCodeSchema }, { additionalProperties: false })
export const IssuerKeyParams = Type.Object({ code: CreditCodeSchema, kid: Type.String({ minLength: 1, maxLength: 128 }) }, { additionalProperties: false })

const Pem = Type.String({ minLength: 1, maxLength: 64 * 1024, description: 'PEM: the signing certificate first, then any intermediates' })

export const IssuerDefinition = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 200, description: 'Issuing department (ZZBFJG)' }),
    typeCodes: Type.Array(TypeCodeSchema, { maxItems: 1000, uniqueItems: true, description: 'Certificate types it may issue (each must be in the catalogue)' }),
    certificates: Type.Array(Pem, { maxItems: 20, description: 'Signing certificates to add; keys already registered are kept' }),
  },
  { additionalProperties: false },
)
export type IssuerDefinition = Static<typeof IssuerDefinition>

export const AddKeyBody = Type.Object({ certificate: Pem }, { additionalProperties: false })

export const RevokeKeyBody = Type.Object(
  {
    reason: Type.Union([Type.Literal('retired'), Type.Literal('compromised')], {
      description: 'retired: signs nothing new from `at`; compromised: everything it signed from `at` is invalid',
    }),
    at: Type.Optional(InstantSchema('when it takes effect (default now); a compromise may lie in the past')),
    comment: Type.Optional(Type.String({ maxLength: 1000 })),
  },
  { additionalProperties: false },
)
export type RevokeKeyBody = Static<typeof RevokeKeyBody>

export const IssuerKey = Type.Object(
  {
    kid: Type.String({ description: 'RFC 7638 SHA-256 thumbprint of the public key' }),
    state: Type.Union([Type.Literal('active'), Type.Literal('retired'), Type.Literal('compromised'), Type.Literal('expired')]),
    algorithms: Type.Array(Type.String()),
    subject: Type.String(),
    serialNumber: Type.String(),
    fingerprint256: Type.String(),
    notBefore: Type.String({ format: 'date-time' }),
    notAfter: Type.String({ format: 'date-time' }),
    activeFrom: Type.String({ format: 'date-time' }),
    retiredAt: Type.Optional(Type.String({ format: 'date-time' })),
    compromisedAt: Type.Optional(Type.String({ format: 'date-time' })),
  },
  { $id: 'IssuerKey' },
)
export type IssuerKey = Static<typeof IssuerKey>

export const Issuer = Type.Object(
  {
    code: Type.String(),
    name: Type.String(),
    typeCodes: Type.Array(Type.String()),
    keys: Type.Array(Type.Ref(IssuerKey)),
    createdAt: Type.String({ format: 'date-time' }),
    updatedAt: Type.String({ format: 'date-time' }),
  },
  { $id: 'Issuer' },
)
export type Issuer = Static<typeof Issuer>
