import { X509Certificate } from 'node:crypto'
import { splitPem } from '../crypto/x509.js'
import { OfdError, type OfdErrorCode } from './errors.js'
import { verifyOfd, type OfdVerification } from './verify.js'
import type { ZipLimits } from './zip.js'

/**
 * The worker side of ofd/pool.ts: one sealed OFD file per task. The file's bytes arrive in an
 * ArrayBuffer the pool transferred (no copy on the way in). Trust arrives as PEM text, parsed
 * once per thread and kept by its text: anchors are the same few certificates for every file and
 * an issuer's intermediates the same for all its files, so a task costs a map lookup, not a parse.
 */

export interface OfdTask {
  bytes: Uint8Array
  /** The trust anchors, PEM blocks concatenated. */
  anchors: string
  /** CA certificates that may complete a seal's path, PEM blocks concatenated. */
  intermediates: string
  limits?: ZipLimits
  /** Send the package's files back too (callers that read its metadata). */
  withFiles?: boolean
}

/** What crosses back: plain data; Buffers arrive on the main thread as Uint8Array. */
export type OfdTaskResult =
  | { ok: true; verification: Omit<OfdVerification, 'files'> & { files?: OfdVerification['files'] } }
  | { ok: false; code: OfdErrorCode; message: string }

// Bounded like x509.ts's chain cache: issuers are few, a flood of distinct chains must not grow it.
const MAX_BUNDLES = 1000
const bundles = new Map<string, X509Certificate[]>()

function certificatesOf(pem: string): X509Certificate[] {
  const known = bundles.get(pem)
  if (known) return known
  // The main thread parsed these before sending them: a block that no longer parses is dropped,
  // which can only make a chain fail, never pass.
  const certs = splitPem(pem).flatMap((block) => {
    try {
      return [new X509Certificate(block)]
    } catch {
      return []
    }
  })
  if (bundles.size >= MAX_BUNDLES) bundles.clear()
  bundles.set(pem, certs)
  return certs
}

/**
 * Verifies the task's file. An OfdError is answered as data (its code survives the thread
 * boundary, which a thrown class would not); anything else is thrown and fails the task.
 */
export default async function verifyOfdTask(task: OfdTask): Promise<OfdTaskResult> {
  const bytes = Buffer.from(task.bytes.buffer, task.bytes.byteOffset, task.bytes.byteLength)
  try {
    const { files, ...verification } = await verifyOfd(bytes, {
      anchors: certificatesOf(task.anchors),
      intermediates: certificatesOf(task.intermediates),
      ...(task.limits ? { limits: task.limits } : {}),
    })
    return { ok: true, verification: task.withFiles ? { ...verification, files } : verification }
  } catch (err) {
    if (err instanceof OfdError) return { ok: false, code: err.code, message: err.message }
    throw err
  }
}
