import t from 'tap'
import { formatCertId } from '../../src/ids/index.js'
import { buildStatusList, listedStatusCheck, readStatusList, type StatusRow } from '../../src/trust/statusList.js'

// The status list's compact form, without the service: grouped by status and identifier head,
// read back exactly, refused when its arrays disagree, and small enough for 100,000 entries.

const TYPE = '11100000000013338W032'
const ISSUER = '11330105002500287C'
const OTHER_ISSUER = '91370406L24894136J'
const id = (serial: string, issuerCode = ISSUER, version = 1) => formatCertId({ typeCode: TYPE, issuerCode, serial, version })
const SM3 = 'ab'.repeat(32)

t.test('rows round-trip through the compact form', async (t) => {
  const rows: StatusRow[] = [
    { id: id('2025000001'), status: 'revoked', since: new Date('2026-01-02T03:04:05.678Z') },
    { id: id('2025000002'), status: 'revoked', since: new Date('2026-01-03T00:00:00Z'), sm3: SM3 },
    { id: id('2025000003', OTHER_ISSUER), status: 'revoked', since: new Date('2026-01-04T00:00:00Z') },
    { id: id('2025000004'), status: 'suspended', since: new Date('2026-01-05T00:00:00Z'), sm3: null },
    { id: id('2025000005'), status: 'superseded', since: new Date('2026-01-06T00:00:00Z') },
  ]
  const list = buildStatusList(rows)
  t.equal(list.revoked.length, 2, 'one group per identifier head')
  t.same(list.revoked[0], { head: `1.2.156.3005.2.${TYPE}.${ISSUER}.`, ids: [id('2025000001').split('.').slice(-3).join('.'), id('2025000002').split('.').slice(-3).join('.')], since: [1767323045, 1767398400], sm3: ['', SM3] })
  t.notOk('sm3' in list.revoked[1]!, 'no sm3 array in a group without files')
  t.same(list.suspended.map((g) => g.ids.length), [1])
  t.same(list.superseded.map((g) => g.ids.length), [1])

  const asOf = new Date('2026-02-01T00:00:00Z')
  const index = readStatusList(list, asOf)
  t.equal(index.size, 5)
  t.same(index.byId(id('2025000001')), { id: id('2025000001'), status: 'revoked', since: new Date('2026-01-02T03:04:05Z') }, 'since to the second')
  t.same(index.byId(id('2025000003', OTHER_ISSUER))?.status, 'revoked')
  t.same(index.byId(id('2025000004'))?.status, 'suspended')
  t.same(index.byId(id('2025000005'))?.status, 'superseded')
  t.equal(index.byId(id('2025000009')), undefined, 'a certificate not listed')
  t.equal(index.bySm3(SM3)?.id, id('2025000002'), 'a file found by its SM3')
  t.equal(index.bySm3(''), undefined)

  t.match(listedStatusCheck(index.byId(id('2025000001')), asOf), { outcome: 'fail', reason: 'REVOKED', detail: /revoked since 2026-01-02T03:04:05.000Z, as of 2026-02-01T00:00:00.000Z/ })
  t.match(listedStatusCheck(index.byId(id('2025000004')), asOf), { outcome: 'fail', reason: 'SUSPENDED' })
  t.match(listedStatusCheck(index.byId(id('2025000005')), asOf), { outcome: 'fail', reason: 'SUPERSEDED' })
  t.match(listedStatusCheck(undefined, asOf), { outcome: 'pass', detail: /not listed .* as of 2026-02-01T00:00:00.000Z/ })
})

t.test('a list whose arrays disagree is refused, not half-read', async (t) => {
  const list = buildStatusList([{ id: id('2025000001'), status: 'revoked', since: new Date(), sm3: SM3 }])
  t.throws(() => readStatusList({ ...list, revoked: [{ ...list.revoked[0]!, since: [] }] }, new Date()), /1 identifiers but 0 times/)
  t.throws(() => readStatusList({ ...list, revoked: [{ ...list.revoked[0]!, sm3: [] }] }, new Date()), /0 digests/)
})

t.test('an identifier listed twice keeps the final status', async (t) => {
  const twice = buildStatusList([
    { id: id('2025000001'), status: 'superseded', since: new Date(0) },
    { id: id('2025000001'), status: 'revoked', since: new Date(1000) },
  ])
  t.equal(readStatusList(twice, new Date()).byId(id('2025000001'))?.status, 'revoked')
})

t.test('100,000 entries stay small: about 30 bytes each without files', async (t) => {
  const issuers = [ISSUER, OTHER_ISSUER, '9144030071526726XG', '11100000000013338W']
  const statuses = ['revoked', 'suspended', 'superseded'] as const
  const now = Date.now()
  const rows = Array.from({ length: 100_000 }, (_, i): StatusRow => ({ id: id(`2025${String(i).padStart(6, '0')}`, issuers[i % 4]), status: statuses[i % 3]!, since: new Date(now - i * 60_000) }))
  const bytes = JSON.stringify(buildStatusList(rows)).length
  t.comment(`100,000 entries: ${(bytes / 1e6).toFixed(2)} MB of JSON`)
  t.ok(bytes < 3.5e6, `${bytes} bytes, under 3.5 MB`)
  t.equal(readStatusList(buildStatusList(rows), new Date()).size, 100_000)
})
