import t from 'tap'
import { and, eq, sql } from 'drizzle-orm'
import { auditEvents } from '../../src/db/schema.js'
import { bearer, randomCreditCode } from '../helpers/app.js'
import { HOLDER_ID, OTHER_HOLDER_ID } from '../helpers/certs.js'
import { eventFixture, minute, purpose, type EventFixture } from './fixtures.js'

const BASE = '2033-01-01T00:00:00.000Z'
const holder = (id = HOLDER_ID, idType = '111') => ({ idType, id })

async function setup(t: Parameters<typeof eventFixture>[0], opts: { embedded?: boolean } = {}) {
  const f = await eventFixture(t, opts)
  const org = randomCreditCode()
  const ids = await f.insertEvents([
    { kind: 'access.lookup', at: minute(BASE, 0), actorOrg: org, holderRef: f.refOf(HOLDER_ID), certificateIds: [], details: { purpose: purpose('M-1'), outcome: 'none' } },
    { kind: 'access.denied', at: minute(BASE, 1), actorOrg: org, holderRef: f.refOf(HOLDER_ID), details: { purpose: purpose('M-2'), outcome: 'TYPE_NOT_GRANTED' } },
    { kind: 'certificate.issued', at: minute(BASE, 2), actorOrg: org, holderRef: f.refOf(HOLDER_ID), subject: 'C-1' },
    { kind: 'access.lookup', at: minute(BASE, 3), actorOrg: org, holderRef: f.refOf(OTHER_HOLDER_ID), certificateIds: [], details: { purpose: purpose('M-1'), outcome: 'none' } },
  ])
  const auditorOrg = randomCreditCode()
  const auditor = await bearer(['auditor'], { org: auditorOrg, sub: 'auditor-7' })
  const search = (body: Record<string, unknown>, headers = auditor) => f.app.inject({ method: 'POST', url: '/v1/audit/events/search', headers, payload: body })
  const auditEventsBy = (orgCode: string) =>
    f.database.db.select().from(auditEvents).where(and(eq(auditEvents.kind, 'access.audit'), eq(auditEvents.actorOrg, orgCode))).orderBy(auditEvents.id)
  return { f, org, ids, auditorOrg, search, auditEventsBy }
}

const idsOf = (res: { json(): { items: { id: number }[] } }) => res.json().items.map((i) => i.id)

t.test('searching by holder', async (t) => {
  const { f, org, ids, auditorOrg, search, auditEventsBy } = await setup(t)

  t.test("only that holder's events, with the other filters", async (t) => {
    const res = await search({ holder: holder(), org })
    t.equal(res.statusCode, 200, res.body)
    t.same(idsOf(res), [ids[2], ids[1], ids[0]])
    t.ok(res.json().items.every((i: { holderRef: string }) => i.holderRef === f.refOf(HOLDER_ID)))
    t.same(idsOf(await search({ holder: holder(), org, kind: 'access.*' })), [ids[1], ids[0]])
    t.same(idsOf(await search({ holder: holder(OTHER_HOLDER_ID), org })), [ids[3]])
    t.same(idsOf(await search({ holder: holder(HOLDER_ID.toLowerCase()), org, to: minute(BASE, 1).toISOString() })), [ids[0]], 'lower-case x is the same holder')
  })

  t.test('paginates with the cursor in the body', async (t) => {
    const first = await search({ holder: holder(), org, limit: 2 })
    t.same(idsOf(first), [ids[2], ids[1]])
    const second = await search({ holder: holder(), org, limit: 2, cursor: first.json().nextCursor })
    t.same(idsOf(second), [ids[0]])
    t.equal(second.json().nextCursor, undefined)
  })

  t.test('each search is logged as access.audit, without the ID, and the holder sees it', async (t) => {
    const before = (await auditEventsBy(auditorOrg)).length
    const res = await search({ holder: holder(), org, kind: 'access.*' })
    t.equal(res.statusCode, 200)
    const logged = await auditEventsBy(auditorOrg)
    t.equal(logged.length, before + 1)
    const event = logged[logged.length - 1]!
    t.match(event, { actorSub: 'auditor-7', actorOrg: auditorOrg, holderRef: f.refOf(HOLDER_ID), requestId: res.headers['x-request-id'] })
    t.match(event.details, { filters: { org, kind: 'access.*', holderIdType: '111' }, outcome: 'found', count: 2 })
    t.notMatch(JSON.stringify(event), HOLDER_ID)
    // The seeded events lie in 2033; this search happened just now.
    const since = encodeURIComponent(new Date(Date.now() - 60_000).toISOString())
    const log = await f.app.inject({ method: 'GET', url: `/v1/me/access-log?from=${since}&to=2030-01-01T00:00:00Z`, headers: await bearer(['holder'], { idType: '111', id: HOLDER_ID }) })
    t.equal(log.statusCode, 200, log.body)
    t.match(log.json().items[0], { kind: 'access.audit', organisation: { code: auditorOrg, name: null }, outcome: 'found' })
  })

  t.test('a bad holder ID is 422, not echoed, and searches nothing', async (t) => {
    const before = (await auditEventsBy(auditorOrg)).length
    for (const h of [holder('110105194912310021'), holder('110105194902300022'), holder('91110000MA01234568', '001'), holder(HOLDER_ID, '999')]) {
      const res = await search({ holder: h })
      t.equal(res.statusCode, 422, h.id)
      t.equal(res.json().code, 'INVALID_HOLDER_ID')
      t.notMatch(res.body, h.id)
    }
    t.equal((await auditEventsBy(auditorOrg)).length, before)
  })

  t.test('the body is strict', async (t) => {
    t.equal((await search({ org })).statusCode, 400, 'holder is required: without one, use GET')
    t.equal((await search({ holder: holder(), holderRef: 'x' })).statusCode, 400)
    t.equal((await search({ holder: { ...holder(), name: '张三' } })).statusCode, 400)
    t.equal((await search({ holder: holder(), limit: 201 })).statusCode, 400)
    t.equal((await search({ holder: holder(), limit: '5' })).statusCode, 400)
  })

  t.test('auditors only; the holder filter only by POST', async (t) => {
    t.equal((await search({ holder: holder() }, await bearer(['reader']))).statusCode, 403)
    t.equal((await search({ holder: holder() }, await bearer(['holder'], { idType: '111', id: HOLDER_ID }))).statusCode, 403)
    const get = await f.app.inject({ method: 'GET', url: '/v1/audit/events/search', headers: await bearer(['auditor']) })
    t.equal(get.statusCode, 405)
  })
})

t.test('no answer when the search cannot be logged', async (t) => {
  const { f, org, search } = await setup(t, { embedded: true })
  // A private database: make access.audit rows impossible to write, as a full disk or a lost primary would.
  await f.database.db.execute(sql`create function zz_refuse_audit() returns trigger language plpgsql as $$ begin raise exception 'refused'; end $$`)
  await f.database.db.execute(sql`create trigger zz_refuse before insert on audit_events for each row when (new.kind = 'access.audit') execute function zz_refuse_audit()`)
  const res = await search({ holder: holder(), org })
  t.equal(res.statusCode, 503)
  t.equal(res.json().code, 'ACCESS_LOG_UNAVAILABLE')
  t.notOk('items' in res.json())
})
