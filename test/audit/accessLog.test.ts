import t from 'tap'
import type { SQL } from 'drizzle-orm'
import { PgDialect } from 'drizzle-orm/pg-core'
import { createAccessLog, type AccessEvent } from '../../src/audit/accessLog.js'
import type { Db } from '../../src/db/client.js'
import type { TransparencyLog } from '../../src/log/integrator.js'

// The Merkle log stands aside here: these tests are about the grouping of inserts.
let appends = 0
const tlog = { integrate: async () => ({ checkpoint: { size: ++appends, root: Buffer.alloc(32), note: '' }, appended: new Map() }) } as unknown as TransparencyLog

/** A stand-in for the database: records each statement's rows (its JSON parameter), fails rows marked 'bad'. */
function fakeDb() {
  const statements: { kind: string }[][] = []
  const dialect = new PgDialect()
  const db = {
    execute: async (query: SQL) => {
      const { params } = dialect.sqlToQuery(query)
      const rows = JSON.parse(params[0] as string) as { kind: string; requestId: string }[]
      await new Promise((r) => setTimeout(r, 5))
      if (rows.some((r) => r.requestId === 'bad')) throw new Error('constraint violated')
      statements.push(rows)
      return rows.map(() => ({ id: ++nextId }))
    },
  }
  let nextId = 0
  return { db: db as unknown as Db, statements }
}

const event = (requestId: string): AccessEvent => ({ kind: 'access.lookup', actorSub: 's', actorOrg: 'o', requestId, details: {} })

t.test('events recorded together are committed together, each caller after its own row', async (t) => {
  const { db, statements } = fakeDb()
  const log = createAccessLog(db, tlog)
  await Promise.all(Array.from({ length: 50 }, (_, i) => log.record(event(`r${i}`))))
  t.equal(statements.flat().length, 50, 'every event written')
  t.ok(statements.length <= 3, `grouped into ${statements.length} statements`)
  t.equal(statements[0]!.length, 1, 'the first goes at once: no added latency when idle')
})

t.test('a bad row fails alone; its neighbours are retried and committed', async (t) => {
  const { db, statements } = fakeDb()
  const log = createAccessLog(db, tlog)
  const first = log.record(event('first'))
  const results = await Promise.allSettled([first, log.record(event('a')), log.record(event('bad')), log.record(event('b'))])
  t.same(results.map((r) => r.status), ['fulfilled', 'fulfilled', 'rejected', 'fulfilled'])
  t.equal((results[2] as PromiseRejectedResult).reason.code, 'ACCESS_LOG_UNAVAILABLE')
  t.same(statements.flat().map((r) => (r as unknown as { requestId: string }).requestId).sort(), ['a', 'b', 'first'])
})
