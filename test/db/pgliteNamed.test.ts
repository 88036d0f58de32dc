import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { PGlite, type QueryOptions } from '@electric-sql/pglite'
import { namedStatements, type NamedStatements } from '../../src/db/pgliteNamed.js'
import { openDatabase, pgliteOptions, rowsOf } from '../../src/db/client.js'
import { sql } from 'drizzle-orm'
import { loadSnapshot, seededDataDir } from '../helpers/database.js'

// Named prepared statements on PGlite (src/db/pgliteNamed.ts): a statement used a second time
// runs by name. Whatever path it takes, it must answer exactly what PGlite's own `query`
// answers (rows, types, nulls, errors), keep transactions whole, and survive a table changed
// under its name.

async function fresh(t: { teardown(fn: () => unknown): void }, max?: number): Promise<{ pg: PGlite; named: NamedStatements }> {
  const pg = new PGlite({ loadDataDir: new Blob([await loadSnapshot('blank')]), ...pgliteOptions() })
  await pg.waitReady
  t.teardown(() => pg.close())
  await pg.exec(`create table items (id int primary key, label text, at timestamptz, data jsonb, tags text[], raw bytea, n numeric);
    insert into items select g, 'item ' || g, timestamptz '2025-03-04 05:06:07.891+00' + g * interval '1 hour', jsonb_build_object('g', g), array['a' || g, 'b'], decode(lpad(to_hex(g), 2, '0'), 'hex'), g / 8.0 from generate_series(1, 50) g;
    insert into items (id) values (100);`)
  return { pg, named: namedStatements(pg, max) }
}

const SELECT = 'select id, label, at, data, tags, raw, n from items where id = any($1::int[]) or label = $2 order by id'

t.test('a statement used twice runs by name and answers what PGlite answers', async (t) => {
  const { pg, named } = await fresh(t)
  for (const options of [undefined, { rowMode: 'array' } as QueryOptions]) {
    for (const params of [[[1, 2, 100], null], [[], 'item 7'], [[3], 'no such label']]) {
      const expected = await pg.query(SELECT, params, options)
      const first = await named.query(SELECT, params, options)
      const second = await named.query(SELECT, params, options)
      const third = await named.query(SELECT, params, options)
      t.same(first, expected, 'the first use, unnamed')
      t.same(second, expected, 'the second use, by name')
      t.same(third, expected, 'and the third')
    }
  }
  t.equal(named.size, 1, 'one name for one text')
  const [row] = (await named.query(SELECT, [[1], null])).rows as { at: Date; data: unknown; raw: Uint8Array; tags: string[] }[]
  t.ok(row!.at instanceof Date && row!.at.toISOString() === '2025-03-04T06:06:07.891Z', 'a timestamptz is PGlite\'s Date')
  t.same(row!.data, { g: 1 }, 'jsonb is parsed')
  t.same([...row!.raw], [1], 'bytea is bytes')
  t.same(row!.tags, ['a1', 'b'], 'an array is an array')

  const insert = 'insert into items (id, label, at, data, tags, raw) values ($1, $2, $3, $4, $5, $6) returning id, data'
  const at = new Date('2026-01-02T03:04:05.678Z')
  for (const id of [200, 201]) {
    const res = await named.query(insert, [id, `新 ${id}`, at, { 键: id }, ['x', 'y'], new Uint8Array([0, 255])])
    t.same(res.rows, [{ id, data: { 键: id } }], 'parameters of every kind are serialised as PGlite does')
    t.equal(res.affectedRows, 1)
  }
  const back = await pg.query<{ label: string; at: Date; tags: string[]; raw: Uint8Array }>('select label, at, tags, raw from items where id = 201')
  t.same(back.rows[0], { label: '新 201', at, tags: ['x', 'y'], raw: new Uint8Array([0, 255]) }, 'the named insert stored the values as given')
  t.equal(named.size, 2)
})

t.test('errors are PGlite\'s, and the next statement runs', async (t) => {
  const { pg, named } = await fresh(t)
  const text = 'select id from items where id = $1'
  await named.query(text, [1])
  await named.query(text, [1])
  const err = await named.query(text, ['not a number']).catch((e: unknown) => e)
  t.match(err, { code: '22P02', query: text, params: ['not a number'] }, 'a bad parameter is PostgreSQL\'s error, with the statement')
  t.same((await named.query(text, [2])).rows, [{ id: 2 }], 'the name still works after it')
  const dup = await named.query('insert into items (id) values ($1)', [1]).catch((e: unknown) => e)
  t.match(dup, { code: '23505' })
  const dupAgain = await named.query('insert into items (id) values ($1)', [1]).catch((e: unknown) => e)
  t.match(dupAgain, { code: '23505' }, 'the same by name')
  const bad = await named.query('select nope from items where id = $1', [1]).catch((e: unknown) => e)
  const badAgain = await named.query('select nope from items where id = $1', [1]).catch((e: unknown) => e)
  t.match(badAgain, { code: (bad as { code: string }).code }, 'a statement that cannot be prepared fails as it does unnamed')
  t.equal(named.size, 2, 'and gets no name')
  t.same((await pg.query('select count(*)::int as n from items')).rows, [{ n: 51 }], 'nothing was written by the failures')
})

