import { sql } from 'drizzle-orm'
import t, { type Test } from 'tap'
import { rowsOf } from '../../src/db/client.js'
import { leafOf } from '../../src/log/leaf.js'
import { hashLeaf } from '../../src/log/merkle.js'
import { bearer, buildTestApp, randomCreditCode, randomTypeCode } from '../helpers/app.js'
import { DATA_SCHEMA, HOLDER_ID } from '../helpers/certs.js'
import { openTestDatabase } from '../helpers/database.js'

// An access event is written and appended in one statement, from what the process remembers of
// the tree (src/log/store.ts appendNew). These tests make that memory go stale on purpose (two
// service instances on one database, each with its own), leave an event outside the tree as a
// crash would, and check that every stored event still reproduces the leaf the tree holds.

async function setup(t: Test) {
  // Both apps on one database: the suite's server, or a test PGlite from the snapshot.
  const database = await openTestDatabase({ url: process.env.DATABASE_URL })
  t.teardown(() => database.close())
  const a = await buildTestApp(t, {}, { database })
  const b = await buildTestApp(t, {}, { database, migrate: false })
  const admin = await bearer(['admin'])
  const typeCode = randomTypeCode()
  const org = randomCreditCode()
  t.equal((await a.inject({ method: 'PUT', url: `/v1/types/${typeCode}`, headers: admin, payload: { name: '测试许可证', holderIdTypes: ['111'], issuers: [randomCreditCode()], dataSchema: DATA_SCHEMA } })).statusCode, 201)
  t.equal((await b.inject({ method: 'PUT', url: `/v1/grants/${org}`, headers: admin, payload: { name: '某区行政审批局', grants: [{ typeCode }] } })).statusCode, 201)
  const reader = await bearer(['reader'], { org, sub: 'clerk-1' })
  const lookup = (app: typeof a, i: number) =>
    app.inject({ method: 'POST', url: '/v1/lookup', headers: reader, payload: { holder: { idType: '111', id: HOLDER_ID }, purpose: { matterCode: `M-${i}`, reason: '核验 第' + i + ' 次' } } })
  return { database, a, b, lookup, org }
}

t.test('two instances, each growing the tree from its own memory, keep one dense tree whose stored events reproduce its leaves', async (t) => {
  const { database, a, b, lookup, org } = await setup(t)
  const answers = []
  // Alternating in small waves: each instance's memory of the tree is stale at almost every turn.
  for (let wave = 0; wave < 6; wave++) answers.push(...(await Promise.all(Array.from({ length: 8 }, (_, i) => lookup(i % 2 === 0 ? a : b, wave * 8 + i)))))
  t.same([...new Set(answers.map((r) => r.statusCode))], [200], 'every lookup answered')
  const indexes = answers.map((r) => r.json().receipt.leafIndex as number)
  t.equal(new Set(indexes).size, answers.length, 'no two answers share a leaf')

  const store = a.transparencyLog.store
  const { size } = await store.latest()
  const entries = await store.entries(0, size)
  t.equal(entries.length, size, 'every leaf of the tree has its event, and no event is outside it')
  const tree = await store.leafHashesIn(0, size)
  const mismatched = entries.filter((e) => !hashLeaf(leafOf(e, e.salt)).equals(tree.get(e.leafIndex)!))
  t.same(mismatched.map((e) => e.leafIndex), [], 'each stored event (time, purpose, details as the database returns them) reproduces its leaf')
  const [{ pending }] = (await rowsOf<{ pending: string }>(database.db, sql`select count(*)::text as pending from audit_events where leaf_index is null and actor_org = ${org}`)) as [{ pending: string }]
  // This test's lookups: on a shared PostgreSQL server, other tests' events may be in flight.
  t.equal(pending, '0', 'nothing left outside the tree')
})

t.test('an event left outside the tree (a crash between its write and its append) is taken in by the next access', async (t) => {
  const { database, a, lookup } = await setup(t)
  t.equal((await lookup(a, 0)).statusCode, 200)
  const [orphan] = (await rowsOf<{ id: string }>(database.db, sql`insert into audit_events (kind, actor_org, actor_sub, details) values ('test.crashed', 'crashed', 'test', '{}'::jsonb) returning id::text as id`)) as [{ id: string }]
  t.equal((await lookup(a, 1)).statusCode, 200, 'an access that appends in one statement sees the waiting event')
  let placed: string | null = null
  for (let i = 0; i < 50 && placed === null; i++) {
    const [row] = await rowsOf<{ leaf_index: string | null }>(database.db, sql`select leaf_index::text as leaf_index from audit_events where id = ${orphan.id}::bigint`)
    placed = row!.leaf_index
    if (placed === null) await new Promise((r) => setTimeout(r, 100))
  }
  t.not(placed, null, 'the waiting event has its place in the tree without any change or audit call')
})
