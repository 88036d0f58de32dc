import { Type } from '@sinclair/typebox'
import { MatterCode } from '../grants/schemas.js'
import { TypeCodeSchema } from '../schemas.js'

export const Purpose = Type.Object(
  {
    matterCode: MatterCode,
    reason: Type.String({ minLength: 1, maxLength: 500, description: 'why the data is needed (用证事由)' }),
  },
  { additionalProperties: false },
)

export const HolderRef = Type.Object(
  {
    idType: Type.String({ pattern: '^[0-9]{3}$', description: '111 citizen ID number, 001 unified social credit code', examples: ['111'] }),
    id: Type.String({ minLength: 1, maxLength: 64, examples: ['11010519491231002X'] }),
  },
  { additionalProperties: false },
)

export const LookupBody = Type.Object(
  {
    holder: HolderRef,
    typeCodes: Type.Optional(Type.Array(TypeCodeSchema, { minItems: 1, maxItems: 100, uniqueItems: true, description: 'absent: every granted type' })),
    purpose: Purpose,
    include: Type.Optional(Type.Union([Type.Literal('in-force'), Type.Literal('all')], { description: 'in-force (default): valid and inside the validity period; all: every status' })),
  },
  { additionalProperties: false, examples: [{ holder: { idType: '111', id: '11010519491231002X' }, typeCodes: ['11100000000013338W011'], purpose: { matterCode: '330100-MZ-001', reason: '婚姻登记信息核验' } }] },
)

export const LookupResult = Type.Object(
  {
    items: Type.Array(Type.Ref('CertificateView')),
    receipt: Type.Ref('Receipt'),
  },
  { $id: 'LookupResult' },
)

export const ReadResult = Type.Object(
  {
    certificate: Type.Ref('CertificateView'),
    history: Type.Array(Type.Object({ at: Type.String({ format: 'date-time' }), from: Type.String(), to: Type.String(), reason: Type.String() })),
    receipt: Type.Ref('Receipt'),
  },
  { $id: 'ReadResult' },
)
