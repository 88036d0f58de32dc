import { asc, eq, sql } from 'drizzle-orm'
import type { Db } from '../db/client.js'
import { auditEvents, grants, readerOrgs } from '../db/schema.js'
import { maskIdNumbersIn } from '../ids/index.js'
import type { Actor } from '../types/repository.js'
import type { GrantsBody, OrgGrants } from './schemas.js'

export function createGrantRepository(db: Db) {
  // On every lookup: prepared once.
  const grantsOf = db.select({ typeCode: grants.typeCode, matterCodes: grants.matterCodes }).from(grants).where(eq(grants.org, sql.placeholder('org'))).prepare('grants_of_org')
  return {
    async get(org: string): Promise<OrgGrants | undefined> {
      const [named] = await db.select().from(readerOrgs).where(eq(readerOrgs.org, org))
      if (!named) return undefined
      const rows = await db.select().from(grants).where(eq(grants.org, org)).orderBy(asc(grants.typeCode))
      return {
        org,
        name: named.name,
        grants: rows.map((r) => ({ typeCode: r.typeCode, ...(r.matterCodes ? { matterCodes: r.matterCodes } : {}) })),
        updatedAt: named.updatedAt.toISOString(),
      }
    },

    /** The types `org` may look up for `matterCode`. */
    async grantedTypes(org: string, matterCode: string): Promise<Set<string>> {
      const rows = await grantsOf.execute({ org })
      return new Set(rows.filter((r) => r.matterCodes === null || r.matterCodes.includes(matterCode)).map((r) => r.typeCode))
    },

    /**
     * Replaces every grant of `org`, with its audit event, in one transaction. The organisation's
     * name is free text shown to holders: an ID number typed into it is stored masked.
     */
    async put(org: string, body: GrantsBody, actor: Actor & { clientRequestId?: string | null }): Promise<{ created: boolean }> {
      const name = maskIdNumbersIn(body.name)
      return db.transaction(async (tx) => {
        const [existing] = await tx.select().from(readerOrgs).where(eq(readerOrgs.org, org)).for('update')
        if (existing) await tx.update(readerOrgs).set({ name, updatedAt: new Date() }).where(eq(readerOrgs.org, org))
        else await tx.insert(readerOrgs).values({ org, name })
        await tx.delete(grants).where(eq(grants.org, org))
        if (body.grants.length > 0) await tx.insert(grants).values(body.grants.map((g) => ({ org, typeCode: g.typeCode, matterCodes: g.matterCodes ?? null })))
        await tx.insert(auditEvents).values({
          kind: 'grant.updated',
          subject: org,
          actorSub: actor.sub,
          actorOrg: actor.org,
          requestId: actor.requestId,
          clientRequestId: actor.clientRequestId ?? null,
          details: { grants: body.grants },
        })
        return { created: !existing }
      })
    },
  }
}
