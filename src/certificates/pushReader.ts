import { asc, eq, sql } from 'drizzle-orm'
import type { Db } from '../db/client.js'
import { certificateTypes, issuerKeys, issuers } from '../db/schema.js'
import { toIssuer, type KeyRow } from '../issuers/repository.js'
import type { Issuer } from '../issuers/schemas.js'
import { toType } from '../types/repository.js'
import type { CertificateType } from '../types/schemas.js'

export interface TypeAndIssuer {
  type: CertificateType | undefined
  issuer: { issuer: Issuer; keys: KeyRow[] } | undefined
}

/**
 * What a push checks a certificate against, in one prepared statement: its type from the
 * catalogue, and its issuer with every key (oldest first). Either may be missing. Read apart,
 * they were two of a push's five round trips to the database.
 */
export function createTypeAndIssuerReader(db: Db): (typeCode: string, issuerCode: string) => Promise<TypeAndIssuer> {
  const query = db
    .select({ type: certificateTypes, issuer: issuers, key: issuerKeys })
    // One row even when neither exists: the type and the issuer are joined onto it independently.
    .from(sql`(select 1) as one`)
    .leftJoin(certificateTypes, eq(certificateTypes.typeCode, sql.placeholder('typeCode')))
    .leftJoin(issuers, eq(issuers.code, sql.placeholder('issuerCode')))
    .leftJoin(issuerKeys, eq(issuerKeys.issuerCode, issuers.code))
    .orderBy(asc(issuerKeys.activeFrom))
    .prepare('push_type_and_issuer')
  return async (typeCode, issuerCode) => {
    const rows = await query.execute({ typeCode, issuerCode })
    const first = rows[0]
    const keys = rows.flatMap((r) => (r.key ? [r.key] : []))
    return {
      type: first?.type ? toType(first.type) : undefined,
      issuer: first?.issuer ? { issuer: toIssuer(first.issuer, keys), keys } : undefined,
    }
  }
}
