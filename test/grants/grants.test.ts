import t from 'tap'
import { sql } from 'drizzle-orm'
import { bearer, randomCreditCode, randomTypeCode } from '../helpers/app.js'
import { issuanceFixture } from '../helpers/certs.js'

t.test('grants of reader organisations', async (t) => {
  const f = await issuanceFixture(t)
  const org = randomCreditCode()
  const put = (body: Record<string, unknown>, headers = f.adminAuth, code = org) => f.app.inject({ method: 'PUT', url: `/v1/grants/${code}`, headers, payload: body })
  const get = (code = org) => f.app.inject({ method: 'GET', url: `/v1/grants/${code}`, headers: f.adminAuth })

  t.equal((await get()).statusCode, 404, 'nothing configured yet')
  const created = await put({ name: '某区行政审批局', grants: [{ typeCode: f.typeCode, matterCodes: ['330100-001', 'M2'] }] })
  t.equal(created.statusCode, 201)
  t.same(created.json().grants, [{ typeCode: f.typeCode, matterCodes: ['330100-001', 'M2'] }])
  const replaced = await put({ name: '某区行政审批局（新）', grants: [{ typeCode: f.typeCode }] })
  t.equal(replaced.statusCode, 200)
  t.same((await get()).json(), { ...replaced.json() })
  t.same(replaced.json().grants, [{ typeCode: f.typeCode }], 'replaced, not merged; no matter codes: any matter')

  const bad = await put({ name: 'x', grants: [{ typeCode: randomTypeCode() }, { typeCode: f.typeCode }, { typeCode: f.typeCode }] })
  t.equal(bad.statusCode, 422)
  t.same(bad.json().errors.map((e: { pointer: string; code: string }) => `${e.code} ${e.pointer}`), ['UNKNOWN_TYPE /body/grants/0/typeCode', 'DUPLICATE_TYPE /body/grants/2/typeCode'])
  t.same((await get()).json().grants, [{ typeCode: f.typeCode }], 'a rejected change changes nothing')

  t.equal((await put({ name: 'x', grants: [] }, await bearer(['reader'], { org }))).statusCode, 403)
  t.equal((await put({ name: 'x', grants: [] }, f.adminAuth, '91110000MA01234568')).json().code, 'INVALID_ORG_CODE')
  t.equal((await put({ name: 'x', grants: [{ typeCode: f.typeCode, matterCodes: ['has space'] }] })).statusCode, 400)

  const events = await f.database.db.execute(sql`select kind from audit_events where subject = ${org}`)
  t.equal(((Array.isArray(events) ? events : (events as { rows: unknown[] }).rows) as unknown[]).length, 2, 'one audit event per accepted change')
})
