import { asc, eq, inArray, sql } from 'drizzle-orm'
import { decryptBytes, encrypt, encryptBytes, holderIndex, type DataProtectionKeys } from '../crypto/dataProtection.js'
import { rawStatement, type Db } from '../db/client.js'
import { isDataError, isUniqueViolation } from '../db/errors.js'
import { auditEvents, certificateDocuments, certificates, certificateStatusHistory } from '../db/schema.js'
import type { Actor as BaseActor } from '../types/repository.js'
import type { TransparencyLog } from '../log/integrator.js'
import type { FirstVersionRow } from './firstVersions.js'

/** Who pushed: the service's request id, and the client's own id kept apart (never an audit identifier alone). */
type Actor = BaseActor & { clientRequestId?: string | null }
import type { CheckedCertificate } from './checks.js'
import type { AttachedDocument } from './document.js'
import type { CertificateStatus, StoredCertificate } from './schemas.js'
import type { FieldProblem } from '../errors.js'
import { checkCharFaultOf } from '../ids/index.js'

/** An identifier taken in under CERT_ID_CHECK_EXCEPTIONS is recorded as such in its issuance event. */
const exceptionDetails = (id: string) => {
  const fault = checkCharFaultOf(id)
  return fault ? { certIdCheckCharException: fault } : {}
}

type Row = typeof certificates.$inferSelect
/** What the bulk insert returns, as the database names it. */
interface InsertedRow {
  id: string
  type_code: string
  issuer_code: string
  version: number
  status: string
  status_changed_at: Date | string
  received_at: Date | string
  jws_sha256: string
  holder_index: string
}
type Tx = Parameters<Parameters<Db['transaction']>[0]>[0]

export type StoreOutcome =
  /** inTree: the certificate's event is in the Merkle log already (stored by the log's own statement). */
  | { outcome: 'created' | 'unchanged'; record: StoredCertificate; inTree?: true }
  | { outcome: 'rejected'; code: 'CERTIFICATE_CONFLICT' | 'VERSION_NOT_NEWER'; id: string }
  | { outcome: 'rejected'; code: 'INVALID_CERTIFICATE'; id: string; problems: FieldProblem[] }

/** Binds a stored document's ciphertext to its certificate, apart from the JWS's binding. */
export const documentAad = (certificateId: string): string => `document:${certificateId}`

export function seriesOf(c: CheckedCertificate): string {
  return `${c.certId.typeCode}.${c.certId.issuerCode}.${c.certId.serial}`
}

export function toRecord(row: Pick<Row, 'id' | 'typeCode' | 'issuerCode' | 'version' | 'status' | 'statusChangedAt' | 'receivedAt' | 'jwsSha256'>): StoredCertificate {
  return {
    id: row.id,
    typeCode: row.typeCode,
    issuerCode: row.issuerCode,
    version: row.version,
    status: row.status as CertificateStatus,
    statusChangedAt: row.statusChangedAt.toISOString(),
    receivedAt: row.receivedAt.toISOString(),
    jwsSha256: row.jwsSha256,
  }
}

/** What a push answers with: never the stored ciphertext. */
const recordColumns = {
  id: certificates.id,
  typeCode: certificates.typeCode,
  issuerCode: certificates.issuerCode,
  version: certificates.version,
  status: certificates.status,
  statusChangedAt: certificates.statusChangedAt,
  receivedAt: certificates.receivedAt,
  jwsSha256: certificates.jwsSha256,
}

/**
 * `log`: where a push's first version goes, with its event, in one statement (storeOne). The
 * batches' bulk statement and the careful path write their events outside the tree, and the
 * answer waits for an append (src/app.ts).
 */
