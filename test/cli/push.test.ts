import { createServer, type IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Readable } from 'node:stream'
import t, { type Test } from 'tap'
import { main } from '../../src/cli/main.js'
import { backoffMs, retryAfterMs } from '../../src/cli/pushClient.js'
import { ID_NUMBER, runCli } from './fixtures/cli.js'

const TOKEN = 'test-token'

interface Answer {
  status: number
  body: unknown
  headers?: Record<string, string>
}
interface Received {
  authorization: string | undefined
  url: string | undefined
  certificates: string[]
}

/**
 * Fake JWS strings: the fake server decides by prefix. "bad" is rejected with problems, "old"
 * conflicts, "dup" is unchanged, anything else is created. Each carries an ID number, which
 * must never reach the output.
 */
const jws = (kind: string, n: number) => `${kind}${n}.${Buffer.from(`{"holder":"${ID_NUMBER}"}`).toString('base64url')}.sig`

function batchAnswer(certificates: string[]): Answer {
  const results = certificates.map((c, index) => {
    if (c.startsWith('bad')) {
      return {
        index,
        outcome: 'rejected',
        status: 422,
        code: 'INVALID_CERTIFICATE',
        problems: [
          { pointer: `/certificates/${index}/payload/holder/id`, code: 'HOLDER_ID_INVALID', message: `not valid: ${ID_NUMBER}` },
          { pointer: `/certificates/${index}`, code: 'SIGNATURE_INVALID', message: 'the signature does not verify' },
        ],
      }
    }
    if (c.startsWith('old')) return { index, outcome: 'rejected', status: 409, code: 'VERSION_NOT_NEWER', id: '1.2.156.3005.2.X' }
    return { index, outcome: c.startsWith('dup') ? 'unchanged' : 'created', status: c.startsWith('dup') ? 200 : 201, id: `cert-${index}` }
  })
  const count = (o: string) => results.filter((r) => r.outcome === o).length
  return { status: 200, body: { results, summary: { created: count('created'), unchanged: count('unchanged'), rejected: count('rejected') } } }
}

async function readBody(req: IncomingMessage): Promise<string> {
  let body = ''
  for await (const chunk of req) body += String(chunk)
  return body
}

