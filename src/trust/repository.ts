import { asc } from 'drizzle-orm'
import type { Db } from '../db/client.js'
import { issuerKeys, issuers } from '../db/schema.js'
import { trustKeyOf } from '../verify/repository.js'
import type { BundleSources } from './bundle.js'

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
