import { createHash } from 'node:crypto'
import t from 'tap'
import { sql } from 'drizzle-orm'
import { serviceJwks } from '../../src/crypto/serviceKeys.js'
import { verifyReceipt } from '../../src/verify/receipt.js'
import { bearer, randomCreditCode, randomTypeCode, testConfig } from '../helpers/app.js'
import { issuanceFixture, HOLDER_ID, HOLDER_NAME, OTHER_HOLDER_ID, DATA_SCHEMA, type IssuanceFixture } from '../helpers/certs.js'

const THIRD_HOLDER = '440524188001010014'

/** Pushes, checks 201, returns the identifier. */
async function pushed(f: IssuanceFixture, payload: ReturnType<IssuanceFixture['payload']>): Promise<string> {
  const res = await f.app.inject({ method: 'POST', url: '/v1/certificates', headers: f.issuerAuth, payload: { certificate: await f.sign(payload) } })
  if (res.statusCode !== 201) throw new Error(res.body)
  return payload.id
}

async function setup(t: Parameters<typeof issuanceFixture>[0], opts: { embedded?: boolean } = {}) {
  const f = await issuanceFixture(t, {}, opts)
  // A second type from the same issuer, granted to the reader for one matter only.
  const type2 = randomTypeCode()
  await f.app.inject({ method: 'PUT', url: `/v1/types/${type2}`, headers: f.adminAuth, payload: { name: '第二类证照', holderIdTypes: ['111'], issuers: [f.issuerCode], dataSchema: DATA_SCHEMA } })
  await f.app.inject({ method: 'PUT', url: `/v1/issuers/${f.issuerCode}`, headers: f.adminAuth, payload: { name: '测试发证机关', typeCodes: [f.typeCode, type2], certificates: [] } })
  const readerOrg = randomCreditCode()
  const grant = await f.app.inject({
    method: 'PUT',
    url: `/v1/grants/${readerOrg}`,
    headers: f.adminAuth,
    payload: { name: '某区行政审批局', grants: [{ typeCode: f.typeCode }, { typeCode: type2, matterCodes: ['M-2'] }] },
  })
  if (grant.statusCode !== 201) throw new Error(grant.body)
  const ids = {
    valid: await pushed(f, f.payload()),
    revoked: await pushed(f, f.payload()),
    future: await pushed(f, { ...f.payload(), validFrom: '2999-01-01', validUntil: '2999-12-31' }),
    type2: await pushed(f, f.payload({ typeCode: type2 })),
    other: await pushed(f, f.payload({ holderId: OTHER_HOLDER_ID })),
  }
  await f.app.inject({ method: 'POST', url: `/v1/certificates/${ids.revoked}/status`, headers: f.issuerAuth, payload: { status: 'revoked', reason: 'withdrawn' } })
  const readerAuth = await bearer(['reader'], { org: readerOrg, sub: 'clerk-7' })
  const lookup = (body: Record<string, unknown>, headers = readerAuth) => f.app.inject({ method: 'POST', url: '/v1/lookup', headers, payload: body })
  return { f, type2, readerOrg, readerAuth, ids, lookup }
}

const purpose = (matterCode = 'M-1') => ({ matterCode, reason: '办理营业执照变更登记' })
const holder = (id = HOLDER_ID) => ({ idType: '111', id })

