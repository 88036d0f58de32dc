import { createHash, randomBytes } from 'node:crypto'
import { closeSync, openSync, readdirSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { PGlite } from '@electric-sql/pglite'
import { openDatabase, pgliteOptions, type Database } from '../../src/db/client.js'
import { MIGRATIONS_FOLDER, runMigrations } from '../../src/db/migrate.js'

// A new in-memory PGlite runs initdb, about 3 to 5 s of CPU; one started from the tarball of a
// migrated database takes under 1 s. The tarball is made once per machine (by whichever test
// process needs it first, the others wait for it) and named after everything that shapes it:
// the migrations, the runner that applies them, this file and PGlite's version. The service
// itself always migrates as it does in production: only test databases start from the snapshot.
// A suite starts hundreds of them, so the start is kept lean: the tarball holds one database
// and only the WAL a start reads (9 MB where PGlite's dump is 41 MB), and the database runs
// with the service's own settings (PGLITE_SETTINGS: shared_buffers 16MB, where PostgreSQL's
// 128MB default is set up on every start). CPU per start, measured in one process, 6 starts:
// 0.86-1.11 s with the full dump and defaults, 0.63 s with the slim tarball, 0.44 s with both.

const MIGRATE_TS = fileURLToPath(new URL('../../src/db/migrate.ts', import.meta.url))
// This file too: how the snapshot is made and trimmed is part of what it is.
const SNAPSHOT_TS = fileURLToPath(import.meta.url)

function snapshotKey(): string {
  const h = createHash('sha256')
  const files = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true })
      .flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : [join(dir, e.name)]))
      .sort()
  for (const f of [...files(MIGRATIONS_FOLDER), MIGRATE_TS, SNAPSHOT_TS]) h.update(f.slice(MIGRATIONS_FOLDER.length)).update(readFileSync(f))
  const pglitePackage = new URL('../package.json', import.meta.resolve('@electric-sql/pglite'))
  return h.update(readFileSync(pglitePackage)).digest('hex').slice(0, 16)
}

/**
 * The two snapshots: `migrated`, what test databases start from; `blank`, the cluster as initdb
 * leaves it, never migrated, for the tests of the migrations themselves (`openBlankDatabase`,
 * `blankDataDir`), which would otherwise run initdb each time, 5 to 6 s of CPU.
 */
type SnapshotKind = 'migrated' | 'blank'

async function makeSnapshot(kind: SnapshotKind): Promise<Uint8Array> {
  const pg = new PGlite(pgliteOptions())
  const database = await openDatabase({ pglite: pg })
  try {
    if (kind === 'migrated') {
      await runMigrations(database)
      // Only the database the tests use is kept: template0 and template1 (15 of the 41 MB) are
      // never connected to by a test, and each test database would copy them in again. The blank
      // snapshot keeps them: it is what a first start leaves, and few tests start from it.
      for (const name of ['template0', 'template1']) {
        await pg.exec(`update pg_database set datistemplate = false where datname = '${name}'`)
        await pg.exec(`drop database ${name}`)
      }
    }
    // A new WAL segment, then a checkpoint: the segment the migrations filled is recycled under a
    // later name and the current one holds little more than the checkpoint record.
    await pg.query('select pg_switch_wal()')
    await pg.exec('checkpoint')
    return withoutSpareWal(new Uint8Array(await (await pg.dumpDataDir('none')).arrayBuffer()))
  } finally {
    await database.close()
  }
}

const WAL_SEGMENT = /(^|\/)pg_wal\/[0-9A-F]{24}$/
const WAL_PAGE = 8192

/**
 * The dump with its WAL cut to what a start reads: PostgreSQL preallocates 16 MB segments and
 * keeps recycled ones for later, all of which the tarball would otherwise carry into every test
 * database. After a clean checkpoint a start reads only the segment holding that checkpoint (the
 * earliest one left; later names are recycled segments), and only up to its last written page;
 * it extends the file as it writes. The tarball is ustar (name, prefix, octal size, checksum).
 */
