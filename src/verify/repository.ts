import { and, desc, eq } from 'drizzle-orm'
import type { X509Certificate } from 'node:crypto'
import type { CertificateRow } from '../certificates/read.js'
import type { Db } from '../db/client.js'
import { certificates } from '../db/schema.js'
import { createIssuerRepository, type KeyRow } from '../issuers/repository.js'
import { createTypeRepository } from '../types/repository.js'
import type { TrustKey, TrustSource } from './trust.js'

/** Stored certificates of a type with this printed number (ZZBH), newest version first. */
export async function findByTypeAndNumber(db: Db, typeCode: string, number: string): Promise<CertificateRow[]> {
  return db
    .select()
    .from(certificates)
    .where(and(eq(certificates.typeCode, typeCode), eq(certificates.number, number)))
    .orderBy(desc(certificates.version), desc(certificates.receivedAt))
}

export function trustKeyOf(row: KeyRow): TrustKey {
  return {
    kid: row.kid,
    algorithms: row.algorithms,
    publicKeyPem: row.publicKeyPem,
    chainPem: row.chainPem,
    activeFrom: row.activeFrom,
    retiredAt: row.retiredAt ?? undefined,
    compromisedAt: row.compromisedAt ?? undefined,
    notBefore: row.notBefore,
    notAfter: row.notAfter,
  }
}

/** The registered issuers, their keys and the catalogue, as the verifier sees them. */
export function databaseTrust(db: Db, anchors: readonly X509Certificate[], creditCodeExceptions: ReadonlySet<string>, certIdCheckExceptions: ReadonlySet<string> = new Set()): TrustSource {
  const issuers = createIssuerRepository(db)
  const types = createTypeRepository(db)
  return {
    anchors,
    creditCodeExceptions,
    certIdCheckExceptions,
    async issuer(code) {
      const found = await issuers.get(code)
      return found && { code, typeCodes: found.issuer.typeCodes, keys: found.keys.map(trustKeyOf) }
    },
    async type(typeCode) {
      const found = await types.get(typeCode)
      return found && { typeCode, holderIdTypes: found.holderIdTypes, issuers: found.issuers }
    },
  }
}
