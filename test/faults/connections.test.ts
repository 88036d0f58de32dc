import { connect, type Socket } from 'node:net'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { bearer, buildTestApp } from '../helpers/app.js'

// Time and memory per connection: a client cannot hold a connection by trickling a body, make
// the service buffer a body for an unknown route or without a token, or get a non-problem answer
// while the service shuts down.

async function listening(t: Tap, env: Record<string, string> = {}): Promise<{ app: FastifyInstance; port: number }> {
  const app = await buildTestApp(t, { DATABASE_URL: undefined, ...env })
  await app.listen({ port: 0, host: '127.0.0.1' })
  return { app, port: (app.server.address() as { port: number }).port }
}
type Tap = { teardown(fn: () => unknown): void }

/** Opens a raw connection; `answer` resolves with everything received once the server closes or answers. */
function raw(port: number): { socket: Socket; received: () => string; closed: Promise<number> } {
  const socket = connect(port, '127.0.0.1')
  let data = ''
  socket.on('data', (d: Buffer) => (data += d))
  socket.on('error', () => {})
  const start = performance.now()
  const closed = new Promise<number>((resolve) => socket.on('close', () => resolve(performance.now() - start)))
  return { socket, received: () => data, closed }
}

const until = async (check: () => boolean, ms: number) => {
  const end = performance.now() + ms
  while (!check() && performance.now() < end) await new Promise((r) => setTimeout(r, 20))
  return check()
}

t.test('20 connections trickling a body one byte every 2 s are cut at REQUEST_TIMEOUT_MS', async (t) => {
  const { port } = await listening(t, { REQUEST_TIMEOUT_MS: '2000' })
  const { authorization } = await bearer(['reader'])
  const clients = Array.from({ length: 20 }, () => raw(port))
  const timers: NodeJS.Timeout[] = []
  for (const c of clients) {
    // A valid token, so the route waits for the body rather than refusing at once.
    c.socket.write(`POST /v1/lookup HTTP/1.1\r\nHost: x\r\nAuthorization: ${authorization}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{`)
    timers.push(setInterval(() => c.socket.writable && c.socket.write(' '), 2000))
  }
  t.teardown(() => timers.forEach(clearInterval))
  const durations = await Promise.all(clients.map((c) => c.closed))
  const slowest = Math.max(...durations)
  t.comment(`20 trickling connections closed after ${(Math.min(...durations) / 1000).toFixed(1)}–${(slowest / 1000).toFixed(1)} s`)
  // The timeout plus Node's 1 s check interval, with a margin for a loaded machine.
  t.ok(slowest < 5000, `every connection cut by ${slowest.toFixed(0)} ms`)
  for (const c of clients) t.match(c.received(), /^HTTP\/1\.1 408 /, 'told 408')
  t.match(clients[0]!.received(), /application\/problem\+json[\s\S]*"code":"REQUEST_TIMEOUT"/)
})

t.test('an unknown route and a missing token are answered before the body is read', async (t) => {
  const { port } = await listening(t)
  for (const [path, status, code] of [
    ['/v1/no-such-route', 404, 'ROUTE_NOT_FOUND'],
    ['/v1/lookup', 401, 'AUTH_REQUIRED'],
    ['/v1/certificates/batch', 401, 'AUTH_REQUIRED'],
  ] as const) {
    const c = raw(port)
    // Announce 4.9 MB and send none of it: the answer must come without waiting for the body.
    c.socket.write(`POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 4900000\r\n\r\n`)
    const answered = await until(() => /\r\n\r\n\{.*\}$/s.test(c.received()), 3000)
    t.ok(answered, `${path}: answered with no body sent`)
    t.match(c.received(), new RegExp(`^HTTP/1\\.1 ${status} [\\s\\S]*application/problem\\+json[\\s\\S]*"code":"${code}"`))
    c.socket.destroy()
  }
})

