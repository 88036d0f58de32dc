import cluster, { type Worker } from 'node:cluster'
import { prepareDatabase } from './app.js'
import type { Config } from './config.js'
import { openDatabase } from './db/client.js'
import { isDatabaseUnavailable } from './db/errors.js'
import { createTransparencyLog, noteSignersOf, type Integrated, type TransparencyLog } from './log/integrator.js'
import type { FirstVersionRow } from './certificates/firstVersions.js'
import { createLogStore, type AppendedLeaf, type NewEvent, type NewEventsResult, type StoredCheckpoint } from './log/store.js'

/**
 * Several worker processes on one PostgreSQL (`WORKERS`), one port: node:cluster hands each
 * connection to a worker. The Merkle log has ONE appender, the primary process: every worker
 * sends its events there (IPC), so appends never race each other for the next tree size, and the
 * primary groups the events of all workers into one statement. Each worker still reads proofs,
 * checkpoints and entries from the database itself.
 */

const TAG = 'zhengzhao/tlog'

type Op = { op: 'append'; events: NewEvent[]; certificates?: FirstVersionRow[] } | { op: 'integrate' }
interface Request {
  tag: typeof TAG
  id: number
  call: Op
}
interface Reply {
  tag: typeof TAG
  id: number
  result?: unknown
  error?: { message: string; code?: string | undefined; unavailable: boolean }
}

const isTagged = (m: unknown): m is { tag: string } => typeof m === 'object' && m !== null && (m as { tag?: unknown }).tag === TAG

// Buffers may come back from the structured clone (the 'advanced' IPC serialisation) as plain Uint8Arrays.
const buf = (b: Uint8Array): Buffer => Buffer.from(b.buffer, b.byteOffset, b.byteLength)
const checkpointOf = (c: StoredCheckpoint): StoredCheckpoint => ({ ...c, root: buf(c.root) })

const SALT_BYTES = 16
const HASH_BYTES = 32

/**
 * An append's answer to a worker, packed: the worker already holds the events it sent, so only
 * what the primary made travels back (ids, time, places, salts, leaves, proofs, the checkpoint),
 * the bytes in one buffer. Sent whole, every event came back as an object with its details and
 * every hash as a Buffer of its own: the structured clone of a lookup's answer cost 67 µs for
 * one event and 163 for three, packed 28 and 32 (v8.serialize and deserialize, one process).
 */
export interface PackedAppend {
  ids: number[]
  /** The time the primary gave every event of the append. */
  at: string
  /** The first event's leaf index; the others follow it in order. */
  first: number
  /** The salts (16 bytes each), then each leaf, then each proof's hashes (32 bytes each). */
  bytes: Uint8Array
  leafLengths: number[]
  proofLengths: number[]
  checkpoint: StoredCheckpoint
  pendingSeen: boolean
}

/**
 * An append that committed but whose answer cannot be packed: the worker is told the log is
 * unavailable (503 for its callers), as after a connection lost past the commit, and does not
 * send the events again one by one, which would append them twice.
 */
const UNPACKABLE = 'LOG_ANSWER_UNPACKABLE'

/** The primary's side. Throws when the append broke what packing assumes (one time, consecutive places, one checkpoint). */
export function packAppend(r: NewEventsResult): PackedAppend {
  const first = r.leaves[0]?.entry.leafIndex ?? 0
  const at = r.leaves[0]?.entry.at ?? ''
  r.leaves.forEach((l, i) => {
    if (l.entry.leafIndex !== first + i || l.entry.at !== at || l.checkpoint !== r.checkpoint || l.entry.id !== r.ids[i] || l.entry.salt.length !== SALT_BYTES)
      throw Object.assign(new Error(`append ${i} of ${r.leaves.length} cannot be packed: its place, time, checkpoint, id or salt is not the append's`), { code: UNPACKABLE })
  })
  return {
    ids: r.ids,
    at,
    first,
    bytes: Buffer.concat([...r.leaves.map((l) => l.entry.salt), ...r.leaves.map((l) => l.leaf), ...r.leaves.flatMap((l) => l.proof)]),
    leafLengths: r.leaves.map((l) => l.leaf.length),
    proofLengths: r.leaves.map((l) => l.proof.length),
    checkpoint: r.checkpoint,
    pendingSeen: r.pendingSeen,
  }
}

/**
 * An answer the worker cannot read is reported as a lost primary is (ECONNRESET, a database
 * outage to the access log): its callers get 503, and the events, already appended, are not
 * sent again one by one.
 */
const unreadable = (message: string): Error => Object.assign(new Error(message), { code: 'ECONNRESET' })

/**
 * The worker's side: the events it sent, with what the primary made of them. The details go
 * through JSON as the primary's did (src/log/store.ts), so each entry is the one its leaf holds.
 */