export function withoutSpareWal(tar: Uint8Array): Uint8Array {
  const text = (b: Uint8Array) => Buffer.from(b).toString('latin1').replace(/\0.*$/s, '')
  const entries: { header: Buffer; name: string; data: Uint8Array }[] = []
  for (let at = 0; at + 512 <= tar.length; ) {
    const header = Buffer.from(tar.subarray(at, at + 512))
    if (header.every((b) => b === 0)) break
    const size = parseInt(text(header.subarray(124, 136)).trim() || '0', 8)
    const prefix = text(header.subarray(345, 500))
    const name = (prefix ? `${prefix}/` : '') + text(header.subarray(0, 100))
    entries.push({ header, name, data: tar.subarray(at + 512, at + 512 + size) })
    at += 512 + Math.ceil(size / 512) * 512
  }
  const segments = entries.filter((e) => WAL_SEGMENT.test(e.name)).map((e) => e.name).sort()
  const out: Uint8Array[] = []
  for (const e of entries) {
    if (WAL_SEGMENT.test(e.name)) {
      if (e.name !== segments[0]) continue
      let end = e.data.length - (e.data.length % WAL_PAGE)
      while (end > WAL_PAGE && e.data.subarray(end - WAL_PAGE, end).every((b) => b === 0)) end -= WAL_PAGE
      e.data = e.data.subarray(0, end)
      e.header.write(`${e.data.length.toString(8).padStart(11, '0')}\0`, 124, 12, 'latin1')
      e.header.fill(0x20, 148, 156)
      const sum = e.header.reduce((a, b) => a + b, 0)
      e.header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'latin1')
    }
    out.push(e.header, e.data, new Uint8Array((512 - (e.data.length % 512)) % 512))
  }
  out.push(new Uint8Array(1024))
  return Buffer.concat(out)
}

function readIfPresent(file: string): Uint8Array | undefined {
  try {
    return readFileSync(file)
  } catch {
    return undefined
  }
}

function writeAtomically(file: string, bytes: Uint8Array): void {
  const tmp = `${file}.${process.pid}.tmp`
  writeFileSync(tmp, bytes)
  renameSync(tmp, file)
}

/** A snapshot's bytes (the migrated one unless asked): read from os.tmpdir(), or made there under a lock file. */
export async function loadSnapshot(kind: SnapshotKind = 'migrated'): Promise<Uint8Array> {
  const file = join(tmpdir(), `zhengzhao-test-pglite-${kind}-${snapshotKey()}.tar`)
  const lock = `${file}.lock`
  for (const started = Date.now(); ; ) {
    const ready = readIfPresent(file)
    if (ready) return ready
    let fd: number | undefined
    try {
      fd = openSync(lock, 'wx')
    } catch {
      // Another process is making it; a lock older than a minute was left by a killed one.
      const stale = Date.now() - (statSync(lock, { throwIfNoEntry: false })?.mtimeMs ?? 0) > 60_000
      if (!stale && Date.now() - started < 120_000) {
        await sleep(100)
        continue
      }
      const bytes = await makeSnapshot(kind)
      writeAtomically(file, bytes)
      return bytes
    }
    try {
      const bytes = await makeSnapshot(kind)
      writeAtomically(file, bytes)
      return bytes
    } finally {
      closeSync(fd)
      unlinkSync(lock)
    }
  }
}

const snapshots = new Map<SnapshotKind, Promise<Uint8Array>>()

/** What `new PGlite` is given to start from a snapshot, in memory or in a folder. */
async function fromSnapshot(kind: SnapshotKind = 'migrated'): Promise<{ loadDataDir: Blob } & ReturnType<typeof pgliteOptions>> {
  let bytes = snapshots.get(kind)
  if (!bytes) snapshots.set(kind, (bytes = loadSnapshot(kind)))
  return { loadDataDir: new Blob([await bytes]), ...pgliteOptions() }
}

async function startFromSnapshot(): Promise<PGlite> {
  const pg = new PGlite(await fromSnapshot())
  await pg.waitReady
  return pg
}

