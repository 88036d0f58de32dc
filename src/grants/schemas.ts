import { Type, type Static } from '@sinclair/typebox'
import { TypeCodeSchema } from '../schemas.js'

/** A matter code (事项编码) of the government-services catalogue. */
export const MatterCode = Type.String({ pattern: '^[0-9A-Za-z_-]{1,64}$', description: 'matter code (事项编码)' })

export const Grant = Type.Object(
  {
    typeCode: TypeCodeSchema,
    matterCodes: Type.Optional(Type.Array(MatterCode, { minItems: 1, maxItems: 1000, uniqueItems: true, description: 'only for these matters; absent: any matter' })),
  },
  { additionalProperties: false },
)

export const GrantsBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 200, description: 'the organisation\'s name, shown to holders in their access log' }),
    grants: Type.Array(Grant, { maxItems: 1000, description: 'replaces every grant of the organisation' }),
  },
  { additionalProperties: false },
)
export type GrantsBody = Static<typeof GrantsBody>

export const OrgGrants = Type.Object(
  { org: Type.String(), name: Type.String(), grants: Type.Array(Grant), updatedAt: Type.String({ format: 'date-time' }) },
  { $id: 'OrgGrants' },
)
export type OrgGrants = Static<typeof OrgGrants>