t.test('lookup by ID number', async (t) => {
  const { f, type2, readerOrg, ids, lookup, readerAuth } = await setup(t)
  const itemIds = (res: { json(): { items: { id: string }[] } }) => res.json().items.map((i) => i.id).sort()

  t.test('only certificates in force, of granted types, of this holder', async (t) => {
    const res = await lookup({ holder: holder(), purpose: purpose() })
    t.equal(res.statusCode, 200, res.body)
    t.same(itemIds(res), [ids.valid])
    const item = res.json().items[0]
    t.match(item, { status: 'valid', inForce: true, typeCode: f.typeCode })
    t.equal(createHash('sha256').update(item.jws).digest('hex'), item.jwsSha256, 'the original JWS, as signed')
  })

  t.test('include: all shows every status; a matter-limited grant counts only for its matter', async (t) => {
    t.same(itemIds(await lookup({ holder: holder(), purpose: purpose(), include: 'all' })), [ids.valid, ids.revoked, ids.future].sort())
    t.same(itemIds(await lookup({ holder: holder(), purpose: purpose('M-2') })), [ids.valid, ids.type2].sort())
    t.same(itemIds(await lookup({ holder: holder(), purpose: purpose('M-2'), typeCodes: [type2] })), [ids.type2])
  })

  t.test('asking for a type not granted is 403 and is logged', async (t) => {
    const res = await lookup({ holder: holder(), purpose: purpose('M-1'), typeCodes: [type2] })
    t.equal(res.statusCode, 403)
    t.equal(res.json().code, 'TYPE_NOT_GRANTED')
    t.notMatch(res.body, HOLDER_ID)
    const denied = await f.database.db.execute(sql`select details from audit_events where kind = 'access.denied' and request_id = ${res.headers['x-request-id'] as string}`)
    const rows = (Array.isArray(denied) ? denied : (denied as { rows: unknown[] }).rows) as { details: { typeCodes: string[] } }[]
    t.equal(rows.length, 1)
    t.same(rows[0]!.details.typeCodes, [type2])
    const unknown = await lookup({ holder: holder(), purpose: purpose(), typeCodes: [randomTypeCode()] })
    t.equal(unknown.statusCode, 403, 'an unknown type is not granted either')
  })

  t.test('a holder with nothing is an empty answer, logged too', async (t) => {
    const res = await lookup({ holder: holder(THIRD_HOLDER), purpose: purpose() })
    t.equal(res.statusCode, 200)
    t.same(res.json().items, [])
    const logged = await f.database.db.execute(sql`select details->>'outcome' as outcome, holder_ref from audit_events where request_id = ${res.headers['x-request-id'] as string}`)
    const rows = (Array.isArray(logged) ? logged : (logged as { rows: unknown[] }).rows) as { outcome: string; holder_ref: string }[]
    t.equal(rows[0]?.outcome, 'none')
    t.ok(rows[0]?.holder_ref && !rows[0].holder_ref.includes('4405'), 'a blind index, not the ID')
  })

  t.test('bad input', async (t) => {
    const bad = await lookup({ holder: holder('110105194912310021'), purpose: purpose() })
    t.equal(bad.statusCode, 422)
    t.equal(bad.json().code, 'INVALID_HOLDER_ID')
    t.notMatch(bad.body, '110105194912310021')
    t.equal((await lookup({ holder: holder() })).statusCode, 400, 'the purpose is required')
    t.equal((await lookup({ holder: holder(), purpose: { matterCode: 'M-1', reason: '' } })).statusCode, 400)
    t.equal((await lookup({ holder: holder(), purpose: purpose() }, f.issuerAuth)).statusCode, 403, 'readers only')
  })

  t.test('the receipt proves the lookup is in the log and names no ID number', async (t) => {
    const res = await lookup({ holder: holder(), purpose: purpose() })
    const { receipt, items } = res.json()
    const jwks = serviceJwks((await testConfig()).serviceKeys)
    const verified = await verifyReceipt(res.body, jwks)
    if (verified.form !== 'proof') throw new Error('not a log proof')
    t.match(verified.leaf, { kind: 'access.lookup', org: readerOrg })
    t.match(verified.event, { sub: 'clerk-7', request: res.headers['x-request-id'], details: { purpose: purpose(), outcome: 'found' } })
    t.same((verified.event.details as { returned: unknown }).returned, items.map((i: { id: string; jwsSha256: string }) => ({ id: i.id, sha256: i.jwsSha256 })))
    t.type(verified.leaf.holder, 'string', 'the holder as a salted commitment')
    t.notMatch(JSON.stringify(receipt), HOLDER_ID)
    t.notMatch(JSON.stringify(receipt), /holderRef/, 'not even the blind index')
    const altered = { ...receipt, event: { ...receipt.event, details: { ...receipt.event.details, outcome: 'none' } } }
    await t.rejects(verifyReceipt(JSON.stringify({ receipt: altered }), jwks), { code: 'OPENING_MISMATCH' }, 'an altered receipt does not verify')
  })

  t.test('read by id: issuer, holder, granted reader; others see nothing', async (t) => {
    const read = (id: string, headers: Record<string, string>) => f.app.inject({ method: 'GET', url: `/v1/certificates/${id}`, headers })
    const asIssuer = await read(ids.revoked, f.issuerAuth)
    t.equal(asIssuer.statusCode, 200)
    t.equal(asIssuer.json().history[0].to, 'revoked')
    t.equal((await read(ids.valid, await bearer(['issuer'], { org: randomCreditCode() }))).statusCode, 404)
    t.equal((await read(ids.valid, await bearer(['holder'], { idType: '111', id: HOLDER_ID }))).statusCode, 200)
    t.equal((await read(ids.other, await bearer(['holder'], { idType: '111', id: HOLDER_ID }))).statusCode, 404, 'a holder sees only their own')
    const withPurpose = { ...readerAuth, 'x-purpose-matter-code': 'M-1', 'x-purpose-reason': encodeURIComponent('核验婚姻状况') }
    t.equal((await read(ids.valid, withPurpose)).statusCode, 200)
    const noPurpose = await read(ids.valid, readerAuth)
    t.equal(noPurpose.statusCode, 400)
    t.equal(noPurpose.json().code, 'PURPOSE_REQUIRED')
    const notGranted = await read(ids.type2, withPurpose)
    t.equal(notGranted.statusCode, 403, 'a type not granted for this matter, by id too')
    const logged = await f.database.db.execute(sql`select kind from audit_events where request_id = ${notGranted.headers['x-request-id'] as string}`)
    t.same(((Array.isArray(logged) ? logged : (logged as { rows: unknown[] }).rows) as { kind: string }[]).map((r) => r.kind), ['access.denied'])
    t.equal((await read('1.2.156.3005.2.nothing', withPurpose)).statusCode, 404)
  })

  t.test('no access event carries an ID number or a name', async (t) => {
    const dump = await f.database.db.execute(sql`select e::text as row from audit_events e where kind like 'access.%'`)
    const text = ((Array.isArray(dump) ? dump : (dump as { rows: unknown[] }).rows) as { row: string }[]).map((r) => r.row).join('\n')
    t.ok(text.length > 0)
    for (const secret of [HOLDER_ID, OTHER_HOLDER_ID, THIRD_HOLDER, HOLDER_NAME]) t.notOk(text.includes(secret))
  })
})

t.test('a failed log write yields 503 and no data', async (t) => {
  const { f, lookup, ids, readerAuth } = await setup(t, { embedded: true })
  // Make the database refuse access events, as a full disk or a lost connection would.
  await f.database.db.execute(sql`alter table audit_events add constraint refuse_access check (kind not like 'access.%')`)
  const res = await lookup({ holder: holder(), purpose: purpose() })
  t.equal(res.statusCode, 503)
  t.equal(res.json().code, 'ACCESS_LOG_UNAVAILABLE')
  t.notMatch(res.body, ids.valid, 'no certificate in the answer')
  t.notMatch(res.body, /eyJ/, 'no JWS in the answer')
  const read = await f.app.inject({ method: 'GET', url: `/v1/certificates/${ids.valid}`, headers: { ...readerAuth, 'x-purpose-matter-code': 'M-1', 'x-purpose-reason': 'x' } })
  t.equal(read.statusCode, 503)
  t.notMatch(read.body, /eyJ/)
})
