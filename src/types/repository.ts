import { asc, eq, sql } from 'drizzle-orm'
import type { Db } from '../db/client.js'
import { auditEvents, certificateTypes, holderIdTypes } from '../db/schema.js'
import { maskIdNumbersIn } from '../ids/index.js'
import type { CertificateType, TypeDefinition } from './schemas.js'

/** Who did it, for the audit trail. */
export interface Actor {
  sub: string | null
  org: string | null
  requestId: string | null
}

type Row = typeof certificateTypes.$inferSelect

export function toType(row: Row): CertificateType {
  return {
    typeCode: row.typeCode,
    name: row.name,
    ...(row.description !== null ? { description: row.description } : {}),
    holderIdTypes: row.holderIdTypes,
    dataSchema: row.dataSchema as Record<string, unknown>,
    issuers: row.issuers,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  }
}

function sameDefinition(row: Row, def: TypeDefinition): boolean {
  return (
    row.name === def.name &&
    (row.description ?? undefined) === def.description &&
    JSON.stringify(row.holderIdTypes) === JSON.stringify(def.holderIdTypes) &&
    JSON.stringify(row.issuers) === JSON.stringify(def.issuers) &&
    JSON.stringify(row.dataSchema) === JSON.stringify(def.dataSchema)
  )
}

export function createTypeRepository(db: Db) {
  // Every push reads its type: the statement is built once (drizzle) and prepared on the server.
  const byCode = db.select().from(certificateTypes).where(eq(certificateTypes.typeCode, sql.placeholder('code'))).prepare('type_by_code')
  return {
    async list(): Promise<CertificateType[]> {
      return (await db.select().from(certificateTypes).orderBy(asc(certificateTypes.typeCode))).map(toType)
    },

    async get(typeCode: string): Promise<CertificateType | undefined> {
      const [row] = await byCode.execute({ code: typeCode })
      return row ? toType(row) : undefined
    },

    async knownHolderIdTypes(): Promise<Set<string>> {
      return new Set((await db.select({ code: holderIdTypes.code }).from(holderIdTypes)).map((r) => r.code))
    },

    /**
     * Creates or replaces a type; the change and its audit event commit together. Putting the same
     * definition again changes nothing and writes no event. The name and description are free
     * text: an ID number typed into them is stored masked.
     */
    async put(typeCode: string, given: TypeDefinition, actor: Actor & { clientRequestId?: string | null }): Promise<{ outcome: 'created' | 'updated' | 'unchanged'; type: CertificateType }> {
      const def: TypeDefinition = { ...given, name: maskIdNumbersIn(given.name), ...(given.description !== undefined ? { description: maskIdNumbersIn(given.description) } : {}) }
      return db.transaction(async (tx) => {
        const [existing] = await tx.select().from(certificateTypes).where(eq(certificateTypes.typeCode, typeCode)).for('update')
        if (existing && sameDefinition(existing, def)) return { outcome: 'unchanged' as const, type: toType(existing) }
        const values = {
          name: def.name,
          description: def.description ?? null,
          holderIdTypes: def.holderIdTypes,
          dataSchema: def.dataSchema,
          issuers: def.issuers,
        }
        const [row] = existing
          ? await tx.update(certificateTypes).set({ ...values, updatedAt: new Date() }).where(eq(certificateTypes.typeCode, typeCode)).returning()
          : await tx.insert(certificateTypes).values({ typeCode, ...values }).returning()
        const outcome = existing ? ('updated' as const) : ('created' as const)
        await tx.insert(auditEvents).values({
          kind: `type.${outcome}`,
          actorSub: actor.sub,
          actorOrg: actor.org,
          requestId: actor.requestId,
          clientRequestId: actor.clientRequestId ?? null,
          subject: typeCode,
          details: { name: def.name, holderIdTypes: def.holderIdTypes, issuers: def.issuers.length },
        })
        return { outcome, type: toType(row!) }
      })
    },
  }
}

export type TypeRepository = ReturnType<typeof createTypeRepository>