// Even from the slim snapshot a start costs about 0.45 s of CPU, and the WebAssembly memory it
// maps (over 100 MB) is touched page by page and later collected. A test's database is therefore
// handed back when the test closes it, put back in the snapshot's state, and given to the
// process's next test: in a shard, about three of four test databases are reused, which saved
// 7 to 9 s of a shard's 50 to 60 s of CPU (`/usr/bin/time npx tap test/shards/shard-0.test.ts`,
// twice each way). Putting back is checked, not assumed:
// the schema as the catalogs describe it (tables, columns, defaults, constraints, indexes,
// triggers, functions, roles, settings, namespaces) and every table's contents must read as
// they did on a fresh start from the snapshot; a database that differs in anything, or could
// not be put back, is closed and the next test gets a fresh one.

/** The catalogs and contents that must match the snapshot's, as one md5. */
const STATE = `select md5(string_agg(x, '|' order by x)) as state from (
  select format('rel %s %s %s', c.relnamespace::regnamespace, c.relname, c.relkind) x from pg_class c where c.relnamespace in (select oid from user_ns)
  union all select format('col %s.%s %s %s %s %s', a.attrelid::regclass, a.attname, a.atttypid::regtype, a.attnotnull, a.attidentity, pg_get_expr(d.adbin, d.adrelid))
    from pg_attribute a join pg_class c on c.oid = a.attrelid left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
    where c.relnamespace in (select oid from user_ns) and a.attnum > 0 and not a.attisdropped
  union all select format('con %s %s %s', conrelid::regclass, conname, pg_get_constraintdef(oid)) from pg_constraint where connamespace in (select oid from user_ns)
  union all select format('idx %s', pg_get_indexdef(indexrelid)) from pg_index i join pg_class c on c.oid = i.indexrelid where c.relnamespace in (select oid from user_ns)
  union all select format('trg %s %s %s', tgrelid::regclass, tgname, tgenabled) from pg_trigger
  union all select format('fn %s %s', p.oid::regprocedure, md5(p.prosrc)) from pg_proc p where p.pronamespace in (select oid from user_ns)
  union all select format('role %s %s', rolname, rolsuper) from pg_roles
  union all select format('set %s %s %s', setdatabase, setrole, setconfig) from pg_db_role_setting
  union all select format('pol %s %s', polrelid::regclass, polname) from pg_policy
  union all select format('ext %s %s', extname, extversion) from pg_extension
  union all select format('ns %s', nspname) from pg_namespace where nspname not like 'pg\\_temp\\_%' and nspname not like 'pg\\_toast\\_temp\\_%'
  union all select format('seq %s.%s %s %s', schemaname, sequencename, last_value, start_value) from pg_sequences
  union all select format('conf %s %s', name, setting) from pg_settings where source not in ('default', 'override', 'session') or (source = 'session' and name not in ('application_name'))
  union all select format('tbl %s.%s', schemaname, tablename) from pg_tables where schemaname in (select nspname from user_ns)
  ROWS
) s`

/** The namespaces the state covers: every schema but PostgreSQL's own. */
const USER_NS = `with user_ns as (select oid, nspname from pg_namespace where nspname not in ('pg_catalog', 'information_schema', 'pg_toast') and nspname not like 'pg\\_temp\\_%' and nspname not like 'pg\\_toast\\_temp\\_%')`

/**
 * STATE for the tables a fresh start has, each table's rows read by a subquery of its own, as
 * text, sorted, in one md5. The tables are listed once per process (from the snapshot's
 * catalogs): a table a test adds or drops already changes the `tbl` lines, and one dropped makes
 * the query fail, which is a state that does not match. Read through query_to_xml and xpath for
 * each table, the whole check took 26 ms of CPU, half of a reset; this way, 13-19 ms.
 */
async function stateQuery(pg: PGlite): Promise<string> {
  const tables = await pg.query<{ name: string; label: string }>(`${USER_NS} select format('%I.%I', schemaname, tablename) as name, format('%s.%s', schemaname, tablename) as label from pg_tables where schemaname in (select nspname from user_ns) order by 1`)
  const rows = tables.rows.map((t) => `union all select 'rows ${t.label.replace(/'/g, "''")} ' || md5(coalesce(string_agg(t::text, '|' order by t::text), '')) from ${t.name} t`).join('\n  ')
  return `${USER_NS} ${STATE.replace('ROWS', rows)}`
}

/** A table this large is truncated (its files replaced) rather than emptied row by row. */
const TRUNCATE_BYTES = 256 * 1024

