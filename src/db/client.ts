import { execFile } from 'node:child_process'
import { existsSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { PGlite, type QueryOptions, type Transaction } from '@electric-sql/pglite'
import postgres from 'postgres'
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite'
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js'
import type { PgDatabase, PgDialect, PgQueryResultHKT } from 'drizzle-orm/pg-core'
import { sql, type Placeholder, type SQL } from 'drizzle-orm'
import type { DatabaseTimeouts } from '../config.js'
import { boundedPool } from './bounded.js'
import { lockDataDir } from './lock.js'
import { namedStatements, type NamedStatements } from './pgliteNamed.js'
import * as schema from './schema.js'
import { watchedSocketFactory } from './watchdog.js'

export type Db = PgDatabase<PgQueryResultHKT, typeof schema>

/**
 * Rows of a raw statement on either driver: postgres.js answers an array of rows, PGlite a
 * result object holding them. Column names come back as written in the SQL (snake_case).
 */
export async function rowsOf<T>(db: Pick<Db, 'execute'>, query: SQL): Promise<T[]> {
  const result = (await db.execute(query)) as unknown as T[] | { rows: T[] }
  return Array.isArray(result) ? result : result.rows
}

/**
 * A raw statement whose text drizzle builds once. `build` is given a placeholder per named value
 * and returns the statement; each call fills the placeholders and runs it exactly as
 * `db.execute` would (same driver call, same server-side preparation by the pool). drizzle
 * otherwise builds a raw statement's text afresh on every call, at about 4 µs per parameter on
 * this machine (70 µs for one of 17): the push path built three such statements per request.
 */
export function rawStatement<const K extends string>(db: Db, names: readonly K[], build: (values: Record<K, Placeholder<K>>) => SQL): <T>(values: Record<K, unknown>) => Promise<T[]> {
  const placeholders = Object.fromEntries(names.map((n) => [n, sql.placeholder(n)])) as Record<K, Placeholder<K>>
  // PgDatabase keeps its dialect as an @internal member; db.execute uses the same two calls.
  const query = (db as unknown as { dialect: PgDialect }).dialect.sqlToQuery(build(placeholders))
  const prepared = db._.session.prepareQuery(query, undefined, undefined, false)
  return async <T>(values: Record<K, unknown>) => {
    const result = (await prepared.execute(values)) as unknown as T[] | { rows: T[] }
    return Array.isArray(result) ? result : result.rows
  }
}

/** Raw SQL on one dedicated connection: what migrations and advisory locks need. */
export interface SqlSession {
  query<T = Record<string, unknown>>(text: string, params?: unknown[]): Promise<T[]>
  release(): Promise<void>
}

export interface Database {
  kind: 'pglite' | 'postgres'
  db: Db
  /** Resolves when the database answers a trivial query within `timeoutMs`. */
  ping(timeoutMs?: number): Promise<void>
  /** A dedicated connection, released by the caller. */
  session(): Promise<SqlSession>
  close(): Promise<void>
}

export interface DatabaseOptions {
  /** `postgres://…`: a PostgreSQL server. Absent: embedded PGlite. */
  url?: string | undefined
  /** PGlite data folder; absent means in memory (tests). */
  dataDir?: string | undefined
  /** postgres pool size. */
  poolSize?: number
  /** Bounds on PostgreSQL connections and statements (defaults: DEFAULT_TIMEOUTS). */
  timeouts?: DatabaseTimeouts | undefined
  /** An open PGlite to use (and close) instead of a new one: tests start from a migrated snapshot. */
  pglite?: PGlite | undefined
}

export const DEFAULT_TIMEOUTS: DatabaseTimeouts = { connectMs: 2000, statementMs: 5000, lockMs: 2000 }

export async function openDatabase(opts: DatabaseOptions): Promise<Database> {
  return opts.url ? openPostgres(opts.url, opts.poolSize ?? 10, opts.timeouts ?? DEFAULT_TIMEOUTS) : openPglite(opts.dataDir, opts.pglite)
}

/**
 * Settings PGlite starts with, on every start (`-c`, so a folder made before them gets them too).
 * PostgreSQL's shared memory lives inside PGlite's WebAssembly memory, which only grows, and the
 * 128MB default of shared_buffers was the largest part of the embedded service's RSS. Measured
 * with `npx tsx bench/pgliteMemory.ts` (medians of 3 runs; docs/benchmarks.md, "Memory on
 * PGlite"): PGlite alone, ready on a reopened folder, 278 MB with shared_buffers 128MB, 214 with
 * 64MB, 190 with 32MB, 162 with 16MB, 160 with 8MB (below 16MB the fixed rest dominates).
 * maintenance_work_mem (64MB by default) is what an index build over a full table, a migration,
 * adds to that memory for the life of the process: one over 600,000 rows left 82 MB of it
 * resident with 64MB, 49 MB with 16MB. Durability (fsync, synchronous_commit) is PGlite's own
 * and untouched here.
 */
export const PGLITE_SETTINGS: Readonly<Record<string, string>> = {
  shared_buffers: '16MB',
  maintenance_work_mem: '16MB',
}

const settingParams = (): string[] => Object.entries(PGLITE_SETTINGS).flatMap(([k, v]) => ['-c', `${k}=${v}`])

/** What `new PGlite` is given for a data folder or memory. */
export function pgliteOptions(): { startParams: string[]; initDbStartParams: string[] } {
  return { startParams: [...PGlite.defaultStartParams, ...settingParams()], initDbStartParams: settingParams() }
}

/**
 * A folder without PG_VERSION needs initdb, which PGlite runs in two more WebAssembly instances
 * beside the one it keeps, plus a tarball of the new cluster in JavaScript: about 700 MB at once.
 * That memory is garbage afterwards, but a process whose JavaScript heap stays small may not
 * collect it for a long time: the service on a fresh folder was ready at 853 MB in one run (454
 * in another, where a collection happened to run). So initdb runs in a child process that exits,
 * and this one opens the folder as on any later start (ready at 241-283 MB). The child's peak is
 * the first start's floor; initdb gets the same settings (they also land in postgresql.conf).
 * The child compiles PostgreSQL's WebAssembly with V8's baseline compiler only (Liftoff): its
 * optimising tier does not pay for itself in a process that lives a few seconds: initdb took
 * 5.8-8.8 s of CPU (3.6-5.5 s of wall) with it and 3.6-5.8 s (2.9-4.7 s) without, eight runs each
 * on Node 20 (docs/benchmarks.md, "The first start"). A Node whose V8 lacks the flag warns on the
 * child's stderr and runs initdb as before.
 */
async function initdbInChild(dataDir: string): Promise<void> {
  const script = `(await import('node:v8')).setFlagsFromString('--liftoff-only')
const { PGlite } = await import(${JSON.stringify(import.meta.resolve('@electric-sql/pglite'))})
const pg = new PGlite(${JSON.stringify(dataDir)}, ${JSON.stringify(pgliteOptions())})
await pg.waitReady
await pg.close()`
  try {
    await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], { timeout: 300_000, maxBuffer: 16 * 1024 * 1024 })
  } catch (err) {
    const stderr = String((err as { stderr?: unknown }).stderr ?? '').trim().split('\n').slice(-5).join('\n')
    throw new Error(`initdb of the embedded database in ${dataDir} failed: ${stderr || (err as Error).message}`)
  }
}