t.test('48 unauthenticated 4.9 MB bodies held at once to an unknown route do not grow memory by their size', async (t) => {
  const { port } = await listening(t)
  const body = Buffer.alloc(4_900_000, 0x20) // one buffer shared by every client: only the server's memory grows
  // Buffer memory, where request bodies live (RSS of a test process that has freed memory
  // before does not grow when pages are reused, so it would not show the difference), measured
  // after a full collection: the chunks a server reads and drops are garbage, and when the
  // collector runs by itself depends on the machine's load (a peak sampled without it grew from
  // 56 to 121 MB on loaded cores); what a server keeps is not garbage.
  setFlagsFromString('--expose-gc')
  const collect = runInNewContext('gc') as () => void
  const held = () => {
    collect()
    collect()
    return process.memoryUsage().arrayBuffers
  }
  const before = held()
  // Each client sends all but the last byte and holds the connection: a server that buffers
  // bodies before routing would hold 48 × 4.9 MB here (issue 14: +283 MB of RSS).
  const clients = Array.from({ length: 48 }, () => {
    const c = raw(port)
    c.socket.write(`POST /v1/no-such-route HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`)
    c.socket.write(body.subarray(0, body.length - 1))
    return c
  })
  t.teardown(() => clients.forEach((c) => c.socket.destroy()))
  await until(() => clients.every((c) => c.socket.writableLength === 0), 15_000)
  await new Promise((r) => setTimeout(r, 500))
  const statuses = clients.map((c) => /^HTTP\/1\.1 (\d+)/.exec(c.received())?.[1] ?? 'none')
  // Every connection still open, every body sent but its last byte.
  const grown = (held() - before) / 1024 / 1024
  t.comment(`48 × 4.9 MB held at once to an unknown route: buffers +${grown.toFixed(0)} MB kept (issue 14: RSS +283 MB)`)
  t.same([...new Set(statuses)], ['404'], 'each answered 404 without its body')
  // A server that buffers bodies keeps nearly all of it: a bare node:http server that keeps each
  // request's chunks, sent the same, kept 224 MB by this measure (the rest still in the kernel).
  t.ok(grown < 30, `buffers kept ${grown.toFixed(0)} MB of the 235 MB sent`)
})

t.test('while the service closes, a request still arriving gets 503 problem+json and Connection: close', async (t) => {
  const { app, port } = await listening(t, { REQUEST_TIMEOUT_MS: '10000' })
  // A request in flight (its body still coming) keeps the server from closing at once.
  const { authorization } = await bearer(['reader'])
  const inFlight = raw(port)
  inFlight.socket.write(`POST /v1/lookup HTTP/1.1\r\nHost: x\r\nAuthorization: ${authorization}\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{`)
  // Another connection has sent part of its request when the close begins.
  const late = raw(port)
  late.socket.write(`GET /v1/types HTTP/1.1\r\nHost: x\r\nAuthorization: ${authorization}\r\n`)
  await new Promise((r) => setTimeout(r, 200))
  const closing = app.close()
  await new Promise((r) => setTimeout(r, 200))
  late.socket.write('\r\n')
  await until(() => late.received().includes('\r\n\r\n{'), 3000)
  t.comment(`late request while closing: ${late.received().split('\r\n')[0] || '(connection reset)'}`)
  if (late.received()) {
    t.match(late.received(), /^HTTP\/1\.1 503 [\s\S]*[Cc]onnection: close[\s\S]*application\/problem\+json[\s\S]*"code":"NOT_READY"/)
  } else {
    t.pass('reset before any request was read (the connection counted as idle)')
  }
  inFlight.socket.write('}')
  await until(() => inFlight.received().includes('\r\n\r\n'), 3000)
  // Answered by its route (400: an empty object is not a lookup), with the connection closed after.
  t.match(inFlight.received(), /^HTTP\/1\.1 400 [\s\S]*[Cc]onnection: close/, 'the request in flight is answered, and its connection closed')
  await closing
})
