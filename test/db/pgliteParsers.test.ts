import { randomUUID } from 'node:crypto'
import t from 'tap'
import { PGlite } from '@electric-sql/pglite'
import { eq, sql } from 'drizzle-orm'
import { openDatabase, pgliteOptions, rowsOf } from '../../src/db/client.js'
import { auditEvents } from '../../src/db/schema.js'
import { loadSnapshot } from '../helpers/database.js'

// drizzle reads dates and times from PGlite as text, through parsers it used to send with every
// statement, which PGlite merged into its own table each time (src/db/client.ts). Now the table
// holds them and drizzle's statements go without: values must read exactly as before, through
// drizzle (text, then drizzle's own Date) and through raw sessions (PGlite's Date), in and out
// of transactions, and on a second opening of the same PGlite.

t.test('drizzle statements reach PGlite without parsers, and every value reads as before', async (t) => {
  const pg = new PGlite({ loadDataDir: new Blob([await loadSnapshot()]), ...pgliteOptions() })
  const given: unknown[] = []
  const query = pg.query.bind(pg)
  Object.assign(pg, { query: (text: string, params?: unknown[], options?: { parsers?: unknown }) => (given.push(options?.parsers), query(text, params, options as never)) })
  const database = await openDatabase({ pglite: pg })
  t.teardown(() => database.close())
  const requestId = randomUUID()
  const at = new Date('2025-03-04T05:06:07.891Z')

  await database.db.insert(auditEvents).values({ at, kind: 'parsers.test', actorSub: 'test', requestId, details: {} })
  const [row] = await database.db.select().from(auditEvents).where(eq(auditEvents.requestId, requestId))
  t.ok(row!.at instanceof Date && row!.at.getTime() === at.getTime(), 'a timestamptz column is drizzle\'s Date, to the millisecond')
  t.same(
    await rowsOf(database.db, sql`select ${at.toISOString()}::timestamptz at time zone 'UTC' as ts, '2025-03-04'::date as d, interval '1 day 2 hours' as i, array['2025-03-04'::date] as ds, array[1.50]::numeric[] as ns`),
    [{ ts: '2025-03-04 05:06:07.891', d: '2025-03-04', i: '1 day 02:00:00', ds: '{2025-03-04}', ns: '{1.50}' }],
    'raw statements through drizzle read dates, times, intervals and their arrays as text',
  )
  const inTx = await database.db.transaction(async (tx) => rowsOf<{ d: string }>(tx, sql`select '2025-03-04'::date as d`))
  t.same(inTx, [{ d: '2025-03-04' }], 'and so inside a transaction')
  t.ok(given.length >= 3 && given.every((p) => p === undefined), `none of drizzle's ${given.length} statements carried parsers`)

  const session = await database.session()
  const [raw] = await session.query<{ at: unknown; d: unknown }>('select at, $1::date as d from audit_events where request_id = $2', ['2025-03-04', requestId])
  await session.release()
  t.ok(raw!.at instanceof Date && (raw!.at as Date).getTime() === at.getTime(), 'a raw session still reads PGlite\'s Date')
  t.ok(raw!.d instanceof Date, 'dates too')

  // The same PGlite opened again (a test database handed to the next test): still the same values.
  const again = await openDatabase({ pglite: pg })
  t.same(await rowsOf(again.db, sql`select '2025-03-04'::date as d`), [{ d: '2025-03-04' }])
  const s2 = await again.session()
  t.ok((await s2.query<{ d: unknown }>('select $1::date as d', ['2025-03-04']))[0]!.d instanceof Date, 'and its sessions keep PGlite\'s parsers')
  await s2.release()
})