interface Pristine {
  /** The query that reads the state (stateQuery), and what it read on a fresh start. */
  query: string
  state: string
  /** The snapshot's empty tables, emptied again between tests; the others (seeded) are left alone and checked. */
  empty: string[]
  /** Sequences of the emptied tables, restarted. */
  sequences: string[]
}

let pristine: Promise<Pristine> | undefined
const counts = { started: 0, reused: 0 }

/** How many test databases this process started from the snapshot, and how many it reused. */
export function testDatabaseStats(): { started: number; reused: number } {
  return { ...counts }
}

// One database waits for the process's next test, for a moment only: a PGlite keeps a timer
// running (PostgreSQL's statistics timeout), which would keep a process whose tests are done
// alive, and tap waits for it. Between two tests, or two files of a shard, the wait is short.
const IDLE_MS = 1_000
let idle: { pg: PGlite; timer: NodeJS.Timeout } | undefined

function takeIdle(): PGlite | undefined {
  const waiting = idle
  idle = undefined
  if (waiting) clearTimeout(waiting.timer)
  return waiting?.pg
}

function putIdle(pg: PGlite): void {
  const timer = setTimeout(() => {
    if (idle?.pg === pg) idle = undefined
    void pg.close().catch(() => undefined)
  }, IDLE_MS)
  idle = { pg, timer }
}

async function stateOf(pg: PGlite, query: string): Promise<string> {
  return (await pg.query<{ state: string }>(query)).rows[0]!.state
}

async function pristineOf(pg: PGlite): Promise<Pristine> {
  const tables = await pg.query<{ name: string; rows: number }>(
    `select format('%I.%I', schemaname, tablename) as name, (xpath('/row/n/text()', query_to_xml(format('select count(*) as n from %I.%I', schemaname, tablename), false, true, '')))[1]::text::int as rows from pg_tables where schemaname = 'public' order by 1`,
  )
  const empty = tables.rows.filter((r) => r.rows === 0).map((r) => r.name)
  const sequences = await pg.query<{ name: string }>(
    `select format('%I.%I', n.nspname, s.relname) as name from pg_depend d join pg_class s on s.oid = d.objid and s.relkind = 'S' join pg_namespace n on n.oid = s.relnamespace
     where d.refobjid = any($1::regclass[]) and d.deptype in ('a', 'i')`,
    [empty],
  )
  const query = await stateQuery(pg)
  return { query, state: await stateOf(pg, query), empty, sequences: sequences.rows.map((r) => r.name) }
}

/** Puts `pg` back in the snapshot's state; false when it is not (then it must not be reused). */
async function reset(pg: PGlite, p: Pristine): Promise<boolean> {
  try {
    // A transaction a test left open, then every session setting, prepared statement, advisory
    // lock, LISTEN and temporary table; DISCARD ALL cannot run inside a transaction.
    await pg.exec('rollback')
    await pg.exec('discard all')
    const sizes = await pg.query<{ bytes: number }>('select coalesce(sum(pg_total_relation_size(t)), 0)::float8 as bytes from unnest($1::regclass[]) t', [p.empty])
    // Row by row is cheaper for the few rows a test writes; foreign keys are not checked
    // (replica role), so the order does not matter. Many rows: new files, in one statement.
    const wipe = sizes.rows[0]!.bytes > TRUNCATE_BYTES * p.empty.length
      ? `truncate ${p.empty.join(', ')};`
      : `set session_replication_role = replica; ${p.empty.map((t) => `delete from ${t};`).join(' ')} set session_replication_role = default;`
    await pg.exec(`${wipe} ${p.sequences.map((s) => `alter sequence ${s} restart;`).join(' ')}`)
    await pg.exec('discard all')
    return (await stateOf(pg, p.query)) === p.state
  } catch {
    return false
  }
}

/** Resolves to `value`, or to `fallback` after `ms`. */
const within = <T>(value: Promise<T>, ms: number, fallback: T): Promise<T> => {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<T>((resolve) => (timer = setTimeout(() => resolve(fallback), ms)))
  return Promise.race([value, late]).finally(() => clearTimeout(timer))
}

