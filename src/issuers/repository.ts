import { asc, eq, inArray, sql } from 'drizzle-orm'
import type { Db } from '../db/client.js'
import { auditEvents, issuerKeys, issuers } from '../db/schema.js'
import type { SigningCertificateInfo } from '../crypto/x509.js'
import { maskIdNumbersIn } from '../ids/index.js'
import type { Actor } from '../types/repository.js'
import type { Issuer, IssuerKey } from './schemas.js'

export type KeyRow = typeof issuerKeys.$inferSelect
type IssuerRow = typeof issuers.$inferSelect
/** The acting admin, and the client's x-request-id kept beside the service's own request id. */
export type IssuerActor = Actor & { clientRequestId?: string | null }

/** The state of a key at `now`, for display; the push check uses `keyWindowProblem`. */
export function keyState(key: KeyRow, now = new Date()): IssuerKey['state'] {
  if (key.compromisedAt && key.compromisedAt <= now) return 'compromised'
  if (key.retiredAt && key.retiredAt <= now) return 'retired'
  if (key.notAfter <= now) return 'expired'
  return 'active'
}

export function toKey(row: KeyRow): IssuerKey {
  return {
    kid: row.kid,
    state: keyState(row),
    algorithms: row.algorithms,
    subject: row.subject,
    serialNumber: row.serialNumber,
    fingerprint256: row.fingerprint256,
    notBefore: row.notBefore.toISOString(),
    notAfter: row.notAfter.toISOString(),
    activeFrom: row.activeFrom.toISOString(),
    ...(row.retiredAt ? { retiredAt: row.retiredAt.toISOString() } : {}),
    ...(row.compromisedAt ? { compromisedAt: row.compromisedAt.toISOString() } : {}),
  }
}

export function toIssuer(row: IssuerRow, keys: KeyRow[]): Issuer {
  return { code: row.code, name: row.name, typeCodes: row.typeCodes, keys: keys.map(toKey), createdAt: row.createdAt.toISOString(), updatedAt: row.updatedAt.toISOString() }
}

function keyValues(issuerCode: string, info: SigningCertificateInfo) {
  return {
    kid: info.kid,
    issuerCode,
    algorithms: info.algorithms,
    publicKeyPem: info.publicKeyPem,
    chainPem: info.chainPem,
    subject: info.subject,
    serialNumber: info.serialNumber,
    fingerprint256: info.fingerprint256,
    notBefore: info.notBefore,
    notAfter: info.notAfter,
  }
}

function event(kind: string, subject: string, actor: IssuerActor, details: Record<string, unknown>) {
  return { kind, subject, actorSub: actor.sub, actorOrg: actor.org, requestId: actor.requestId, clientRequestId: actor.clientRequestId ?? null, details }
}

export function createIssuerRepository(db: Db) {
  // Every push reads its issuer and keys: the statement is built once (drizzle) and prepared on the server.
  const withKeys = db
    .select({ issuer: issuers, key: issuerKeys })
    .from(issuers)
    .leftJoin(issuerKeys, eq(issuerKeys.issuerCode, issuers.code))
    .where(eq(issuers.code, sql.placeholder('code')))
    .orderBy(asc(issuerKeys.activeFrom))
    .prepare('issuer_with_keys')
  return {
    /** The issuer and its keys (oldest first) in one statement: every push reads them. */
    async get(code: string): Promise<{ issuer: Issuer; keys: KeyRow[] } | undefined> {
      const rows = await withKeys.execute({ code })
      if (rows.length === 0) return undefined
      const keys = rows.flatMap((r) => (r.key ? [r.key] : []))
      return { issuer: toIssuer(rows[0]!.issuer, keys), keys }
    },

    /** Which of these kids are registered, and to which issuer. */
    async keyOwners(kids: string[]): Promise<Map<string, string>> {
      if (kids.length === 0) return new Map()
      const rows = await db.select({ kid: issuerKeys.kid, issuerCode: issuerKeys.issuerCode }).from(issuerKeys).where(inArray(issuerKeys.kid, kids))
      return new Map(rows.map((r) => [r.kid, r.issuerCode]))
    },

    /** Creates or updates an issuer and adds new keys, with audit events, in one transaction. */
    async put(code: string, def: { name: string; typeCodes: string[] }, newKeys: SigningCertificateInfo[], actor: IssuerActor): Promise<{ created: boolean; issuer: Issuer }> {
      const created = await db.transaction(async (tx) => {
        const [existing] = await tx.select().from(issuers).where(eq(issuers.code, code)).for('update')
        if (existing) await tx.update(issuers).set({ name: def.name, typeCodes: def.typeCodes, updatedAt: new Date() }).where(eq(issuers.code, code))
        else await tx.insert(issuers).values({ code, name: def.name, typeCodes: def.typeCodes })
        if (newKeys.length > 0) await tx.insert(issuerKeys).values(newKeys.map((k) => keyValues(code, k))).onConflictDoNothing()
        await tx.insert(auditEvents).values([
          event(existing ? 'issuer.updated' : 'issuer.created', code, actor, { typeCodes: def.typeCodes }),
          ...newKeys.map((k) => event('issuer.key.added', code, actor, { kid: k.kid, fingerprint256: k.fingerprint256 })),
        ])
        return !existing
      })
      return { created, issuer: (await this.get(code))!.issuer }
    },

    async addKey(code: string, info: SigningCertificateInfo, actor: IssuerActor): Promise<IssuerKey> {
      await db.transaction(async (tx) => {
        await tx.insert(issuerKeys).values(keyValues(code, info))
        await tx.insert(auditEvents).values(event('issuer.key.added', code, actor, { kid: info.kid, fingerprint256: info.fingerprint256 }))
      })
      const [row] = await db.select().from(issuerKeys).where(eq(issuerKeys.kid, info.kid))
      return toKey(row!)
    },

    /**
     * Retires a key (it signs nothing new from `at`) or marks it compromised from `at` (what it
     * signed from then on is invalid). An earlier instant never moves later. The comment is free
     * text: an ID number typed into it is stored masked.
     */
    async revokeKey(key: KeyRow, reason: 'retired' | 'compromised', at: Date, comment: string | undefined, actor: IssuerActor): Promise<IssuerKey> {
      const earliest = (current: Date | null) => (current && current < at ? current : at)
      const change = reason === 'retired' ? { retiredAt: earliest(key.retiredAt) } : { compromisedAt: earliest(key.compromisedAt) }
      const [row] = await db.transaction(async (tx) => {
        const updated = await tx.update(issuerKeys).set({ ...change, revocationComment: comment !== undefined ? maskIdNumbersIn(comment) : key.revocationComment }).where(eq(issuerKeys.kid, key.kid)).returning()
        await tx.insert(auditEvents).values(event(`issuer.key.${reason}`, key.issuerCode, actor, { kid: key.kid, at: at.toISOString() }))
        return updated
      })
      return toKey(row!)
    },
  }
}

export type IssuerRepository = ReturnType<typeof createIssuerRepository>
