import type { Db } from '../db/client.js'
import { auditEvents } from '../db/schema.js'
import { AppError } from '../errors.js'

/** One use of personal data: who, for what, about whom (blind index), what came back. */
export interface AccessEvent {
  kind: 'access.lookup' | 'access.read' | 'access.verify' | 'access.denied' | 'access.audit'
  actorSub: string
  actorOrg: string
  requestId: string
  /** Keyed blind index of the holder, never the ID number. */
  holderRef?: string | undefined
  certificateIds?: string[]
  /** Purpose (matter code, reason), outcome, and what else the auditor needs. */
  details: Record<string, unknown>
}

export interface AccessLog {
  /** Resolves once the event is durable; throws ACCESS_LOG_UNAVAILABLE (503) otherwise. */
  record(event: AccessEvent): Promise<void>
}

/**
 * Every access is written before the answer leaves: a caller whose access cannot be logged gets
 * 503 and no data, never data without its log entry.
 */
export function createAccessLog(db: Db, log?: { error(obj: object, msg: string): void }): AccessLog {
  return {
    async record(event) {
      try {
        await db.insert(auditEvents).values({
          kind: event.kind,
          actorSub: event.actorSub,
          actorOrg: event.actorOrg,
          requestId: event.requestId,
          holderRef: event.holderRef ?? null,
          certificateIds: event.certificateIds ?? null,
          subject: event.certificateIds?.length === 1 ? event.certificateIds[0] : null,
          details: event.details,
        })
      } catch (err) {
        log?.error({ err: { message: (err as Error).message } }, 'access event could not be written')
        throw new AppError('ACCESS_LOG_UNAVAILABLE')
      }
    },
  }
}