/**
 * A PGlite for one test: what the test sees is a PGlite (drizzle and openDatabase take it as
 * one) that refuses every call once the test has closed it, as a closed PGlite does, so nothing
 * the test left running can reach the next test's database through it.
 */
async function leasePglite(): Promise<{ pg: PGlite; release: () => Promise<void> }> {
  const waiting = takeIdle()
  counts[waiting ? 'reused' : 'started']++
  const pg = waiting ?? (await startFromSnapshot())
  pristine ??= pristineOf(pg)
  const p = await pristine
  let leased = true
  let released: Promise<void> | undefined
  const release = () =>
    (released ??= (async () => {
      leased = false
      // A database a test left hanging (a transaction that never ends) is not waited for.
      if (!idle && (await within(reset(pg, p), 10_000, false))) putIdle(pg)
      else await within(pg.close().catch(() => undefined), 10_000, undefined)
    })())
  const lease = new Proxy(pg, {
    get(target, key) {
      if (key === 'close') return release
      if (key === 'closed') return !leased || target.closed
      const value: unknown = Reflect.get(target, key, target)
      if (typeof value !== 'function') return value
      return (...args: unknown[]) => {
        if (!leased) throw new Error('PGlite is closed')
        return (value as (...a: unknown[]) => unknown).apply(target, args)
      }
    },
  })
  return { pg: lease, release }
}

/**
 * A migrated database of its own for a test: an in-memory PGlite in the snapshot's state (a
 * fresh start, or one an earlier test of this process handed back and that was put back), or,
 * with `url` (DATABASE_URL), a connection to that server, which migrations reach as they do.
 */
export async function openTestDatabase(opts: { url?: string | undefined } = {}): Promise<Database> {
  if (opts.url) return openDatabase({ url: opts.url })
  const { pg, release } = await leasePglite()
  const database = await openDatabase({ pglite: pg })
  return { ...database, close: release }
}

/**
 * `dir`, an empty folder, made a PGlite data folder holding the snapshot's migrated database, for
 * a test about opening folders (locks, two processes): on an empty folder the first opener runs
 * initdb in a child process, seconds of CPU (test/db/pgliteMemory.test.ts covers that start).
 */
export async function seededDataDir(dir: string, kind: SnapshotKind = 'migrated'): Promise<string> {
  const pg = new PGlite(dir, await fromSnapshot(kind))
  await pg.waitReady
  await pg.close()
  return dir
}

/** `dir`, an empty folder, made a PGlite data folder as a first start leaves it, never migrated (see seededDataDir). */
export const blankDataDir = (dir: string): Promise<string> => seededDataDir(dir, 'blank')

/**
 * A database never migrated, in memory, as a first start leaves it (initdb done, no table of the
 * service's): for the tests of the migrations, without initdb's 5 to 6 s of CPU each time.
 * test/db/pgliteMemory.test.ts and the README walkthrough still start on an empty folder.
 */
export async function openBlankDatabase(): Promise<Database> {
  const pg = new PGlite(await fromSnapshot('blank'))
  await pg.waitReady
  return openDatabase({ pglite: pg })
}

/**
 * A database no other test writes to, for a test that leaves events outside the Merkle log on
 * purpose: on a shared server any other test's access would take them into the tree. Embedded,
 * that is any test database; with `url`, a database made on that server for this test (the app
 * migrates it, as any other) and dropped when it is closed.
 */
export async function openOwnDatabase(opts: { url?: string | undefined } = {}): Promise<Database> {
  if (!opts.url) return openTestDatabase()
  const admin = await openDatabase({ url: opts.url })
  const name = `zz_test_${randomBytes(6).toString('hex')}`
  const onAdmin = async (statement: string) => {
    const s = await admin.session()
    try {
      await s.query(statement, [])
    } finally {
      await s.release()
    }
  }
  try {
    await onAdmin(`create database ${name}`)
  } catch (err) {
    await admin.close()
    throw err
  }
  const url = new URL(opts.url)
  url.pathname = `/${name}`
  const own = await openDatabase({ url: url.toString() })
  return {
    ...own,
    async close() {
      await own.close()
      try {
        await onAdmin(`drop database if exists ${name} with (force)`)
      } finally {
        await admin.close()
      }
    },
  }
}
