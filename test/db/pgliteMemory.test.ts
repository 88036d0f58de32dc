import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { sql } from 'drizzle-orm'
import t from 'tap'
import { openDatabase, PGLITE_SETTINGS, rowsOf, type Database } from '../../src/db/client.js'

// The embedded database's memory (issue 13 item 6, docs/benchmarks.md "Memory on PGlite"):
// without timing anything, the settings that keep it small must be the ones PostgreSQL runs
// with, and a fresh folder's initdb must not run in the service's own process.

async function setting(database: Database, name: string): Promise<string> {
  const [row] = await rowsOf<Record<string, string>>(database.db, sql.raw(`show ${name}`))
  return row?.[name] ?? ''
}

// The WebAssembly global, which this project's TypeScript libraries (no DOM) do not declare.
const wasm = (globalThis as unknown as { WebAssembly: { Memory: new (descriptor: object) => object } }).WebAssembly

/** Counts the WebAssembly memories made in this process while `fn` runs. */
async function countingMemories<T>(fn: () => Promise<T>): Promise<{ result: T; memories: number }> {
  const Original = wasm.Memory
  let memories = 0
  wasm.Memory = new Proxy(Original, {
    construct(target, args: [object]) {
      memories++
      return new target(...args)
    },
  })
  try {
    return { result: await fn(), memories }
  } finally {
    wasm.Memory = Original
  }
}

t.test('a fresh data folder: initdb in a child process, then opened with the small settings', async (t) => {
  const dir = t.testdir()
  const { result: database, memories } = await countingMemories(() => openDatabase({ dataDir: dir }))
  // PGlite's initdb in this process would make three: its own, a second instance's and initdb's.
  t.equal(memories, 1, 'one WebAssembly memory here: the one the service keeps')
  t.ok(existsSync(join(dir, 'PG_VERSION')), 'the child left an initialised folder')
  t.same(PGLITE_SETTINGS, { shared_buffers: '16MB', maintenance_work_mem: '16MB' }, 'the documented settings')
  for (const [name, value] of Object.entries(PGLITE_SETTINGS)) t.equal(await setting(database, name), value, name)
  t.equal(await setting(database, 'fsync'), 'off', 'durability is PGlite’s own and unchanged (its -F start parameter)')
  t.equal(await setting(database, 'synchronous_commit'), 'on')
  await database.db.execute(sql`create table kept (n int)`)
  await database.db.execute(sql`insert into kept values (42)`)
  await database.close()

  // A folder made before these settings says 128MB in its postgresql.conf: they win on every start.
  const conf = join(dir, 'postgresql.conf')
  writeFileSync(conf, readFileSync(conf, 'utf8').replace(/^shared_buffers = .*$/m, 'shared_buffers = 128MB'))
  const reopened = await openDatabase({ dataDir: dir })
  t.teardown(() => reopened.close())
  t.equal(await setting(reopened, 'shared_buffers'), '16MB', 'a reopened folder gets them too')
  t.same(await rowsOf(reopened.db, sql`select n from kept`), [{ n: 42 }], 'the data written before the restart')
})
