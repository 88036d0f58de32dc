import { sql } from 'drizzle-orm'
import t from 'tap'
import { loadConfig } from '../../src/config.js'
import { openDatabase } from '../../src/db/client.js'

// DB_POOL_SIZE bounds the connections one process opens, whatever the load: seen from the server,
// by the backends that answer, while more statements wait than there are connections.

const url = process.env.DATABASE_URL

t.test('DB_POOL_SIZE is the most connections a process opens', { skip: !url && 'needs DATABASE_URL (PostgreSQL)' }, async (t) => {
  const config = await loadConfig({ DATABASE_URL: url!, DB_POOL_SIZE: '3' })
  const database = await openDatabase(config.database)
  t.teardown(() => database.close())
  // Twelve statements at once, each holding its connection for a moment.
  const sleeping = await Promise.all(
    Array.from({ length: 12 }, async () => ((await database.db.execute(sql`select pg_sleep(0.05), pg_backend_pid() as pid`)) as unknown as { pid: number }[])[0]!.pid),
  )
  const pids = new Set(sleeping)
  t.ok(pids.size <= 3, `at most 3 backends served 12 statements (saw ${pids.size})`)
  t.ok(pids.size >= 2, `and more than one did: the pool is used (saw ${pids.size})`)
})
