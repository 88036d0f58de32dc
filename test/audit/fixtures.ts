import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { holderIndex, parseDataProtectionKeys } from '../../src/crypto/dataProtection.js'
import { auditEvents, readerOrgs } from '../../src/db/schema.js'
import { issuanceFixture, writeDataProtectionKeys, type IssuanceFixture } from '../helpers/certs.js'

/** An access or audit event as src/audit/accessLog.ts and the repositories write it. */
export interface EventSeed {
  kind: string
  at: Date
  actorOrg: string
  actorSub?: string
  holderRef?: string | null
  subject?: string | null
  certificateIds?: string[] | null
  details?: Record<string, unknown>
}

export interface EventFixture extends IssuanceFixture {
  /** The blind index this app computes for a holder (the test owns the key file). */
  refOf(id: string, idType?: string): string
  /** Inserts events directly (the lookup endpoints are not needed to produce them); returns their ids in order. */
  insertEvents(seeds: EventSeed[]): Promise<number[]>
  nameReaderOrg(org: string, name: string): Promise<void>
  pushFor(holderId: string): Promise<string>
}

export async function eventFixture(t: Parameters<typeof issuanceFixture>[0], opts: { embedded?: boolean; own?: boolean } = {}): Promise<EventFixture> {
  const keysFile = writeDataProtectionKeys(mkdtempSync(join(tmpdir(), 'zz-audit-')))
  const keys = parseDataProtectionKeys(readFileSync(keysFile, 'utf8'))
  const f = await issuanceFixture(t, { DATA_PROTECTION_KEYS: keysFile }, opts)
  const db = f.database.db
  return {
    ...f,
    refOf: (id, idType = '111') => holderIndex(keys, idType, id),
    async insertEvents(seeds) {
      const rows = await db
        .insert(auditEvents)
        .values(
          seeds.map((s) => ({
            kind: s.kind,
            at: s.at,
            actorOrg: s.actorOrg,
            actorSub: s.actorSub ?? 'clerk-0042',
            requestId: `req-${Math.random().toString(36).slice(2)}`,
            holderRef: s.holderRef ?? null,
            certificateIds: s.certificateIds ?? null,
            subject: s.subject !== undefined ? s.subject : s.certificateIds?.length === 1 ? s.certificateIds[0] : null,
            details: s.details ?? {},
          })),
        )
        .returning({ id: auditEvents.id })
      return rows.map((r) => r.id)
    },
    async nameReaderOrg(org, name) {
      await db.insert(readerOrgs).values({ org, name })
    },
    async pushFor(holderId) {
      const payload = f.payload({ holderId })
      const res = await f.app.inject({ method: 'POST', url: '/v1/certificates', headers: f.issuerAuth, payload: { certificate: await f.sign(payload) } })
      if (res.statusCode !== 201) throw new Error(res.body)
      return payload.id
    },
  }
}

/** A fixed instant plus `minutes`, far from "now" so real events never fall in between. */
export function minute(base: string, minutes: number): Date {
  return new Date(Date.parse(base) + minutes * 60_000)
}

export const purpose = (matterCode: string, reason = '办理营业执照变更登记') => ({ matterCode, reason })
