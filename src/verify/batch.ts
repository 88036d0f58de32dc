import pLimit, { type LimitFunction } from 'p-limit'
import { isWellFormedCertId } from '../ids/index.js'
import { listedStatusCheck, STATUS_REASONS, type ListedCertificate, type ListedStatus, type StatusIndex } from '../trust/statusList.js'
import type { DocumentItem, PushItem } from './items.js'
import type { CertificateVerifier, VerifyTimes } from './certificate.js'
import { failureReasons, warningsOf, type CheckResult, type VerifyWarning } from './checkList.js'
import type { LiveAnswer, LiveClient } from './live.js'
import { documentReasons, verifyDocumentFile, type DocumentCheck, type DocumentReport, type OfdTrust } from './ofdFile.js'

/** The verdict on one certificate of a file, or on one sealed OFD file: named by file and line, never by its content. */
export interface FileVerdict {
  file: string
  line: number
  verdict: 'VALID' | 'INVALID'
  /** The identifier, when the JWS could be read (it carries no personal data), or the service named the OFD file's certificate. */
  id?: string
  /** For an OFD file: the issuers whose registered keys made its seals (codes are not personal data). */
  issuers?: string[]
  /** Stable codes of every failing check; `live:` ones come from the service. */
  reasons: string[]
  /** Named warnings of checks that passed (e.g. CERT_ID_CHECK_CHAR_EXCEPTION): shown, never changing the verdict. */
  warnings?: VerifyWarning[]
  checks: CheckResult[] | DocumentCheck[]
  /** Whether anything said the status: false with an old bundle, --no-status, and no live answer. Never VALID and unchecked silently. */
  statusChecked: boolean
  /** When the status was known: the bundle's iat, or the time of the live answer. */
  statusAsOf?: string
  /** Who said it: the bundle's status list, or the service (--url), which wins. */
  statusSource?: 'bundle' | 'live'
  /** When the bundle lists it: since when it has had that status. */
  statusSince?: string
  /** For an OFD file: its SM3 and size, verifyFile's code, and each signature's checks. */
  document?: DocumentReport
  live?: LiveAnswer
}

export interface BatchOptions {
  verifier: CertificateVerifier
  times: VerifyTimes
  maxBytes: number
  /** Certificates in flight at once: their status queries, documents and SM2 checks overlap. */
  concurrency: number
  live?: LiveClient | undefined
  /** For .ofd files: what the bundle trusts, the largest file read (MAX_DOCUMENT_BYTES), and how many are held at once. */
  documents?: { trust: OfdTrust; maxBytes: number; slots: number }
  /** The bundle's status list; absent when it has none or --no-status: then status is not checked offline. */
  status?: StatusIndex | undefined
  onDone?: () => void
}

type StatusCheck = { check: string; outcome: 'pass' | 'fail' | 'skipped'; reason?: string; detail?: string }

/** The checks with the status check replaced (an OFD file's list and a JWS's share its shape). */
function withStatus(checks: FileVerdict['checks'], status: Omit<StatusCheck, 'check'>): FileVerdict['checks'] {
  return (checks as StatusCheck[]).map((c) => (c.check === 'status' ? { check: c.check, ...status } : c)) as FileVerdict['checks']
}

/** The service's status as the status check. */
function liveStatusCheck(status: string, asOf: string): Omit<StatusCheck, 'check'> {
  if (status === 'valid') return { outcome: 'pass', detail: `valid as of ${asOf} (live)` }
  return { outcome: 'fail', reason: STATUS_REASONS[status as ListedStatus] ?? status.toUpperCase(), detail: `${status} as of ${asOf} (live)` }
}

/**
 * Adds the service's answer: anything but 0, or other stored bytes, makes the certificate
 * invalid. Its status wins over the bundle's, which may be older: the bundle's status reason
 * goes, and the service's comes back as a live: reason.
 */
function withLive(v: FileVerdict, live: LiveAnswer, stored: { sha256: string } | { documentSm3: string }): FileVerdict {
  let reasons = [...v.reasons]
  let statusOf: Pick<FileVerdict, 'checks' | 'statusChecked' | 'statusAsOf' | 'statusSource' | 'statusSince'> = v
  if (live.status !== undefined) {
    const asOf = new Date().toISOString()
    const bundle = (v.checks as StatusCheck[]).find((c) => c.check === 'status')
    if (bundle?.outcome === 'fail') reasons = reasons.filter((r) => r !== bundle.reason)
    statusOf = { checks: withStatus(v.checks, liveStatusCheck(live.status, asOf)), statusChecked: true, statusAsOf: asOf, statusSource: 'live' }
  }
  const { statusSince: _since, ...rest } = v
  if (live.result !== 0) reasons.push(...(live.reasons.length > 0 ? live.reasons : [`RESULT_${live.result}`]).map((r) => `live:${r}`))
  const mismatch = 'sha256' in stored ? live.storedSha256 !== undefined && live.storedSha256 !== stored.sha256 : live.storedDocumentSm3 !== undefined && live.storedDocumentSm3 !== stored.documentSm3
  if (mismatch) reasons.push('live:RECORD_MISMATCH')
  // The service's warnings too (an OFD file's certificate is known only there), each once.
  const warnings = [...(v.warnings ?? [])]
  for (const w of live.warnings ?? []) if (!warnings.some((o) => o.code === w.code && o.check === w.check)) warnings.push(w)
  const valid = reasons.length === 0 && (v.document === undefined || v.document.code === 0)
  return { ...(statusOf === v ? v : rest), ...statusOf, live, reasons, ...(warnings.length > 0 ? { warnings } : {}), verdict: valid ? 'VALID' : 'INVALID' }
}

