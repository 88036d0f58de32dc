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

// Node flags that load code before the main module: `--flag=value` or `--flag value`.
const PRELOAD_FLAGS = new Set(['--import', '--require', '-r', '--loader', '--experimental-loader'])

/**
 * The process's Node flags for a worker thread, without the modules the process preloads
 * (`--import`, `--require`, `--loader`). A thread inherits them by default and runs them again
 * before its module: a test runner's hooks and TypeScript loader cost about 2 s of CPU per thread
 * (1.7 of the 2.5 s a thread took to start under tap), an APM agent would instrument code that
 * does no I/O. The threads here compute and answer; every other flag (memory, source maps) stays.
 */
export function threadExecArgv(execArgv: readonly string[] = process.execArgv): string[] {
  const kept: string[] = []
  for (let i = 0; i < execArgv.length; i++) {
    const arg = execArgv[i]!
    if (PRELOAD_FLAGS.has(arg)) i++
    else if (!PRELOAD_FLAGS.has(arg.slice(0, arg.indexOf('=')))) kept.push(arg)
  }
  return kept
}

const TS_WORKER = new URL('./tsWorker.mjs', import.meta.url).href

/** What piscina is given for a worker module: a .ts module is loaded by tsWorker.mjs through tsx. */
function piscinaModule(filename: string): { filename: string; workerData?: { tsModule: string } } {
  return filename.endsWith('.ts') ? { filename: TS_WORKER, workerData: { tsModule: filename } } : { filename }
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
    const p = new Piscina<Task, Result>({ ...piscinaModule(filename), execArgv: threadExecArgv(), minThreads: 0, maxThreads: threads, idleTimeout: IDLE_MS, resourceLimits })
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
