import type { AccessLog } from '../audit/accessLog.js'
import { createCertificateReader } from '../certificates/read.js'
import type { CertificatePayload, CertificateStatus } from '../certificates/schemas.js'
import type { Config } from '../config.js'
import type { Db } from '../db/client.js'
import { maskIdNumbersIn } from '../ids/index.js'
import type { CheckResult } from '../verify/checkList.js'
import type { ResultCode } from '../verify/result.js'
import type { VerifyService } from '../verify/service.js'
import { maskName, normaliseCode } from './codes.js'
import type { VerificationCodeRepository } from './repository.js'

/** Why a certificate is not in force, in words a page can pick from. */
export type ScanReason = 'revoked' | 'superseded' | 'expired' | 'suspended' | 'notYetInForce' | 'key' | 'inconsistent'

/**
 * What a scanned code shows, and nothing else: the result, what the certificate is and who
 * issued it, its validity and status, the holder's name masked. No ID number, no identifier, no
 * data fields: a code on a paper copy can be read by anyone who holds the paper.
 */
export interface ScanView {
  result: ResultCode
  resultText: string
  reason?: ScanReason
  checks: { check: string; outcome: string; reason?: string }[]
  status: CertificateStatus
  statusChangedAt: string
  typeName: string
  issuerName: string
  number: string
  validFrom: string
  validUntil: string | null
  holderName: string
  checkedAt: string
}

/** Who scanned: anonymous, but the request is named so the event can be found. */
export interface ScanRequest {
  requestId: string
  clientRequestId: string | null
  via: 'page' | 'json'
}

/**
 * What a scanned code or a shown presentation answers about the verification: the result, why in
 * one word, the checks, and the status with since when. Nothing about the holder.
 */
export function verdictOf(outcome: { result: ResultCode; resultText: string; checks: CheckResult[] }, row: { status: string; statusChangedAt: Date }) {
  const reason = reasonOf(outcome.result, outcome.checks)
  return {
    result: outcome.result,
    resultText: outcome.resultText,
    ...(reason ? { reason } : {}),
    checks: outcome.checks.map(({ check, outcome: o, reason: r }) => ({ check, outcome: o, ...(r ? { reason: r } : {}) })),
    status: row.status as CertificateStatus,
    statusChangedAt: row.statusChangedAt.toISOString(),
  }
}

export function reasonOf(result: ResultCode, checks: CheckResult[]): ScanReason | undefined {
  const failing = (name: string) => checks.find((c) => c.check === name && c.outcome === 'fail')
  if (result === 3) {
    const status = failing('status')?.reason
    if (status === 'REVOKED') return 'revoked'
    if (status === 'SUPERSEDED') return 'superseded'
    if (failing('validityPeriod')?.reason === 'EXPIRED') return 'expired'
    return 'key'
  }
  if (result === 2) return 'suspended'
  if (result === 1) return 'notYetInForce'
  if (result === 6) return 'inconsistent'
  return undefined
}

function payloadOf(view: { jws?: string; payload?: CertificatePayload }): CertificatePayload {
  if (view.payload) return view.payload
  return JSON.parse(Buffer.from(view.jws!.split('.')[1]!, 'base64url').toString('utf8')) as CertificatePayload
}

/** Scan-to-verify: a code, verified as the stored certificate it stands for, and logged for its holder. */
export function createScanService(db: Db, config: Config, deps: { verify: VerifyService; codes: VerificationCodeRepository; accessLog: AccessLog }) {
  const reader = createCertificateReader(db, config.dataProtection)

  /** The view for a code, or undefined when no certificate has it now (malformed, unknown or rotated away). */
  async function scan(text: string, request: ScanRequest, now = new Date()): Promise<ScanView | undefined> {
    const code = normaliseCode(text)
    const certificateId = code ? await deps.codes.certificateOf(code) : undefined
    if (!certificateId) return undefined
    const outcome = await deps.verify.byId(certificateId, now)
    const row = outcome.record
    if (!row) return undefined
    // Durable before the answer leaves: the holder sees every scan in their access log.
    await deps.accessLog.record({
      kind: 'access.verify',
      actorSub: 'anonymous',
      actorOrg: null,
      requestId: request.requestId,
      clientRequestId: request.clientRequestId,
      holderRef: row.holderIndex,
      certificateIds: [row.id],
      details: { purpose: 'scan', via: 'code', form: request.via, result: outcome.result },
    })
    const payload = payloadOf(reader.view(row))
    const names = await deps.codes.names(row.typeCode, row.issuerCode)
    return {
      ...verdictOf(outcome, row),
      typeName: names.typeName ?? payload.name,
      issuerName: names.issuerName ?? payload.issuer.name,
      number: maskIdNumbersIn(row.number),
      validFrom: row.validFrom,
      validUntil: row.validUntil,
      holderName: maskName(payload.holder.name),
      checkedAt: now.toISOString(),
    }
  }

  return { scan }
}

export type ScanService = ReturnType<typeof createScanService>
