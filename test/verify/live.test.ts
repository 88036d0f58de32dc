import { createServer, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import t, { type Test } from 'tap'
import { createLiveClient } from '../../src/verify/live.js'

// zhengzhao verify --url asks POST /v1/verify through the push's retry loop: 5xx and 429 are
// retried (never sooner than Retry-After), a refusal is final and says why, a refused connection
// is retried, and after the retries the last problem is said.

const ID = '1.2.156.3005.2.11100000000013338W032.11330105002500287C.2025000001.001.1'
const VALID = { result: 0, resultText: 'correct and valid', status: 'valid', checks: [{ check: 'signature', outcome: 'pass' }] }

/** A server answering each POST with the next of `answers` (the last one repeats). */
async function serve(t: Test, answers: ((res: ServerResponse) => void)[]): Promise<{ url: string; seen: () => number }> {
  let seen = 0
  const server = createServer((req, res) => {
    req.resume()
    req.on('end', () => answers[Math.min(seen++, answers.length - 1)]!(res))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen: () => seen }
}

const json = (status: number, body: unknown, headers: Record<string, string> = {}) => (res: ServerResponse) => {
  res.writeHead(status, { 'content-type': status === 200 ? 'application/json' : 'application/problem+json', ...headers })
  res.end(JSON.stringify(body))
}
const unavailable = json(503, { code: 'DATABASE_UNAVAILABLE', detail: 'the database did not answer' }, { 'retry-after': '1' })

t.test('a 503 is retried, not sooner than its Retry-After, then the answer is read', async (t) => {
  const { url, seen } = await serve(t, [unavailable, json(200, VALID)])
  const started = Date.now()
  t.match(await createLiveClient(url, 'token').verify(ID), { result: 0, status: 'valid', reasons: [] })
  t.equal(seen(), 2)
  t.ok(Date.now() - started >= 1000, 'waited the Retry-After second')
})

t.test('a refusal is final and names the code, the detail and the fix', async (t) => {
  const { url, seen } = await serve(t, [json(401, { code: 'UNAUTHENTICATED', detail: 'the token is not valid' })])
  await t.rejects(createLiveClient(url, 'token').verify(ID), { exitCode: 2, message: 'the service refused the verification: 401 UNAUTHENTICATED: the token is not valid (check --token or ZHENGZHAO_TOKEN)' })
  t.equal(seen(), 1, 'not retried')
})

t.test("a file larger than the service takes is that file's answer", async (t) => {
  const { url } = await serve(t, [json(413, { code: 'PAYLOAD_TOO_LARGE', detail: 'too large' })])
  t.match(await createLiveClient(url, 'token').verifyDocument(Buffer.from('PK')), { result: 4, reasons: ['DOCUMENT_TOO_LARGE'] })
})

t.test('after 3 retries the last problem is said', async (t) => {
  const { url, seen } = await serve(t, [json(500, { code: 'INTERNAL', detail: 'boom' })])
  await t.rejects(createLiveClient(url, 'token').verify(ID), { exitCode: 2, message: `no answer from ${url}/v1/verify after 4 attempt(s): 500 INTERNAL: boom` })
  t.equal(seen(), 4)
  const down = createServer()
  await new Promise<void>((resolve) => down.listen(0, '127.0.0.1', resolve))
  const port = (down.address() as AddressInfo).port
  await new Promise<void>((resolve) => down.close(() => resolve()))
  await t.rejects(createLiveClient(`http://127.0.0.1:${port}`, 'token').verify(ID), { exitCode: 2, message: /after 4 attempt\(s\): ECONNREFUSED$/ }, 'a refused connection is retried too')
})
