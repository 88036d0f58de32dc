import type { AccessLog } from '../audit/accessLog.js'
import { maskedText } from '../audit/accessLog.js'
import { createCertificateReader } from '../certificates/read.js'
import type { CertificatePayload, CertificateStatus } from '../certificates/schemas.js'
import type { Config } from '../config.js'
import type { Db } from '../db/client.js'
import { maskIdNumbersIn } from '../ids/index.js'
import { createVerificationCodeRepository } from '../public/repository.js'
import { verdictOf, type ScanReason } from '../public/scan.js'
import type { ResultCode } from '../verify/result.js'
import type { VerifyService } from '../verify/service.js'
import { createPresentationRepository, type Refusal } from './repository.js'
import { isTokenShaped, tokenSha256 } from './tokens.js'

/**
 * What a scanned presentation shows: the whole certificate, because its holder chose to show it,
 * verified now. One thing stays hidden: a citizen's ID number keeps its last four characters
 * only. The clerk matches the person in front of them by name, photo ID and those four; the
 * full number on a screen a bystander can photograph (or in a page a proxy may keep) would be a
 * lasting key to that person everywhere, and issue 11 keeps ID numbers out of every page.
 * An organisation's credit code is public (printed on its licence) and is shown whole.
 */
export interface PresentationView {
  result: ResultCode
  resultText: string
  reason?: ScanReason
  checks: { check: string; outcome: string; reason?: string }[]
  status: CertificateStatus
  statusChangedAt: string
  checkedAt: string
  certificate: {
    id: string
    typeCode: string
    typeName: string
    name: string
    number: string
    issuer: { code: string; name: string }
    holder: { idType: string; id: string; name: string }
    issuedOn: string
    validFrom: string
    validUntil: string | null
    data: Record<string, unknown>
  }
  presentation: { createdAt: string; expiresAt: string; usedAt: string; seenBy: string | null }
}

/** Who scanned: anonymous (the page), or a reader organisation whose token came with the JSON form. */
export interface UseRequest {
  requestId: string
  clientRequestId: string | null
  form: 'page' | 'json'
  reader?: { sub: string; org: string }
}

/** A citizen's ID number with all but its last four characters hidden; a credit code (001) whole. */
export function maskHolderId(idType: string, id: string): string {
  if (idType === '001') return id
  const chars = Array.from(id)
  return '*'.repeat(Math.max(0, chars.length - 4)) + chars.slice(-4).join('')
}

function payloadOf(view: { jws?: string; payload?: CertificatePayload }): CertificatePayload {
  if (view.payload) return view.payload
  return JSON.parse(Buffer.from(view.jws!.split('.')[1]!, 'base64url').toString('utf8')) as CertificatePayload
}

/** A clerk scans a presentation: it is used (once), verified, and logged for its holder. */
export function createPresentationUse(db: Db, config: Pick<Config, 'dataProtection'>, deps: { verify: VerifyService; accessLog: AccessLog }) {
  const repository = createPresentationRepository(db)
  const reader = createCertificateReader(db, config.dataProtection)
  const names = createVerificationCodeRepository(db, config.dataProtection).names

  /**
   * The certificate a token presents, or why not. The token is consumed before anything is read,
   * so a second scan (even one racing this one) is refused; the access is in the holder's log
   * before the answer leaves (if that fails, the answer is 503 and the presentation stays used:
   * the holder makes another, rather than a clerk seeing it unlogged).
   */
  async function use(token: string, request: UseRequest, now = new Date()): Promise<PresentationView | Refusal> {
    if (!isTokenShaped(token)) return 'unknown'
    const used = await repository.use(tokenSha256(token), request.reader?.org ?? null)
    if (typeof used === 'string') return used
    const outcome = await deps.verify.byId(used.certificateId, now)
    const row = outcome.record
    if (!row) return 'unknown'
    await deps.accessLog.record({
      kind: 'access.read',
      actorSub: request.reader?.sub ?? 'anonymous',
      actorOrg: request.reader?.org ?? null,
      requestId: request.requestId,
      clientRequestId: request.clientRequestId,
      holderRef: used.holderRef,
      certificateIds: [row.id],
      details: { purpose: 'presentation', presentation: true, form: request.form, result: outcome.result },
    })
    const payload = payloadOf(reader.view(row))
    const named = await names(row.typeCode, row.issuerCode)
    return {
      ...verdictOf(outcome, row),
      checkedAt: now.toISOString(),
      certificate: {
        id: row.id,
        typeCode: row.typeCode,
        typeName: named.typeName ?? payload.name,
        name: payload.name,
        number: maskIdNumbersIn(payload.number),
        issuer: { code: payload.issuer.code, name: named.issuerName ?? payload.issuer.name },
        holder: { idType: payload.holder.idType, id: maskHolderId(payload.holder.idType, payload.holder.id), name: payload.holder.name },
        issuedOn: payload.issuedOn,
        validFrom: payload.validFrom,
        validUntil: payload.validUntil ?? null,
        // Type-specific fields are the issuer's, typed by people: an ID number among them is masked too.
        data: maskedText(payload.data),
      },
      presentation: { createdAt: used.createdAt.toISOString(), expiresAt: used.expiresAt.toISOString(), usedAt: used.usedAt!.toISOString(), seenBy: used.usedBy },
    }
  }

  /** Whether a token could be used now, without using it (a HEAD request, a link preview). */
  async function peek(token: string): Promise<'usable' | Refusal> {
    if (!isTokenShaped(token)) return 'unknown'
    const got = await repository.peek(tokenSha256(token))
    return typeof got === 'string' ? got : 'usable'
  }

  return { use, peek }
}

export type PresentationUse = ReturnType<typeof createPresentationUse>
