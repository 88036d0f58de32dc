import { parseCertId } from '../ids/index.js'
import type { PushItem } from '../cli/pushInputs.js'
import type { CertificateVerifier, VerifyTimes } from './certificate.js'
import { failureReasons, type CheckResult } from './checkList.js'
import type { LiveAnswer, LiveClient } from './live.js'

/** The verdict on one certificate of a file: named by file and line, never by its content. */
export interface FileVerdict {
  file: string
  line: number
  verdict: 'VALID' | 'INVALID'
  /** The identifier, when the JWS could be read (it carries no personal data). */
  id?: string
  /** Stable codes of every failing check; `live:` ones come from the service. */
  reasons: string[]
  checks: CheckResult[]
  live?: LiveAnswer
}

export interface BatchOptions {
  verifier: CertificateVerifier
  times: VerifyTimes
  maxBytes: number
  /** Certificates in flight at once: jose verifies asynchronously on libuv's thread pool. */
  concurrency: number
  live?: LiveClient | undefined
  onDone?: () => void
}

/** Adds the service's answer: anything but 0, or other stored bytes, makes the certificate invalid. */
function withLive(v: FileVerdict, live: LiveAnswer, sha256: string): FileVerdict {
  const reasons = [...v.reasons]
  if (live.result !== 0) reasons.push(...(live.reasons.length > 0 ? live.reasons : [`RESULT_${live.result}`]).map((r) => `live:${r}`))
  if (live.storedSha256 !== undefined && live.storedSha256 !== sha256) reasons.push('live:RECORD_MISMATCH')
  return { ...v, live, reasons, verdict: reasons.length === 0 ? 'VALID' : 'INVALID' }
}

async function verifyOne(item: PushItem, opts: BatchOptions): Promise<FileVerdict> {
  const { decoded, checks } = await opts.verifier.verify(item.jws, opts.times, opts.maxBytes)
  const reasons = failureReasons(checks)
  // Only a well-formed identifier is shown or asked about: a forged file's "id" could be any text.
  const id = decoded && parseCertId(decoded.payload.id).ok ? decoded.payload.id : undefined
  const verdict: FileVerdict = { file: item.file, line: item.line, verdict: reasons.length === 0 ? 'VALID' : 'INVALID', ...(id !== undefined ? { id } : {}), reasons, checks }
  if (!opts.live || !decoded || id === undefined) return verdict
  return withLive(verdict, await opts.live.verify(id), decoded.sha256)
}

/**
 * Verifies every item with at most `concurrency` in flight; verdicts come back in input order
 * whatever order they finish in. A failure that is not a verdict (the service refusing the
 * token, say) stops the other workers and is thrown.
 */
export async function verifyItems(items: AsyncGenerator<PushItem>, opts: BatchOptions): Promise<FileVerdict[]> {
  const verdicts: { ordinal: number; verdict: FileVerdict }[] = []
  let fatal: unknown
  // Workers share one stream: an async generator hands each item to exactly one caller.
  const worker = async () => {
    for (;;) {
      if (fatal !== undefined) return
      const next = await items.next()
      if (next.done) return
      verdicts.push({ ordinal: next.value.ordinal, verdict: await verifyOne(next.value, opts) })
      opts.onDone?.()
    }
  }
  await Promise.all(Array.from({ length: opts.concurrency }, () => worker().catch((err: unknown) => void (fatal ??= err))))
  await items.return(undefined)
  if (fatal !== undefined) throw fatal
  return verdicts.sort((a, b) => a.ordinal - b.ordinal).map((v) => v.verdict)
}
