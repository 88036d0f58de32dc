// One reproduction per class of issue 14 that the boundary closes: NUL and lone surrogates,
// dates PostgreSQL cannot hold, a deep data schema, batch isolation, and the existence oracle.
import t from 'tap'
import { sql } from 'drizzle-orm'
import { createHash, randomBytes } from 'node:crypto'
import { createCertificateRepository } from '../../src/certificates/repository.js'
import { rowsOf } from '../../src/db/client.js'
import type { CheckedCertificate } from '../../src/certificates/checks.js'
import { encodeCursor } from '../../src/audit/cursor.js'
import { parseCertId, formatCertId } from '../../src/ids/index.js'
import { bearer, randomCreditCode, testConfig } from '../helpers/app.js'
import { HOLDER_ID, issuanceFixture, type IssuanceFixture } from '../helpers/certs.js'

/** Audit events written for these requests (their service-given x-request-id): other tests share a PostgreSQL server. */
async function eventsFor(f: IssuanceFixture, requestIds: string[]): Promise<number> {
  const ids = sql.join(requestIds.map((id) => sql`${id}`), sql`, `)
  return Number((await rowsOf<{ n: number }>(f.database.db, sql`select count(*)::int as n from audit_events where request_id in (${ids})`))[0]!.n)
}

/** This fixture's certificates (its issuer is its own): other tests share a PostgreSQL server. */
async function certificatesOf(f: IssuanceFixture): Promise<number> {
  return Number((await rowsOf<{ n: number }>(f.database.db, sql`select count(*)::int as n from certificates where issuer_code = ${f.issuerCode}`))[0]!.n)
}

async function pushed(f: IssuanceFixture, payload = f.payload()): Promise<string> {
  const res = await f.app.inject({ method: 'POST', url: '/v1/certificates', headers: f.issuerAuth, payload: { certificate: await f.sign(payload) } })
  if (res.statusCode !== 201) throw new Error(res.body)
  return payload.id
}

