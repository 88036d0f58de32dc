import { and, eq, gt, isNull, sql } from 'drizzle-orm'
import type { Db } from '../db/client.js'
import { auditEvents, presentations } from '../db/schema.js'

export type PresentationRow = typeof presentations.$inferSelect

/** Why a token cannot be used: it was, it is too late, or no presentation has it. */
export type Refusal = 'used' | 'expired' | 'unknown'

export interface NewPresentation {
  tokenSha256: string
  certificateId: string
  holderRef: string
  ttlSeconds: number
  /** Who asked, for the audit event: the holder's recorded subject (a keyed hash). */
  actorSub: string
  requestId: string
  clientRequestId: string | null
}

export function createPresentationRepository(db: Db) {
  return {
    /**
     * Stores the token's hash with its expiry, and the audit event saying a presentation was made,
     * in one transaction. The expiry is the database's clock plus the TTL, the same clock a use
     * compares it with, so a process's clock cannot stretch it.
     */
    async insert(p: NewPresentation): Promise<PresentationRow> {
      return db.transaction(async (tx) => {
        const [row] = await tx
          .insert(presentations)
          .values({ tokenSha256: p.tokenSha256, certificateId: p.certificateId, holderRef: p.holderRef, expiresAt: sql`clock_timestamp() + make_interval(secs => ${p.ttlSeconds})` })
          .returning()
        await tx.insert(auditEvents).values({
          kind: 'presentation.created',
          subject: p.certificateId,
          holderRef: p.holderRef,
          certificateIds: [p.certificateId],
          actorSub: p.actorSub,
          actorOrg: null,
          requestId: p.requestId,
          clientRequestId: p.clientRequestId,
          details: { presentation: true, expiresAt: row!.expiresAt.toISOString() },
        })
        return row!
      })
    },

    /**
     * Uses a presentation, once: one conditional UPDATE, so of two scans at once the database lets
     * exactly one through (the second finds `used_at` set when the first's row lock is released).
     */
    async use(hash: string, usedBy: string | null): Promise<PresentationRow | Refusal> {
      const [row] = await db
        .update(presentations)
        .set({ usedAt: sql`clock_timestamp()`, usedBy })
        .where(and(eq(presentations.tokenSha256, hash), isNull(presentations.usedAt), gt(presentations.expiresAt, sql`clock_timestamp()`)))
        .returning()
      return row ?? this.refusalOf(hash)
    },

    /** Why a token is not usable now, or its row when it still is (a HEAD request only looks). */
    async peek(hash: string): Promise<PresentationRow | Refusal> {
      const [row] = await db
        .select({ row: presentations, expired: sql<boolean>`${presentations.expiresAt} <= clock_timestamp()` })
        .from(presentations)
        .where(eq(presentations.tokenSha256, hash))
      if (!row) return 'unknown'
      if (row.row.usedAt) return 'used'
      return row.expired ? 'expired' : row.row
    },

    async refusalOf(hash: string): Promise<Refusal> {
      const got = await this.peek(hash)
      // Usable a moment after the update refused it: the clock passed the expiry in between.
      return typeof got === 'string' ? got : 'expired'
    },
  }
}

export type PresentationRepository = ReturnType<typeof createPresentationRepository>
