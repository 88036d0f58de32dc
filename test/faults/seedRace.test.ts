import t from 'tap'
import postgres from 'postgres'
import { buildApp } from '../../src/app.js'
import { testConfig } from '../helpers/app.js'

// Two development instances started at once on a fresh PostgreSQL database: both migrate (one
// waits on the advisory lock) and both seed the example catalogue and issuers; the one that loses
// a race for a row finds it created. Before, one exited 1 on "duplicate key value violates unique
// constraint certificate_types_pkey".

const url = process.env.DATABASE_URL

t.test('two instances starting at once on a fresh database both seed', { skip: !url && 'needs DATABASE_URL (run under .ci/with-postgres)' }, async (t) => {
  const name = `zz_seed_${process.pid}_${Date.now()}`
  const admin = postgres(url!, { max: 1, onnotice: () => {} })
  await admin.unsafe(`create database ${name}`)
  t.teardown(async () => {
    await admin.unsafe(`drop database if exists ${name} with (force)`)
    await admin.end()
  })
  const fresh = new URL(url!)
  fresh.pathname = `/${name}`
  const config = await testConfig({ DATABASE_URL: fresh.toString(), SEED_EXAMPLES: 'true' })
  const started = await Promise.allSettled([buildApp(config), buildApp(config)])
  for (const s of started) if (s.status === 'fulfilled') t.teardown(() => s.value.close())
  t.same(started.map((s) => (s.status === 'rejected' ? String(s.reason) : 'started')), ['started', 'started'])

  const db = postgres(fresh.toString(), { max: 1, onnotice: () => {} })
  t.teardown(() => db.end())
  const [types] = await db`select count(*)::int as n from certificate_types`
  const [events] = await db`select count(*)::int as n from audit_events where kind = 'type.created'`
  t.ok(types!.n > 0, 'the catalogue is there')
  t.equal(events!.n, types!.n, 'each type created once')
})
