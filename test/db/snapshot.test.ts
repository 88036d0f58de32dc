import { execFileSync } from 'node:child_process'
import t from 'tap'
import { sql } from 'drizzle-orm'
import { rowsOf } from '../../src/db/client.js'
import { loadSnapshot, openTestDatabase } from '../helpers/database.js'

// Every PGlite test database starts from one tarball (test/helpers/database.ts), trimmed to keep
// starts cheap: one database, one WAL segment cut after its last written page. These check that
// the trimmed tarball is still a sound cluster, so a test can never pass on a broken one.

t.test('the snapshot is a valid tarball holding one WAL segment, cut at a page boundary', async (t) => {
  const listing = execFileSync('tar', ['-tvf', '-'], { input: await loadSnapshot() }).toString()
  const wal = listing.split('\n').filter((l) => /pg_wal\/[0-9A-F]{24}$/.test(l))
  t.equal(wal.length, 1, 'one segment: the recycled ones are dropped')
  const size = Number(wal[0]!.trim().split(/\s+/)[2])
  t.ok(size > 0 && size < 16 * 1024 * 1024, `the segment is cut (${size} bytes)`)
  t.equal(size % 8192, 0, 'at a WAL page boundary')
  t.notOk(/base\/1\/|base\/4\//.test(listing), 'no template databases')
})

t.test('a database from the snapshot has the migrated schema and writes past the WAL it was given', async (t) => {
  const database = await openTestDatabase()
  t.teardown(() => database.close())
  const rows = <T>(q: ReturnType<typeof sql>) => rowsOf<T>(database.db, q)
  t.same((await rows<{ datname: string }>(sql`select datname from pg_database order by 1`)).map((r) => r.datname), ['postgres'])
  t.same(await rows(sql`select count(*)::int as n from certificates`), [{ n: 0 }], 'the certificates table is there, empty')
  const segment = async () => (await rows<{ w: string }>(sql`select pg_walfile_name(pg_current_wal_lsn()) as w`))[0]!.w
  const first = await segment()
  // More than one 16 MB segment of WAL: PostgreSQL extends the cut segment, then starts new ones.
  await database.db.execute(sql`create table snapshot_check (n int primary key, pad text not null)`)
  await database.db.execute(sql`insert into snapshot_check select g, repeat(md5(g::text), 30) from generate_series(1, 20000) g`)
  await database.db.execute(sql`checkpoint`)
  t.ok((await segment()) > first, `WAL moved on from ${first}`)
  t.same(await rows(sql`select count(*)::int as n, sum(length(pad))::int as bytes from snapshot_check`), [{ n: 20000, bytes: 20000 * 960 }])
})
