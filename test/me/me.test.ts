import t from 'tap'
import { bearer, randomCreditCode } from '../helpers/app.js'
import { HOLDER_ID, OTHER_HOLDER_ID } from '../helpers/certs.js'
import { eventFixture, minute, purpose } from '../audit/fixtures.js'

const THIRD_HOLDER = '440524188001010014'
const holderAuth = (id: string) => bearer(['holder'], { idType: '111', id, sub: `citizen-${id.slice(-4)}` })

t.test("a holder's own certificates", async (t) => {
  const f = await eventFixture(t)
  const mine = [await f.pushFor(HOLDER_ID), await f.pushFor(HOLDER_ID)]
  const theirs = await f.pushFor(OTHER_HOLDER_ID)
  await f.app.inject({ method: 'POST', url: `/v1/certificates/${mine[1]}/status`, headers: f.issuerAuth, payload: { status: 'revoked', reason: 'withdrawn' } })
  const list = async (id: string) => f.app.inject({ method: 'GET', url: '/v1/me/certificates', headers: await holderAuth(id) })

  const res = await list(HOLDER_ID)
  t.equal(res.statusCode, 200, res.body)
  const items = res.json().items as { id: string; status: string; inForce: boolean; jws: string }[]
  t.same(items.map((i) => i.id).sort(), [...mine].sort(), 'both of mine, revoked included, and nothing else')
  t.same(Object.fromEntries(items.map((i) => [i.id, [i.status, i.inForce]])), { [mine[0]!]: ['valid', true], [mine[1]!]: ['revoked', false] })
  t.ok(items.every((i) => i.jws.split('.').length === 3), 'the original JWS')
  t.same((await list(OTHER_HOLDER_ID)).json().items.map((i: { id: string }) => i.id), [theirs])
  t.same((await list(THIRD_HOLDER)).json(), { items: [] }, 'a holder without certificates sees none')

  t.test('nothing in the request can choose the holder', async (t) => {
    const res = await f.app.inject({ method: 'GET', url: `/v1/me/certificates?id=${OTHER_HOLDER_ID}`, headers: await holderAuth(HOLDER_ID) })
    t.equal(res.statusCode, 400)
    t.notMatch(res.body, OTHER_HOLDER_ID)
  })

  t.test('holders only', async (t) => {
    t.equal((await f.app.inject({ method: 'GET', url: '/v1/me/certificates' })).statusCode, 401)
    for (const role of ['reader', 'auditor', 'issuer', 'admin'] as const) {
      const res = await f.app.inject({ method: 'GET', url: '/v1/me/certificates', headers: await bearer([role]) })
      t.equal(res.statusCode, 403, role)
    }
  })
})