interface BundleStatus extends Pick<FileVerdict, 'statusChecked' | 'statusAsOf' | 'statusSource' | 'statusSince'> {
  listed?: ListedCertificate | undefined
  check?: Omit<StatusCheck, 'check'>
}

/** The bundle's word on a certificate's status, or that it has none. */
function bundleStatus(opts: BatchOptions, find: (index: StatusIndex) => ListedCertificate | undefined, what?: string): BundleStatus {
  if (!opts.status) return { statusChecked: false }
  const listed = find(opts.status)
  const since = listed ? { statusSince: listed.since.toISOString() } : {}
  return { listed, check: listedStatusCheck(listed, opts.status.asOf, what), statusChecked: true, statusAsOf: opts.status.asOf.toISOString(), statusSource: 'bundle', ...since }
}

async function verifyDocument(item: DocumentItem, opts: BatchOptions): Promise<FileVerdict> {
  if (!opts.documents) throw new Error('OFD files need the documents option')
  const outcome = await verifyDocumentFile(item.document, { trust: opts.documents.trust, at: opts.times.at, maxBytes: opts.documents.maxBytes })
  const { document, issuers, bytes } = outcome
  // Found by the exact file's SM3, as the service finds it: the list names the certificate that carries it.
  const sm3 = document.sm3
  const { check, listed, ...status } = sm3 !== undefined ? bundleStatus(opts, (index) => index.bySm3(sm3), 'its SM3 not listed') : { statusChecked: false }
  const checks = check ? (withStatus(outcome.checks, check) as DocumentCheck[]) : outcome.checks
  const reasons = documentReasons(checks)
  const verdict: FileVerdict = { file: item.file, line: item.line, verdict: reasons.length === 0 && document.code === 0 ? 'VALID' : 'INVALID', ...(listed ? { id: listed.id } : {}), ...(issuers.length > 0 ? { issuers } : {}), reasons, checks, ...status, document }
  // An unreadable file is not asked about, as a JWS that cannot be decoded is not.
  if (!opts.live || !bytes || document.code === undefined) return verdict
  const live = await opts.live.verifyDocument(bytes)
  return withLive({ ...verdict, ...(live.certificateId ? { id: live.certificateId } : {}) }, live, { documentSm3: document.sm3! })
}

async function verifyOne(item: PushItem | DocumentItem, opts: BatchOptions, documents: LimitFunction): Promise<FileVerdict> {
  // One OFD file's bytes per slot (up to MAX_DOCUMENT_BYTES, and its unzipped files), and
  // fewer slots than for JWS: the seal checks are CPU work, more at once only holds more memory.
  if ('document' in item) return documents(() => verifyDocument(item, opts))
  const verified = await opts.verifier.verify(item.jws, opts.times, opts.maxBytes)
  const { decoded } = verified
  // Only a well-formed identifier is shown or asked about: a forged file's "id" could be any text.
  // A wrong check character alone leaves it well formed (and it may be an excepted issuer's).
  const id = decoded && isWellFormedCertId(decoded.payload.id) ? decoded.payload.id : undefined
  // A certificate never stored is not listed either: the list speaks of revocations, not of records.
  const { check, listed: _listed, ...status } = id !== undefined ? bundleStatus(opts, (index) => index.byId(id)) : { statusChecked: false }
  const checks = check ? (withStatus(verified.checks, check) as CheckResult[]) : verified.checks
  const reasons = failureReasons(checks)
  const warnings = warningsOf(checks)
  const verdict: FileVerdict = { file: item.file, line: item.line, verdict: reasons.length === 0 ? 'VALID' : 'INVALID', ...(id !== undefined ? { id } : {}), reasons, ...(warnings.length > 0 ? { warnings } : {}), checks, ...status }
  if (!opts.live || !decoded || id === undefined) return verdict
  return withLive(verdict, await opts.live.verify(id), { sha256: decoded.sha256 })
}

/**
 * Verifies every item with at most `concurrency` in flight; verdicts come back in input order
 * whatever order they finish in. A failure that is not a verdict (the service refusing the
 * token, say) stops the other workers and is thrown.
 */
export async function verifyItems(items: AsyncGenerator<PushItem | DocumentItem>, opts: BatchOptions): Promise<FileVerdict[]> {
  const verdicts: { ordinal: number; verdict: FileVerdict }[] = []
  const documents = pLimit(Math.max(1, opts.documents?.slots ?? 1))
  let fatal: unknown
  // Workers share one stream: an async generator hands each item to exactly one caller.
  const worker = async () => {
    for (;;) {
      if (fatal !== undefined) return
      const next = await items.next()
      if (next.done) return
      verdicts.push({ ordinal: next.value.ordinal, verdict: await verifyOne(next.value, opts, documents) })
      opts.onDone?.()
    }
  }
  await Promise.all(Array.from({ length: opts.concurrency }, () => worker().catch((err: unknown) => void (fatal ??= err))))
  await items.return(undefined)
  if (fatal !== undefined) throw fatal
  return verdicts.sort((a, b) => a.ordinal - b.ordinal).map((v) => v.verdict)
}
