import { asc, eq, ne } from 'drizzle-orm'
import type { Db } from '../db/client.js'
import { certificateDocuments, certificates, issuerKeys, issuers } from '../db/schema.js'
import { trustKeyOf } from '../verify/repository.js'
import type { BundleSources } from './bundle.js'
import type { ListedStatus, StatusRow } from './statusList.js'

/** Every registered issuer with all its keys (retired and compromised ones too), in code order. */
export async function listIssuersWithKeys(db: Db): Promise<BundleSources['issuers']> {
  const [issuerRows, keyRows] = await Promise.all([
    db.select().from(issuers).orderBy(asc(issuers.code)),
    db.select().from(issuerKeys).orderBy(asc(issuerKeys.issuerCode), asc(issuerKeys.activeFrom), asc(issuerKeys.kid)),
  ])
  const keysOf = new Map<string, BundleSources['issuers'][number]['keys']>()
  for (const k of keyRows) {
    const list = keysOf.get(k.issuerCode) ?? []
    list.push(trustKeyOf(k))
    keysOf.set(k.issuerCode, list)
  }
  return issuerRows.map((i) => ({ code: i.code, name: i.name, typeCodes: i.typeCodes, keys: keysOf.get(i.code) ?? [] }))
}

/**
 * Every certificate whose status is not valid: identifier, status, since when, and its OFD
 * file's SM3. Selected column by column so that no holder column, ciphertext or blind index is
 * ever read for the bundle. One statement: a consistent snapshot.
 */
export async function listNotValid(db: Db): Promise<StatusRow[]> {
  const rows = await db
    .select({ id: certificates.id, status: certificates.status, since: certificates.statusChangedAt, sm3: certificateDocuments.sm3 })
    .from(certificates)
    .leftJoin(certificateDocuments, eq(certificateDocuments.certificateId, certificates.id))
    .where(ne(certificates.status, 'valid'))
    .orderBy(asc(certificates.id))
  return rows.map((r) => ({ ...r, status: r.status as ListedStatus }))
}
