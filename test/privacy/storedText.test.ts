import t from 'tap'
import { sql } from 'drizzle-orm'
import { rowsOf } from '../../src/db/client.js'
import { bearer, randomCreditCode, randomTypeCode } from '../helpers/app.js'
import { issuanceFixture, HOLDER_ID, OTHER_HOLDER_ID } from '../helpers/certs.js'

// Personal data typed or carried into the service by its callers, and where it must not end up
// in clear: a holder's token subject (often the ID number itself) and ID numbers typed into free
// text (a purpose reason, a status reason, a revocation comment, an organisation's name).
const THIRD = '440524188001010014'
const SECRETS = [HOLDER_ID, HOLDER_ID.toLowerCase(), OTHER_HOLDER_ID, THIRD]
const TABLES = ['certificates', 'certificate_status_history', 'audit_events', 'issuers', 'issuer_keys', 'certificate_types', 'grants', 'reader_orgs']

t.test('no ID number in clear in any table, nor in a receipt', async (t) => {
  const f = await issuanceFixture(t)
  const db = f.database.db
  const push = async () => {
    const p = f.payload()
    const res = await f.app.inject({ method: 'POST', url: '/v1/certificates', headers: f.issuerAuth, payload: { certificate: await f.sign(p) } })
    if (res.statusCode !== 201) throw new Error(res.body)
    return p.id
  }
  const [mine, other] = [await push(), await push()]
  // A holder whose identity provider uses the ID number as the subject.
  const holder = await bearer(['holder'], { idType: '111', id: HOLDER_ID, sub: HOLDER_ID })
  const holderLower = await bearer(['holder'], { idType: '111', id: HOLDER_ID, sub: HOLDER_ID.toLowerCase() })
  // A civil servant whose subject happens to be their own ID number is personal too.
  const readerOrg = randomCreditCode()
  const reader = await bearer(['reader'], { org: readerOrg, sub: `staff:${THIRD}` })
  const clerk = await bearer(['reader'], { org: readerOrg, sub: 'clerk-7' })

  const grant = await f.app.inject({ method: 'PUT', url: `/v1/grants/${readerOrg}`, headers: f.adminAuth, payload: { name: `审批局 ${THIRD}`, grants: [{ typeCode: f.typeCode }] } })
  t.equal(grant.statusCode, 201, grant.body)

  const typeCode = randomTypeCode()
  const type = await f.app.inject({ method: 'PUT', url: `/v1/types/${typeCode}`, headers: f.adminAuth, payload: { name: `证照 ${OTHER_HOLDER_ID}`, description: `示例 ${HOLDER_ID}`, holderIdTypes: ['111'], dataSchema: { type: 'object' }, issuers: [] } })
  t.equal(type.statusCode, 201, type.body)
  t.match(type.json(), { name: '证照 110101********0010', description: '示例 110105********002X' }, 'a type\'s name and description are stored masked')

  const receipts: { event: unknown }[] = []
  const read = await f.app.inject({ method: 'GET', url: `/v1/certificates/${mine}`, headers: { ...holder, 'x-request-id': HOLDER_ID } })
  t.equal(read.statusCode, 200, read.body)
  receipts.push(read.json().receipt)
  t.equal((await f.app.inject({ method: 'GET', url: `/v1/certificates/${mine}`, headers: holderLower })).statusCode, 200)
  t.equal((await f.app.inject({ method: 'GET', url: '/v1/me/certificates', headers: holder })).statusCode, 200)
  const verified = await f.app.inject({ method: 'POST', url: '/v1/verify', headers: holder, payload: { id: mine } })
  t.equal(verified.statusCode, 200, verified.body)
  receipts.push(verified.json().receipt)

  const reason = `核验 ${HOLDER_ID} 与 ${OTHER_HOLDER_ID.slice(0, 17)}x 的材料`
  const lookup = await f.app.inject({ method: 'POST', url: '/v1/lookup', headers: reader, payload: { holder: { idType: '111', id: HOLDER_ID }, purpose: { matterCode: 'M-1', reason } } })
  t.equal(lookup.statusCode, 200, lookup.body)
  receipts.push(lookup.json().receipt)
  const readAsReader = await f.app.inject({
    method: 'GET',
    url: `/v1/certificates/${other}`,
    headers: { ...clerk, 'x-purpose-matter-code': 'M-1', 'x-purpose-reason': encodeURIComponent(`申请人 ${THIRD}`) },
  })
  t.equal(readAsReader.statusCode, 200, readAsReader.body)

  const status = await f.app.inject({ method: 'POST', url: `/v1/certificates/${mine}/status`, headers: f.issuerAuth, payload: { status: 'suspended', reason: `持证人 ${HOLDER_ID} 申请暂停` } })
  t.equal(status.statusCode, 200, status.body)
  t.equal(status.json().history.at(-1).reason, '持证人 110105********002X 申请暂停', 'the reason is stored and served masked')
  const revoke = await f.app.inject({ method: 'POST', url: `/v1/issuers/${f.issuerCode}/keys/${f.key.kid}/revoke`, headers: f.adminAuth, payload: { reason: 'retired', comment: `经办人 ${THIRD}` } })
  t.equal(revoke.statusCode, 200, revoke.body)

  t.test('the receipts carry a keyed hash for a personal subject', async (t) => {
    const [readReceipt, verifyReceipt, lookupReceipt] = receipts.map((r) => r.event as { sub: string; details: { purpose?: { reason: string } } })
    t.match(readReceipt!.sub, /^h:[A-Za-z0-9_-]{43}$/)
    t.equal(verifyReceipt!.sub, readReceipt!.sub, 'the same holder, the same hash')
    t.match(lookupReceipt!.sub, /^h:[A-Za-z0-9_-]{43}$/)
    t.not(lookupReceipt!.sub, readReceipt!.sub)
    t.equal(lookupReceipt!.details.purpose!.reason, '核验 110105********002X 与 110101********001X 的材料', 'the recorded reason is the stored one')
    for (const r of receipts) for (const s of SECRETS) t.notOk(JSON.stringify(r).includes(s))
  })

  t.test('the events keep who acted, as a hash, and the staff member in clear', async (t) => {
    const rows = await rowsOf<{ kind: string; actor_sub: string | null; request_id: string; client_request_id: string | null }>(
      db,
      sql`select kind, actor_sub, request_id, client_request_id from audit_events where actor_org = ${readerOrg} or kind like 'access.%' order by id`,
    )
    const subs = new Set(rows.map((r) => r.actor_sub))
    t.ok(subs.has('clerk-7'), 'an ordinary subject is kept readable for auditors')
    t.ok([...subs].filter((s) => s?.startsWith('h:')).length >= 2, 'holder and ID-shaped subjects hashed')
    t.notOk(rows.some((r) => r.client_request_id === HOLDER_ID), 'an ID number sent as x-request-id is not kept')
  })

  t.test('a dump of every table', async (t) => {
    let dump = ''
    for (const table of TABLES) {
      const rows = await rowsOf<{ row: string }>(db, sql.raw(`select t::text as row from ${table} t`))
      dump += rows.map((r) => `${table}: ${r.row}`).join('\n') + '\n'
    }
    t.match(dump, '110105********002X', 'masked forms are there')
    t.match(dump, '440524********0014')
    for (const s of SECRETS) {
      // Name the table and the row's start, never the number itself, when one is found.
      const where = dump.split('\n').filter((line) => line.includes(s)).map((line) => line.replaceAll(s, '<ID>').slice(0, 200))
      t.same(where, [], `no ${s.slice(0, 6)}… in the dump`)
    }
  })
})
