import { and, asc, desc, eq, sql } from 'drizzle-orm'
import type { X509Certificate } from 'node:crypto'
import type { CertificateRow } from '../certificates/read.js'
import type { Db } from '../db/client.js'
import { certificates, certificateTypes, issuerKeys, issuers } from '../db/schema.js'
import type { KeyRow } from '../issuers/repository.js'
import type { TrustIssuer, TrustKey, TrustSource, TrustType } from './trust.js'

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

const typeColumns = { typeCode: certificateTypes.typeCode, holderIdTypes: certificateTypes.holderIdTypes, issuers: certificateTypes.issuers }

/** One row per key of the issuer (or one with no key), in the order the keys became active. */
function issuerOf(code: string, rows: readonly { typeCodes: string[] | null; key: KeyRow | null }[]): TrustIssuer | undefined {
  const first = rows[0]
  if (!first || first.typeCodes === null) return undefined
  return { code, typeCodes: first.typeCodes, keys: rows.flatMap((r) => (r.key ? [trustKeyOf(r.key)] : [])) }
}

/**
 * The registered issuers, their keys and the catalogue, as the verifier sees them: read on every
 * verification (a key revoked a moment ago counts at once), each with one prepared statement, so
 * an issuer and its keys cost one round trip and no SQL is built per request.
 */
export function databaseTrust(db: Db, anchors: readonly X509Certificate[], creditCodeExceptions: ReadonlySet<string>, certIdCheckExceptions: ReadonlySet<string> = new Set()): TrustSource {
  const issuerQuery = db
    .select({ typeCodes: issuers.typeCodes, key: issuerKeys })
    .from(issuers)
    .leftJoin(issuerKeys, eq(issuerKeys.issuerCode, issuers.code))
    .where(eq(issuers.code, sql.placeholder('code')))
    .orderBy(asc(issuerKeys.activeFrom))
    .prepare('trust_issuer')
  const typeQuery = db.select(typeColumns).from(certificateTypes).where(eq(certificateTypes.typeCode, sql.placeholder('code'))).prepare('trust_type')
  return {
    anchors,
    creditCodeExceptions,
    certIdCheckExceptions,
    async issuer(code) {
      return issuerOf(code, await issuerQuery.execute({ code }))
    },
    async type(typeCode) {
      const [found] = await typeQuery.execute({ code: typeCode })
      return found
    },
  }
}

export interface CertificateWithTrust {
  row: CertificateRow
  issuer: TrustIssuer | undefined
  type: TrustType | undefined
}

/**
 * A stored certificate with its issuer, the issuer's keys and its type, in one round trip: what a
 * verification by identifier needs, read together instead of three reads one after another.
 */
export function certificateWithTrustReader(db: Db) {
  const query = db
    .select({ certificate: certificates, typeCodes: issuers.typeCodes, key: issuerKeys, type: typeColumns })
    .from(certificates)
    .leftJoin(issuers, eq(issuers.code, certificates.issuerCode))
    .leftJoin(issuerKeys, eq(issuerKeys.issuerCode, certificates.issuerCode))
    .leftJoin(certificateTypes, eq(certificateTypes.typeCode, certificates.typeCode))
    .where(eq(certificates.id, sql.placeholder('id')))
    .orderBy(asc(issuerKeys.activeFrom))
    .prepare('certificate_with_trust')
  return async (id: string): Promise<CertificateWithTrust | undefined> => {
    const rows = await query.execute({ id })
    const first = rows[0]
    if (!first) return undefined
    const row = first.certificate
    return { row, issuer: issuerOf(row.issuerCode, rows), type: first.type ?? undefined }
  }
}

/** `trust`, answering from what was already read for these codes (the database's answer of a moment ago). */
export function withPreloaded(trust: TrustSource, found: CertificateWithTrust): TrustSource {
  return {
    ...trust,
    issuer: (code) => (code === found.row.issuerCode ? Promise.resolve(found.issuer) : trust.issuer(code)),
    type: (typeCode) => (typeCode === found.row.typeCode ? Promise.resolve(found.type) : trust.type(typeCode)),
  }
}
