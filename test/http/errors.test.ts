import { connect } from 'node:net'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import { bearer, buildTestApp, randomTypeCode, unreadyTestApp } from '../helpers/app.js'

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
    t.match(body, { status: 404, code: 'ROUTE_NOT_FOUND', type: '/problems/route-not-found', instance: '/v1/nothing-here' })
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

  t.test('the request id is always the service\'s own, whatever the client sends', async (t) => {
    const ok = await app.inject({ method: 'GET', url: '/healthz', headers: { 'x-request-id': 'abc-123' } })
    t.match(ok.headers['x-request-id'], /^[0-9a-f-]{36}$/)
    const bad = await app.inject({ method: 'GET', url: '/healthz', headers: { 'x-request-id': 'a b\nc' } })
    t.not(bad.headers['x-request-id'], 'a b\nc')
    t.match(bad.headers['x-request-id'], /^[0-9a-f-]{36}$/)
  })
})

t.test('500 hides internals', async (t) => {
  const app = await unreadyTestApp(t)
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

t.test("Fastify's and Node's own refusals are problem+json too", async (t) => {
  const app = await buildTestApp(t)

  t.test('bad percent-encoding: 400 INVALID_URL', async (t) => {
    const res = await app.inject({ method: 'GET', url: '/v1/types/%zz' })
    t.equal(res.statusCode, 400)
    t.equal(res.headers['content-type'], PROBLEM)
    t.equal(res.json().code, 'INVALID_URL')
    t.equal(res.json().requestId, res.headers['x-request-id'])
  })

  t.test('a path segment past the router limit: 414 URI_TOO_LONG', async (t) => {
    const res = await app.inject({ method: 'GET', url: `/v1/certificates/${'1'.repeat(300)}` })
    t.equal(res.statusCode, 414)
    t.equal(res.headers['content-type'], PROBLEM)
    t.equal(res.json().code, 'URI_TOO_LONG')
  })

  t.test('NUL in a path parameter: 400 INVALID_TEXT before any route or database', async (t) => {
    const res = await app.inject({ method: 'GET', url: '/v1/certificates/%00', headers: await bearer(['reader']) })
    t.equal(res.statusCode, 400)
    t.match(res.json(), { code: 'INVALID_TEXT', errors: [{ pointer: '/params/id', code: 'UNSTORABLE_TEXT' }] })
  })

  // Over a real socket: inject normalises dot segments away, and Node's parser answers 431 and a
  // malformed request line before Fastify has a request.
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as AddressInfo
  const raw = (text: string) =>
    new Promise<{ status: number; headers: string; body: string }>((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => socket.write(text))
      let got = ''
      socket.on('data', (d) => (got += d.toString('latin1')))
      socket.on('error', reject)
      socket.on('close', () => {
        const [head = '', body = ''] = got.split('\r\n\r\n')
        resolve({ status: Number(head.split(' ')[1]), headers: head.toLowerCase(), body })
      })
    })
  const get = (path: string, extra = '') => raw(`GET ${path} HTTP/1.1\r\nHost: x\r\n${extra}Connection: close\r\n\r\n`)

  for (const path of ['/docs/static/../../package.json', '/docs/static/%2e%2e/%2e%2e/package.json', '/docs/static/..%2f..%2fpackage.json', '/v1/types/../../etc/passwd']) {
    t.test(`dot segments name nothing: ${path} → 404`, async (t) => {
      const res = await get(path)
      t.equal(res.status, 404)
      t.match(res.headers, /content-type: application\/problem\+json/)
      t.equal(JSON.parse(res.body).code, 'ROUTE_NOT_FOUND')
      t.notMatch(res.body, /"version"/)
    })
  }

  t.test('headers past the limit: 431 HEADERS_TOO_LARGE', async (t) => {
    const res = await get('/healthz', `Authorization: Bearer ${'a'.repeat(20_000)}\r\n`)
    t.equal(res.status, 431)
    t.match(res.headers, /content-type: application\/problem\+json/)
    t.match(JSON.parse(res.body), { code: 'HEADERS_TOO_LARGE', status: 431, type: '/problems/headers-too-large' })
  })

  t.test('a malformed request line: 400 MALFORMED_REQUEST', async (t) => {
    for (const line of ['GARBAGE\r\n\r\n', 'GET /healthz HTTP/9.9\r\n\r\n', 'GET /a b c HTTP/1.1\r\nHost: x\r\n\r\n']) {
      const res = await raw(line)
      t.equal(res.status, 400, line)
      t.match(res.headers, /content-type: application\/problem\+json/)
      t.equal(JSON.parse(res.body).code, 'MALFORMED_REQUEST')
    }
  })
})