t.test('hostile input, class by class', async (t) => {
  const f = await issuanceFixture(t)
  const { app } = f
  const readerOrg = randomCreditCode()
  const grant = await app.inject({ method: 'PUT', url: `/v1/grants/${readerOrg}`, headers: f.adminAuth, payload: { name: '审批局', grants: [{ typeCode: f.typeCode }] } })
  t.equal(grant.statusCode, 201, grant.body)
  const readerAuth = await bearer(['reader'], { org: readerOrg, sub: 'clerk-1' })
  const stored = await pushed(f)

  t.test('1. NUL never reaches PostgreSQL: 400 INVALID_TEXT with a pointer, nothing stored', async (t) => {
    const requestIds: string[] = []
    const cases = [
      { method: 'PUT', url: `/v1/grants/${randomCreditCode()}`, headers: f.adminAuth, payload: { name: 'a\u0000b', grants: [] }, pointer: '/body/name' },
      { method: 'PUT', url: `/v1/types/${f.typeCode}`, headers: f.adminAuth, payload: { name: '证\u0000', holderIdTypes: ['111'], issuers: [], dataSchema: { type: 'object' } }, pointer: '/body/name' },
      { method: 'PUT', url: `/v1/types/${f.typeCode}`, headers: f.adminAuth, payload: { name: '证', holderIdTypes: ['111'], issuers: [], dataSchema: { type: 'object', properties: { 'a\u0000': {} } } }, pointer: '/body/dataSchema/properties/a\u0000' },
      { method: 'POST', url: `/v1/certificates/${stored}/status`, headers: f.issuerAuth, payload: { status: 'suspended', reason: 'x\u0000' }, pointer: '/body/reason' },
      { method: 'POST', url: `/v1/issuers/${f.issuerCode}/keys/${f.key.kid}/revoke`, headers: f.adminAuth, payload: { reason: 'retired', comment: '\u0000' }, pointer: '/body/comment' },
      { method: 'POST', url: '/v1/verify', headers: readerAuth, payload: { typeCode: f.typeCode, number: 'N\u0000', holder: { idType: '111', id: HOLDER_ID } }, pointer: '/body/number' },
      { method: 'GET', url: '/v1/certificates/%00', headers: readerAuth, pointer: '/params/id' },
    ] as const
    for (const { pointer, ...req } of cases) {
      const res = await app.inject(req)
      requestIds.push(String(res.headers['x-request-id']))
      t.equal(res.statusCode, 400, `${req.method} ${req.url}`)
      t.equal(res.headers['content-type'], 'application/problem+json; charset=utf-8')
      t.match(res.json(), { code: 'INVALID_TEXT', errors: [{ pointer, code: 'UNSTORABLE_TEXT' }] })
    }
    t.equal(await eventsFor(f, requestIds), 0, 'nothing written')
    const status = await app.inject({ method: 'GET', url: `/v1/certificates/${stored}`, headers: f.issuerAuth })
    t.equal(status.json().certificate.status, 'valid', 'the status did not change')
  })

  t.test('1. a signed number with NUL: 422 at its pointer, not stored', async (t) => {
    const before = await certificatesOf(f)
    const res = await app.inject({ method: 'POST', url: '/v1/certificates', headers: f.issuerAuth, payload: { certificate: await f.sign({ ...f.payload(), number: 'N\u0000' }) } })
    t.equal(res.statusCode, 422)
    t.match(res.json(), { code: 'INVALID_CERTIFICATE', errors: [{ pointer: '/certificate/payload/number' }] })
    t.equal(await certificatesOf(f), before)
  })

  t.test('1. a batch of ten with one bad item stores the nine good ones', async (t) => {
    const before = await certificatesOf(f)
    const good = await Promise.all(Array.from({ length: 9 }, () => f.sign(f.payload())))
    const bad = [
      await f.sign({ ...f.payload(), number: 'N\u0000' }),
      await f.sign({ ...f.payload(), holder: { idType: '111', id: HOLDER_ID, name: '\ud800' } }),
      await f.sign({ ...f.payload(), issuedOn: '0000-01-01' }),
    ]
    for (const [k, b] of bad.entries()) {
      const certificates = [...good.slice(0, 4), b, ...good.slice(4)]
      const res = await app.inject({ method: 'POST', url: '/v1/certificates/batch', headers: f.issuerAuth, payload: { certificates } })
      t.equal(res.statusCode, 200, res.body)
      const { results, summary } = res.json()
      t.match(results[4], { index: 4, outcome: 'rejected', status: 422, code: 'INVALID_CERTIFICATE' })
      t.match(results[4].problems[0].pointer, /^\/certificates\/4\/payload\//)
      t.same(summary, k === 0 ? { created: 9, unchanged: 0, rejected: 1 } : { created: 0, unchanged: 9, rejected: 1 })
    }
    t.equal(await certificatesOf(f), before + 9)
  })

  t.test('1. if the database refuses a value anyway, only that certificate is rejected', async (t) => {
    // Past the checks on purpose: the repository's own isolation, for whatever the checks miss.
    const repo = createCertificateRepository(f.database.db, (await testConfig()).dataProtection, f.app.transparencyLog)
    const checked = (number: string): CheckedCertificate => {
      const payload = f.payload()
      const jws = `e30.${Buffer.from(JSON.stringify({ ...payload, number })).toString('base64url')}.sig`
      return { jws, jwsSha256: createHash('sha256').update(jws).digest('hex'), payload: { ...payload, number }, certId: (parseCertId(payload.id) as { ok: true; value: CheckedCertificate['certId'] }).value, holderId: HOLDER_ID, signingKid: f.key.kid }
    }
    const before = await certificatesOf(f)
    const items = [checked('A1'), checked('B\u0000'), checked('C3')]
    const outcomes = await repo.storeMany(items, { sub: 'test', org: f.issuerCode, requestId: 'r-1' })
    t.same(outcomes.map((o) => o.outcome), ['created', 'rejected', 'created'])
    t.match(outcomes[1], { code: 'INVALID_CERTIFICATE', problems: [{ code: 'UNSTORABLE' }] })
    t.equal(await certificatesOf(f), before + 2)
    // One push: the log's own statement refuses it whole, then the careful path says why.
    const actor = { sub: 'test', org: f.issuerCode, requestId: 'r-2' }
    t.match(await repo.storeOne(checked('D\u0000'), actor), { outcome: 'rejected', code: 'INVALID_CERTIFICATE', problems: [{ code: 'UNSTORABLE' }] })
    // A limit, not a value (SQLSTATE 54000: the (type, number) index row is too large): the same.
    t.match(await repo.storeOne(checked(randomBytes(4000).toString('hex')), actor), { outcome: 'rejected', code: 'INVALID_CERTIFICATE', problems: [{ code: 'UNSTORABLE' }] })
    t.match(await repo.storeOne(checked('E5'), actor), { outcome: 'created', inTree: true }, 'the next push is stored by the log\'s statement')
    t.equal(await certificatesOf(f), before + 3)
  })

  t.test('1. a payload nested past the limit is refused before it is stored', async (t) => {
    let data: Record<string, unknown> = { level: 1 }
    for (let i = 0; i < 40; i++) data = { level: 1, note: 'x', nested: data } as never
    const res = await app.inject({ method: 'POST', url: '/v1/certificates', headers: f.issuerAuth, payload: { certificate: await f.sign({ ...f.payload(), data }) } })
    t.equal(res.statusCode, 422)
    t.match(res.body, /nests deeper/)
  })

  t.test('2. a lone surrogate in a lookup reason: 400, nothing logged', async (t) => {
    const refused: string[] = []
    for (const reason of ['\ud800', 'a\udc00b', '\udbff']) {
      const res = await app.inject({ method: 'POST', url: '/v1/lookup', headers: readerAuth, payload: { holder: { idType: '111', id: HOLDER_ID }, purpose: { matterCode: 'M-1', reason } } })
      refused.push(String(res.headers['x-request-id']))
      t.equal(res.statusCode, 400)
      t.match(res.json(), { code: 'INVALID_TEXT', errors: [{ pointer: '/body/purpose/reason' }] })
      t.notMatch(res.body, HOLDER_ID)
    }
    const paired = await app.inject({ method: 'POST', url: '/v1/lookup', headers: readerAuth, payload: { holder: { idType: '111', id: HOLDER_ID }, purpose: { matterCode: 'M-1', reason: '核验 \ud83d\ude00' } } })
    t.equal(paired.statusCode, 200, 'a surrogate pair is ordinary text')
    t.equal(await eventsFor(f, refused), 0, 'nothing logged for the refused lookups')
    t.equal(await eventsFor(f, [String(paired.headers['x-request-id'])]), 1, 'the answered one is logged')
  })

  t.test('2. a percent-encoded purpose header decoding to NUL or a bad sequence', async (t) => {
    for (const [reason, code] of [['%00', 'INVALID_TEXT'], ['%ED%A0%80', 'PURPOSE_REQUIRED']] as const) {
      const res = await app.inject({ method: 'GET', url: `/v1/certificates/${stored}`, headers: { ...readerAuth, 'x-purpose-matter-code': 'M-1', 'x-purpose-reason': reason } })
      t.equal(res.statusCode, 400, reason)
      t.equal(res.json().code, code)
    }
  })

  t.test('3. dates: bounded in the schemas, cursors decoded defensively', async (t) => {
    const auditor = await bearer(['auditor'])
    const holder = await bearer(['holder'], { idType: '111', id: HOLDER_ID, sub: 'citizen-002X' })
    const cursor = (at: string) => encodeCursor({ at, id: 1 })
    const bad = [
      `from=${encodeURIComponent('2025-01-01T00:00:00+20:00')}`,
      `to=${encodeURIComponent('9999-12-31T23:00:00+23:00')}`,
      `from=${encodeURIComponent('0000-01-01T00:00:00Z')}`,
      `from=${encodeURIComponent('1899-12-31T00:00:00Z')}`,
      `from=${encodeURIComponent('2025-01-01T00:00:00+14:01')}`,
      `cursor=${cursor('0000-01-01T00:00:00.000000Z')}`,
      `cursor=${cursor('1000-01-01T00:00:00.000000Z')}`,
      `cursor=${Buffer.from('+275760-09-13T00:00:00.000000Z|1').toString('base64url')}`,
    ]
    const good = [`from=${encodeURIComponent('1900-01-01T00:00:00+14:00')}`, `to=${encodeURIComponent('9999-12-31T23:59:59.999999-14:00')}`, `cursor=${cursor('9999-12-31T23:59:59.999999Z')}`]
    for (const url of ['/v1/audit/events', '/v1/me/access-log']) {
      const headers = url.startsWith('/v1/me') ? holder : auditor
      for (const q of bad) {
        const res = await app.inject({ method: 'GET', url: `${url}?${q}`, headers })
        t.equal(res.statusCode, 400, `${url}?${q}`)
        t.equal(res.json().code, 'VALIDATION_FAILED')
      }
      for (const q of good) t.equal((await app.inject({ method: 'GET', url: `${url}?${q}`, headers })).statusCode, 200, `${url}?${q}`)
    }
    const search = await app.inject({ method: 'POST', url: '/v1/audit/events/search', headers: auditor, payload: { holder: { idType: '111', id: HOLDER_ID }, from: '2025-01-01T00:00:00+20:00' } })
    t.equal(search.statusCode, 400)
    const revoke = await app.inject({ method: 'POST', url: `/v1/issuers/${f.issuerCode}/keys/${f.key.kid}/revoke`, headers: f.adminAuth, payload: { reason: 'compromised', at: '0000-01-01T00:00:00Z' } })
    t.equal(revoke.statusCode, 400)
  })

  t.test('4. a data schema nested 10,000 levels or too large: 422 INVALID_TYPE_DEFINITION', async (t) => {
    const deep = '{"type":"object","properties":{"a":'.repeat(10_000) + '{"type":"object"}' + '}}'.repeat(10_000)
    const body = (dataSchema: string) => `{"name":"深","holderIdTypes":["111"],"issuers":[],"dataSchema":${dataSchema}}`
    const res = await app.inject({ method: 'PUT', url: `/v1/types/${f.typeCode}`, headers: { ...f.adminAuth, 'content-type': 'application/json' }, payload: body(deep) })
    t.equal(res.statusCode, 422)
    t.match(res.json(), { code: 'INVALID_TYPE_DEFINITION', errors: [{ pointer: '/body/dataSchema', code: 'DATA_SCHEMA_TOO_DEEP' }] })
    const wide = JSON.stringify({ type: 'object', properties: Object.fromEntries(Array.from({ length: 3000 }, (_, i) => [`field${i}`, { type: 'string', maxLength: 10 }])) })
    const large = await app.inject({ method: 'PUT', url: `/v1/types/${f.typeCode}`, headers: { ...f.adminAuth, 'content-type': 'application/json' }, payload: body(wide) })
    t.equal(large.statusCode, 422)
    t.match(large.json(), { errors: [{ code: 'DATA_SCHEMA_TOO_LARGE' }] })
    const type = await app.inject({ method: 'GET', url: `/v1/types/${f.typeCode}`, headers: f.adminAuth })
    t.equal(type.json().name, '测试许可证', 'the type is unchanged')
  })

  t.test('12. a reader without the type learns nothing about existence', async (t) => {
    const otherType = f.typeCode.slice(0, 18) + String((Number(f.typeCode.slice(18)) + 1) % 1000).padStart(3, '0')
    const ungranted = await bearer(['reader'], { org: randomCreditCode(), sub: 'clerk-2' })
    const unknown = formatCertId({ typeCode: f.typeCode, issuerCode: f.issuerCode, serial: 'NOSUCH1', version: 1 })
    const read = (id: string, headers: Record<string, string>) => app.inject({ method: 'GET', url: `/v1/certificates/${id}`, headers })
    const purpose = { 'x-purpose-matter-code': 'M-1', 'x-purpose-reason': 'x' }
    const answer = async (id: string, headers: Record<string, string>) => {
      const res = await read(id, headers)
      return { status: res.statusCode, code: res.json().code }
    }
    // Not granted: the same 403 whether the identifier is stored or not.
    t.same(await answer(stored, { ...ungranted, ...purpose }), { status: 403, code: 'TYPE_NOT_GRANTED' })
    t.same(await answer(unknown, { ...ungranted, ...purpose }), { status: 403, code: 'TYPE_NOT_GRANTED' })
    // Without a purpose: the same 400 either way.
    t.same(await answer(stored, ungranted), await answer(unknown, ungranted))
    t.same(await answer(stored, readerAuth), { status: 400, code: 'PURPOSE_REQUIRED' })
    t.same(await answer(unknown, readerAuth), { status: 400, code: 'PURPOSE_REQUIRED' })
    // Granted: found, or not found.
    t.equal((await read(stored, { ...readerAuth, ...purpose })).statusCode, 200)
    t.same(await answer(unknown, { ...readerAuth, ...purpose }), { status: 404, code: 'CERTIFICATE_NOT_FOUND' })
    t.same(await answer(formatCertId({ typeCode: otherType, issuerCode: f.issuerCode, serial: 'X1', version: 1 }), { ...readerAuth, ...purpose }), { status: 403, code: 'TYPE_NOT_GRANTED' })
  })
})
