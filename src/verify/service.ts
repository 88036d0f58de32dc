import { createCertificateReader, type CertificateRow } from '../certificates/read.js'
import type { CertificateStatus } from '../certificates/schemas.js'
import type { Config } from '../config.js'
import { holderIndex } from '../crypto/dataProtection.js'
import type { Db } from '../db/client.js'
import { certIdProblemText, parseCertId } from '../ids/index.js'
import { createCertificateVerifier, type CertificateVerifier } from './certificate.js'
import { checkList, fail, pass, skipped, type CheckResult } from './checkList.js'
import { holderIdProblem } from './content.js'
import { decodeCertificate, type DecodedCertificate } from './decode.js'
import { certificateWithTrustReader, databaseTrust, findByTypeAndNumber, withPreloaded } from './repository.js'
import { storedOfdChecks, type StoredOfdDeps } from './storedOfd.js'
import { readDocument } from '../certificates/repository.js'
import { insufficient, resultFor, resultOf, type VerifyResult } from './result.js'
import { createHash, X509Certificate } from 'node:crypto'
import { eq } from 'drizzle-orm'
import { certificateDocuments } from '../db/schema.js'
import { chainIntermediates } from '../crypto/x509.js'
import { OfdError } from '../ofd/errors.js'
import type { OfdCheck, OfdVerification } from '../ofd/verify.js'
import { verifyOfdFile, type OfdFileVerification } from '../ofd/pool.js'
import { maskIdNumbersIn } from '../ids/idNumber.js'

export interface CertificateSummary {
  id: string
  typeCode: string
  issuerCode: string
  version: number
  validFrom: string
  validUntil?: string
}

/** A verification, before it is logged and answered. */
export interface VerifyOutcome extends VerifyResult {
  by: 'jws' | 'id' | 'fields' | 'document'
  /** For a presented OFD file: what its seals gave (verifyFile's 0/1/2 and every check). */
  document?: Pick<OfdVerification, 'code' | 'resultText' | 'checks' | 'signatures'> & { sm3: string }
  checks: CheckResult[]
  /** The stored certificate the answer speaks for (its status is shown), if any. */
  record?: CertificateRow
  certificate?: CertificateSummary
  /** The holder concerned, for the access log (blind index). */
  holderRef?: string
  certificateIds: string[]
  /** What the receipt states: the holder only when the caller presented it. */
  receipt: { holderRef?: string; certificates: { id: string; sha256: string; documentSm3?: string }[] }
}

export interface PrintedFields {
  typeCode: string
  number: string
  holder: { idType: string; id: string }
}

// Stored certificates were size-checked when pushed; a later, smaller limit must not make them unreadable.
const STORED_MAX_BYTES = Number.MAX_SAFE_INTEGER

function statusCheck(status: CertificateStatus): CheckResult {
  if (status === 'valid') return pass('status')
  if (status === 'suspended') return fail('status', 'SUSPENDED', 'suspended')
  if (status === 'revoked') return fail('status', 'REVOKED', 'revoked')
  return fail('status', 'SUPERSEDED', 'superseded by a newer version')
}

function summaryOf(row: CertificateRow): CertificateSummary {
  const { id, typeCode, issuerCode, version, validFrom, validUntil } = row
  return { id, typeCode, issuerCode, version, validFrom, ...(validUntil !== null ? { validUntil } : {}) }
}

function presentedSummary(d: DecodedCertificate, certIdExceptions: ReadonlySet<string>): CertificateSummary | undefined {
  const parsed = parseCertId(d.payload.id, { checkCharExceptionFor: certIdExceptions, issuerCode: d.payload.issuer.code })
  if (!parsed.ok) return undefined
  const { id, typeCode, issuer, validFrom, validUntil } = d.payload
  return { id, typeCode, issuerCode: issuer.code, version: parsed.value.version, validFrom, ...(validUntil !== undefined ? { validUntil } : {}) }
}

/**
 * The three ways to verify (a JWS, an identifier, the printed fields of a paper copy). Nothing
 * here depends on who asks: verification never requires the caller to be the issuer.
 */
