import { Type, type Static } from '@sinclair/typebox'
import { CreditCodeSchema, TypeCodeSchema } from '../schemas.js'

export const TypeCodeParams = Type.Object({ typeCode: TypeCodeSchema }, { additionalProperties: false })

export const TypeDefinition = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 100, description: 'Certificate name, as printed (ZZMC)', examples: ['营业执照'] }),
    description: Type.Optional(Type.String({ maxLength: 2000 })),
    holderIdTypes: Type.Array(Type.String({ pattern: '^[0-9]{3}$' }), {
      minItems: 1,
      maxItems: 20,
      uniqueItems: true,
      description: 'Holder ID types allowed (GB/T 36903 appendix A): 111 citizen ID number, 001 unified social credit code',
    }),
    dataSchema: Type.Object({}, { additionalProperties: true, description: 'JSON Schema (2020-12) of the certificate\'s "data"; "type" must be "object"' }),
    issuers: Type.Array(CreditCodeSchema, { maxItems: 10_000, uniqueItems: true, description: 'Credit codes of the issuers allowed to issue this type' }),
  },
  { additionalProperties: false, $id: 'TypeDefinition' },
)
export type TypeDefinition = Static<typeof TypeDefinition>

export const CertificateType = Type.Object(
  {
    typeCode: TypeCodeSchema,
    name: Type.String(),
    description: Type.Optional(Type.String()),
    holderIdTypes: Type.Array(Type.String()),
    dataSchema: Type.Object({}, { additionalProperties: true }),
    issuers: Type.Array(Type.String()),
    createdAt: Type.String({ format: 'date-time' }),
    updatedAt: Type.String({ format: 'date-time' }),
  },
  { $id: 'CertificateType' },
)
export type CertificateType = Static<typeof CertificateType>

export const CertificateTypeList = Type.Object({ items: Type.Array(CertificateType) }, { $id: 'CertificateTypeList' })
