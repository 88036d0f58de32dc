import type { TransparencyLog } from '../log/integrator.js'
import type { AppendedLeaf, NewEvent, StoredCheckpoint } from '../log/store.js'
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

function toRow(event: AccessEvent): NewEvent {
  return {
    kind: event.kind,
    actorSub: event.actorSub,
    actorOrg: event.actorOrg,
    requestId: event.requestId,
    clientRequestId: event.clientRequestId ?? null,
    holderRef: event.holderRef ?? null,
    certificateIds: event.certificateIds ?? null,
    subject: event.certificateIds?.length === 1 ? event.certificateIds[0]! : null,
    details: maskedText(event.details),
  }
}

/**
 * Every access is written before the answer leaves: a caller whose access cannot be logged gets
 * 503 and no data, never data without its log entry.
 *
 * Group commit: events recorded in the same turn of the event loop, or while a write is in
 * flight, wait and go together in the next multi-row insert (one statement, one commit), so under
 * load the log costs one round trip per group instead of one per request. Each caller still
 * resolves only after its own row committed.
 */
export function createAccessLog(tlog: TransparencyLog, log?: { error(obj: object, msg: string): void }): AccessLog {
  let queue: Pending[] = []
  let writing = false

  // The group is written and appended to the tree in one statement (src/log/store.ts appendNew),
  // shared with whatever other groups are waiting; each caller resolves once its event is durable
  // and in a signed checkpoint.
  async function settle(group: Pending[]): Promise<void> {
    const result = await tlog.append(group.map((p) => toRow(p.event)))
    group.forEach((p, i) => p.resolve({ eventId: result.ids[i]!, checkpoint: result.checkpoint, leaf: result.leaves[i] }))
  }

  async function flush(): Promise<void> {
    writing = true
    while (queue.length > 0) {
      // One turn of the event loop before the group is cut: the callbacks already ready in this
      // turn (other requests' rows come back from the database, their bodies parsed) record their
      // events first and go in the same statement. In the bench's lookups on PostgreSQL the mean
      // group grew from 3.2 to 3.9 events (docs/benchmarks.md, "Sixth round"); an idle service
      // waits one turn, microseconds.
      await new Promise((resolve) => setImmediate(resolve))
      const group = queue.slice(0, MAX_GROUP)
      queue = queue.slice(group.length)
      try {
        await settle(group)
      } catch (err) {
        // One bad row must not fail its neighbours: retry them one by one. An unreachable
        // database is not a bad row: retrying each would keep every caller waiting a timeout apiece.
        const unavailable = isDatabaseUnavailable(err)
        for (const p of group) {
          try {
            if (group.length > 1 && !unavailable) await settle([p])
            else throw err
          } catch (single) {
            log?.error({ err: { message: (single as Error).message } }, 'access event could not be written and appended to the log')
            p.reject(new AppError('ACCESS_LOG_UNAVAILABLE'))
          }
        }
        // Those queued behind this group would wait their turn only to meet the same outage.
        if (unavailable) for (const p of queue.splice(0)) p.reject(new AppError('ACCESS_LOG_UNAVAILABLE'))
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
