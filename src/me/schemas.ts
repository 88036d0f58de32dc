import { Type } from '@sinclair/typebox'
import { LimitQuery, RangeFields } from '../audit/schemas.js'

// Nothing in the request names the holder: the token does. Unknown parameters are 400.
export const NoQuery = Type.Object({}, { additionalProperties: false })

export const AccessLogQuery = Type.Object({ ...RangeFields, limit: Type.Optional(LimitQuery) }, { additionalProperties: false })

export const MyCertificates = Type.Object({ items: Type.Array(Type.Ref('CertificateView')) }, { $id: 'MyCertificates' })

const Nullable = <T extends ReturnType<typeof Type.String>>(t: T) => Type.Union([t, Type.Null()])

export const AccessLogEntry = Type.Object(
  {
    at: Type.String({ format: 'date-time' }),
    kind: Type.String({ description: 'access.lookup, access.read, access.verify, access.denied or access.audit' }),
    organisation: Type.Object({
      code: Nullable(Type.String({ description: 'unified social credit code' })),
      name: Nullable(Type.String({ description: 'as registered with the service; null when unknown' })),
    }),
    matterCode: Nullable(Type.String({ description: 'the matter (事项编码) the access was for' })),
    reason: Nullable(Type.String({ description: 'the stated reason (用证事由)' })),
    certificateIds: Type.Array(Type.String()),
    outcome: Nullable(Type.String({ description: 'found, none, or why it was refused' })),
    presentation: Type.Optional(Type.Literal(true, { description: 'present when the holder showed the certificate themselves (亮证, POST /v1/me/certificates/{id}/presentations): "shown by you, seen by" the organisation, or by someone anonymous when it is null' })),
    anonymous: Type.Optional(
      Type.Union([Type.Literal('scan'), Type.Literal('public')], {
        description: 'present for an anonymous verification (no organisation, no matter): scan = someone holding the printed code opened it (GET /v/{code} or its JSON form); public = a presented copy was checked through POST /v1/public/verify',
      }),
    ),
    log: Type.Union(
      [
        Type.Object({
          leafIndex: Type.Integer({ description: 'its position in the Merkle log (GET /v1/log/proof/inclusion?index=…)' }),
          leaf: Type.String({ description: 'base64 of the leaf bytes (RFC 8785 JSON: at, kind, org, and salted commitments)' }),
          salt: Type.String({ description: 'base64 of the salt: holder = SHA-256(salt ‖ holderRef), event = SHA-256(salt ‖ 0x02 ‖ JCS(opening))' }),
          opening: Type.Object({}, { additionalProperties: true, description: 'what the event commitment holds: request, clientRequest, subject, certificates, details' }),
        }),
        Type.Null(),
      ],
      { description: 'what the holder needs to check this access is in the log (zhengzhao log verify --leaf); null for an event not yet appended' },
    ),
  },
  { $id: 'AccessLogEntry' },
)

export const AccessLogPage = Type.Object(
  {
    items: Type.Array(Type.Ref('AccessLogEntry')),
    holderRef: Type.String({ description: "the holder's own blind index, which each leaf's holder commitment hides with its salt" }),
    nextCursor: Type.Optional(Type.String({ description: 'absent on the last page' })),
  },
  { $id: 'AccessLogPage' },
)
