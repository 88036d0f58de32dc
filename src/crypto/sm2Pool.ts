import { offloadSm2Verification } from './jwsVerify.js'
import type { Sm2PublicKey } from './sm2.js'
import type { Sm2Task } from './sm2Worker.js'
import { createWorkerPool, workerModule, type WorkerPoolStats } from '../workers/pool.js'

/**
 * SM2 verification on worker threads. SM2 is JavaScript arithmetic (crypto/sm2.ts), about 1 ms of
 * one core per check, against 40-160 us for the other algorithms checked with node:crypto on the
 * main thread (crypto/jwsVerify.ts): it would hold the main thread, and a batch of 1,000 SM2
 * certificates is more than a second of one core. The pool spreads those checks over
 * the cores. Each thread parses a key once and keeps its own precomputed tables, so there are no
 * more threads than cores. Any failure in a worker (it could not start, it crashed) is "does not
 * verify", never an error: a signature is valid only when a verification said so.
 */

/** Verifications sent to the workers, how many failed there (answered "does not verify"), threads running. */
export type Sm2PoolStats = WorkerPoolStats

export interface Sm2Pool {
  readonly maxThreads: number
  verify(jws: string, key: Sm2PublicKey): Promise<boolean>
  stats(): Sm2PoolStats
  /** Stops the workers; a later verify starts them again. */
  close(): Promise<void>
}

const WORKER = workerModule('sm2Worker', import.meta.url)

// A worker's young generation defaults to the size of a whole process's: two workers measured
// 62 MB more RSS, against 38 MB with these limits, with no measurable loss of speed (the service
// has a 200 MB target). Its old generation holds at most 1,000 parsed keys and 16 tables.
const WORKER_LIMITS = { maxYoungGenerationSizeMb: 4, maxOldGenerationSizeMb: 64 }

/**
 * A pool of at most `threads` workers (workers/pool.ts), started on the first verification.
 * `onError` hears of a worker that failed outside a task; `worker` is for tests.
 */
export function createSm2Pool(threads: number, onError?: (err: unknown) => void, worker: string = WORKER): Sm2Pool {
  if (!Number.isInteger(threads) || threads < 1) throw new RangeError('an SM2 pool has at least one thread')
  const pool = createWorkerPool<Sm2Task, boolean>({ filename: worker, threads, resourceLimits: WORKER_LIMITS, onError })
  return {
    maxThreads: threads,
    async verify(jws, key) {
      try {
        return (await pool.run({ jws, key: key.x.toString('hex') + key.y.toString('hex') })) === true
      } catch {
        return false
      }
    },
    stats: () => pool.stats(),
    close: () => pool.close(),
  }
}

// The pool SM2 verification in this process goes to: one per process, its threads sized to the cores.
let installed: Sm2Pool | undefined

/**
 * Sends this process's SM2 verifications to a pool of `threads` workers (0: the calling thread,
 * as before), replacing any pool installed earlier. The returned `close` stops the pool and, if
 * it is still the installed one, brings SM2 verification back to the calling thread.
 */
export function installSm2Pool(threads: number, onError?: (err: unknown) => void): { pool: Sm2Pool | undefined; close(): Promise<void> } {
  const pool = threads > 0 ? createSm2Pool(threads, onError) : undefined
  installed = pool
  offloadSm2Verification(pool?.verify)
  return {
    pool,
    async close() {
      if (installed === pool) {
        installed = undefined
        offloadSm2Verification(undefined)
      }
      await pool?.close()
    },
  }
}

/** The installed pool's counters (zeros when SM2 is verified on the calling thread). */
export function installedSm2PoolStats(): Sm2PoolStats {
  return installed?.stats() ?? { tasks: 0, failures: 0, threads: 0 }
}
