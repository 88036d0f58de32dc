import { execFileSync } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import t from 'tap'
import { sql } from 'drizzle-orm'
import { rowsOf, type Database } from '../../src/db/client.js'
import { loadSnapshot, openTestDatabase, testDatabaseStats } from '../helpers/database.js'

// Every PGlite test database starts from one tarball (test/helpers/database.ts), trimmed to keep
// starts cheap: one database, one WAL segment cut after its last written page. These check that
// the trimmed tarball is still a sound cluster, so a test can never pass on a broken one, and
// that a database reused by the next test is put back in the snapshot's state.

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

t.test('a database handed back is put back in the snapshot\'s state for the next test, or not reused at all', async (t) => {
  const rows = <T>(database: Database, q: ReturnType<typeof sql>) => rowsOf<T>(database.db, q)
  const event = (database: Database) => rows<{ id: number }>(database, sql`insert into audit_events (kind, actor_sub, request_id, details) values ('x', 'pool-test', ${randomUUID()}, '{}') returning id::int as id`)

  const first = await openTestDatabase()
  const opened = testDatabaseStats()
  await event(first)
  await event(first)
  await first.db.execute(sql`set statement_timeout = 12345`)
  // A transaction left open on the one connection, as a test that fails halfway leaves it.
  const session = await first.session()
  await session.query('begin')
  await session.query('insert into holder_id_types (code, name) values ($1, $2)', ['999', 'left open'])
  await session.release()
  await first.close()
  await t.rejects(first.db.execute(sql`select 1`), 'the closed handle refuses queries, though its database lives on')

  const second = await openTestDatabase()
  t.same(testDatabaseStats(), { started: opened.started, reused: opened.reused + 1 }, 'the next test gets it back')
  t.same(await rows(second, sql`select count(*)::int as n from audit_events`), [{ n: 0 }], 'its rows are gone')
  t.same(await event(second), [{ id: 1 }], 'its sequences start again')
  t.same(await rows(second, sql`select current_setting('statement_timeout') as s`), [{ s: '0' }], 'its session settings are reset')
  t.same(await rows(second, sql`select code from holder_id_types order by code`), [{ code: '001' }, { code: '111' }], 'the seeded rows are kept, the open transaction rolled back')

  // A change the reset does not undo: the database is closed and the next test gets a fresh one.
  await second.db.execute(sql`create table pool_leftover (n int)`)
  await second.close()
  const third = await openTestDatabase()
  t.teardown(() => third.close())
  t.same(testDatabaseStats(), { started: opened.started + 1, reused: opened.reused + 1 }, 'a changed schema is not reused')
  t.same(await rows(third, sql`select to_regclass('pool_leftover')::text as t`), [{ t: null }], 'the fresh one has no leftover table')
})
