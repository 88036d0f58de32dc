import { createServer, connect, type Server, type Socket } from 'node:net'
import t from 'tap'
import type { Database } from '../../src/db/client.js'
import { buildTestApp } from '../helpers/app.js'
import { openBlankDatabase, openTestDatabase } from '../helpers/database.js'

t.test('healthz and readyz on a migrated database', async (t) => {
  const app = await buildTestApp(t)
  const live = await app.inject({ method: 'GET', url: '/healthz' })
  t.equal(live.statusCode, 200)
  t.same(live.json(), { status: 'ok' })
  const ready = await app.inject({ method: 'GET', url: '/readyz' })
  t.equal(ready.statusCode, 200)
  t.same(ready.json(), { status: 'ready', database: 'ok', migrations: 'applied' })
})

t.test('readyz is 503 while migrations are pending', async (t) => {
  // An embedded database never migrated, as a first start leaves it: isolated from any shared server.
  const database = await openBlankDatabase()
  t.teardown(() => database.close())
  const app = await buildTestApp(t, { DATABASE_URL: undefined }, { database, migrate: false })
  const res = await app.inject({ method: 'GET', url: '/readyz' })
  t.equal(res.statusCode, 503)
  t.same(res.json(), { status: 'not ready', database: 'ok', migrations: 'pending' })
  t.equal((await app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200, 'still alive')
})

t.test('readyz follows the database down and back up without a restart', async (t) => {
  const real = await openTestDatabase()
  t.teardown(() => real.close())
  let down = false
  const flaky: Database = { ...real, ping: async (ms) => (down ? Promise.reject(new Error('connection refused')) : real.ping(ms)) }
  const app = await buildTestApp(t, { DATABASE_URL: undefined }, { database: flaky })
  t.equal((await app.inject({ method: 'GET', url: '/readyz' })).statusCode, 200)
  down = true
  const res = await app.inject({ method: 'GET', url: '/readyz' })
  t.equal(res.statusCode, 503)
  t.same(res.json(), { status: 'not ready', database: 'unreachable', migrations: 'unknown' })
  down = false
  t.equal((await app.inject({ method: 'GET', url: '/readyz' })).statusCode, 200)
})

// On a real server: cut the TCP path to PostgreSQL, then restore it.
t.test('readyz through a real PostgreSQL connection that drops and returns', { skip: !process.env.DATABASE_URL && 'needs DATABASE_URL' }, async (t) => {
  const target = new URL(process.env.DATABASE_URL!)
  const sockets = new Set<Socket>()
  let server: Server | undefined
  const listen = (port: number) =>
    new Promise<number>((resolve) => {
      server = createServer((client) => {
        const upstream = connect(Number(target.port || 5432), target.hostname)
        for (const s of [client, upstream]) {
          sockets.add(s)
          s.on('close', () => sockets.delete(s))
          s.on('error', () => s.destroy())
        }
        client.pipe(upstream).pipe(client)
      })
      server.listen(port, '127.0.0.1', () => resolve((server!.address() as { port: number }).port))
    })
  const stop = () =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy()
      server!.close(() => resolve())
    })
  const port = await listen(0)
  const viaProxy = new URL(target)
  viaProxy.port = String(port)
  const app = await buildTestApp(t, { DATABASE_URL: viaProxy.toString() })
  t.equal((await app.inject({ method: 'GET', url: '/readyz' })).statusCode, 200)
  await stop()
  const down = await app.inject({ method: 'GET', url: '/readyz' })
  t.equal(down.statusCode, 503)
  t.equal(down.json().database, 'unreachable')
  await listen(port)
  t.teardown(stop)
  let status = 0
  for (let i = 0; i < 20 && status !== 200; i++) {
    status = (await app.inject({ method: 'GET', url: '/readyz' })).statusCode
    if (status !== 200) await new Promise((r) => setTimeout(r, 250))
  }
  t.equal(status, 200, 'ready again once the database is back')
})