export function unpackAppend(events: readonly NewEvent[], p: PackedAppend): NewEventsResult {
  const bytes = buf(p.bytes)
  const checkpoint = checkpointOf(p.checkpoint)
  if (events.length !== p.ids.length || p.leafLengths.length !== events.length || p.proofLengths.length !== events.length) throw unreadable(`the primary answered for ${p.ids.length} events, ${events.length} were sent`)
  let at = SALT_BYTES * events.length
  const leaves = p.leafLengths.map((n) => bytes.subarray(at, (at += n)))
  const leavesOf = events.map((e, i): AppendedLeaf => {
    const proof = Array.from({ length: p.proofLengths[i]! }, () => bytes.subarray(at, (at += HASH_BYTES)))
    const entry = { ...e, at: p.at, details: JSON.parse(JSON.stringify(e.details ?? {})) as unknown, id: p.ids[i]!, leafIndex: p.first + i, salt: bytes.subarray(SALT_BYTES * i, SALT_BYTES * (i + 1)) }
    return { entry, leaf: leaves[i]!, proof, checkpoint }
  })
  if (at !== bytes.length) throw unreadable(`the primary's answer holds ${bytes.length} bytes, ${at} were read`)
  return { ids: p.ids, leaves: leavesOf, checkpoint, pendingSeen: p.pendingSeen }
}

/** A worker's view of the log: appends go to the primary, reads to the database. */
export function remoteTransparencyLog(config: Config, db: Parameters<typeof createLogStore>[0]): TransparencyLog {
  const store = createLogStore(db, { origin: config.logOrigin, signers: noteSignersOf(config.serviceKeys) })
  const waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>()
  let next = 0
  process.on('message', (m: unknown) => {
    if (!isTagged(m)) return
    const reply = m as Reply
    const w = waiting.get(reply.id)
    if (!w) return
    waiting.delete(reply.id)
    if (!reply.error) return w.resolve(reply.result)
    // The accountability log's callers tell an outage (503 at once for all) from a bad row.
    const err = Object.assign(new Error(reply.error.message), { code: reply.error.unavailable ? 'ECONNRESET' : reply.error.code })
    w.reject(err)
  })
  // No primary, no log: nothing may be answered without its event in the tree.
  process.on('disconnect', () => {
    for (const w of waiting.values()) w.reject(Object.assign(new Error('the primary process is gone'), { code: 'ECONNRESET' }))
    waiting.clear()
  })
  const call = (op: Op): Promise<unknown> =>
    new Promise((resolve, reject) => {
      if (!process.connected || !process.send) return reject(Object.assign(new Error('the primary process is gone'), { code: 'ECONNRESET' }))
      const id = ++next
      waiting.set(id, { resolve, reject })
      process.send({ tag: TAG, id, call: op } satisfies Request)
    })
  return {
    store,
    origin: config.logOrigin,
    async append(events, certificates) {
      return unpackAppend(events, (await call({ op: 'append', events, ...(certificates?.length ? { certificates } : {}) })) as PackedAppend)
    },
    async integrate() {
      const r = (await call({ op: 'integrate' })) as Integrated
      return { checkpoint: checkpointOf(r.checkpoint) }
    },
  }
}

function serve(worker: Worker, tlog: TransparencyLog): void {
  worker.on('message', (m: unknown) => {
    if (!isTagged(m)) return
    const { id, call } = m as Request
    const run = call.op === 'append' ? tlog.append(call.events, call.certificates).then(packAppend) : tlog.integrate()
    run.then(
      (result) => worker.isConnected() && worker.send({ tag: TAG, id, result } satisfies Reply),
      (err: Error & { code?: unknown }) =>
        worker.isConnected() && worker.send({ tag: TAG, id, error: { message: err.message, code: typeof err.code === 'string' ? err.code : undefined, unavailable: isDatabaseUnavailable(err) || err.code === UNPACKABLE } } satisfies Reply),
    )
  })
}

export interface Primary {
  /** Stops every worker (each drains its requests), then the log's database connections. */
  close(): Promise<void>
}

/**
 * The primary: migrates once, then starts `config.workers` workers (the same entry point, which
 * sees cluster.isWorker) and starts a new one when one dies.
 */
export async function startPrimary(config: Config, log: { info(o: object, m: string): void; error(o: object, m: string): void }): Promise<Primary> {
  const database = await openDatabase({ ...config.database, poolSize: 2 })
  await prepareDatabase(config, database)
  const tlog = createTransparencyLog(database.db, { origin: config.logOrigin, serviceKeys: config.serviceKeys })
  cluster.setupPrimary({ serialization: 'advanced' })
  let closing = false
  const fork = (): void => {
    const worker = cluster.fork({ ZHENGZHAO_WORKER: '1' })
    serve(worker, tlog)
  }
  cluster.on('exit', (worker, code, signal) => {
    if (closing) return
    log.error({ pid: worker.process.pid, code, signal }, 'a worker process ended; starting another')
    // Not unref'd: with every worker gone, this timer is what keeps the first process alive to start one.
    setTimeout(() => closing || fork(), 500)
  })
  for (let i = 0; i < config.workers; i++) fork()
  log.info({ workers: config.workers, pid: process.pid }, 'cluster: one worker process per core, the Merkle log appended by this process')
  return {
    async close() {
      closing = true
      const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined)
      await Promise.all(
        workers.map(
          (w) =>
            new Promise<void>((resolve) => {
              if (w.isDead()) return resolve()
              w.once('exit', () => resolve())
              w.process.kill('SIGTERM')
            }),
        ),
      )
      await database.close()
    },
  }
}