/** A node:http server answering each batch with `answer(certificates, requestNumber)`, closed when the test ends. */
async function fakeServer(t: Test, answer: (certificates: string[], n: number) => Answer = batchAnswer): Promise<{ url: string; received: Received[] }> {
  const received: Received[] = []
  const server = createServer((req, res) => {
    void readBody(req).then((body) => {
      const certificates = (JSON.parse(body) as { certificates: string[] }).certificates
      received.push({ authorization: req.headers.authorization, url: req.url, certificates })
      const a = answer(certificates, received.length)
      res.writeHead(a.status, { 'content-type': a.status === 200 ? 'application/json' : 'application/problem+json', ...a.headers })
      res.end(JSON.stringify(a.body))
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => {
    server.closeAllConnections()
    server.close()
  })
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, received }
}

const lines = (...items: string[]) => `${items.join('\n')}\n`
const noPersonalData = (t: Test, text: string) => {
  t.notMatch(text, ID_NUMBER, 'no ID number')
  t.notMatch(text, /\.sig\b|eyJ/, 'no JWS content')
}

t.test('one .jws file: posted with the bearer token, exit 0, summary', async (t) => {
  const { url, received } = await fakeServer(t)
  const cwd = t.testdir({ 'a.jws': `${jws('ok', 1)}\n` })
  const run = await runCli(['push', 'a.jws', '--url', `${url}/`, '--token', TOKEN], { cwd })
  t.equal(run.code, 0, run.stderr)
  t.equal(received.length, 1)
  t.same(received[0], { authorization: `Bearer ${TOKEN}`, url: '/v1/certificates/batch', certificates: [jws('ok', 1)] })
  t.match(run.stdout, /Pushed 1 certificate\(s\) in [\d.]+ s \(\d+\/s\): 1 created, 0 unchanged, 0 rejected\./)
  noPersonalData(t, run.stdout + run.stderr)
})

t.test('a .jwsl file: rejections exit 1 and are named by file and line with their codes', async (t) => {
  const { url } = await fakeServer(t)
  const cwd = t.testdir({ 'bulk.jwsl': lines(jws('ok', 1), '', jws('bad', 3), jws('dup', 4), `  ${jws('old', 5)}\r`) })
  const run = await runCli(['push', 'bulk.jwsl', '--url', url], { cwd, env: { ZHENGZHAO_TOKEN: TOKEN } })
  t.equal(run.code, 1)
  t.match(run.stdout, /4 certificate\(s\).*1 created, 1 unchanged, 2 rejected/)
  t.match(run.stdout, /Rejected:\n {2}bulk\.jwsl:3 {2}422 INVALID_CERTIFICATE\n {6}\/payload\/holder\/id {2}HOLDER_ID_INVALID: not valid: 110105\*{8}002X\n {6}SIGNATURE_INVALID: the signature does not verify\n/)
  t.match(run.stdout, / {2}bulk\.jwsl:5 {2}409 VERSION_NOT_NEWER \(1\.2\.156\.3005\.2\.X\): A newer or equal version of this certificate is stored\n/)
  t.notMatch(run.stdout, /By problem/, 'no summary when nothing repeats')
  t.match(run.stderr, /2 certificate\(s\) rejected/)
  noPersonalData(t, run.stdout + run.stderr)
})

t.test('--json prints the summary and the rejections', async (t) => {
  const { url } = await fakeServer(t)
  const cwd = t.testdir({ 'bulk.jwsl': lines(jws('bad', 1), jws('ok', 2)) })
  const run = await runCli(['push', 'bulk.jwsl', '--url', url, '--token', TOKEN, '--json'], { cwd })
  t.equal(run.code, 1)
  const report = JSON.parse(run.stdout) as { summary: Record<string, number>; rejections: unknown[] }
  t.match(report.summary, { total: 2, created: 1, unchanged: 0, rejected: 1 })
  t.type(report.summary.perSecond, 'number')
  t.same(report.rejections, [
    {
      file: 'bulk.jwsl',
      line: 1,
      status: 422,
      code: 'INVALID_CERTIFICATE',
      problems: [
        { code: 'HOLDER_ID_INVALID', pointer: '/payload/holder/id', message: 'not valid: 110105********002X' },
        { code: 'SIGNATURE_INVALID', pointer: '', message: 'the signature does not verify' },
      ],
    },
  ])
  noPersonalData(t, run.stdout + run.stderr)
})

t.test('a folder is walked recursively in sorted order, for .jws and .jwsl only', async (t) => {
  const { url, received } = await fakeServer(t)
  const cwd = t.testdir({
    out: {
      'b.jws': jws('ok', 2),
      'a.jwsl': lines(jws('ok', 0), jws('ok', 1)),
      'notes.txt': 'not a certificate',
      sub: { 'c.jws': jws('bad', 3), deeper: { 'd.jwsl': lines(jws('ok', 4)) } },
      'z.jws': jws('ok', 5),
    },
  })
  const run = await runCli(['push', 'out', '--url', url, '--token', TOKEN], { cwd })
  t.equal(run.code, 1)
  t.same(received.flatMap((r) => r.certificates), [0, 1, 2].map((n) => jws('ok', n)).concat(jws('bad', 3), jws('ok', 4), jws('ok', 5)))
  t.match(run.stdout, /out\/sub\/c\.jws:1 {2}422/)
})

t.test('--batch-size splits the input, and rejections keep their lines across batches and concurrency', async (t) => {
  const { url, received } = await fakeServer(t)
  const items = Array.from({ length: 7 }, (_, i) => jws(i === 4 ? 'bad' : 'ok', i))
  const cwd = t.testdir({ 'bulk.jwsl': lines(...items) })
  const run = await runCli(['push', 'bulk.jwsl', '--url', url, '--token', TOKEN, '--batch-size', '3', '--concurrency', '2'], { cwd })
  t.equal(run.code, 1)
  t.same(received.map((r) => r.certificates.length).sort(), [1, 3, 3])
  t.same(received.flatMap((r) => r.certificates).sort(), [...items].sort(), 'every certificate sent once')
  t.match(run.stdout, /7 certificate\(s\).*6 created, 0 unchanged, 1 rejected/)
  t.match(run.stdout, /bulk\.jwsl:5 {2}422/, 'item 5 is in the second batch at index 1')

  const one = await runCli(['push', 'bulk.jwsl', '--url', url, '--token', TOKEN, '--batch-size', '1000', '--concurrency', '1'], { cwd })
  t.equal(one.code, 1)
  t.equal(received.length, 4, 'one more request for all seven')
  for (const size of ['0', '1001', 'x']) {
    const bad = await runCli(['push', 'bulk.jwsl', '--url', url, '--token', TOKEN, '--batch-size', size], { cwd })
    t.equal(bad.code, 2, `--batch-size ${size}`)
  }
})

t.test('503 twice then success: retried, exit 0', async (t) => {
  const { url, received } = await fakeServer(t, (certs, n) => (n <= 2 ? { status: 503, body: { code: 'NOT_READY', detail: 'starting' } } : batchAnswer(certs)))
  const cwd = t.testdir({ 'a.jws': jws('ok', 1) })
  const run = await runCli(['push', 'a.jws', '--url', url, '--token', TOKEN], { cwd })
  t.equal(run.code, 0, run.stderr)
  t.equal(received.length, 3)
  t.match(run.stderr, /503 NOT_READY: starting; retrying in/)
  t.match(run.stdout, /1 created/)
})

t.test('429 honours Retry-After', async (t) => {
  const { url, received } = await fakeServer(t, (certs, n) => (n === 1 ? { status: 429, body: { code: 'RATE_LIMITED' }, headers: { 'retry-after': '1' } } : batchAnswer(certs)))
  const cwd = t.testdir({ 'a.jws': jws('ok', 1) })
  const started = Date.now()
  const run = await runCli(['push', 'a.jws', '--url', url, '--token', TOKEN], { cwd })
  t.equal(run.code, 0, run.stderr)
  t.equal(received.length, 2)
  t.ok(Date.now() - started >= 1000, 'waited the second the server asked for')
})

t.test('a refused batch (401, 413, 400) is fatal at once: exit 2 with the code and detail', async (t) => {
  for (const [status, code] of [
    [401, 'INVALID_TOKEN'],
    [413, 'PAYLOAD_TOO_LARGE'],
    [400, 'VALIDATION_FAILED'],
  ] as const) {
    const { url, received } = await fakeServer(t, () => ({ status, body: { code, detail: `detail of ${code}` } }))
    const cwd = t.testdir({ 'bulk.jwsl': lines(jws('ok', 1), jws('ok', 2)) })
    const run = await runCli(['push', 'bulk.jwsl', '--url', url, '--token', TOKEN, '--batch-size', '1', '--concurrency', '1'], { cwd })
    t.equal(run.code, 2, String(status))
    t.equal(received.length, 1, 'no retry, no further batch')
    t.match(run.stderr, `the server refused the batch: ${status} ${code}: detail of ${code}`)
    t.match(run.stderr, /0 of 2 certificate\(s\) pushed before stopping/)
    noPersonalData(t, run.stdout + run.stderr)
  }
})

t.test('usage and environment errors exit 2', async (t) => {
  const cwd = t.testdir({ 'a.jws': jws('ok', 1), empty: {}, 'blank.jwsl': '\n\n' })
  const closed = await fakeServer(t)
  const cases: [string[], RegExp][] = [
    [['push', 'a.jws', '--url', closed.url], /no token: pass --token or set ZHENGZHAO_TOKEN/],
    [['push', 'missing.jws', '--token', TOKEN], /no such file or folder: missing\.jws/],
    [['push', 'empty', '--token', TOKEN], /no \.jws, \.jwsl or \.ofd files in empty/],
    [['push', 'blank.jwsl', '--token', TOKEN], /no certificates in blank\.jwsl/],
    [['push', 'a.jws', '--token', TOKEN, '--url', 'ftp://x'], /--url must be http or https/],
    [['push', '--token', TOKEN], /missing required argument/],
  ]
  for (const [argv, message] of cases) {
    const run = await runCli(argv, { cwd })
    t.equal(run.code, 2, argv.join(' '))
    t.match(run.stderr, message)
  }
})

async function closedUrl(): Promise<string> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  await new Promise((resolve) => server.close(resolve))
  return url
}

t.test('nothing answers at the URL: said at once with the URL tried and how to name another, no retries', async (t) => {
  const url = await closedUrl()
  const cwd = t.testdir({ 'a.jws': jws('ok', 1) })
  const started = Date.now()
  const run = await runCli(['push', 'a.jws', '--url', url, '--token', TOKEN, '--retries', '5'], { cwd })
  t.equal(run.code, 2)
  t.ok(Date.now() - started < 2000, 'no backoff: the first refusal is final')
  t.match(run.stderr, `nothing answers at ${url} (ECONNREFUSED)`)
  t.match(run.stderr, /--url URL or the ZHENGZHAO_URL environment variable/)
  t.notMatch(run.stderr, /retrying in/)
})

t.test('ZHENGZHAO_URL names the service when --url is not given; --url wins over it', async (t) => {
  const { url, received } = await fakeServer(t)
  const cwd = t.testdir({ 'a.jws': jws('ok', 1) })
  const run = await runCli(['push', 'a.jws'], { cwd, env: { ZHENGZHAO_TOKEN: TOKEN, ZHENGZHAO_URL: url } })
  t.equal(run.code, 0, run.stderr)
  t.equal(received.length, 1)
  const closed = await closedUrl()
  const wins = await runCli(['push', 'a.jws', '--url', closed], { cwd, env: { ZHENGZHAO_TOKEN: TOKEN, ZHENGZHAO_URL: url } })
  t.equal(wins.code, 2)
  t.match(wins.stderr, `nothing answers at ${closed}`)
  t.equal(received.length, 1)
})

t.test('a connection lost after the service answered is retried (a restart mid-run)', async (t) => {
  let calls = 0
  const server = createServer((req, res) => {
    calls++
    void readBody(req).then((body) => {
      if (calls === 2) return void req.socket.destroy() // reset mid-run
      const a = batchAnswer((JSON.parse(body) as { certificates: string[] }).certificates)
      res.writeHead(a.status, { 'content-type': 'application/json' })
      res.end(JSON.stringify(a.body))
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => (server.closeAllConnections(), server.close()))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const cwd = t.testdir({ 'bulk.jwsl': lines(jws('ok', 1), jws('ok', 2)) })
  const run = await runCli(['push', 'bulk.jwsl', '--url', url, '--token', TOKEN, '--batch-size', '1', '--concurrency', '1'], { cwd })
  t.equal(run.code, 0, run.stderr)
  t.match(run.stderr, /retrying in/)
  t.equal(calls, 3)
})

t.test('certificate JSON is not pushed: "sign it first" with the command', async (t) => {
  const { url, received } = await fakeServer(t)
  const cwd = t.testdir({ 'licence.json': JSON.stringify({ id: 'x', holder: { id: ID_NUMBER } }, null, 2), 'bulk.jsonl': '{"id":"x"}\n{"id":"y"}\n' })
  const one = await runCli(['push', 'licence.json', '--url', url, '--token', TOKEN], { cwd })
  t.equal(one.code, 2)
  t.match(one.stderr, 'licence.json: certificate JSON, not a signed JWS; sign it first: zhengzhao sign licence.json --key ISSUER-KEY.pem --out licence.jws, then zhengzhao push licence.jws')
  const many = await runCli(['push', 'bulk.jsonl', '--url', url, '--token', TOKEN], { cwd })
  t.equal(many.code, 2)
  t.match(many.stderr, /zhengzhao sign bulk\.jsonl .*--out bulk\.jwsl/)
  t.equal(received.length, 0, 'nothing sent')
  noPersonalData(t, one.stderr + many.stderr)
})

t.test('a problem repeated on many lines is summarised once, with its message', async (t) => {
  const { url } = await fakeServer(t)
  const cwd = t.testdir({ 'bulk.jwsl': lines(jws('bad', 1), jws('ok', 2), jws('bad', 3), jws('bad', 4), jws('old', 5)) })
  const run = await runCli(['push', 'bulk.jwsl', '--url', url, '--token', TOKEN], { cwd })
  t.equal(run.code, 1)
  t.match(run.stdout, /By problem:\n {2}3 × HOLDER_ID_INVALID at \/payload\/holder\/id: not valid: 110105\*{8}002X \(bulk\.jwsl:1, bulk\.jwsl:3, bulk\.jwsl:4\)\n/)
  t.match(run.stdout, / {2}3 × SIGNATURE_INVALID: the signature does not verify/)
  t.match(run.stdout, / {2}1 × VERSION_NOT_NEWER: A newer or equal version of this certificate is stored \(bulk\.jwsl:5\)/)
  noPersonalData(t, run.stdout + run.stderr)
})

t.test('backoff grows exponentially with jitter, capped; Retry-After in seconds or as a date', async (t) => {
  const policy = { retries: 5, baseMs: 250, capMs: 10_000 }
  t.equal(backoffMs(0, policy, () => 0), 125)
  t.equal(backoffMs(0, policy, () => 1), 250)
  t.equal(backoffMs(3, policy, () => 1), 2000)
  t.equal(backoffMs(10, policy, () => 1), 10_000, 'capped')
  t.equal(backoffMs(10, policy, () => 0), 5000)
  t.equal(retryAfterMs('3'), 3000)
  t.equal(retryAfterMs(new Date(10_000).toUTCString(), 4_000), 6000)
  t.equal(retryAfterMs(null), undefined)
  t.equal(retryAfterMs('soon'), undefined)
  t.equal(retryAfterMs('999999'), 5 * 60_000, 'never longer than 5 minutes')
})

t.test('- reads JWS Lines from stdin; rejections are named stdin:line', async (t) => {
  const { url, received } = await fakeServer(t)
  const cwd = t.testdir({ 'a.jws': jws('ok', 9) })
  const run = async (argv: string[], input: string) => {
    let stdout = ''
    let stderr = ''
    const code = await main(argv, { stdout: (s) => void (stdout += s), stderr: (s) => void (stderr += s), env: { ZHENGZHAO_TOKEN: TOKEN, ZHENGZHAO_URL: url }, cwd, stdin: Readable.from([input]) })
    return { code, stdout, stderr }
  }
  const res = await run(['push', '-', 'a.jws'], lines(jws('ok', 1), jws('bad', 2)))
  t.equal(res.code, 1)
  t.match(res.stdout, /3 certificate\(s\).*2 created, 0 unchanged, 1 rejected/)
  t.match(res.stdout, / {2}stdin:2 {2}422 INVALID_CERTIFICATE\n/)
  t.same(received.flatMap((r) => r.certificates), [jws('ok', 1), jws('bad', 2), jws('ok', 9)])
  const unsigned = await run(['push', '-'], '{"id":"x"}\n')
  t.equal(unsigned.code, 2)
  t.match(unsigned.stderr, /sign it first: .*zhengzhao sign - --key ISSUER-KEY\.pem \| zhengzhao push -/)
  noPersonalData(t, res.stdout + res.stderr)
})
