import { eq, sql } from 'drizzle-orm'
import type { Db } from '../db/client.js'
import { auditEvents, certificates, certificateStatusHistory } from '../db/schema.js'
import { AppError } from '../errors.js'
import { maskIdNumbersIn } from '../ids/index.js'
import type { Actor } from '../types/repository.js'
import { statusHistory, toRecord } from './repository.js'
import type { CertificateStatus, StoredCertificate } from './schemas.js'

// Which changes an issuer may make. Revoked is final; superseded may still be revoked (an old
// version found fraudulent), nothing else.
const ALLOWED: Record<CertificateStatus, readonly CertificateStatus[]> = {
  valid: ['suspended', 'revoked'],
  suspended: ['valid', 'revoked'],
  revoked: [],
  superseded: ['revoked'],
}

export async function withHistory(db: Db, record: StoredCertificate): Promise<StoredCertificate> {
  const rows = await statusHistory(db, record.id)
  return {
    ...record,
    history: rows.map((h) => ({ at: h.at.toISOString(), from: h.fromStatus, to: h.toStatus, reason: h.reason, actorOrg: h.actorOrg, actorSub: h.actorSub })),
  }
}

/** Who changes a status: the request's own id, and the client's x-request-id kept beside it. */
export type StatusActor = Actor & { org: string; clientRequestId?: string | null }

/**
 * Changes a certificate's status for its issuing organisation, with its history entry and audit
 * event in the same transaction. Asking for the status it already has changes nothing.
 *
 * Order: the history and the event are written after the row lock is taken, so their ids (a
 * sequence) and their `at` (clock_timestamp(), not the transaction's start) follow the order in
 * which concurrent changes really happened. The reason is free text: an ID number typed into it is
 * stored masked.
 */
export async function changeStatus(db: Db, id: string, to: CertificateStatus, reason: string, actor: StatusActor): Promise<{ changed: boolean; record: StoredCertificate }> {
  const clientRequestId = actor.clientRequestId ?? null
  const result = await db.transaction(async (tx) => {
    const [row] = await tx.select().from(certificates).where(eq(certificates.id, id)).for('update')
    // Another organisation's certificate is reported as absent: its existence is not theirs to learn.
    if (!row || row.issuerCode !== actor.org) throw new AppError('CERTIFICATE_NOT_FOUND')
    const from = row.status as CertificateStatus
    if (from === to) return { changed: false, row }
    if (!ALLOWED[from].includes(to)) throw new AppError('STATUS_CHANGE_NOT_ALLOWED', `A ${from} certificate cannot become ${to}`)
    const [updated] = await tx.update(certificates).set({ status: to, statusChangedAt: sql`clock_timestamp()` }).where(eq(certificates.id, id)).returning()
    await tx.insert(certificateStatusHistory).values({ certificateId: id, actorSub: actor.sub, actorOrg: actor.org, requestId: actor.requestId, clientRequestId, fromStatus: from, toStatus: to, reason: maskIdNumbersIn(reason) })
    await tx.insert(auditEvents).values({
      kind: 'certificate.status',
      subject: id,
      holderRef: row.holderIndex,
      actorSub: actor.sub,
      actorOrg: actor.org,
      requestId: actor.requestId,
      clientRequestId,
      details: { from, to },
    })
    return { changed: true, row: updated! }
  })
  return { changed: result.changed, record: await withHistory(db, toRecord(result.row)) }
}