export function createVerifyService(db: Db, config: Config) {
  const reader = createCertificateReader(db, config.dataProtection)
  const trust = databaseTrust(db, config.trustAnchors, config.creditCodeExceptions, config.certIdCheckExceptions)
  const withTrust = certificateWithTrustReader(db)
  const exceptions = config.creditCodeExceptions
  const refOf = (idType: string, id: string, now: Date) => {
    const valid = holderIdProblem(idType, id, exceptions, now)
    return 'value' in valid ? holderIndex(config.dataProtection, idType, valid.value) : undefined
  }

  const ofdDeps: StoredOfdDeps = { trust, document: async (id) => (await readDocument(db, config.dataProtection, id))?.bytes }

  /**
   * The stored JWS, checked as of its receipt, with its status and how it matched. A certificate
   * whose only signed form is its sealed OFD file has that file's seals checked instead
   * (`presented`: the same file, already verified by the caller).
   */
  async function stored(verifier: CertificateVerifier, row: CertificateRow, matches: CheckResult, now: Date, presented?: OfdFileVerification): Promise<Pick<VerifyOutcome, 'result' | 'resultText' | 'checks'>> {
    const view = reader.view(row)
    const { checks } = view.form === 'ofd' ? { checks: await storedOfdChecks(row, view.payload!, ofdDeps, now, presented) } : await verifier.verify(view.jws!, { at: row.receivedAt, now }, STORED_MAX_BYTES)
    const all = checkList([...checks, statusCheck(row.status as CertificateStatus), matches])
    return { ...resultOf(all), checks: all }
  }

  async function byJws(jws: string, now: Date): Promise<VerifyOutcome> {
    const decoded = decodeCertificate(jws, config.maxCertificateBytes)
    if (!decoded.ok) {
      const checks = checkList([decoded.check])
      return { by: 'jws', ...resultOf(checks), checks, certificateIds: [], receipt: { certificates: [] } }
    }
    const d = decoded.value
    const row = await reader.byId(d.payload.id)
    const same = row !== undefined && row.jwsSha256 === d.sha256
    const matches = !row
      ? fail('matchesRecord', 'NO_RECORD', 'no certificate is stored under this identifier')
      : same
        ? pass('matchesRecord', "the SHA-256 of the JWS equals the stored certificate's")
        : fail('matchesRecord', 'RECORD_MISMATCH', 'a different certificate is stored under this identifier')
    // A stored certificate is judged as of its receipt; anything else as of now.
    const verifier = createCertificateVerifier(trust)
    const checked = await verifier.check(d, { at: same ? row.receivedAt : now, now })
    const checks = checkList([...checked, same ? statusCheck(row.status as CertificateStatus) : skipped('status'), matches])
    const summary = same ? summaryOf(row) : presentedSummary(d, config.certIdCheckExceptions)
    const presentedRef = refOf(d.payload.holder.idType, d.payload.holder.id, now)
    const holderRef = row?.holderIndex ?? presentedRef
    return {
      by: 'jws',
      ...resultOf(checks),
      checks,
      ...(same ? { record: row } : {}),
      ...(summary ? { certificate: summary } : {}),
      ...(holderRef ? { holderRef } : {}),
      certificateIds: summary ? [summary.id] : [],
      receipt: { ...(presentedRef ? { holderRef: presentedRef } : {}), certificates: summary ? [{ id: summary.id, sha256: d.sha256 }] : [] },
    }
  }

  async function byId(id: string, now: Date): Promise<VerifyOutcome> {
    // An identifier taken in under CERT_ID_CHECK_EXCEPTIONS is looked up; the stored JWS's checks then warn.
    const parsed = parseCertId(id, { checkCharExceptionFor: config.certIdCheckExceptions })
    if (!parsed.ok) {
      const checks = checkList([fail('identifier', 'CERT_ID_INVALID', certIdProblemText(parsed))])
      return { by: 'id', ...insufficient('not a valid GB/T 36904 identifier'), checks, certificateIds: [], receipt: { certificates: [] } }
    }
    // The row, its issuer with keys, and its type in one round trip.
    const found = await withTrust(id)
    if (!found) {
      const checks = checkList([fail('matchesRecord', 'NO_RECORD', 'no certificate is stored under this identifier')])
      return { by: 'id', ...resultOf(checks), checks, certificateIds: [id], receipt: { certificates: [] } }
    }
    const { row } = found
    const outcome = await stored(createCertificateVerifier(withPreloaded(trust, found)), row, skipped('matchesRecord', 'nothing presented to compare'), now)
    // The receipt names no holder: the caller presented none.
    return { by: 'id', ...outcome, record: row, certificate: summaryOf(row), holderRef: row.holderIndex, certificateIds: [row.id], receipt: { certificates: [{ id: row.id, sha256: row.jwsSha256 }] } }
  }

  async function byFields(fields: PrintedFields, now: Date): Promise<VerifyOutcome> {
    const { idType, id } = fields.holder
    const valid = holderIdProblem(idType, id, exceptions, now)
    if ('reason' in valid) {
      const checks = checkList([fail('holderId', valid.reason, valid.detail)])
      return { by: 'fields', ...insufficient(`the printed holder ID: ${valid.detail}`), checks, certificateIds: [], receipt: { certificates: [] } }
    }
    const holderRef = holderIndex(config.dataProtection, idType, valid.value)
    const rows = await findByTypeAndNumber(db, fields.typeCode, fields.number)
    // Newest version first, so a paper copy of an older version is answered for the one in force.
    const mine = rows.find((r) => r.holderIndex === holderRef)
    if (!mine) return printedMismatch(rows, holderRef)
    const outcome = await stored(createCertificateVerifier(trust), mine, pass('matchesRecord', 'the printed fields match the stored certificate'), now)
    return { by: 'fields', ...outcome, record: mine, certificate: summaryOf(mine), holderRef, certificateIds: [mine.id], receipt: { holderRef, certificates: [{ id: mine.id, sha256: mine.jwsSha256 }] } }
  }

  /**
   * No stored certificate of these printed fields belongs to the printed holder. The answer shows
   * nothing of the records found; the log files the attempt under their holder (when there is
   * one), never under the ID presented, so that person's log does not list others' certificates.
   */
  function printedMismatch(rows: CertificateRow[], presentedRef: string): VerifyOutcome {
    if (rows.length === 0) {
      const checks = checkList([fail('matchesRecord', 'NO_RECORD', 'no stored certificate of this type has this number')])
      return { by: 'fields', ...resultOf(checks), checks, holderRef: presentedRef, certificateIds: [], receipt: { holderRef: presentedRef, certificates: [] } }
    }
    const checks = checkList([fail('matchesRecord', 'HOLDER_MISMATCH', 'the stored certificate with this number belongs to another holder')])
    const holders = [...new Set(rows.map((r) => r.holderIndex))]
    return { by: 'fields', ...resultOf(checks), checks, ...(holders.length === 1 ? { holderRef: holders[0]! } : {}), certificateIds: rows.map((r) => r.id), receipt: { holderRef: presentedRef, certificates: [] } }
  }

  /**
   * A presented sealed OFD file: its seals, checked in full to the trust anchors (with the
   * registered issuers' intermediates), and whether it is the stored document of a certificate,
   * whose own checks and status then give the result. A file that cannot be read is 4; seals that
   * fail are 6 (altered or forged, stored or not); sound seals on a file never stored are 5.
   */
  async function byDocument(bytes: Buffer, now: Date): Promise<VerifyOutcome> {
    const sm3 = createHash('sm3').update(bytes).digest('hex')
    const [storedDoc] = await db.select({ id: certificateDocuments.certificateId }).from(certificateDocuments).where(eq(certificateDocuments.sm3, sm3)).limit(1)
    const row = storedDoc ? await reader.byId(storedDoc.id) : undefined
    let ofd: OfdFileVerification
    try {
      ofd = await verifyOfdFile(bytes, { anchors: config.trustAnchors, intermediates: row ? await intermediatesOf(row.issuerCode) : [] })
    } catch (err) {
      if (!(err instanceof OfdError)) throw err
      const checks = checkList([fail('format', err.code, err.message)])
      return { by: 'document', ...resultOf(checks), checks, certificateIds: [], receipt: { certificates: [] } }
    }
    // Details quote the file's own text (package paths, locations): an ID number there is masked.
    const masked = (checks: OfdCheck[]) => checks.map((c) => (c.detail ? { ...c, detail: maskIdNumbersIn(c.detail) } : c))
    const document = {
      code: ofd.code,
      resultText: ofd.resultText,
      checks: masked(ofd.checks),
      signatures: ofd.signatures.map(({ signerCertificate: _, checks, ...s }) => ({ ...s, checks: masked(checks) })),
      sm3,
    }
    const sealFailed = ofd.checks.find((c) => c.outcome === 'fail')
    if (!row) {
      const checks = checkList([pass('format'), fail('matchesRecord', 'NO_RECORD', 'no stored certificate carries this file')])
      const result = sealFailed ? resultFor(6, `the file's seals: ${sealFailed.check} ${sealFailed.reason}`) : resultOf(checks)
      return { by: 'document', ...result, checks, document, certificateIds: [], receipt: { certificates: [] } }
    }
    const outcome = await stored(createCertificateVerifier(trust), row, pass('matchesRecord', "the SM3 of the file equals the stored document's"), now, ofd)
    // The stored certificate decides, unless the file's seals no longer verify (e.g. an anchor withdrawn).
    const result = sealFailed && outcome.result === 0 ? resultFor(3, `the file's seals: ${sealFailed.check} ${sealFailed.reason}`) : outcome
    return {
      by: 'document',
      ...outcome,
      ...result,
      document,
      record: row,
      certificate: summaryOf(row),
      holderRef: row.holderIndex,
      certificateIds: [row.id],
      receipt: { certificates: [{ id: row.id, sha256: row.jwsSha256, documentSm3: sm3 }] },
    }
  }

  /** The CA certificates of an issuer's registered chains: a seal usually carries its leaf alone. */
  async function intermediatesOf(issuerCode: string): Promise<X509Certificate[]> {
    const issuer = await trust.issuer(issuerCode)
    return (issuer?.keys ?? []).flatMap((k) => chainIntermediates(k.chainPem))
  }

  return { byJws, byId, byFields, byDocument }
}

export type VerifyService = ReturnType<typeof createVerifyService>
