import t, { type Test } from 'tap'
import { bearer, buildTestApp, logCapture, unreadyTestApp } from '../helpers/app.js'

// An ID number a caller puts in a URL path (by mistake or to probe) must come back nowhere in
// clear: not in the log, not in the problem's `instance` or `detail`, not in a logged stack.
const ID = '11010519491231002X'
const MASKED = '110105********002X'
const percentEncoded = [...ID].map((c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`).join('')

function assertNoId(t: Test, text: string, what: string) {
  t.notOk(text.includes(ID), `${what}: no ID number`)
  t.notOk(text.toLowerCase().includes(ID.toLowerCase()), `${what}: no ID number in lower case`)
  t.notOk(text.includes(percentEncoded) || text.includes(percentEncoded.toLowerCase()), `${what}: not percent-encoded either`)
}

t.test('an ID number in a URL path', async (t) => {
  const logs = logCapture()
  const app = await buildTestApp(t, { LOG_LEVEL: 'info' }, { logStream: logs.stream })
  const reader = await bearer(['reader'])
  const cases: { what: string; url: string; headers?: Record<string, string> }[] = [
    { what: 'an unknown route', url: `/v1/holders/${ID}` },
    { what: 'an unknown route, percent-encoded', url: `/v1/holders/${percentEncoded}` },
    { what: 'an unknown route, with a query', url: `/v1/holders/${ID}/certificates?x=1` },
    { what: 'a certificate identifier', url: `/v1/certificates/${ID}`, headers: reader },
    { what: 'a certificate identifier, lower-case x', url: `/v1/certificates/${ID.toLowerCase()}`, headers: reader },
    { what: 'a certificate identifier, no token', url: `/v1/certificates/${ID}` },
    { what: 'a type code', url: `/v1/types/${ID}`, headers: reader },
  ]
  for (const c of cases) {
    t.test(c.what, async (t) => {
      const res = await app.inject({ method: 'GET', url: c.url, headers: c.headers ?? {} })
      t.ok(res.statusCode >= 400 && res.statusCode < 500, `answered ${res.statusCode}`)
      t.equal(res.headers['content-type'], 'application/problem+json; charset=utf-8')
      assertNoId(t, res.body, 'problem body')
      assertNoId(t, JSON.stringify(res.headers), 'response headers')
      t.ok(String(res.json().instance).startsWith('/v1/'), 'instance still names the path')
    })
  }
  t.test('instance is the masked path', async (t) => {
    const res = await app.inject({ method: 'GET', url: `/v1/holders/${ID}` })
    t.equal(res.json().instance, `/v1/holders/${MASKED}`)
  })
  t.test('nothing in the log lines', async (t) => {
    const text = logs.text()
    t.match(text, /incoming request/, 'requests were logged')
    t.match(text, MASKED, 'the path is logged masked')
    assertNoId(t, text, 'log')
  })
})

t.test('a request that fails deeper: the logged message and stack are masked', async (t) => {
  const logs = logCapture()
  const app = await unreadyTestApp(t, { LOG_LEVEL: 'info' }, { logStream: logs.stream })
  // A failure whose message quotes the URL, as a driver or a library error may.
  app.get('/v1/test-only/:x', async (request) => {
    throw new Error(`cannot handle ${request.url}`)
  })
  await app.ready()
  const res = await app.inject({ method: 'GET', url: `/v1/test-only/${ID}` })
  t.equal(res.statusCode, 500)
  t.equal(res.json().code, 'INTERNAL_ERROR')
  assertNoId(t, res.body, 'problem body')
  const text = logs.text()
  t.match(text, /request failed/)
  t.match(text, /"stack":"Error: cannot handle \/v1\/test-only\/110105\*{8}002X/, 'the stack is logged, masked')
  assertNoId(t, text, 'log')
})

t.test('answers with personal data are not cached', async (t) => {
  const app = await buildTestApp(t)
  const holder = await bearer(['holder'], { idType: '111', id: ID, sub: 'citizen-1' })
  const reader = await bearer(['reader'])
  const answers = [
    await app.inject({ method: 'GET', url: '/v1/me/certificates', headers: holder }),
    await app.inject({ method: 'GET', url: '/v1/me/access-log', headers: holder }),
    await app.inject({ method: 'POST', url: '/v1/lookup', headers: reader, payload: { holder: { idType: '111', id: ID }, purpose: { matterCode: 'M-1', reason: '核验' } } }),
    await app.inject({ method: 'GET', url: '/v1/certificates/1.2.156.3005.2.11100000000013338W032.11330105002500287C.2025000001.001.1', headers: holder }),
    await app.inject({ method: 'GET', url: '/v1/me/certificates' }),
  ]
  t.same(answers.map((r) => r.statusCode), [200, 200, 200, 404, 401])
  for (const res of answers) t.equal(res.headers['cache-control'], 'no-store', `${res.statusCode}: no-store`)
})
