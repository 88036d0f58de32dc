// Every read of audit_events is served by an index (docs/benchmarks.md, "PostgreSQL's share of an
// access event"). The plans are checked on a copy of the migrated table with all its indexes
// (LIKE … INCLUDING ALL), in a schema of its own and filled with 20,000 generated events: the
// shared audit_events of a PostgreSQL test run is left alone, and a small table would be scanned
// whatever its indexes. An index dropped from the schema or a migration, or a query rewritten so
// that it no longer matches its index (the certificate filter repeats the GIN's expression),
// changes a plan below. The queries are the service's own (auditEventQueries), as drizzle sends them.
import t from 'tap'
import { auditEventQueries } from '../../src/audit/events.js'
import type { SqlSession } from '../../src/db/client.js'
import { runMigrations } from '../../src/db/migrate.js'
import { openTestDatabase } from '../helpers/database.js'

const ROWS = 20_000

interface PlanNode {
  'Node Type': string
  'Index Name'?: string
  Plans?: PlanNode[]
}

const indexNames = (node: PlanNode): string[] => [...(node['Index Name'] ? [node['Index Name']] : []), ...(node.Plans ?? []).flatMap(indexNames)]

t.test('every read of audit_events uses the index meant for it', async (t) => {
  const database = await openTestDatabase({ url: process.env.DATABASE_URL })
  t.teardown(() => database.close())
  await runMigrations(database)
  const schema = `audit_plans_${process.pid}_${Date.now()}`
  const s: SqlSession = await database.session()
  t.teardown(async () => {
    await s.query(`drop schema if exists ${schema} cascade`)
    await s.release()
  })
  await s.query(`create schema ${schema}`)
  await s.query(`create table ${schema}.audit_events (like public.audit_events including all)`)
  // Shapes as the service writes them: mostly lookups of one certificate; a holder, an org and a
  // certificate each match a few dozen rows; a denial is rare; one event in a thousand is pending.
  await s.query(
    `insert into ${schema}.audit_events (at, kind, actor_org, actor_sub, request_id, holder_ref, certificate_ids, subject, details, leaf_index)
     select timestamptz '2030-01-01' + g * interval '1 minute',
       case when g % 1000 = 7 then 'access.denied' when g % 10 < 7 then 'access.lookup' when g % 10 < 9 then 'access.verify' else 'certificate.issued' end,
       'ORG' || (g * 7 % 1000), 'clerk', 'req-' || g, 'H' || (g * 7907 % 2000),
       case when g % 10 < 9 and g % 1000 <> 7 then array['C' || (g % 30000)] end,
       case when g % 1000 <> 7 then 'C' || (g % 30000) end,
       '{}'::jsonb, case when g % 1000 <> 3 then g end
     from generate_series(1, ${ROWS}) g`,
  )
  await s.query(`analyze ${schema}.audit_events`)
  await s.query(`set search_path to ${schema}, public`)
  const definitions = new Map(
    (await s.query<{ indexname: string; indexdef: string }>(`select indexname, indexdef from pg_indexes where schemaname = '${schema}'`)).map((r) => [r.indexname, r.indexdef.replace(/^.* USING /, '')]),
  )
  // The definitions of the indexes a statement's plan uses ("btree (kind, at)"), by EXPLAIN.
  async function indexesFor(query: { sql: string; params: unknown[] }): Promise<string[]> {
    const [row] = await s.query<{ 'QUERY PLAN': [{ Plan: PlanNode }] }>(`explain (format json) ${query.sql}`, query.params)
    const plan = row!['QUERY PLAN']
    const names = indexNames((typeof plan === 'string' ? (JSON.parse(plan) as [{ Plan: PlanNode }]) : plan)[0].Plan)
    return names.map((n) => definitions.get(n) ?? n)
  }

  const q = auditEventQueries(database.db)
  const page = { limit: 50 }
  const [last] = await s.query<{ at: string; id: string }>(`select to_char(at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as at, id::text from audit_events order by at desc, id desc offset 50 limit 1`)
  const cursor = { at: last!.at, id: Number(last!.id) }
  const cases: [string, { sql: string; params: unknown[] }, string | string[]][] = [
    ['auditor, no filter: newest first', q.search({}, page).toSQL(), 'btree (at)'],
    ['auditor, no filter: the next page by cursor', q.search({}, { ...page, cursor }).toSQL(), 'btree (at)'],
    ['auditor, a rare kind', q.search({ kind: 'access.denied' }, page).toSQL(), 'btree (kind, at)'],
    ['auditor, one certificate (subject or certificate_ids)', q.search({ certificateId: 'C1234' }, page).toSQL(), 'gin (((certificate_ids || subject)))'],
    ['auditor, one organisation', q.search({ org: 'ORG7' }, page).toSQL(), 'btree (actor_org, at)'],
    ['auditor, one holder', q.search({ holderRef: 'H42' }, page).toSQL(), 'btree (holder_ref)'],
    ["holder's own access log", q.accessLog('H42', {}, page).toSQL(), 'btree (holder_ref)'],
    // Either serves it: the partial index in id order, or the leaf index (a btree keeps its nulls together).
    ['log: the pending events', { sql: 'select e.id from audit_events e where e.leaf_index is null order by e.id limit 5000', params: [] }, ['btree (id) WHERE (leaf_index IS NULL)', 'btree (leaf_index)']],
    ['log: leaves by position', { sql: 'select e.id from audit_events e where e.leaf_index >= $1::bigint and e.leaf_index < $2::bigint order by e.leaf_index', params: ['20000', '20256'] }, 'btree (leaf_index)'],
  ]
  for (const [name, query, index] of cases) {
    const found = await indexesFor(query)
    const wanted = typeof index === 'string' ? [index] : index
    t.ok(found.some((i) => wanted.includes(i)), `${name}: ${wanted.join(' or ')}`, { found })
  }
  await s.query('reset search_path')
})