export function createCertificateRepository(db: Db, keys: DataProtectionKeys, log: Pick<TransparencyLog, 'append'>) {
  const rowFor = (c: CheckedCertificate) => {
    const { keyId, cipher } = encrypt(keys, c.jws, c.payload.id)
    return {
      id: c.payload.id,
      series: seriesOf(c),
      version: c.certId.version,
      typeCode: c.payload.typeCode,
      issuerCode: c.payload.issuer.code,
      number: c.payload.number,
      holderIdType: c.payload.holder.idType,
      holderIndex: holderIndex(keys, c.payload.holder.idType, c.holderId),
      issuedOn: c.payload.issuedOn,
      validFrom: c.payload.validFrom,
      validUntil: c.payload.validUntil ?? null,
      status: 'valid',
      signingKid: c.signingKid,
      jwsSha256: c.jwsSha256,
      keyId,
      jwsCipher: cipher,
      form: c.form ?? 'jws',
    }
  }
  const issuedEvent = (row: ReturnType<typeof rowFor>, actor: Actor) => ({
    kind: 'certificate.issued',
    certificateIds: null,
    subject: row.id,
    holderRef: row.holderIndex,
    actorSub: actor.sub,
    actorOrg: actor.org,
    requestId: actor.requestId,
    clientRequestId: actor.clientRequestId ?? null,
    details: { typeCode: row.typeCode, version: row.version, ...(row.form === 'ofd' ? { form: 'ofd' } : {}), ...exceptionDetails(row.id) },
  })

  // The bulk statement's text is built once (src/db/client.ts rawStatement): the rows travel as one array per column.
  const insertFirsts = rawStatement(
    db,
    ['id', 'series', 'version', 'typeCode', 'issuerCode', 'number', 'holderIdType', 'holderIndex', 'issuedOn', 'validFrom', 'validUntil', 'signingKid', 'jwsSha256', 'keyId', 'jwsCipher', 'actorSub', 'actorOrg', 'requestId', 'clientRequestId'],
    (v) =>
      sql`with input as (
          select * from unnest(
            ${v.id}::text[], ${v.series}::text[], ${v.version}::int[], ${v.typeCode}::text[],
            ${v.issuerCode}::text[], ${v.number}::text[], ${v.holderIdType}::text[], ${v.holderIndex}::text[],
            ${v.issuedOn}::text[], ${v.validFrom}::text[], ${v.validUntil}::text[], ${v.signingKid}::text[],
            ${v.jwsSha256}::text[], ${v.keyId}::text[], ${v.jwsCipher}::text[]
          ) as t(id, series, version, type_code, issuer_code, number, holder_id_type, holder_index, issued_on, valid_from, valid_until, signing_kid, jws_sha256, key_id, jws_cipher)
        ), stored as (
          insert into certificates (id, series, version, type_code, issuer_code, number, holder_id_type, holder_index, issued_on, valid_from, valid_until, status, signing_kid, jws_sha256, key_id, jws_cipher)
          select id, series, version, type_code, issuer_code, number, holder_id_type, holder_index, issued_on::date, valid_from::date, valid_until::date, 'valid', signing_kid, jws_sha256, key_id, decode(jws_cipher, 'base64')
          from input i where not exists (select 1 from certificates c where c.series = i.series)
          on conflict do nothing
          returning id, type_code, issuer_code, version, status, status_changed_at, received_at, jws_sha256, holder_index
        ), events as (
          insert into audit_events (kind, subject, holder_ref, actor_sub, actor_org, request_id, client_request_id, details)
          select 'certificate.issued', id, holder_index, ${v.actorSub}::text, ${v.actorOrg}::text, ${v.requestId}::text, ${v.clientRequestId}::text, jsonb_build_object('typeCode', type_code, 'version', version)
          from stored
        )
        select * from stored`,
  )

  /** A first version the bulk paths may store, its row made (encrypted) once for either. */
  type First = { c: CheckedCertificate; i: number; row: ReturnType<typeof rowFor> }

  /** What the bulk statement may insert: a signed JWS, first version, whose identifier needs no exception. */
  const bulkInsertable = (c: CheckedCertificate) => (c.form ?? 'jws') === 'jws' && c.certId.version === 1 && c.certId.checkCharException === undefined

  /** Same identifier: unchanged when the bytes match, a conflict otherwise. */
  async function existing(tx: Tx | Db, c: CheckedCertificate): Promise<StoreOutcome | undefined> {
    const [row] = await tx.select(recordColumns).from(certificates).where(eq(certificates.id, c.payload.id))
    if (!row) return undefined
    return row.jwsSha256 === c.jwsSha256 ? { outcome: 'unchanged', record: toRecord(row) } : { outcome: 'rejected', code: 'CERTIFICATE_CONFLICT', id: row.id }
  }

  /** One certificate, under its series' lock: new versions supersede the current one. */
  async function storeOneOnce(c: CheckedCertificate, actor: Actor, document: AttachedDocument | undefined): Promise<StoreOutcome> {
    return db.transaction(async (tx) => {
      const series = seriesOf(c)
      await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended(${series}, 0))`)
      // Every stored version of the series in one read, under its lock: the same identifier (an
      // identifier names its series), the highest version, and the versions still in force.
      const versions = await tx.select(recordColumns).from(certificates).where(eq(certificates.series, series))
      const same = versions.find((v) => v.id === c.payload.id)
      if (same) return same.jwsSha256 === c.jwsSha256 ? { outcome: 'unchanged', record: toRecord(same) } : { outcome: 'rejected', code: 'CERTIFICATE_CONFLICT', id: same.id }
      if (versions.some((v) => v.version >= c.certId.version)) return { outcome: 'rejected', code: 'VERSION_NOT_NEWER', id: c.payload.id }
      const previous = versions.filter((v) => v.status === 'valid' || v.status === 'suspended')
      if (previous.length > 0) {
        await tx.update(certificates).set({ status: 'superseded', statusChangedAt: new Date() }).where(inArray(certificates.id, previous.map((p) => p.id)))
        const reason = `superseded by version ${c.certId.version}`
        await tx.insert(certificateStatusHistory).values(previous.map((p) => ({ certificateId: p.id, actorSub: actor.sub, actorOrg: actor.org, requestId: actor.requestId, clientRequestId: actor.clientRequestId ?? null, fromStatus: p.status, toStatus: 'superseded', reason })))
      }
      const row = rowFor(c)
      const [inserted] = await tx.insert(certificates).values({ ...row, hasDocument: document !== undefined }).returning(recordColumns)
      if (document) {
        // The same transaction: a certificate that names a document is never stored without it.
        const { keyId, cipher } = encryptBytes(keys, document.bytes, documentAad(row.id))
        await tx.insert(certificateDocuments).values({ certificateId: row.id, mediaType: document.mediaType, sm3: document.sm3, size: document.size, keyId, cipher })
      }
      await tx.insert(auditEvents).values([
        issuedEvent(row, actor),
        ...previous.map((p) => ({ kind: 'certificate.superseded', subject: p.id, holderRef: row.holderIndex, actorSub: actor.sub, actorOrg: actor.org, requestId: actor.requestId, clientRequestId: actor.clientRequestId ?? null, details: { by: row.id } })),
      ])
      return { outcome: 'created', record: toRecord(inserted!) }
    })
  }

  /**
   * One push. The first version of a new series without a file (the usual push) is stored by the
   * Merkle log's own statement, with its event, its leaf and the signed checkpoint, grouped with
   * whatever else is being appended: one round trip and one commit, and the event is never
   * written outside the tree and then updated (which cost PostgreSQL a second copy of the row in
   * every index of `audit_events`). When that statement cannot store it (the series or the
   * identifier is there already, or a value is refused), nothing of it was written and the
   * careful path decides: unchanged, conflict, not newer, or unstorable.
   */
  async function storeOne(c: CheckedCertificate, actor: Actor, document?: AttachedDocument): Promise<StoreOutcome> {
    if (!document && bulkInsertable(c)) {
      const outcomes: (StoreOutcome | undefined)[] = [undefined]
      await storeFirstsInTree([{ c, i: 0, row: rowFor(c) }], outcomes, actor)
      if (outcomes[0]) return outcomes[0]
    }
    return storeCarefully(c, actor, document)
  }

  /**
   * First versions stored by the Merkle log's statement with their events (see storeOne); fills
   * `outcomes` and answers true, or answers false with nothing written when the statement could
   * not store every one of them.
   */
  async function storeFirstsInTree(firsts: First[], outcomes: (StoreOutcome | undefined)[], actor: Actor): Promise<boolean> {
    if (firsts.length === 0) return true
    try {
      const { leaves } = await log.append(
        firsts.map(({ row }) => issuedEvent(row, actor)),
        firsts.map(({ row }) => firstVersionOf(row)),
      )
      firsts.forEach(({ i, row }, k) => {
        const at = new Date(leaves[k]!.entry.at)
        outcomes[i] = { outcome: 'created', inTree: true, record: toRecord({ ...row, statusChangedAt: at, receivedAt: at }) }
      })
      return true
    } catch (err) {
      if ((err as { code?: unknown }).code !== 'ISSUANCE_NOT_STORED') throw err
      return false
    }
  }

  /** Under the series' lock; a concurrent push of the same series can win the race: then look again (once more at most). */
  async function storeCarefully(c: CheckedCertificate, actor: Actor, document?: AttachedDocument): Promise<StoreOutcome> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await storeOneOnce(c, actor, document)
      } catch (err) {
        // The checks should have caught it; if one slips through, it sinks only its own
        // certificate, never its batch, and is a 422 rather than a 500.
        if (isDataError(err)) return { outcome: 'rejected', code: 'INVALID_CERTIFICATE', id: c.payload.id, problems: [{ pointer: '/payload', code: 'UNSTORABLE', message: 'the database refused one of its values' }] }
        if (!isUniqueViolation(err) || attempt >= 2) throw err
      }
    }
  }

  /**
   * Many certificates. First versions of series not yet stored go in with the log's statement,
   * their events with them (storeFirstsInTree); if it cannot store them all (a series already
   * there, a repeat, a refused value), with the bulk statement, which stores those it can: the
   * rows travel as one array per column (unnest), so the SQL text is the same whatever the batch
   * size, and the same statement writes their `certificate.issued` events. Each statement is
   * atomic: a certificate and its event are stored together or not at all. Anything neither
   * stored, and every later version, takes the one-by-one path.
   */
  async function storeMany(items: CheckedCertificate[], actor: Actor): Promise<StoreOutcome[]> {
    const outcomes = new Array<StoreOutcome | undefined>(items.length)
    // An excepted identifier takes the one-by-one path, whose event records the exception.
    const firsts = items.flatMap((c, i) => (bulkInsertable(c) ? [{ c, i, row: rowFor(c) }] : []))
    if (!(await storeFirstsInTree(firsts, outcomes, actor))) await tryStoreFirsts(firsts, outcomes, actor)
    for (const [i, c] of items.entries()) {
      if (!outcomes[i]) outcomes[i] = await storeCarefully(c, actor)
    }
    return outcomes as StoreOutcome[]
  }

  /**
   * The bulk statement, where one refused value fails the whole statement: then every item takes
   * the one-by-one path, where it sinks alone.
   */
  async function tryStoreFirsts(firsts: First[], outcomes: (StoreOutcome | undefined)[], actor: Actor): Promise<void> {
    await storeFirsts(firsts, outcomes, actor).catch((err: unknown) => {
      if (!isDataError(err)) throw err
    })
  }

  /** A row as the log's statement stores it (src/certificates/firstVersions.ts). */
  const firstVersionOf = (row: ReturnType<typeof rowFor>): FirstVersionRow => ({
    id: row.id,
    series: row.series,
    version: row.version,
    type_code: row.typeCode,
    issuer_code: row.issuerCode,
    number: row.number,
    holder_id_type: row.holderIdType,
    holder_index: row.holderIndex,
    issued_on: row.issuedOn,
    valid_from: row.validFrom,
    valid_until: row.validUntil,
    signing_kid: row.signingKid,
    jws_sha256: row.jwsSha256,
    key_id: row.keyId,
    jws_cipher: row.jwsCipher.toString('base64'),
  })

  /** The bulk statement for first versions; fills `outcomes` for what it inserted. */
  async function storeFirsts(firsts: First[], outcomes: (StoreOutcome | undefined)[], actor: Actor): Promise<void> {
    if (firsts.length > 0) {
      const rows = firsts.map(({ row }) => row)
      const col = <K extends keyof (typeof rows)[number]>(k: K) => rows.map((r) => r[k])
      // Dates travel as text and are cast in SQL: drizzle's postgres.js setup passes date values
      // through unserialised, which breaks date[] parameters.
      const inserted = await insertFirsts<InsertedRow>({
        id: col('id'), series: col('series'), version: col('version'), typeCode: col('typeCode'), issuerCode: col('issuerCode'), number: col('number'),
        holderIdType: col('holderIdType'), holderIndex: col('holderIndex'), issuedOn: col('issuedOn'), validFrom: col('validFrom'), validUntil: col('validUntil'),
        signingKid: col('signingKid'), jwsSha256: col('jwsSha256'), keyId: col('keyId'), jwsCipher: rows.map((r) => r.jwsCipher.toString('base64')),
        actorSub: actor.sub, actorOrg: actor.org, requestId: actor.requestId, clientRequestId: actor.clientRequestId ?? null,
      })
      const byId = new Map(inserted.map((r) => [r.id, r]))
      for (const { c, i } of firsts) {
        const row = byId.get(c.payload.id)
        // The same identifier twice in one batch: only the first is inserted here.
        if (row && row.jws_sha256 === c.jwsSha256) {
          byId.delete(c.payload.id)
          outcomes[i] = {
            outcome: 'created',
            record: toRecord({
              id: row.id,
              typeCode: row.type_code,
              issuerCode: row.issuer_code,
              version: Number(row.version),
              status: row.status,
              statusChangedAt: new Date(row.status_changed_at),
              receivedAt: new Date(row.received_at),
              jwsSha256: row.jws_sha256,
            }),
          }
        }
      }
    }
  }

  return { storeOne, storeMany, existing: (c: CheckedCertificate) => existing(db, c) }
}

export type CertificateRepository = ReturnType<typeof createCertificateRepository>

export async function statusHistory(db: Db, id: string) {
  // In sequence order: each change takes its id under the certificate's row lock (see status.ts).
  return db.select().from(certificateStatusHistory).where(eq(certificateStatusHistory.certificateId, id)).orderBy(asc(certificateStatusHistory.id))
}

/** The sealed OFD file a certificate carries, decrypted, or undefined when it carries none. */
export async function readDocument(db: Db, keys: DataProtectionKeys, certificateId: string): Promise<{ mediaType: string; sm3: string; size: number; bytes: Buffer } | undefined> {
  const [row] = await db.select().from(certificateDocuments).where(eq(certificateDocuments.certificateId, certificateId))
  if (!row) return undefined
  return { mediaType: row.mediaType, sm3: row.sm3, size: row.size, bytes: decryptBytes(keys, row.keyId, row.cipher, documentAad(certificateId)) }
}

/** Which of these certificates carry a document (one query for a whole lookup). */
export async function withDocuments(db: Db, ids: string[]): Promise<Set<string>> {
  if (ids.length === 0) return new Set()
  const rows = await db.select({ id: certificateDocuments.certificateId }).from(certificateDocuments).where(inArray(certificateDocuments.certificateId, ids))
  return new Set(rows.map((r) => r.id))
}
