import t, { type Test } from 'tap'
import type { Database } from '../../src/db/client.js'
import { loadMigrations, runMigrations } from '../../src/db/migrate.js'
import { openBlankDatabase, openOwnDatabase } from '../helpers/database.js'

// Rows written before migration 0003: ID numbers in free text and in actor subjects are masked
// by the migration itself (the hash key is not in the database, so masking is all it can do).
const ID = '11010519491231002X'

/** A database of its own, never migrated: PGlite in memory, or a fresh database on the PostgreSQL server. */
async function freshDatabase(t: Test): Promise<Database> {
  const url = process.env.DATABASE_URL
  // Embedded, openOwnDatabase would start from the migrated snapshot: this test needs none applied.
  const d = url ? await openOwnDatabase({ url }) : await openBlankDatabase()
  t.teardown(() => d.close())
  return d
}

t.test('migration 0003 masks what older rows hold in clear, and keeps their order', async (t) => {
  const database = await freshDatabase(t)
  const all = loadMigrations()
  const at = all.findIndex((m) => m.sql.some((s) => s.includes('client_request_id')))
  t.ok(at > 0, 'the migration is shipped')
  await runMigrations(database, all.slice(0, at))

  const s = await database.session()
  await s.query(`insert into certificate_status_history (certificate_id, actor_sub, actor_org, request_id, from_status, to_status, reason) values
    ('C-1', $1, 'ORG', 'r1', 'valid', 'suspended', $2), ('C-1', 'clerk-1', 'ORG', 'r2', 'suspended', 'valid', 'ok')`, [ID, `持证人${ID}申请`])
  // The JSON as a literal: drivers differ in how they bind a string to jsonb.
  const details = JSON.stringify({ purpose: { matterCode: 'M-1', reason: `核验 ${ID}` }, outcome: 'found', count: 42 })
  await s.query(`insert into audit_events (kind, actor_sub, actor_org, request_id, details) values
    ('access.lookup', $1, 'ORG', 'r3', '${details}'::jsonb), ('access.read', 'clerk-1', 'ORG', 'r4', '{"purpose": null, "outcome": "found"}'::jsonb)`, [ID.toLowerCase()])

  await s.release()
  const result = await runMigrations(database, all)
  const s2 = await database.session()
  t.equal(result.applied.length, all.length - at)

  const history = await s2.query<{ actor_sub: string; reason: string; client_request_id: string | null }>('select actor_sub, reason, client_request_id from certificate_status_history order by id')
  t.same(history, [
    { actor_sub: '110105********002X', reason: '持证人110105********002X申请', client_request_id: null },
    { actor_sub: 'clerk-1', reason: 'ok', client_request_id: null },
  ])
  const events = await s2.query<{ actor_sub: string; details: unknown }>('select actor_sub, details from audit_events order by id')
  t.same(events.map((e) => e.actor_sub), ['110105********002x', 'clerk-1'])
  t.match(events[0]!.details, { purpose: { matterCode: 'M-1', reason: '核验 110105********002X' }, outcome: 'found', count: 42 })
  t.same(events[1]!.details, { purpose: null, outcome: 'found' }, 'rows without a reason are untouched')

  // New rows are stamped with the clock at write time, not the transaction's start.
  await s2.query('begin')
  await s2.query(`insert into audit_events (kind) values ('x.first')`)
  await s2.query('select pg_sleep(0.02)')
  await s2.query(`insert into audit_events (kind) values ('x.second')`)
  const [gap] = await s2.query<{ ms: number }>(`select extract(epoch from max(at) - min(at)) * 1000 as ms from audit_events where kind like 'x.%'`)
  await s2.query('rollback')
  await s2.release()
  t.ok(Number(gap!.ms) >= 15, `two writes in one transaction are ${Number(gap!.ms).toFixed(1)} ms apart`)
})
