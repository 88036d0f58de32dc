import { sql } from 'drizzle-orm'
import { rowsOf, type Db } from '../db/client.js'
import type { TransparencyLog } from '../log/integrator.js'
import type { AppendedLeaf, StoredCheckpoint } from '../log/store.js'
import { isDatabaseUnavailable } from '../db/errors.js'
import { AppError } from '../errors.js'
import { maskIdNumbersIn } from '../ids/index.js'

/** One use of personal data: who, for what, about whom (blind index), what came back. */
export interface AccessEvent {
  kind: 'access.lookup' | 'access.read' | 'access.verify' | 'access.denied' | 'access.audit'
  actorSub: string
  /** Null for an anonymous verifier (a scanned code, POST /v1/public/verify): no organisation is known. */
  actorOrg: string | null
  requestId: string
  /** The x-request-id the client sent, kept beside (never instead of) the service's own id. */
  clientRequestId?: string | null | undefined
  /** Keyed blind index of the holder, never the ID number. */
  holderRef?: string | undefined
  certificateIds?: string[]
  /** Purpose (matter code, reason), outcome, and what else the auditor needs. */
  details: Record<string, unknown>
}

/** Where a recorded event sits: its row, and a checkpoint of the Merkle log that holds it. */
export interface RecordedEvent {
  eventId: number
  checkpoint: StoredCheckpoint
  /** The leaf and its proof, when this process appended it (else the store has them). */
  leaf?: AppendedLeaf | undefined
}

export interface AccessLog {
  /**
   * Resolves once the event is durable and in the Merkle log (a signed checkpoint covers it);
   * throws ACCESS_LOG_UNAVAILABLE (503) otherwise.
   */
  record(event: AccessEvent): Promise<RecordedEvent>
}

// Most events a single group-commit statement carries.
const MAX_GROUP = 500

interface Pending {
  event: AccessEvent
  resolve: (recorded: RecordedEvent) => void
  reject: (err: Error) => void
}

/**
 * Every string in the details with ID-number-shaped runs masked: a purpose reason is typed by a
 * person ("核验 11010519491231002X 的执照") and must not put the number in the log in clear.
 */
export function maskedText<T>(value: T): T {
  if (typeof value === 'string') return maskIdNumbersIn(value) as T
  if (Array.isArray(value)) return value.map(maskedText) as T
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, maskedText(v)])) as T
  return value
}

function toRow(event: AccessEvent) {
  return {
    kind: event.kind,
    actorSub: event.actorSub,
    actorOrg: event.actorOrg,
    requestId: event.requestId,
    clientRequestId: event.clientRequestId ?? null,
    holderRef: event.holderRef ?? null,
    certificateIds: event.certificateIds ?? null,
    subject: event.certificateIds?.length === 1 ? event.certificateIds[0] : null,
    details: maskedText(event.details),
  }
}

/**
 * Every access is written before the answer leaves: a caller whose access cannot be logged gets
 * 503 and no data, never data without its log entry.
 *
 * Group commit: events recorded while a write is in flight wait and go together in the next
 * multi-row insert (one statement, one commit), so under load the log costs one round trip per
 * group instead of one per request. Each caller still resolves only after its own row committed.
 */
export function createAccessLog(db: Db, tlog: TransparencyLog, log?: { error(obj: object, msg: string): void }): AccessLog {
  let queue: Pending[] = []
  let writing = false

  // The whole group travels as one JSON array parameter: the statement text never changes, so the
  // database parses and plans it once, and no SQL is built per flush.
  // Ids are drawn in the select's order, so the ascending ids returned are the group's, in order.
  async function insert(group: Pending[]): Promise<number[]> {
    const rows = await rowsOf<{ id: string | number }>(db, sql`
      insert into audit_events (kind, actor_sub, actor_org, request_id, client_request_id, holder_ref, certificate_ids, subject, details)
      select e->>'kind', e->>'actorSub', e->>'actorOrg', e->>'requestId', e->>'clientRequestId', e->>'holderRef',
        case when jsonb_typeof(e->'certificateIds') = 'array' then array(select jsonb_array_elements_text(e->'certificateIds')) end,
        e->>'subject', e->'details'
      from jsonb_array_elements(${sql.param(JSON.stringify(group.map((p) => toRow(p.event))))}::jsonb) with ordinality as t(e, n)
      order by n
      returning id`)
    return rows.map((r) => Number(r.id)).sort((a, b) => a - b)
  }

  // The group is durable; the answers wait until an append has put it in the tree.
  async function integrate(group: Pending[], ids: number[]): Promise<void> {
    const { checkpoint, appended } = await tlog.integrate()
    group.forEach((p, i) => {
      const leaf = appended.get(ids[i]!)
      p.resolve({ eventId: ids[i]!, checkpoint: leaf?.checkpoint ?? checkpoint, leaf })
    })
  }

  async function flush(): Promise<void> {
    writing = true
    while (queue.length > 0) {
      const group = queue.slice(0, MAX_GROUP)
      queue = queue.slice(group.length)
      let ids: number[]
      try {
        ids = await insert(group)
      } catch (err) {
        // One bad row must not fail its neighbours: retry them one by one. An unreachable
        // database is not a bad row: retrying each would keep every caller waiting a timeout apiece.
        const unavailable = isDatabaseUnavailable(err)
        for (const p of group) {
          try {
            if (group.length > 1 && !unavailable) await integrate([p], await insert([p]))
            else throw err
          } catch (single) {
            log?.error({ err: { message: (single as Error).message } }, 'access event could not be written')
            p.reject(new AppError('ACCESS_LOG_UNAVAILABLE'))
          }
        }
        // Those queued behind this group would wait their turn only to meet the same outage.
        if (unavailable) for (const p of queue.splice(0)) p.reject(new AppError('ACCESS_LOG_UNAVAILABLE'))
        continue
      }
      try {
        await integrate(group, ids)
      } catch (err) {
        // Durable but not yet in the tree: the next append takes it, but no answer leaves without it.
        log?.error({ err: { message: (err as Error).message } }, 'access events could not be appended to the log')
        for (const p of group) p.reject(new AppError('ACCESS_LOG_UNAVAILABLE'))
      }
    }
    writing = false
  }

  return {
    record(event) {
      return new Promise<RecordedEvent>((resolve, reject) => {
        queue.push({ event, resolve, reject })
        if (!writing) void flush()
      })
    },
  }
}
