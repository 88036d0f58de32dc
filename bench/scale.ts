// Rows past what the API loads, written straight into `certificates` for the large data sets
// (--rows 10000000 would take hours through the API on 2 cores). Each row is shaped like a pushed
// one: the same payload, a JWS with the issuer's header and a signature-sized (but not valid)
// signature, holder_index from the service's holderIndex(), the JWS encrypted with the service's
// data-protection key and bound to its identifier, so lookups decrypt them as real rows. The
// verify and push scenarios only ever touch API-loaded certificates.
import { createHash, randomBytes, randomInt } from 'node:crypto'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { Worker } from 'node:worker_threads'
import postgres from 'postgres'
import { PGlite } from '@electric-sql/pglite'
import { encrypt, holderIndex, type DataProtectionKeys } from '../src/crypto/dataProtection.js'
import type { SliceJob } from './scaleWorker.js'
import { CERT_TYP, ISSUER_CODE, TYPE_CODE, certificatePayload, serialOf, syntheticHolder } from './synthetic.js'

const COLUMNS = ['id', 'series', 'version', 'type_code', 'issuer_code', 'number', 'holder_id_type', 'holder_index', 'issued_on', 'valid_from', 'valid_until', 'status', 'status_changed_at', 'signing_kid', 'jws_sha256', 'key_id', 'jws_cipher', 'received_at']
const COPY = `copy certificates (${COLUMNS.join(', ')}) from stdin with (format binary)`
const PG_EPOCH_MS = Date.UTC(2000, 0, 1)

/** A growable buffer in PostgreSQL's binary COPY format. */
class CopyWriter {
  private buf = Buffer.allocUnsafe(1 << 20)
  length = 0
  private ensure(n: number) {
    if (this.length + n <= this.buf.length) return
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.length + n))
    this.buf.copy(next, 0, 0, this.length)
    this.buf = next
  }
  int16(v: number) {
    this.ensure(2)
    this.length = this.buf.writeInt16BE(v, this.length)
  }
  int32(v: number) {
    this.ensure(4)
    this.length = this.buf.writeInt32BE(v, this.length)
  }
  field(bytes: Buffer | null) {
    if (bytes === null) return this.int32(-1)
    this.int32(bytes.length)
    this.ensure(bytes.length)
    this.length += bytes.copy(this.buf, this.length)
  }
  text(s: string) {
    this.field(Buffer.from(s, 'utf8'))
  }
  int4(v: number) {
    this.int32(4)
    this.int32(v)
  }
  date(iso: string) {
    this.int4(Math.round((Date.parse(`${iso}T00:00:00Z`) - PG_EPOCH_MS) / 86_400_000))
  }
  timestamptz(ms: number) {
    this.int32(8)
    this.ensure(8)
    this.length = this.buf.writeBigInt64BE(BigInt(ms - PG_EPOCH_MS) * 1000n, this.length)
  }
  take(): Buffer {
    const out = Buffer.from(this.buf.subarray(0, this.length))
    this.length = 0
    return out
  }
}

