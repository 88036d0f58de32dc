import t from 'tap'
import { bearer, randomCreditCode } from '../helpers/app.js'
import { HOLDER_ID, OTHER_HOLDER_ID, randomSerial } from '../helpers/certs.js'
import { eventFixture, minute, purpose, type EventFixture } from './fixtures.js'

interface Item {
  id: number
  at: string
  kind: string
  actor: { org: string | null; sub: string | null }
  subject: string | null
  certificateIds: string[]
  holderRef: string | null
  details: Record<string, unknown>
}

const BASE = '2032-06-01T00:00:00.000Z'

/** Seven events from one organisation over six minutes (two share an instant), and a few from another. */
async function seed(f: EventFixture) {
  const org = randomCreditCode()
  const otherOrg = randomCreditCode()
  const cert = `CERT-${randomSerial()}`
  const pair = [`CERT-${randomSerial()}`, cert]
  const me = f.refOf(HOLDER_ID)
  const ids = await f.insertEvents([
    { kind: 'access.lookup', at: minute(BASE, 0), actorOrg: org, holderRef: me, certificateIds: pair, details: { purpose: purpose('M-1'), outcome: 'found' } },
    { kind: 'access.denied', at: minute(BASE, 1), actorOrg: org, holderRef: me, details: { purpose: purpose('M-9'), outcome: 'TYPE_NOT_GRANTED' } },
    { kind: 'certificate.status', at: minute(BASE, 2), actorOrg: org, holderRef: me, subject: cert, details: { to: 'suspended' } },
    { kind: 'accessory.updated', at: minute(BASE, 3), actorOrg: org, subject: 'X' },
    { kind: 'grant_x.updated', at: minute(BASE, 4), actorOrg: org, subject: 'Y' },
    { kind: 'grantax.updated', at: minute(BASE, 5), actorOrg: org, subject: 'Z' },
    { kind: 'access.read', at: minute(BASE, 5), actorOrg: org, holderRef: f.refOf(OTHER_HOLDER_ID), certificateIds: [`CERT-${randomSerial()}`], details: { outcome: 'found' } },
    { kind: 'access.lookup', at: minute(BASE, 3), actorOrg: otherOrg, holderRef: me, certificateIds: [], details: { purpose: purpose('M-1'), outcome: 'none' } },
    { kind: 'access.verify', at: minute(BASE, 7), actorOrg: otherOrg, holderRef: me, certificateIds: [cert], details: { outcome: 'found' } },
  ])
  return { org, otherOrg, cert, ids, me }
}

t.test('auditor event queries', async (t) => {
  const f = await eventFixture(t)
  const { org, otherOrg, cert, ids } = await seed(f)
  const auditor = await bearer(['auditor'], { org: randomCreditCode(), sub: 'auditor-1' })
  const get = (query: string, headers = auditor) => f.app.inject({ method: 'GET', url: `/v1/audit/events?${query}`, headers })
  const idsOf = async (query: string) => {
    const res = await get(query)
    t.equal(res.statusCode, 200, res.body)
    return (res.json().items as Item[]).map((i) => i.id)
  }
  const newestFirst = (xs: number[]) => xs.slice().reverse()
  const ofOrg = ids.slice(0, 7)

  t.test('by organisation, newest first, ties broken by id', async (t) => {
    t.same(await idsOf(`org=${org}`), [ids[6], ids[5], ids[4], ids[3], ids[2], ids[1], ids[0]])
    t.same(await idsOf(`org=${otherOrg}`), [ids[8], ids[7]])
    const [first] = (await get(`org=${org}&limit=1`)).json().items as Item[]
    t.match(first, { kind: 'access.read', actor: { org, sub: 'clerk-0042' }, details: { outcome: 'found' } })
    t.match(first!.at, /^2032-06-01T00:05:00\.000000Z$/)
  })

  t.test('by time range: from inclusive, to exclusive', async (t) => {
    t.same(await idsOf(`org=${org}&from=${minute(BASE, 1).toISOString()}&to=${minute(BASE, 4).toISOString()}`), [ids[3], ids[2], ids[1]])
    t.same(await idsOf(`org=${org}&from=2032-06-01T08:05:00%2B08:00`), [ids[6], ids[5]], 'any offset')
    t.same(await idsOf(`org=${org}&to=${minute(BASE, 1).toISOString()}`), [ids[0]])
  })

  t.test('by kind: exact, or a prefix ending in .*', async (t) => {
    t.same(await idsOf(`org=${org}&kind=access.lookup`), [ids[0]])
    t.same(await idsOf(`org=${org}&kind=access.*`), [ids[6], ids[1], ids[0]], 'not accessory.*')
    t.same(await idsOf(`org=${org}&kind=grant_x.*`), [ids[4]], 'an underscore is literal, not a LIKE wildcard')
    t.same(await idsOf(`org=${org}&kind=access`), [], 'no implicit prefix')
    for (const bad of ['access%25', '*', 'access.%2A.x', 'ACCESS.*']) t.equal((await get(`kind=${bad}`)).statusCode, 400, bad)
  })

  t.test('by certificate: as subject or among the certificates an access returned', async (t) => {
    t.same(await idsOf(`certificateId=${cert}`), [ids[8], ids[2], ids[0]])
    t.same(await idsOf(`certificateId=${cert}&org=${org}&kind=access.*`), [ids[0]], 'filters combine')
  })

  t.test('pages visit every event exactly once', async (t) => {
    for (const limit of [1, 2, 3, 7, 200]) {
      const seen: number[] = []
      let cursor: string | undefined
      let pages = 0
      do {
        const res = await get(`org=${org}&limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`)
        t.equal(res.statusCode, 200, res.body)
        seen.push(...(res.json().items as Item[]).map((i) => i.id))
        cursor = res.json().nextCursor
        pages++
      } while (cursor && pages < 20)
      t.same(seen, newestFirst(ofOrg), `limit ${limit}`)
      t.equal(pages, Math.max(1, Math.ceil(ofOrg.length / limit)), `limit ${limit}: no empty trailing page`)
    }
    const bad = await get(`org=${org}&cursor=${Buffer.from('2032-02-31T00:00:00.000000Z|5').toString('base64url')}`)
    t.equal(bad.statusCode, 400)
    t.equal(bad.json().code, 'VALIDATION_FAILED')
    for (const q of ['limit=0', 'limit=201', 'limit=1.5', 'from=2032-06-01']) t.equal((await get(q)).statusCode, 400, q)
  })

  t.test('no holder in a URL: unknown query parameters are 400 and not echoed', async (t) => {
    for (const q of [`holder=${HOLDER_ID}`, `id=${HOLDER_ID}`, `idType=111&id=${HOLDER_ID}`, `holderRef=${f.refOf(HOLDER_ID)}`]) {
      const res = await get(q)
      t.equal(res.statusCode, 400, q)
      t.equal(res.json().code, 'VALIDATION_FAILED')
      t.notMatch(res.body, HOLDER_ID)
    }
  })

  t.test('auditors only', async (t) => {
    t.equal((await f.app.inject({ method: 'GET', url: '/v1/audit/events' })).statusCode, 401)
    for (const role of ['reader', 'issuer', 'admin'] as const) t.equal((await get('', await bearer([role]))).statusCode, 403, role)
    t.equal((await get('', await bearer(['holder'], { idType: '111', id: HOLDER_ID }))).statusCode, 403, 'holder')
  })
})
