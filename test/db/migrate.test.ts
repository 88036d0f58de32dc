import t from 'tap'
import { openDatabase } from '../../src/db/client.js'
import { loadMigrations, migrationsApplied, runMigrations } from '../../src/db/migrate.js'
import { openBlankDatabase } from '../helpers/database.js'

const url = process.env.DATABASE_URL

t.test('migrations apply once, record themselves, and seed the holder ID types', async (t) => {
  // Embedded, as a first start leaves it (from the blank snapshot: initdb is not what is tested here).
  const database = await openBlankDatabase()
  t.teardown(() => database.close())
  const shipped = loadMigrations()
  t.ok(shipped.length >= 1)
  t.equal(await migrationsApplied(database), false)
  const first = await runMigrations(database)
  t.equal(first.applied.length, shipped.length)
  t.equal(await migrationsApplied(database), true)
  const second = await runMigrations(database)
  t.same(second, { applied: [], alreadyApplied: shipped.length })
  const s = await database.session()
  const rows = await s.query<{ code: string }>('select code from holder_id_types order by code', [])
  await s.release()
  t.same(rows.map((r) => r.code), ['001', '111'])
})

t.test('replicas starting at once do not race (advisory lock)', async (t) => {
  // On PostgreSQL: separate pools, so separate sessions contend for the lock for real. Embedded:
  // one database, never migrated, several concurrent callers on it.
  const opened = await Promise.all(url ? [0, 1, 2].map(() => openDatabase({ url })) : [openBlankDatabase()])
  t.teardown(() => Promise.all(opened.map((d) => d.close())))
  if (!url) {
    const results = await Promise.all([0, 1, 2].map(() => runMigrations(opened[0]!)))
    t.equal(results.reduce((n, r) => n + r.applied.length, 0), loadMigrations().length, 'each migration applied exactly once')
    return
  }
  const results = await Promise.all(opened.map((d) => runMigrations(d)))
  t.ok(results.every((r) => r.applied.length + r.alreadyApplied === loadMigrations().length))
  const s = await opened[0]!.session()
  const [row] = await s.query<{ n: string; d: string }>('select count(*)::text as n, count(distinct created_at)::text as d from drizzle.__drizzle_migrations', [])
  await s.release()
  t.equal(row!.n, row!.d, 'no migration recorded twice')
})
