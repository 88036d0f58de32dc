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

async function makeSnapshot(): Promise<Uint8Array> {
  const pg = new PGlite(pgliteOptions())
  const database = await openDatabase({ pglite: pg })
  try {
    await runMigrations(database)
    // Only the database the tests use is kept: template0 and template1 (15 of the 41 MB) are
    // never connected to by a test, and each test database would copy them in again.
    for (const name of ['template0', 'template1']) {
      await pg.exec(`update pg_database set datistemplate = false where datname = '${name}'`)
      await pg.exec(`drop database ${name}`)
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

/** The migrated snapshot's bytes: read from os.tmpdir(), or made there under a lock file. */
export async function loadSnapshot(): Promise<Uint8Array> {
  const file = join(tmpdir(), `zhengzhao-test-pglite-${snapshotKey()}.tar`)
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
      const bytes = await makeSnapshot()
      writeAtomically(file, bytes)
      return bytes
    }
    try {
      const bytes = await makeSnapshot()
      writeAtomically(file, bytes)
      return bytes
    } finally {
      closeSync(fd)
      unlinkSync(lock)
    }
  }
}

let snapshot: Promise<Uint8Array> | undefined

/**
 * A migrated database of its own for a test: a fresh in-memory PGlite started from the snapshot,
 * or, with `url` (DATABASE_URL), a connection to that server, which migrations reach as they do.
 */
export async function openTestDatabase(opts: { url?: string | undefined } = {}): Promise<Database> {
  if (opts.url) return openDatabase({ url: opts.url })
  snapshot ??= loadSnapshot()
  return openDatabase({ pglite: new PGlite({ loadDataDir: new Blob([await snapshot]), ...pgliteOptions() }) })
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
