import { sql } from 'drizzle-orm'
import t from 'tap'
import { rowsOf } from '../../src/db/client.js'
import { noteSignersOf } from '../../src/log/integrator.js'
import { leafOf } from '../../src/log/leaf.js'
import { hashLeaf } from '../../src/log/merkle.js'
import { createLogStore } from '../../src/log/store.js'
import { buildTestApp, testConfig } from '../helpers/app.js'
import { openOwnDatabase } from '../helpers/database.js'

// An append of pending events reads the tree, then the pending events, then writes one statement
// (src/log/store.ts appendOnce). Another process's append landing between those reads once gave
// an event a second leaf that no event holds (a gap in the tree); only four test files at once on
// one PostgreSQL showed it. Here the interleaving is forced: the service's own store plays the
// other process and appends between the two reads of a second store.

t.test("another process's append between the tree read and the pending read: each event gets one leaf, each leaf its event", async (t) => {
  // Its own database: on a shared server another test's append could place the first event.
  const database = await openOwnDatabase({ url: process.env.DATABASE_URL })
  t.teardown(() => database.close())
  const app = await buildTestApp(t, {}, { database })
  const config = await testConfig()
  const other = app.transparencyLog.store
  const pending = async (kind: string) => {
    const [row] = await rowsOf<{ id: string }>(database.db, sql`insert into audit_events (kind, actor_org, actor_sub, details) values (${kind}, 'race-test', 'test', '{}'::jsonb) returning id::text as id`)
    return Number(row!.id)
  }

  // The tree as both processes know it before the race.
  await other.appendPending()
  const first = await pending('test.first')
  let second = 0
  let turns = 0
  let placedByOther: number[] = []
  const racing = createLogStore(database.db, {
    origin: config.logOrigin,
    signers: noteSignersOf(config.serviceKeys),
    // Once, between this store's tree read and its pending read: the other process takes the first
    // event in, and a second event is written, which this store must place after it.
    betweenReads: async () => {
      if (turns++ > 0) return
      placedByOther = [...(await other.appendPending()).appended.keys()]
      second = await pending('test.second')
    },
  })
  const result = await racing.appendPending()

  t.ok(turns >= 1, 'the other append landed between the two reads')
  t.ok(placedByOther.includes(first), 'the other process placed the first event')
  t.notOk(result.appended.has(first), 'this store did not place the first event again')
  t.ok(result.appended.has(second), 'this store placed the second event')

  const { size } = await racing.latest()
  const entries = await racing.entries(0, size)
  t.equal(entries.length, size, 'every leaf of the tree has its event: no gap')
  t.same(entries.map((e) => e.leafIndex), Array.from({ length: size }, (_, i) => i), 'leaf indexes are dense')
  const mine = entries.filter((e) => e.id === first || e.id === second)
  t.equal(mine.length, 2, 'each of the two events holds exactly one leaf')
  const tree = await racing.leafHashesIn(0, size)
  t.same(entries.filter((e) => !hashLeaf(leafOf(e, e.salt)).equals(tree.get(e.leafIndex)!)).map((e) => e.leafIndex), [], 'each stored event reproduces the leaf the tree holds')
  t.ok(result.checkpoint.size >= entries.find((e) => e.id === second)!.leafIndex + 1, "the append's checkpoint covers the event it placed")
})
