import { createCertificateReader, type CertificateRow } from '../certificates/read.js'
import type { CertificateStatus } from '../certificates/schemas.js'
import type { Config } from '../config.js'
import { holderIndex } from '../crypto/dataProtection.js'
import type { Db } from '../db/client.js'
import { parseCertId } from '../ids/index.js'
import { createCertificateVerifier, type CertificateVerifier } from './certificate.js'
import { checkList, fail, pass, skipped, type CheckResult } from './checkList.js'
import { holderIdProblem } from './content.js'
import { decodeCertificate, type DecodedCertificate } from './decode.js'
import { databaseTrust, findByTypeAndNumber } from './repository.js'
import { insufficient, resultOf, type VerifyResult } from './result.js'

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
  by: 'jws' | 'id' | 'fields'
  checks: CheckResult[]
  /** The stored certificate the answer speaks for (its status is shown), if any. */
  record?: CertificateRow
  certificate?: CertificateSummary
  /** The holder concerned, for the access log (blind index). */
  holderRef?: string
  certificateIds: string[]
  /** What the receipt states: the holder only when the caller presented it. */
  receipt: { holderRef?: string; certificates: { id: string; sha256: string }[] }
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

function presentedSummary(d: DecodedCertificate): CertificateSummary | undefined {
  const parsed = parseCertId(d.payload.id)
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
  const trust = databaseTrust(db, config.trustAnchors, config.creditCodeExceptions)
  const exceptions = config.creditCodeExceptions
  const refOf = (idType: string, id: string, now: Date) => {
    const valid = holderIdProblem(idType, id, exceptions, now)
    return 'value' in valid ? holderIndex(config.dataProtection, idType, valid.value) : undefined
  }

  /** The stored JWS, checked as of its receipt, with its status and how it matched. */
  async function stored(verifier: CertificateVerifier, row: CertificateRow, matches: CheckResult, now: Date): Promise<Pick<VerifyOutcome, 'result' | 'resultText' | 'checks'>> {
    const { checks } = await verifier.verify(reader.view(row).jws, { at: row.receivedAt, now }, STORED_MAX_BYTES)
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
    const summary = same ? summaryOf(row) : presentedSummary(d)
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
    const parsed = parseCertId(id)
    if (!parsed.ok) {
      const checks = checkList([fail('identifier', 'CERT_ID_INVALID', `not a valid GB/T 36904 identifier (${parsed.problem})`)])
      return { by: 'id', ...insufficient('not a valid GB/T 36904 identifier'), checks, certificateIds: [], receipt: { certificates: [] } }
    }
    const row = await reader.byId(id)
    if (!row) {
      const checks = checkList([fail('matchesRecord', 'NO_RECORD', 'no certificate is stored under this identifier')])
      return { by: 'id', ...resultOf(checks), checks, certificateIds: [id], receipt: { certificates: [] } }
    }
    const outcome = await stored(createCertificateVerifier(trust), row, skipped('matchesRecord', 'nothing presented to compare'), now)
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

  return { byJws, byId, byFields }
}

export type VerifyService = ReturnType<typeof createVerifyService>