/**
 * The types drizzle reads as text from PGlite (timestamp, timestamptz, interval, date and the
 * arrays of these and of numeric): its pglite driver sends identity parsers for them with every
 * statement, and PGlite merges parsers given with a statement into its own table of some 300
 * types each time, a copy that cost 0.15 to 0.2 ms of CPU per statement here, more than the rest
 * of a simple statement in PGlite (`db.execute` of a one-row select: 0.42-0.45 ms, PGlite's own
 * query without the parsers 0.23-0.25 ms). So the instance's table gets drizzle's text parsers
 * once, drizzle's statements go without them, and this module's own raw statements (sessions),
 * which read PGlite's values (Date objects) as before, pass PGlite's parsers for these types.
 */
const DRIZZLE_TEXT_TYPES = [1114, 1184, 1186, 1082, 1231, 1115, 1185, 1187, 1182] as const
type Parsers = Record<number, (value: string, type?: number) => unknown>
/** PGlite's own parsers for those types, by the instance's table they were taken from. */
const pgliteOwnParsers = new WeakMap<Parsers, Parsers>()

function textForDrizzle(pg: PGlite): Parsers {
  const table = (pg as unknown as { parsers: Parsers }).parsers
  let own = pgliteOwnParsers.get(table)
  if (!own) {
    own = Object.fromEntries(DRIZZLE_TEXT_TYPES.flatMap((oid) => (table[oid] ? [[oid, table[oid]]] : []))) as Parsers
    pgliteOwnParsers.set(table, own)
    for (const oid of DRIZZLE_TEXT_TYPES) table[oid] = (value: string) => value
  }
  return own
}

/** Options drizzle gave, without its parsers when they are the text parsers already installed. */
function withoutTextParsers<O>(options: O): O {
  const parsers = (options as { parsers?: Record<string, unknown> } | undefined)?.parsers
  if (!parsers) return options
  const oids = Object.keys(parsers)
  return oids.length === DRIZZLE_TEXT_TYPES.length && DRIZZLE_TEXT_TYPES.every((oid) => oid in parsers) ? { ...options, parsers: undefined } : options
}

/**
 * What drizzle is given: the PGlite (or, `inTransaction`, a transaction of it), whose statements
 * drop drizzle's parsers and run as named statements once used twice (src/db/pgliteNamed.ts).
 */
function forDrizzle<T extends object>(client: T, named: NamedStatements, inTransaction = false): T {
  return new Proxy(client, {
    get(target, key) {
      const value: unknown = Reflect.get(target, key, target)
      if (key === 'query')
        return (text: string, params?: unknown[], options?: QueryOptions) =>
          inTransaction ? named.queryIn(target as unknown as Transaction, text, params, withoutTextParsers(options)) : named.query(text, params, withoutTextParsers(options))
      if (key === 'transaction') return (fn: (tx: object) => unknown) => (value as (f: (tx: object) => unknown) => unknown).call(target, (tx: object) => fn(forDrizzle(tx, named, true)))
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value
    },
  })
}

