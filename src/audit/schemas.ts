import { Type } from '@sinclair/typebox'
import { HolderRef } from '../lookup/schemas.js'
import { CreditCodeSchema, InstantSchema } from '../schemas.js'

export const MAX_PAGE = 200
export const DEFAULT_PAGE = 50

/** Paging and time-range fields shared by the holder's access log and the auditor's events. */
// Bounded (src/schemas.ts): what PostgreSQL would refuse (year 0000, a +20:00 offset) is a 400, not a 500.
export const RangeFields = {
  from: Type.Optional(InstantSchema('inclusive')),
  to: Type.Optional(InstantSchema('exclusive')),
  cursor: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_-]{1,200}$', description: 'nextCursor of the previous page, as returned' })),
}

// Query strings are not coerced (app.ts: coerceTypes false), so the limit is a string of 1–200.
export const LimitQuery = Type.String({ pattern: '^(?:[1-9]|[1-9][0-9]|1[0-9]{2}|200)$', description: `1–${MAX_PAGE}, default ${DEFAULT_PAGE}` })

const EventFilterFields = {
  ...RangeFields,
  org: Type.Optional(Type.Unsafe<string>({ ...CreditCodeSchema, description: "the actor's organisation" })),
  kind: Type.Optional(
    Type.String({
      pattern: '^[a-z][a-z0-9_-]*(?:\\.[a-z0-9_-]+)*(?:\\.\\*)?$',
      maxLength: 100,
      description: 'an exact kind (access.lookup), or a prefix ending in .* (access.*, issuer.*)',
      examples: ['access.*', 'certificate.issued'],
    }),
  ),
  certificateId: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'events about this certificate: their subject, or among the certificates an access returned' })),
}

// No holder here: an ID number must never travel in a URL. Unknown properties are 400.
export const EventQuery = Type.Object({ ...EventFilterFields, limit: Type.Optional(LimitQuery) }, { additionalProperties: false })

export const EventSearchBody = Type.Object(
  {
    ...EventFilterFields,
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_PAGE, description: `default ${DEFAULT_PAGE}` })),
    holder: HolderRef,
  },
  { additionalProperties: false },
)

const Nullable = <T extends ReturnType<typeof Type.String>>(t: T) => Type.Union([t, Type.Null()])

export const AuditEvent = Type.Object(
  {
    id: Type.Integer(),
    at: Type.String({ format: 'date-time' }),
    kind: Type.String(),
    actor: Type.Object({ org: Nullable(Type.String()), sub: Nullable(Type.String()) }),
    requestId: Nullable(Type.String({ description: "the service's own id for the request (x-request-id of its answer)" })),
    clientRequestId: Nullable(Type.String({ description: 'the x-request-id the client sent, if any: a correlation hint chosen by the acting organisation, not unique' })),
    subject: Nullable(Type.String({ description: 'what was acted on: a type code, issuer code, certificate identifier' })),
    certificateIds: Type.Array(Type.String()),
    holderRef: Nullable(Type.String({ description: "keyed blind index of the holder, never the ID number" })),
    details: Type.Object({}, { additionalProperties: true }),
  },
  { $id: 'AuditEvent' },
)

export const AuditEventPage = Type.Object(
  {
    items: Type.Array(Type.Ref('AuditEvent')),
    nextCursor: Type.Optional(Type.String({ description: 'absent on the last page' })),
  },
  { $id: 'AuditEventPage' },
)
