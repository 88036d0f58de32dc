import { createServer, type Socket } from 'node:net'
import t from 'tap'
import { isDatabaseUnavailable, isUniqueViolation } from '../../src/db/errors.js'
import { NO_ANSWER, watchedSocketFactory } from '../../src/db/watchdog.js'

t.test('which database errors mean "unavailable, retry" (503) and which do not', async (t) => {
  const wrapped = (code: string) => Object.assign(new Error('Failed query: select 1'), { cause: Object.assign(new Error('x'), { code }) })
  for (const code of ['CONNECTION_CLOSED', 'CONNECT_TIMEOUT', 'ECONNREFUSED', 'ECONNRESET', NO_ANSWER, 'DATABASE_QUERY_TIMEOUT', '57014', '55P03', '57P01', '57P03', '08006', '53300']) {
    t.ok(isDatabaseUnavailable(wrapped(code)), `${code} (wrapped by drizzle)`)
  }
  for (const code of ['23505', '22P02', '42P01', 'ERR_SOMETHING']) t.notOk(isDatabaseUnavailable(wrapped(code)), code)
  t.notOk(isDatabaseUnavailable(new Error('plain')))
  t.ok(isUniqueViolation(wrapped('23505')))
  t.notOk(isUniqueViolation(wrapped('23503')))
})

// A fake server that answers each message (the untyped startup, then each typed one) with
// ReadyForQuery, or stays silent. Messages are counted from their length fields: on a busy
// machine two writes can arrive in one chunk, and the client owes an answer for each.
async function fakeServer(t: { teardown(fn: () => unknown): void }, answer: boolean): Promise<number> {
  const sockets = new Set<Socket>()
  const server = createServer((s) => {
    sockets.add(s)
    let buffered = Buffer.alloc(0)
    let started = false
    s.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk])
      for (;;) {
        const at = started ? 1 : 0
        if (buffered.length < at + 4) return
        const end = at + buffered.readInt32BE(at)
        if (buffered.length < end) return
        buffered = buffered.subarray(end)
        started = true
        if (answer) s.write(Buffer.from([0x5a, 0, 0, 0, 5, 0x49]))
      }
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  t.teardown(() => {
    for (const s of sockets) s.destroy()
    server.close()
  })
  return (server.address() as { port: number }).port
}

const SYNC = Buffer.from([0x53, 0, 0, 0, 4])

t.test('the watchdog drops a connection that owes an answer and hears nothing', async (t) => {
  const port = await fakeServer(t, false)
  const socket = watchedSocketFactory(300)({ host: ['127.0.0.1'], port: [port] })
  const start = performance.now()
  const closed = new Promise<Error | undefined>((resolve) => socket.on('error', resolve).on('close', () => resolve(undefined)))
  socket.write(Buffer.concat([Buffer.from([0, 0, 0, 8, 0, 3, 0, 0]), SYNC])) // a startup message, then a Sync
  const err = await closed
  t.equal((err as { code?: string } | undefined)?.code, NO_ANSWER)
  t.ok(performance.now() - start < 1500, 'within its silence bound')
})

t.test('the watchdog leaves an answered or idle connection alone', async (t) => {
  const port = await fakeServer(t, true)
  const socket = watchedSocketFactory(200)({ host: ['127.0.0.1'], port: [port] })
  t.teardown(() => socket.destroy())
  let failed = false
  socket.on('error', () => (failed = true))
  // Two frontend messages expecting two ReadyForQuery: startup (untyped) and a Sync.
  socket.write(Buffer.from([0, 0, 0, 8, 0, 3, 0, 0]))
  await new Promise((r) => setTimeout(r, 50))
  socket.write(SYNC)
  await new Promise((r) => setTimeout(r, 600)) // idle, owing nothing, well past the bound
  t.notOk(failed)
  t.notOk(socket.destroyed)
})