async function openPglite(dataDir: string | undefined, given?: PGlite): Promise<Database> {
  let unlock = () => {}
  const onDisk = !!dataDir && !dataDir.includes('://')
  if (onDisk) {
    mkdirSync(dataDir, { recursive: true })
    // One process per folder: a second opener (service, migrate, seed) is refused here.
    unlock = lockDataDir(dataDir)
  }
  let pg: PGlite
  try {
    if (!given && onDisk && !existsSync(join(dataDir, 'PG_VERSION'))) await initdbInChild(dataDir)
    pg = given ?? new PGlite(dataDir, pgliteOptions())
    await pg.waitReady
  } catch (err) {
    unlock()
    throw err
  }
  const ownParsers: QueryOptions = { parsers: textForDrizzle(pg) }
  const db = drizzlePglite(forDrizzle(pg, namedStatements(pg)), { schema }) as unknown as Db
  let sessionTail = Promise.resolve()
  return {
    kind: 'pglite',
    db,
    ping: (timeoutMs = 2000) => withTimeout(pg.query('select 1').then(() => undefined), timeoutMs),
    // PGlite is one connection: sessions take turns on it, so one session's BEGIN…COMMIT and
    // advisory lock are not interleaved with another's.
    session: async () => {
      const previous = sessionTail
      let release!: () => void
      sessionTail = new Promise<void>((resolve) => (release = resolve))
      await previous
      return {
        query: async <T>(text: string, params?: unknown[]) =>
          params ? ((await pg.query(text, params, ownParsers)).rows as T[]) : (((await pg.exec(text, ownParsers)).at(-1)?.rows ?? []) as T[]),
        release: async () => release(),
      }
    },
    close: () => pg.close().finally(unlock),
  }
}

/**
 * Where a DATABASE_URL points the driver. A Unix socket is written as libpq writes it,
 * `postgres://user@localhost:5432/db?host=/var/run/postgresql`: the query's `host`, a folder,
 * names the socket (`.s.PGSQL.<port>` in it) and wins over the URL's host. postgres.js reads a
 * socket only from a host option that is a path, which a URL cannot carry, and would otherwise
 * send `host` to the server as a setting, which the server refuses.
 */
export function postgresTarget(url: string): { url: string; host?: string } {
  const parsed = new URL(url)
  const host = parsed.searchParams.get('host')
  if (!host?.startsWith('/')) return { url }
  parsed.searchParams.delete('host')
  return { url: parsed.toString(), host }
}

async function openPostgres(given: string, max: number, timeouts: DatabaseTimeouts): Promise<Database> {
  const { url, host } = postgresTarget(given)
  const socket = host ? { host } : {}
  // Every wait is bounded, so an outage answers 503 in seconds: connecting (connect_timeout),
  // running or waiting on a lock (statement_timeout, lock_timeout, enforced by the server), a
  // transaction left open, and a server that stops answering altogether (the watchdog, which
  // allows the statement timeout and one second more before it gives up on a connection).
  const sql = postgres(url, {
    ...socket,
    max,
    connect_timeout: timeouts.connectMs / 1000,
    idle_timeout: 60,
    // The driver's default waits up to 20 s (3^failures / 100) before reconnecting after failed
    // attempts: requests queued behind it would hang through an outage and for seconds after the
    // database returns. A request's own attempt fails fast anyway (refused, or connect_timeout).
    backoff: (failures: number) => Math.min(0.05 * 2 ** failures, 0.25),
    max_lifetime: 30 * 60,
    // The driver supports `socket` (a factory) but does not declare it.
    ...({ socket: watchedSocketFactory(timeouts.statementMs + 1000) } as object),
    onnotice: () => {},
    // Keep the driver quiet: connection errors surface through queries and /readyz.
    connection: {
      application_name: 'zhengzhao',
      statement_timeout: timeouts.statementMs,
      lock_timeout: timeouts.lockMs,
      idle_in_transaction_session_timeout: timeouts.statementMs * 2,
    },
  })
  const db = drizzlePostgres(boundedPool(sql, timeouts.statementMs + 1000), { schema }) as unknown as Db
  return {
    kind: 'postgres',
    db,
    ping: (timeoutMs = 2000) => withTimeout(sql`select 1`.then(() => undefined), timeoutMs),
    // A session is its own connection, outside the bounded pool: a migration may build an index
    // for minutes, and replicas wait their turn on the migration lock as long as it takes.
    session: async () => {
      const own = postgres(url, { ...socket, max: 1, connect_timeout: timeouts.connectMs / 1000, onnotice: () => {}, connection: { application_name: 'zhengzhao-session' } })
      return {
        query: async <T>(text: string, params?: unknown[]) => (await own.unsafe(text, (params ?? []) as postgres.ParameterOrJSON<never>[])) as unknown as T[],
        release: () => own.end({ timeout: 5 }),
      }
    },
    close: () => sql.end({ timeout: 5 }),
  }
}

export function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`database did not answer within ${ms} ms`)), ms)
  })
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer))
}