t.test('transactions stay whole: a rollback undoes named writes, a failure aborts', async (t) => {
  const { pg, named } = await fresh(t)
  const insert = 'insert into items (id, label) values ($1, $2)'
  await named.query(insert, [300, 'a'])
  await named.query(insert, [301, 'b'])
  t.equal(named.size, 1)
  await pg
    .transaction(async (tx) => {
      await named.queryIn(tx, insert, [302, 'c'])
      t.same((await named.queryIn(tx, 'select count(*)::int as n from items where id >= $1', [300])).rows, [{ n: 3 }], 'the transaction sees its own write')
      await tx.rollback()
    })
    .catch(() => {})
  t.same((await pg.query('select id from items where id >= 300 order by id')).rows, [{ id: 300 }, { id: 301 }], 'the rolled back write is gone')

  const failed = await pg
    .transaction(async (tx) => {
      await named.queryIn(tx, insert, [303, 'd'])
      await named.queryIn(tx, insert, [300, 'duplicate'])
    })
    .catch((e: unknown) => e)
  t.match(failed, { code: '23505' })
  t.same((await pg.query('select count(*)::int as n from items where id >= 300')).rows, [{ n: 2 }], 'a failed transaction wrote nothing')
  t.notOk(pg.isInTransaction(), 'and PGlite is out of it')

  await pg.transaction(async (tx) => {
    await named.queryIn(tx, insert, [304, 'e'])
  })
  t.same((await named.query('select label from items where id = $1', [304])).rows, [{ label: 'e' }], 'a committed one stays')
})

t.test('a table changed under a name is prepared again', async (t) => {
  const { pg, named } = await fresh(t)
  const text = 'select * from items where id = $1'
  await named.query(text, [1])
  await named.query(text, [1])
  await pg.exec('alter table items add column extra text default \'x\'')
  const res = await named.query(text, [1])
  t.equal((res.rows[0] as { extra: string }).extra, 'x', 'the new column is there')
  t.same((await named.query(text, [2])).rows, (await pg.query(text, [2])).rows)
})

t.test('past the cap, statements run unnamed', async (t) => {
  const { named } = await fresh(t, 2)
  for (let i = 1; i <= 5; i++) {
    const text = `select id, ${i} as k from items where id = $1`
    for (let j = 0; j < 3; j++) t.same((await named.query(text, [i])).rows, [{ id: i, k: i }])
  }
  t.equal(named.size, 2, 'two names, the rest unnamed and still right')
})

t.test('concurrent statements and transactions do not interleave', async (t) => {
  const { pg, named } = await fresh(t)
  const read = 'select id, label from items where id = $1'
  const write = 'update items set label = $2 where id = $1 returning label'
  const work: Promise<unknown>[] = []
  for (let i = 1; i <= 40; i++) {
    work.push(named.query(read, [i]).then((r) => t.same(r.rows, [{ id: i, label: `item ${i}` }])))
    if (i % 10 === 0)
      work.push(
        pg.transaction(async (tx) => {
          await named.queryIn(tx, write, [i, 'changing'])
          await named.queryIn(tx, write, [i, `item ${i}`])
        }),
      )
  }
  await Promise.all(work)
  t.same((await pg.query('select count(*)::int as n from items where label like \'item %\'')).rows, [{ n: 50 }], 'every transaction ended where it began')
})

t.test('the service\'s database runs its statements by name and keeps them on disk', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'zz-named-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const pg = new PGlite(await seededDataDir(dir), pgliteOptions())
  const unnamed: string[] = []
  const query = pg.query.bind(pg)
  Object.assign(pg, { query: (text: string, params?: unknown[], options?: QueryOptions) => (unnamed.push(text), query(text, params, options)) })
  const first = await openDatabase({ pglite: pg })
  const read = sql`select count(*)::int as n from log_checkpoints where size >= ${0}`
  for (let i = 0; i < 3; i++) t.same(await rowsOf(first.db, read), [{ n: 0 }])
  const insert = (id: number) => sql`insert into holder_id_types (code, name) values (${`9${id}`}, ${'测试证件 ' + id}) on conflict do nothing`
  for (let i = 0; i < 3; i++) await first.db.execute(insert(i))
  await first.db.transaction(async (tx) => {
    for (let i = 3; i < 6; i++) await tx.execute(insert(i))
  })
  t.equal(unnamed.filter((text) => text.startsWith('select count(*)::int as n from log_checkpoints')).length, 1, 'a statement used three times went through PGlite\'s query once')
  t.equal(unnamed.filter((text) => text.startsWith('insert into holder_id_types')).length, 1, 'the insert too, in a transaction and out of it')
  await first.close()
  const again = await openDatabase({ dataDir: dir })
  t.teardown(() => again.close())
  t.same(
    (await rowsOf<{ code: string }>(again.db, sql`select code from holder_id_types where code like '9_' order by code`)).map((r) => r.code),
    ['90', '91', '92', '93', '94', '95'],
    'writes by name are on disk after a restart',
  )
})
