import { createHash } from 'node:crypto'
import { closeSync, openSync, readdirSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { PGlite } from '@electric-sql/pglite'
import { openDatabase, type Database } from '../../src/db/client.js'
import { MIGRATIONS_FOLDER, runMigrations } from '../../src/db/migrate.js'

// A new in-memory PGlite runs initdb, about 3 to 5 s of CPU; one started from the tarball of a
// migrated database takes under 1 s. The tarball is made once per machine (by whichever test
// process needs it first, the others wait for it) and named after everything that shapes it:
// the migrations, the runner that applies them and PGlite's version. The service itself always
// migrates as it does in production: only test databases start from the snapshot.

const MIGRATE_TS = fileURLToPath(new URL('../../src/db/migrate.ts', import.meta.url))

function snapshotKey(): string {
  const h = createHash('sha256')
  const files = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true })
      .flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : [join(dir, e.name)]))
      .sort()
  for (const f of [...files(MIGRATIONS_FOLDER), MIGRATE_TS]) h.update(f.slice(MIGRATIONS_FOLDER.length)).update(readFileSync(f))
  const pglitePackage = new URL('../package.json', import.meta.resolve('@electric-sql/pglite'))
  return h.update(readFileSync(pglitePackage)).digest('hex').slice(0, 16)
}

async function makeSnapshot(): Promise<Uint8Array> {
  const pg = new PGlite()
  const database = await openDatabase({ pglite: pg })
  try {
    await runMigrations(database)
    return new Uint8Array(await (await pg.dumpDataDir('none')).arrayBuffer())
  } finally {
    await database.close()
  }
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
async function loadSnapshot(): Promise<Uint8Array> {
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
  return openDatabase({ pglite: new PGlite({ loadDataDir: new Blob([await snapshot]) }) })
}