const HEADER = Buffer.concat([Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1'), Buffer.alloc(8)])
const TRAILER = Buffer.from([0xff, 0xff])

export interface ExtraRowsSpec {
  keys: DataProtectionKeys
  prefix: string
  /** Index of the first row (serials continue after the API-loaded ones). */
  first: number
  count: number
  holders: number
  alg: string
  kid: string
}

/**
 * Yields the rows in binary COPY format, `rowsPerChunk` per chunk, without the file header and
 * trailer (see copyStream); `holdersOut[i]` gets row i's holder number.
 */
export function* rowChunks(spec: ExtraRowsSpec, holdersOut: Int32Array, rowsPerChunk = 2000): Generator<Buffer> {
  const w = new CopyWriter()
  const header = Buffer.from(JSON.stringify({ alg: spec.alg, kid: spec.kid, typ: CERT_TYP })).toString('base64url')
  // One signature-sized value for every row: these rows are never verified (see the top of the file).
  const signature = randomBytes(spec.alg === 'RS256' || spec.alg === 'PS256' ? 256 : 64).toString('base64url')
  const now = Date.now()
  const chunks = Math.ceil(spec.count / rowsPerChunk)
  for (let c = 0; c < chunks; c++) {
    for (let i = c * rowsPerChunk; i < Math.min(spec.count, (c + 1) * rowsPerChunk); i++) {
      const holder = randomInt(spec.holders)
      holdersOut[i] = holder
      const serial = serialOf(spec.prefix, spec.first + i)
      const payload = certificatePayload(serial, holder)
      const jws = `${header}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.${signature}`
      const { keyId, cipher } = encrypt(spec.keys, jws, payload.id)
      w.int16(COLUMNS.length)
      w.text(payload.id)
      w.text(`${TYPE_CODE}.${ISSUER_CODE}.${serial}`)
      w.int4(1)
      w.text(TYPE_CODE)
      w.text(ISSUER_CODE)
      w.text(serial)
      w.text('111')
      w.text(holderIndex(spec.keys, '111', syntheticHolder(holder)))
      w.date(payload.issuedOn)
      w.date(payload.validFrom)
      w.field(null)
      w.text('valid')
      w.timestamptz(now)
      w.text(spec.kid)
      w.text(createHash('sha256').update(jws).digest('hex'))
      w.text(keyId)
      w.field(cipher)
      w.timestamptz(now)
    }
    yield w.take()
  }
}

/** A whole binary COPY input: header, rows, trailer. */
function* copyStream(chunks: Iterable<Buffer>): Generator<Buffer> {
  yield HEADER
  yield* chunks
  yield TRAILER
}

async function* copyStreamAsync(chunks: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  yield HEADER
  yield* chunks
  yield TRAILER
}

export interface ScaleResult {
  rows: number
  copySeconds: number
  indexSeconds: number
  vacuumSeconds: number
}

/** The chunks a worker generates, pulled as the COPY consumes them (each pull returns a credit). */
async function* fromWorker(job: SliceJob): AsyncGenerator<Buffer> {
  // Worker threads do not inherit tsx's loader hooks: the worker loads its TypeScript through tsx's API.
  const boot = `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((tsx) => tsx.tsImport(${JSON.stringify(new URL('./scaleWorker.ts', import.meta.url).href)}, ${JSON.stringify(import.meta.url)}))`
  const worker = new Worker(boot, { eval: true, workerData: job })
  const queue: (ArrayBuffer | 'done')[] = []
  let failure: Error | undefined
  let notify: (() => void) | undefined
  worker.on('message', (m: ArrayBuffer | 'done') => (queue.push(m), notify?.()))
  worker.on('error', (err) => ((failure = err), notify?.()))
  worker.on('exit', (code) => (code !== 0 && (failure ??= new Error(`COPY worker exited with ${code}`)), notify?.()))
  try {
    for (;;) {
      while (queue.length === 0 && !failure) await new Promise<void>((resolve) => (notify = resolve))
      if (failure) throw failure
      const m = queue.shift()!
      if (m === 'done') return
      yield Buffer.from(m)
      worker.postMessage('ack')
    }
  } finally {
    await worker.terminate()
  }
}

export interface CopyPlan {
  url: string
  keysFile: string
  prefix: string
  /** Rows [first, first + count) of the run; their holders go into `holders[first …]`. */
  first: number
  count: number
  holderCount: number
  alg: string
  kid: string
  holders: SharedArrayBuffer
  workers: number
}

/**
 * Loads the rows with binary COPY, one worker thread and one connection per slice. For large
 * loads the secondary indexes and unique constraints are dropped first and rebuilt after from
 * their own definitions (what a bulk migration does); VACUUM ANALYZE then settles the table as
 * it would be in production (visibility map, statistics).
 */
export async function copyIntoPostgres(plan: CopyPlan, log: (msg: string) => void): Promise<ScaleResult> {
  const sql = postgres(plan.url, { max: plan.workers, onnotice: () => {}, connection: { maintenance_work_mem: '1GB', application_name: 'zhengzhao-bench-scale' } })
  try {
    const rebuild = plan.count >= 500_000
    const constraints = await sql<{ name: string; def: string }[]>`
      select conname as name, pg_get_constraintdef(oid) as def from pg_constraint where conrelid = 'certificates'::regclass and contype = 'u'`
    const indexes = await sql<{ name: string; def: string }[]>`
      select i.relname as name, pg_get_indexdef(i.oid) as def from pg_index x join pg_class i on i.oid = x.indexrelid
      where x.indrelid = 'certificates'::regclass and not x.indisprimary
        and not exists (select 1 from pg_constraint c where c.conindid = i.oid)`
    if (rebuild) {
      log(`dropping ${constraints.length} unique constraint(s) and ${indexes.length} index(es) for the load`)
      for (const c of constraints) await sql.unsafe(`alter table certificates drop constraint "${c.name}"`)
      for (const i of indexes) await sql.unsafe(`drop index "${i.name}"`)
    }
    let t = performance.now()
    const per = Math.ceil(plan.count / plan.workers)
    await Promise.all(
      Array.from({ length: plan.workers }, async (_, w) => {
        const first = plan.first + w * per
        const count = Math.min(per, plan.first + plan.count - first)
        if (count <= 0) return
        const job: SliceJob = { keysFile: plan.keysFile, prefix: plan.prefix, first, count, holders: plan.holderCount, alg: plan.alg, kid: plan.kid, holdersOut: plan.holders }
        const writable = await sql.unsafe(COPY).writable()
        await pipeline(Readable.from(copyStreamAsync(fromWorker(job))), writable)
      }),
    )
    const copySeconds = (performance.now() - t) / 1000
    log(`copied ${plan.count} rows in ${copySeconds.toFixed(1)} s (${plan.workers} worker thread(s))`)
    t = performance.now()
    if (rebuild) {
      for (const i of indexes) await sql.unsafe(i.def)
      for (const c of constraints) await sql.unsafe(`alter table certificates add constraint "${c.name}" ${c.def}`)
      log(`rebuilt indexes and constraints in ${((performance.now() - t) / 1000).toFixed(1)} s`)
    }
    const indexSeconds = (performance.now() - t) / 1000
    t = performance.now()
    await sql`vacuum (analyze) certificates`
    const vacuumSeconds = (performance.now() - t) / 1000
    return { rows: plan.count, copySeconds, indexSeconds, vacuumSeconds }
  } finally {
    await sql.end({ timeout: 5 })
  }
}

/** The same rows into a PGlite folder (the service must be stopped: PGlite is single-process). */
export async function copyIntoPglite(dataDir: string, spec: ExtraRowsSpec, holdersOut: Int32Array): Promise<ScaleResult> {
  const pg = new PGlite(dataDir)
  await pg.waitReady
  try {
    let t = performance.now()
    // PGlite reads COPY input from a Blob: one statement per 20,000 rows keeps memory bounded.
    const copy = COPY.replace('from stdin', "from '/dev/blob'")
    let parts: Buffer[] = []
    const flush = async () => {
      await pg.query(copy, [], { blob: new Blob([...copyStream(parts)]) })
      parts = []
    }
    for (const chunk of rowChunks(spec, holdersOut, 5000)) {
      parts.push(chunk)
      if (parts.length >= 4) await flush()
    }
    if (parts.length > 0) await flush()
    const copySeconds = (performance.now() - t) / 1000
    t = performance.now()
    await pg.exec('vacuum (analyze) certificates')
    return { rows: spec.count, copySeconds, indexSeconds: 0, vacuumSeconds: (performance.now() - t) / 1000 }
  } finally {
    await pg.close()
  }
}
