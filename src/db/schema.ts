import { bigserial, index, jsonb, pgTable, text, timestamp } from 'drizzle-orm/pg-core'

/** Holder ID types (GB/T 36903 appendix A). Seeded by the first migration; unknown types are rejected. */
export const holderIdTypes = pgTable('holder_id_types', {
  code: text('code').primaryKey(),
  name: text('name').notNull(),
})

/** The catalogue of certificate types: what may be issued, to whom, by whom, with which data. */
export const certificateTypes = pgTable('certificate_types', {
  typeCode: text('type_code').primaryKey(),
  name: text('name').notNull(),
  description: text('description'),
  holderIdTypes: text('holder_id_types').array().notNull(),
  dataSchema: jsonb('data_schema').notNull(),
  issuers: text('issuers').array().notNull(),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
})

/**
 * Append-only trail of every change and access. `subject` names what was acted on (a type code,
 * a certificate identifier); it never holds an ID number or a name.
 */
export const auditEvents = pgTable(
  'audit_events',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    at: timestamp('at', { withTimezone: true }).notNull().defaultNow(),
    kind: text('kind').notNull(),
    actorSub: text('actor_sub'),
    actorOrg: text('actor_org'),
    requestId: text('request_id'),
    subject: text('subject'),
    details: jsonb('details').notNull().default({}),
  },
  (t) => [index('audit_events_at_idx').on(t.at), index('audit_events_kind_at_idx').on(t.kind, t.at)],
)
