import type { X509Certificate } from 'node:crypto'
import { OfdError } from './errors.js'
import { verifyOfd, type OfdVerification, type OfdVerifyOptions } from './verify.js'
import type { OfdTask, OfdTaskResult } from './worker.js'
import { createWorkerPool, workerModule, type WorkerPoolStats } from '../workers/pool.js'

/**
 * Sealed OFD verification on worker threads (workers/pool.ts, as SM2's). A file is an unzip,
 * SM3 over every part and three SM2 verifications in JavaScript: 15 ms or more of one core, which
 * on the main thread would hold every other request. The pool spreads files over the cores.
 * Answers are the same as verifyOfd's: its result, or its OfdError with the same code. A worker
 * that crashes, runs out of its memory or takes too long is OfdError VERIFIER_FAILED (a 4xx for
 * the callers, never a 500 and never a hang).
 */

/** Files sent to the workers, how many ended without an answer (VERIFIER_FAILED), threads running. */
export type OfdPoolStats = WorkerPoolStats

export interface OfdFileOptions extends OfdVerifyOptions {
  /** Bring the package's files back too (they are copied across the thread boundary). */
  withFiles?: boolean
}

/** verifyOfd's answer; `files` only when asked for. */
export type OfdFileVerification = Omit<OfdVerification, 'files'> & { files?: OfdVerification['files'] }

export interface OfdPool {
  readonly maxThreads: number
  verify(bytes: Uint8Array, opts: OfdFileOptions & { withFiles: true }): Promise<OfdVerification>
  verify(bytes: Uint8Array, opts: OfdFileOptions): Promise<OfdFileVerification>
  stats(): OfdPoolStats
  /** Stops the workers; a later verify starts them again. */
  close(): Promise<void>
}

const WORKER = workerModule('worker', import.meta.url)

// Only OFD.xml, Signatures.xml and each Signature.xml are parsed into objects; the package's
// bytes (64 MB at most, zip.ts) live outside the V8 heap. A file that still fills the heap ends
// its worker, not the process.
const WORKER_LIMITS = { maxYoungGenerationSizeMb: 8, maxOldGenerationSizeMb: 96 }

// From submission, queue included: a file takes tens of milliseconds, a 10 MB one well under a
// second, so a minute means a worker that is stuck; its task fails and piscina ends the thread.
const TASK_TIMEOUT_MS = 60_000

// PEM text of parsed certificates, made once per certificate object: anchors are the same
// objects for every file, so sending trust costs a string, and the worker parses it once.
const pemOf = new WeakMap<X509Certificate, string>()
const pem = (certs: readonly X509Certificate[] | undefined): string =>
  (certs ?? []).map((c) => pemOf.get(c) ?? (pemOf.set(c, c.toString()), pemOf.get(c)!)).join('')

const asBuffer = (u: Uint8Array): Buffer => Buffer.from(u.buffer, u.byteOffset, u.byteLength)

/** Buffers come back as Uint8Array: made Buffers again, so results equal verifyOfd's. */
function normalised(v: Extract<OfdTaskResult, { ok: true }>['verification']): OfdFileVerification {
  return {
    ...v,
    signatures: v.signatures.map((s) => (s.signerCertificate ? { ...s, signerCertificate: asBuffer(s.signerCertificate) } : s)),
    ...(v.files ? { files: new Map([...v.files].map(([path, bytes]) => [path, asBuffer(bytes)])) } : {}),
  }
}

/**
 * A pool of at most `threads` workers, started on the first file. `onError` hears of a worker
 * that failed (outside a task, or a task that ended without an answer); `worker` and
 * `timeoutMs` are for tests.
 */
export function createOfdPool(threads: number, onError?: (err: unknown) => void, worker: string = WORKER, timeoutMs = TASK_TIMEOUT_MS): OfdPool {
  if (!Number.isInteger(threads) || threads < 1) throw new RangeError('an OFD pool has at least one thread')
  const pool = createWorkerPool<OfdTask, OfdTaskResult>({ filename: worker, threads, resourceLimits: WORKER_LIMITS, onError })
  return {
    maxThreads: threads,
    async verify(bytes: Uint8Array, opts: OfdFileOptions): Promise<OfdVerification & OfdFileVerification> {
      // One copy, into an ArrayBuffer of its own that is then moved, not cloned: the caller keeps
      // its Buffer (it stores it), and a Buffer may be a slice of Node's shared pool.
      const own = new Uint8Array(bytes)
      const task: OfdTask = { bytes: own, anchors: pem(opts.anchors), intermediates: pem(opts.intermediates), ...(opts.limits ? { limits: opts.limits } : {}), ...(opts.withFiles ? { withFiles: true } : {}) }
      let answer: OfdTaskResult
      try {
        answer = await pool.run(task, { transferList: [own.buffer], signal: AbortSignal.timeout(timeoutMs) })
      } catch (err) {
        onError?.(err)
        throw new OfdError('VERIFIER_FAILED', 'the file could not be verified: its worker thread ended without an answer')
      }
      if (!answer.ok) throw new OfdError(answer.code, answer.message)
      return normalised(answer.verification) as OfdVerification
    },
    stats: () => pool.stats(),
    close: () => pool.close(),
  }
}

// The pool OFD files in this process go to: one per process, its threads sized to the cores.
let installed: OfdPool | undefined

/**
 * Sends this process's OFD verifications to a pool of `threads` workers (0: the calling thread),
 * replacing any pool installed earlier. The returned `close` stops the pool and, if it is still
 * the installed one, brings verification back to the calling thread.
 */
export function installOfdPool(threads: number, onError?: (err: unknown) => void): { pool: OfdPool | undefined; close(): Promise<void> } {
  const pool = threads > 0 ? createOfdPool(threads, onError) : undefined
  installed = pool
  return {
    pool,
    async close() {
      if (installed === pool) installed = undefined
      await pool?.close()
    },
  }
}

/**
 * verifyOfd on the installed pool, or on the calling thread when none is installed (the CLI,
 * OFD_THREADS=0). The same answer either way.
 * @throws OfdError as verifyOfd does, or VERIFIER_FAILED when a worker ended without an answer.
 */
export async function verifyOfdFile(bytes: Buffer, opts: OfdFileOptions & { withFiles: true }): Promise<OfdVerification>
export async function verifyOfdFile(bytes: Buffer, opts: OfdFileOptions): Promise<OfdFileVerification>
export async function verifyOfdFile(bytes: Buffer, opts: OfdFileOptions): Promise<OfdFileVerification> {
  if (installed) return installed.verify(bytes, opts)
  const { withFiles, ...verifyOpts } = opts
  const { files, ...verification } = await verifyOfd(bytes, verifyOpts)
  return withFiles ? { ...verification, files } : verification
}

/** The installed pool's counters (zeros when files are verified on the calling thread). */
export function installedOfdPoolStats(): OfdPoolStats {
  return installed?.stats() ?? { tasks: 0, failures: 0, threads: 0 }
}
