import t from 'tap'
import { bearer, buildTestApp, randomTypeCode } from '../helpers/app.js'

const PROBLEM = 'application/problem+json; charset=utf-8'

t.test('every error is problem+json with a stable code', async (t) => {
  const app = await buildTestApp(t, { BODY_LIMIT: '2048' })
  const admin = await bearer(['admin'])
  const typeUrl = `/v1/types/${randomTypeCode()}`

  t.test('unknown route: 404 ROUTE_NOT_FOUND', async (t) => {
    const res = await app.inject({ method: 'GET', url: '/v1/nothing-here' })
    t.equal(res.statusCode, 404)
    t.equal(res.headers['content-type'], PROBLEM)
    const body = res.json()
    t.match(body, { status: 404, code: 'ROUTE_NOT_FOUND', type: 'urn:zhengzhao:problem:route-not-found', instance: '/v1/nothing-here' })
    t.type(body.title, 'string')
    t.type(body.detail, 'string')
    t.equal(body.requestId, res.headers['x-request-id'])
  })

  t.test('known route, wrong method: 405 with Allow', async (t) => {
    const res = await app.inject({ method: 'DELETE', url: typeUrl, headers: admin })
    t.equal(res.statusCode, 405)
    t.equal(res.json().code, 'METHOD_NOT_ALLOWED')
    t.match(res.headers.allow, /GET/)
    t.match(res.headers.allow, /PUT/)
  })

  t.test('schema validation: 400 with a JSON pointer per failing field', async (t) => {
    const res = await app.inject({ method: 'PUT', url: typeUrl, headers: admin, payload: { name: '', holderIdTypes: ['1111'], dataSchema: { type: 'object' }, issuers: [], extra: 1 } })
    t.equal(res.statusCode, 400)
    t.equal(res.headers['content-type'], PROBLEM)
    const body = res.json()
    t.equal(body.code, 'VALIDATION_FAILED')
    const pointers = body.errors.map((e: { pointer: string }) => e.pointer).sort()
    t.same(pointers, ['/body/extra', '/body/holderIdTypes/0', '/body/name'])
  })

  t.test('missing required field names the field', async (t) => {
    const res = await app.inject({ method: 'PUT', url: typeUrl, headers: admin, payload: { name: 'x', holderIdTypes: ['111'], issuers: [] } })
    t.equal(res.statusCode, 400)
    t.same(res.json().errors.map((e: { pointer: string }) => e.pointer), ['/body/dataSchema'])
  })

  t.test('malformed JSON: 400 INVALID_JSON', async (t) => {
    const res = await app.inject({ method: 'PUT', url: typeUrl, headers: { ...admin, 'content-type': 'application/json' }, payload: '{"name": ' })
    t.equal(res.statusCode, 400)
    t.equal(res.json().code, 'INVALID_JSON')
  })

  t.test('body over the limit: 413', async (t) => {
    const res = await app.inject({
      method: 'PUT',
      url: typeUrl,
      headers: admin,
      payload: { name: 'x'.repeat(4000), holderIdTypes: ['111'], dataSchema: { type: 'object' }, issuers: [] },
    })
    t.equal(res.statusCode, 413)
    t.equal(res.headers['content-type'], PROBLEM)
    t.equal(res.json().code, 'PAYLOAD_TOO_LARGE')
  })

  t.test('unsupported content type: 415', async (t) => {
    const res = await app.inject({ method: 'PUT', url: typeUrl, headers: { ...admin, 'content-type': 'application/xml' }, payload: '<type/>' })
    t.equal(res.statusCode, 415)
    t.equal(res.json().code, 'UNSUPPORTED_MEDIA_TYPE')
  })

  t.test('invalid type code: 400 INVALID_TYPE_CODE', async (t) => {
    // Right shape, wrong check character in the authority part.
    const res = await app.inject({ method: 'GET', url: '/v1/types/11100000000013338X032', headers: admin })
    t.equal(res.statusCode, 400)
    t.equal(res.json().code, 'INVALID_TYPE_CODE')
  })

  t.test('a client request id is echoed; an unsafe one is replaced', async (t) => {
    const ok = await app.inject({ method: 'GET', url: '/healthz', headers: { 'x-request-id': 'abc-123' } })
    t.equal(ok.headers['x-request-id'], 'abc-123')
    const bad = await app.inject({ method: 'GET', url: '/healthz', headers: { 'x-request-id': 'a b\nc' } })
    t.not(bad.headers['x-request-id'], 'a b\nc')
    t.match(bad.headers['x-request-id'], /^[0-9a-f-]{36}$/)
  })
})

t.test('500 hides internals', async (t) => {
  const { buildApp } = await import('../../src/app.js')
  const { testConfig } = await import('../helpers/app.js')
  const app = await buildApp(await testConfig())
  t.teardown(() => app.close())
  app.get('/boom', async () => {
    throw new Error('connection to db-internal.example:5432 failed: password authentication')
  })
  const res = await app.inject({ method: 'GET', url: '/boom' })
  t.equal(res.statusCode, 500)
  t.equal(res.headers['content-type'], PROBLEM)
  const body = res.json()
  t.equal(body.code, 'INTERNAL_ERROR')
  // The random request id is left out: a UUID may contain "5432" by chance.
  const { requestId: _id, ...shown } = body
  t.notMatch(JSON.stringify(shown), /db-internal|password|5432|stack|at /)
  t.equal(body.detail, 'Internal server error')
})

t.test('429 when over the rate limit', async (t) => {
  const app = await buildTestApp(t, { RATE_LIMIT_MAX: '3', RATE_LIMIT_WINDOW_MS: '60000' })
  const codes: number[] = []
  let last
  for (let i = 0; i < 4; i++) {
    last = await app.inject({ method: 'GET', url: '/v1/types' })
    codes.push(last.statusCode)
  }
  t.same(codes, [401, 401, 401, 429])
  t.equal(last!.headers['content-type'], PROBLEM)
  t.equal(last!.json().code, 'RATE_LIMITED')
  t.ok(last!.headers['retry-after'])
})
