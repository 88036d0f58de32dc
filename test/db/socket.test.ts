import { sql } from 'drizzle-orm'
import t from 'tap'
import { openDatabase, postgresTarget, rowsOf } from '../../src/db/client.js'

// A service on the same host as PostgreSQL may reach it through its Unix socket, written as libpq
// writes it: the URL's `host` query parameter names the socket's folder.

t.test('a Unix socket in DATABASE_URL: the host parameter becomes the driver\'s socket folder', async (t) => {
  t.same(postgresTarget('postgres://zz@db.internal:5432/zz'), { url: 'postgres://zz@db.internal:5432/zz' }, 'a TCP URL is passed on as it is')
  t.same(postgresTarget('postgres://zz@localhost:5433/zz?host=/var/run/postgresql&sslmode=disable'), { url: 'postgres://zz@localhost:5433/zz?sslmode=disable', host: '/var/run/postgresql' }, 'the folder is taken out, the other parameters stay')
  t.same(postgresTarget('postgres://zz@localhost/zz?host=db.internal'), { url: 'postgres://zz@localhost/zz?host=db.internal' }, 'a host parameter that is not a path is left to the driver')
})

t.test('connecting through the socket of the PostgreSQL the suite runs on', { skip: process.env.DATABASE_URL ? false : 'needs PostgreSQL: run with DATABASE_URL (bash .ci/with-postgres)' }, async (t) => {
  const tcp = await openDatabase({ url: process.env.DATABASE_URL })
  t.teardown(() => tcp.close())
  const [settings] = await rowsOf<{ dirs: string }>(tcp.db, sql`select current_setting('unix_socket_directories') as dirs`)
  const folder = settings!.dirs.split(',')[0]!.trim()
  t.ok(folder.startsWith('/'), `the server listens on a Unix socket folder (${settings!.dirs})`)
  if (!folder.startsWith('/')) return
  const url = new URL(process.env.DATABASE_URL!)
  url.searchParams.set('host', folder)
  const viaSocket = await openDatabase({ url: url.toString() })
  t.teardown(() => viaSocket.close())
  await viaSocket.ping()
  const [row] = await rowsOf<{ addr: string | null; db: string }>(viaSocket.db, sql`select inet_server_addr()::text as addr, current_database() as db`)
  t.equal(row!.addr, null, 'the connection is a Unix socket (no server address)')
  t.equal(row!.db, url.pathname.slice(1), 'to the database the URL names')
  const session = await viaSocket.session()
  t.same(await session.query<{ one: number }>('select 1 as one'), [{ one: 1 }], 'a dedicated session (migrations) goes the same way')
  await session.release()
})