t.test("a holder's access log", async (t) => {
  // Its events are inserted beside the log: no other test's access may take them into the tree.
  const f = await eventFixture(t, { own: true })
  const [certA, certB] = [await f.pushFor(HOLDER_ID), await f.pushFor(OTHER_HOLDER_ID)]
  const me = f.refOf(HOLDER_ID)
  const other = f.refOf(OTHER_HOLDER_ID)
  const readerOrg = randomCreditCode()
  const unknownOrg = randomCreditCode()
  await f.nameReaderOrg(readerOrg, '某区行政审批局')
  const base = '2031-03-01T08:00:00.000Z'
  const secretSub = 'civil-servant-8731'
  const ids = await f.insertEvents([
    { kind: 'access.lookup', at: minute(base, 1), actorOrg: readerOrg, actorSub: secretSub, holderRef: me, certificateIds: [certA], details: { purpose: purpose('M-1'), outcome: 'found' } },
    { kind: 'access.lookup', at: minute(base, 2), actorOrg: readerOrg, actorSub: secretSub, holderRef: me, certificateIds: [], details: { purpose: purpose('M-2', '核验身份'), outcome: 'none' } },
    { kind: 'access.denied', at: minute(base, 3), actorOrg: unknownOrg, actorSub: secretSub, holderRef: me, details: { purpose: purpose('M-3'), outcome: 'TYPE_NOT_GRANTED' } },
    { kind: 'access.read', at: minute(base, 4), actorOrg: f.issuerCode, actorSub: secretSub, holderRef: me, certificateIds: [certA], details: { purpose: null, as: 'issuer', outcome: 'found' } },
    { kind: 'access.verify', at: minute(base, 4), actorOrg: readerOrg, actorSub: secretSub, holderRef: me, certificateIds: [certA], details: { outcome: 'found', result: 0 } },
    // Not access events, or not about me: never listed.
    { kind: 'certificate.status', at: minute(base, 5), actorOrg: f.issuerCode, holderRef: me, subject: certA, details: { from: 'valid', to: 'suspended' } },
    { kind: 'access.lookup', at: minute(base, 6), actorOrg: readerOrg, holderRef: other, certificateIds: [certB], details: { purpose: purpose('M-1'), outcome: 'found' } },
  ])
  const mine = ids.slice(0, 5)
  const log = async (id: string, query = '') => f.app.inject({ method: 'GET', url: `/v1/me/access-log${query}`, headers: await holderAuth(id) })

  t.test('every access about me, newest first, named at organisation level', async (t) => {
    const res = await log(HOLDER_ID)
    t.equal(res.statusCode, 200, res.body)
    const body = res.json()
    t.equal(body.nextCursor, undefined)
    t.same(
      body.items.map(({ log, ...rest }: { log: unknown }) => (t.equal(log, null, 'inserted beside the log: not appended yet'), rest)),
      [
        { at: '2031-03-01T08:04:00.000000Z', kind: 'access.verify', organisation: { code: readerOrg, name: '某区行政审批局' }, matterCode: null, reason: null, certificateIds: [certA], outcome: 'found' },
        { at: '2031-03-01T08:04:00.000000Z', kind: 'access.read', organisation: { code: f.issuerCode, name: '测试发证机关' }, matterCode: null, reason: null, certificateIds: [certA], outcome: 'found' },
        { at: '2031-03-01T08:03:00.000000Z', kind: 'access.denied', organisation: { code: unknownOrg, name: null }, matterCode: 'M-3', reason: '办理营业执照变更登记', certificateIds: [], outcome: 'TYPE_NOT_GRANTED' },
        { at: '2031-03-01T08:02:00.000000Z', kind: 'access.lookup', organisation: { code: readerOrg, name: '某区行政审批局' }, matterCode: 'M-2', reason: '核验身份', certificateIds: [], outcome: 'none' },
        { at: '2031-03-01T08:01:00.000000Z', kind: 'access.lookup', organisation: { code: readerOrg, name: '某区行政审批局' }, matterCode: 'M-1', reason: '办理营业执照变更登记', certificateIds: [certA], outcome: 'found' },
      ],
      'ties on time are broken by id, newest first',
    )
    t.notMatch(res.body, secretSub, "no civil servant's user id")
    t.notMatch(res.body, /clerk-|"sub"|actor/, 'no actor fields at all')
    t.notMatch(res.body, certB)
  })

  t.test('another holder sees only their own; a third sees nothing', async (t) => {
    t.same((await log(OTHER_HOLDER_ID)).json().items.map((i: { certificateIds: string[] }) => i.certificateIds), [[certB]])
    t.same((await log(THIRD_HOLDER)).json().items, [])
  })

  t.test('time range: from inclusive, to exclusive', async (t) => {
    const res = await log(HOLDER_ID, `?from=${encodeURIComponent(minute(base, 2).toISOString())}&to=2031-03-01T16:04:00%2B08:00`)
    t.equal(res.statusCode, 200, res.body)
    t.same(res.json().items.map((i: { kind: string }) => i.kind), ['access.denied', 'access.lookup'])
  })

  t.test('pages visit every entry once, in order', async (t) => {
    const seen: string[] = []
    let cursor: string | undefined
    let pages = 0
    do {
      const res = await log(HOLDER_ID, `?limit=2${cursor ? `&cursor=${cursor}` : ''}`)
      t.equal(res.statusCode, 200, res.body)
      const body = res.json()
      t.ok(body.items.length <= 2)
      seen.push(...body.items.map((i: { kind: string; at: string }) => `${i.at} ${i.kind}`))
      cursor = body.nextCursor
      pages++
    } while (cursor && pages < 10)
    t.equal(pages, 3)
    t.same(seen, (await log(HOLDER_ID)).json().items.map((i: { kind: string; at: string }) => `${i.at} ${i.kind}`))
    t.equal(mine.length, seen.length)
  })

  t.test("a cursor cannot reach another holder's data", async (t) => {
    const otherPage = (await log(OTHER_HOLDER_ID, '?limit=1')).json()
    const forged = Buffer.from(`9999-12-31T00:00:00.000000Z|${Number.MAX_SAFE_INTEGER}`).toString('base64url')
    for (const cursor of [forged, otherPage.nextCursor ?? forged]) {
      const res = await log(HOLDER_ID, `?cursor=${cursor}`)
      t.equal(res.statusCode, 200)
      t.notMatch(res.body, certB)
      t.ok(res.json().items.length > 0)
    }
    const bad = await log(HOLDER_ID, '?cursor=bm90LWEtY3Vyc29y')
    t.equal(bad.statusCode, 400)
    t.equal(bad.json().errors[0].pointer, '/querystring/cursor')
  })

  t.test('bad parameters are 400', async (t) => {
    for (const q of ['?limit=0', '?limit=201', '?limit=ten', '?from=yesterday', '?from=0000-01-01T00:00:00Z', '?to=2031-12-31T23:59:60Z', `?holder=${OTHER_HOLDER_ID}`]) {
      const res = await log(HOLDER_ID, q)
      t.equal(res.statusCode, 400, q)
      t.notMatch(res.body, OTHER_HOLDER_ID)
    }
    t.equal((await log(HOLDER_ID, '?limit=200')).statusCode, 200)
  })

  t.test('holders only', async (t) => {
    const res = await f.app.inject({ method: 'GET', url: '/v1/me/access-log', headers: await bearer(['auditor']) })
    t.equal(res.statusCode, 403)
  })
})
