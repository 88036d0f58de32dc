import { and, desc, eq, getTableColumns, like, sql, type SQL } from 'drizzle-orm'
import type { Db } from '../db/client.js'
import { auditEvents, issuers, readerOrgs } from '../db/schema.js'
import { encodeCursor, type Cursor } from './cursor.js'

export interface EventFilters {
  /** Inclusive. */
  from?: string | undefined
  /** Exclusive. */
  to?: string | undefined
  /** The actor's organisation. */
  org?: string | undefined
  /** An exact kind, or a prefix ending in `.*` (`access.*`). */
  kind?: string | undefined
  /** Matches the event's subject or membership in its certificate_ids. */
  certificateId?: string | undefined
  /** The holder's blind index. */
  holderRef?: string | undefined
}

export interface Page {
  cursor?: Cursor | undefined
  limit: number
}

export type AuditEventRow = typeof auditEvents.$inferSelect & { atText: string }

export interface AccessLogRow {
  id: number
  atText: string
  kind: string
  org: string | null
  orgName: string | null
  certificateIds: string[] | null
  details: unknown
  /** What the leaf is computed from (src/log/leaf.ts); never shown to the holder as such. */
  actorSub: string | null
  requestId: string | null
  clientRequestId: string | null
  subject: string | null
  holderRef: string | null
  leafIndex: number | null
  salt: Buffer | null
}

// PostgreSQL keeps microseconds, a JavaScript Date milliseconds: the cursor and `at` carry the full
// value, or rows within one millisecond would be skipped or repeated across pages.
const atText = sql<string>`to_char(${auditEvents.at} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`

/** `access.*` → LIKE 'access.%', with LIKE's own wildcards in the prefix taken literally. */
function kindCondition(kind: string): SQL {
  if (!kind.endsWith('.*')) return eq(auditEvents.kind, kind)
  return like(auditEvents.kind, `${kind.slice(0, -1).replace(/[\\%_]/g, '\\$&')}%`)
}

/**
 * subject = X or X among certificate_ids, written as the expression of the one GIN index that
 * serves both (audit_events_certificates_idx in src/db/schema.ts): the planner uses an expression
 * index only for the same expression. `array || NULL` appends a NULL element, which @> ignores.
 */
function certificateCondition(certificateId: string): SQL {
  return sql`(${auditEvents.certificateIds} || ${auditEvents.subject}) @> array[${certificateId}::text]`
}

function conditions(f: EventFilters, cursor: Cursor | undefined): SQL | undefined {
  const certificate = f.certificateId ? certificateCondition(f.certificateId) : undefined
  return and(
    f.from ? sql`${auditEvents.at} >= ${f.from}::timestamptz` : undefined,
    f.to ? sql`${auditEvents.at} < ${f.to}::timestamptz` : undefined,
    f.org ? eq(auditEvents.actorOrg, f.org) : undefined,
    f.kind ? kindCondition(f.kind) : undefined,
    certificate,
    f.holderRef ? eq(auditEvents.holderRef, f.holderRef) : undefined,
    // Newest first: the next page holds what sorts strictly after the last row seen.
    cursor ? sql`(${auditEvents.at}, ${auditEvents.id}) < (${cursor.at}::timestamptz, ${cursor.id}::bigint)` : undefined,
  )
}

/** One page of `limit` rows, and a cursor when more follow (one extra row is fetched to know). */
function paged<R extends { atText: string; id: number }>(rows: R[], limit: number): { rows: R[]; nextCursor?: string } {
  if (rows.length <= limit) return { rows }
  const page = rows.slice(0, limit)
  const last = page[page.length - 1]!
  return { rows: page, nextCursor: encodeCursor({ at: last.atText, id: last.id }) }
}

/**
 * The two reads of audit_events besides the log's own, as query builders: the repository runs
 * them, and bench/auditIndexes.ts and test/audit/indexes.test.ts EXPLAIN exactly these statements.
 */
export function auditEventQueries(db: Db) {
  return {
    /** Every event matching all the filters, newest first (one extra row tells whether more follow). */
    search: (filters: EventFilters, page: Page) =>
      db
        .select({ ...getTableColumns(auditEvents), atText })
        .from(auditEvents)
        .where(conditions(filters, page.cursor))
        .orderBy(desc(auditEvents.at), desc(auditEvents.id))
        .limit(page.limit + 1),

    /** The access events about one holder, with the acting organisation's name, newest first. */
    accessLog: (holderRef: string, range: Pick<EventFilters, 'from' | 'to'>, page: Page) =>
      db
        .select({
          id: auditEvents.id,
          atText,
          kind: auditEvents.kind,
          org: auditEvents.actorOrg,
          // An approving department is named in reader_orgs; an issuing department in issuers.
          orgName: sql<string | null>`coalesce(${readerOrgs.name}, ${issuers.name})`,
          certificateIds: auditEvents.certificateIds,
          details: auditEvents.details,
          actorSub: auditEvents.actorSub,
          requestId: auditEvents.requestId,
          clientRequestId: auditEvents.clientRequestId,
          subject: auditEvents.subject,
          holderRef: auditEvents.holderRef,
          leafIndex: auditEvents.leafIndex,
          salt: auditEvents.salt,
        })
        .from(auditEvents)
        .leftJoin(readerOrgs, eq(readerOrgs.org, auditEvents.actorOrg))
        .leftJoin(issuers, eq(issuers.code, auditEvents.actorOrg))
        .where(conditions({ ...range, holderRef, kind: 'access.*' }, page.cursor))
        .orderBy(desc(auditEvents.at), desc(auditEvents.id))
        .limit(page.limit + 1),
  }
}

export function createAuditEventRepository(db: Db) {
  const queries = auditEventQueries(db)
  return {
    /** Every event matching all the filters, newest first. */
    async search(filters: EventFilters, page: Page): Promise<{ rows: AuditEventRow[]; nextCursor?: string }> {
      return paged(await queries.search(filters, page), page.limit)
    },

    /** The access events about one holder, with the acting organisation's name, newest first. */
    async accessLog(holderRef: string, range: Pick<EventFilters, 'from' | 'to'>, page: Page): Promise<{ rows: AccessLogRow[]; nextCursor?: string }> {
      return paged(await queries.accessLog(holderRef, range, page), page.limit)
    },
  }
}

export type AuditEventRepository = ReturnType<typeof createAuditEventRepository>
