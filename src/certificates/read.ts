import { and, asc, eq, sql } from 'drizzle-orm'
import { Type, type Static } from '@sinclair/typebox'
import { chinaToday } from '../chinaDate.js'
import { decrypt, type DataProtectionKeys } from '../crypto/dataProtection.js'
import type { Db } from '../db/client.js'
import { certificates, grants } from '../db/schema.js'
import { CertificatePayload, STATUSES } from './schemas.js'

export type CertificateRow = typeof certificates.$inferSelect

const payloadShape = withoutStorableText(CertificatePayload)

/** A stored certificate as readers, holders and auditors see it: the original JWS and its state. */
export const CertificateView = Type.Object(
  {
    id: Type.String(),
    typeCode: Type.String(),
    issuerCode: Type.String(),
    number: Type.String(),
    version: Type.Integer(),
    status: Type.Union(STATUSES.map((s) => Type.Literal(s))),
    statusChangedAt: Type.String({ format: 'date-time' }),
    issuedOn: Type.String({ format: 'date' }),
    validFrom: Type.String({ format: 'date' }),
    validUntil: Type.Optional(Type.String({ format: 'date', description: 'absent: long-term (长期)' })),
    inForce: Type.Boolean({ description: 'status valid and today inside the validity period' }),
    form: Type.Optional(
      Type.Literal('ofd', {
        description: 'present ("ofd") when the certificate\'s only signed form is its sealed OFD file (GET /v1/certificates/{id}/document): then `payload` holds what its GB/T 36903 metadata states, there is no `jws`, and `jwsSha256` is the SHA-256 of the file. Absent: a JWS.',
      }),
    ),
    jws: Type.Optional(Type.String({ description: 'the certificate exactly as the issuer signed it (absent for form ofd)' })),
    payload: Type.Optional(Type.Unsafe<CertificatePayload>({ ...payloadShape, description: 'form ofd only: the payload read from the sealed file\'s metadata, in the shape of a JWS certificate\'s payload' })),
    jwsSha256: Type.String({ description: 'hex SHA-256 of the JWS as stored (form ofd: of the sealed OFD file)' }),
    document: Type.Optional(
      Type.Object(
        { mediaType: Type.String(), sm3: Type.String(), size: Type.Integer() },
        { description: 'present when the certificate carries a sealed OFD file (as its signed payload names it): GET /v1/certificates/{id}/document' },
      ),
    ),
  },
  { $id: 'CertificateView' },
)
export type CertificateView = Static<typeof CertificateView>

/** The view's payload: the push's schema without its input-only keyword. */
function withoutStorableText(schema: typeof CertificatePayload): Record<string, unknown> {
  const { storableText: _, ...rest } = schema as typeof CertificatePayload & { storableText?: boolean }
  return rest
}

// Pages and presentations take today's date from here as well (src/chinaDate.ts).
export { chinaToday }

/** In force: valid status, and today inside [validFrom, validUntil]. */
export function isInForce(row: Pick<CertificateRow, 'status' | 'validFrom' | 'validUntil'>, today = chinaToday()): boolean {
  return row.status === 'valid' && row.validFrom <= today && (row.validUntil === null || today <= row.validUntil)
}

/** The document a stored JWS names: the signed payload is the record of its digest and size. */
function documentOf(jws: string): CertificateView['document'] {
  const payload = jws.split('.')[1]
  if (!payload) return undefined
  const d = (JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { document?: { mediaType: string; sm3: string; size: number } }).document
  return d ? { mediaType: d.mediaType, sm3: d.sm3, size: d.size } : undefined
}

export function createCertificateReader(db: Db, keys: DataProtectionKeys) {
  // The hot queries are prepared once: drizzle builds their SQL a single time, and the driver
  // keeps them as server-side prepared statements.
  const byIdQuery = db.select().from(certificates).where(eq(certificates.id, sql.placeholder('id'))).prepare('certificate_by_id')
  const byHolderAllQuery = db
    .select()
    .from(certificates)
    .where(eq(certificates.holderIndex, sql.placeholder('holder')))
    .orderBy(asc(certificates.typeCode), asc(certificates.issuedOn), asc(certificates.id))
    .prepare('certificates_by_holder')
  // A lookup's grants and the holder's certificates of every granted type, in one round trip:
  // one row per certificate, or one row with no certificate for a granted type the holder lacks.
  const grantedByHolderQuery = db
    .select({ typeCode: grants.typeCode, matterCodes: grants.matterCodes, certificate: certificates })
    .from(grants)
    .leftJoin(certificates, and(eq(certificates.holderIndex, sql.placeholder('holder')), eq(certificates.typeCode, grants.typeCode)))
    .where(eq(grants.org, sql.placeholder('org')))
    .orderBy(asc(grants.typeCode), asc(certificates.issuedOn), asc(certificates.id))
    .prepare('granted_certificates_by_holder')
  return {
    /**
     * What `org` may look up for `matterCode` (a grant with no matter codes covers every matter),
     * and the holder's certificates of those types. Certificates of types granted only for other
     * matters are dropped here, before anything is decrypted.
     */
    async grantedForHolder(org: string, matterCode: string, holderIndex: string): Promise<{ granted: Set<string>; rows: CertificateRow[] }> {
      const granted = new Set<string>()
      const rows: CertificateRow[] = []
      for (const r of await grantedByHolderQuery.execute({ org, holder: holderIndex })) {
        if (r.matterCodes !== null && !r.matterCodes.includes(matterCode)) continue
        granted.add(r.typeCode)
        if (r.certificate) rows.push(r.certificate)
      }
      return { granted, rows }
    },

    async byId(id: string): Promise<CertificateRow | undefined> {
      const [row] = await byIdQuery.execute({ id })
      return row
    },

    /** A holder's certificates (by blind index), every type. */
    async byHolder(holderIndex: string): Promise<CertificateRow[]> {
      return byHolderAllQuery.execute({ holder: holderIndex })
    },

    /** Decrypts the stored JWS: the exact bytes the issuer signed. */
    view(row: CertificateRow, today = chinaToday()): CertificateView {
      const jws = decrypt(keys, row.keyId, row.jwsCipher, row.id)
      if (row.form === 'ofd') return ofdView(row, JSON.parse(jws) as CertificatePayload, today)
      // Only a certificate stored with its file has its payload read again, off the lookups' common path.
      const document = row.hasDocument ? documentOf(jws) : undefined
      return {
        ...stateOf(row, today),
        jws,
        jwsSha256: row.jwsSha256,
        ...(document ? { document } : {}),
      }
    },
  }
}

/** What every view says of a stored certificate, whichever its signed form. */
function stateOf(row: CertificateRow, today: string) {
  return {
    id: row.id,
    typeCode: row.typeCode,
    issuerCode: row.issuerCode,
    number: row.number,
    version: row.version,
    status: row.status as CertificateView['status'],
    statusChangedAt: row.statusChangedAt.toISOString(),
    issuedOn: row.issuedOn,
    validFrom: row.validFrom,
    ...(row.validUntil !== null ? { validUntil: row.validUntil } : {}),
    inForce: isInForce(row, today),
  }
}

/** A certificate whose only signed form is its sealed OFD file: the payload its metadata gave, no JWS. */
function ofdView(row: CertificateRow, payload: CertificatePayload, today: string): CertificateView {
  return {
    ...stateOf(row, today),
    form: 'ofd',
    payload,
    jwsSha256: row.jwsSha256,
    ...(payload.document ? { document: payload.document } : {}),
  }
}

export type CertificateReader = ReturnType<typeof createCertificateReader>
