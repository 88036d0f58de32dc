import { Piscina } from 'piscina'

/**
 * The one way this service runs JavaScript on worker threads (piscina): SM2 verification
 * (crypto/sm2Pool.ts) and sealed OFD files (ofd/pool.ts) are CPU work that would hold the main
 * thread. What both need beyond piscina is here once: threads started on the first task, never
 * kept alive when idle, bounded heaps, and a worker that fails outside a task dropping the pool
 * instead of ending the process. What an answer means stays with each caller.
 */

export interface WorkerPoolStats {
  /** Tasks sent to the workers since the pool was made. */
  tasks: number
  /** Of those, how many ended without an answer (the worker threw, crashed, timed out). */
  failures: number
  /** Worker threads running now. */
  threads: number
}

export interface WorkerPoolOptions {
  /** The worker module's URL (see workerModule). */
  filename: string
  /** At most this many threads, at least one. */
  threads: number
  /** A worker's heap: piscina's defaults are a whole process's. */
  resourceLimits: { maxYoungGenerationSizeMb: number; maxOldGenerationSizeMb: number }
  /** Hears of a worker that failed outside a task (a task that fails rejects its run instead). */
  onError?: (err: unknown) => void
}

export interface WorkerPool<Task, Result> {
  readonly maxThreads: number
  /** The worker's answer; rejects when the task ended without one (counted as a failure). */
  run(task: Task, options?: { transferList?: ArrayBuffer[]; signal?: AbortSignal }): Promise<Result>
  stats(): WorkerPoolStats
  /** Stops the workers; a later task starts them again. */
  close(): Promise<void>
}

// Idle workers are unref'd by piscina (they never keep a process alive) and end after a minute,
// dropping what they cached (an SM2 thread's key tables, about 1 MB each).
const IDLE_MS = 60_000

/**
 * The URL of worker module `name` beside `base` (the caller's import.meta.url). From the
 * TypeScript sources (tsx, tap) it is the .ts file, which a thread loads through tsx
 * (tsWorker.mjs); compiled, it is the .js in dist/.
 */
export function workerModule(name: string, base: string): string {
  return new URL(`./${name}${base.endsWith('.ts') ? '.ts' : '.js'}`, base).href
}

const TS_WORKER = new URL('./tsWorker.mjs', import.meta.url).href
const FROM_SOURCES = import.meta.url.endsWith('.ts')

/**
 * What piscina is given to start a thread. Compiled (dist/), the module itself, and a thread
 * takes the process's flags as Node gives them by default (it leaves out those a thread refuses,
 * such as --max-old-space-size). From the TypeScript sources (tsx, the tests), a thread starts
 * with no flags: the process's preloads (a test runner's hooks and TypeScript loader, tsx's)
 * would run again in each thread, about 2 s of CPU per thread under tap, 1.7 of the 2.5 s it took
 * to start; a .ts module is loaded by tsWorker.mjs, which registers tsx in the thread itself.
 */
export function threadStart(filename: string, fromSources = FROM_SOURCES): { filename: string; workerData?: { tsModule: string }; execArgv?: string[] } {
  if (!fromSources) return { filename }
  return filename.endsWith('.ts') ? { filename: TS_WORKER, workerData: { tsModule: filename }, execArgv: [] } : { filename, execArgv: [] }
}

/** A pool of at most `threads` workers, none started before the first task. */
export function createWorkerPool<Task, Result>(opts: WorkerPoolOptions): WorkerPool<Task, Result> {
  const { filename, threads, resourceLimits, onError } = opts
  if (!Number.isInteger(threads) || threads < 1) throw new RangeError('a worker pool has at least one thread')
  let piscina: Piscina<Task, Result> | undefined
  let tasks = 0
  let failures = 0
  const started = (): Piscina<Task, Result> => {
    if (piscina) return piscina
    const p = new Piscina<Task, Result>({ ...threadStart(filename), minThreads: 0, maxThreads: threads, idleTimeout: IDLE_MS, resourceLimits })
    // A worker that fails outside a task (it could not load) is reported here, not to a task:
    // unheard, it would end the process, and piscina starts no other worker, so queued tasks
    // would wait forever. The pool is dropped (its tasks fail) and the next task starts a new one.
    p.on('error', (err: unknown) => {
      if (piscina === p) piscina = undefined
      onError?.(err)
      void p.destroy()
    })
    return (piscina = p)
  }
  return {
    maxThreads: threads,
    async run(task, options) {
      tasks++
      try {
        return await started().run(task, options)
      } catch (err) {
        failures++
        throw err
      }
    },
    stats: () => ({ tasks, failures, threads: piscina?.threads.length ?? 0 }),
    async close() {
      const closing = piscina
      piscina = undefined
      await closing?.destroy()
    },
  }
}
