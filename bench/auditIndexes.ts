// PostgreSQL's share of an access event (issue 13 item 4): what each audit_events index costs on
// every write, and which query needs it. Needs DATABASE_URL (a scratch server:
// `bash .ci/with-postgres npx tsx bench/auditIndexes.ts`); prints markdown tables.
//
// Three copies of audit_events (same columns, in schemas of their own), differing only in their
// indexes: the set before migration 0009 ("before"), the set it leaves ("after"), and the floor the
// Merkle log itself needs ("log only": primary key, leaf index, pending rows). Each is filled with
// the same --prefill events, then takes --events single-event inserts per round, in the statement
// shape of src/log/store.ts appendNew (one event per statement: a request's own write when nothing
// else is in flight), one client, the copies in turn and the order alternating between rounds.
// Per event: wall time, the server backend's CPU (/proc/<pid>/stat) and WAL bytes
// (pg_current_wal_lsn() differences), each block starting after a CHECKPOINT. Then EXPLAIN
// ANALYZE of every query that reads the table, on each copy: the service's own statements
// (src/audit/events.ts auditEventQueries, src/log/store.ts). --marginal adds the "after" set
// without each of its search indexes in turn.
import { readFileSync } from 'node:fs'
import { drizzle } from 'drizzle-orm/postgres-js'
import postgres from 'postgres'
import { auditEventQueries, type EventFilters, type Page } from '../src/audit/events.js'
import { openDatabase } from '../src/db/client.js'
import { runMigrations } from '../src/db/migrate.js'
import * as schema from '../src/db/schema.js'

const args = process.argv.slice(2)
const option = (name: string, fallback: number) => {
  const i = args.indexOf(`--${name}`)
  return i >= 0 ? Number(args[i + 1]) : fallback
}
if (args.includes('--help')) {
  console.log('npx tsx bench/auditIndexes.ts [--prefill 200000] [--events 20000] [--rounds 3] [--marginal]   (DATABASE_URL required)')
  process.exit(0)
}
const PREFILL = option('prefill', 200_000)
const EVENTS = option('events', 20_000)
const ROUNDS = option('rounds', 3)
const url = process.env.DATABASE_URL
if (!url) throw new Error('DATABASE_URL is required (bash .ci/with-postgres npx tsx bench/auditIndexes.ts)')

const LOG_INDEXES = ['create unique index on audit_events (leaf_index)', 'create index on audit_events (id) where leaf_index is null']
const SETS: Record<string, string[]> = {
  before: [
    ...LOG_INDEXES,
    'create index audit_events_at_idx on audit_events (at)',
    'create index audit_events_kind_at_idx on audit_events (kind, at)',
    'create index audit_events_subject_idx on audit_events (subject)',
    'create index audit_events_holder_ref_idx on audit_events (holder_ref)',
    'create index audit_events_actor_org_at_idx on audit_events (actor_org, at)',
    'create index audit_events_certificate_ids_idx on audit_events using gin (certificate_ids)',
  ],
  after: [
    ...LOG_INDEXES,
    'create index audit_events_at_idx on audit_events (at)',
    'create index audit_events_kind_at_idx on audit_events (kind, at)',
    'create index audit_events_holder_ref_idx on audit_events (holder_ref)',
    'create index audit_events_actor_org_at_idx on audit_events (actor_org, at)',
    'create index audit_events_certificates_idx on audit_events using gin ((certificate_ids || subject))',
  ],
  'log only': LOG_INDEXES,
}
// --marginal: the "after" set without each of its search indexes in turn, to price each one.
if (args.includes('--marginal')) {
  for (const name of ['kind_at', 'actor_org_at', 'holder_ref', 'certificates']) SETS[`after − ${name}`] = SETS.after!.filter((ddl) => !ddl.includes(`audit_events_${name}_idx`))
}
const schemaOf = (set: string) => `bench_audit_${set.replace(/[^a-z_]/g, '_')}`

// Deterministic events in the shapes the service writes: mostly lookups (one or two certificates),
// some verifications, reads and denials, issuances (subject, no certificate_ids), status changes.
const ISSUER = '11330105002500287C'
const certId = (n: number) => `1.2.156.3005.2.11100000000013338W009.${ISSUER}.${String(n).padStart(10, '0')}.001.0`
const holderRef = (n: number) => Buffer.from(`holder-${n}`.padEnd(32, '.')).toString('base64url').slice(0, 43)
const org = (n: number) => `91110000MA${String(n).padStart(7, '0')}X`
function eventAt(i: number, at: string) {
  const r = (i * 2654435761) % 1000
  const holder = (i * 7907) % 50_000
  const cert = (k: number) => certId((holder * 2 + k) % 100_000)
  const actor = { actorSub: `reader-${i % 37}`, actorOrg: org((i * 31) % 200), requestId: `req-${i}`, clientRequestId: null, holderRef: holderRef(holder) }
  const purpose = { matterCode: `M-${(i * 13) % 50}`, reason: '办理营业执照变更' }
  if (r < 600 || r >= 990) {
    const ids = r % 3 === 0 ? [cert(0), cert(1)] : [cert(0)]
    const details = { purpose, include: 'in-force', typeCodes: null, outcome: 'found', returned: ids.map((id) => ({ id, sha256: 'x'.repeat(43) })) }
    return { at, kind: 'access.lookup', ...actor, certificateIds: ids, subject: ids.length === 1 ? ids[0] : null, details }
  }
  if (r < 800) return { at, kind: 'access.verify', ...actor, actorOrg: r % 2 ? null : actor.actorOrg, certificateIds: [cert(0)], subject: cert(0), details: { by: 'id', result: 0 } }
  if (r < 850) return { at, kind: 'access.read', ...actor, certificateIds: [cert(1)], subject: cert(1), details: { purpose, outcome: 'found' } }
  if (r < 860) return { at, kind: 'access.denied', ...actor, certificateIds: null, subject: null, details: { purpose, via: 'lookup', outcome: 'TYPE_NOT_GRANTED' } }
  if (r < 980) return { at, kind: 'certificate.issued', ...actor, actorOrg: ISSUER, certificateIds: null, subject: cert(0), details: { typeCode: '11100000000013338W009', version: 1 } }
  return { at, kind: 'certificate.status', ...actor, actorOrg: ISSUER, certificateIds: null, subject: cert(1), details: { from: 'valid', to: 'suspended' } }
}

// appendNew's insert: the events travel as one jsonb array parameter.
const INSERT = `insert into audit_events (at, kind, actor_sub, actor_org, request_id, client_request_id, holder_ref, certificate_ids, subject, details, leaf_index, salt)
  select (e->>'at')::timestamptz, e->>'kind', e->>'actorSub', e->>'actorOrg', e->>'requestId', e->>'clientRequestId', e->>'holderRef',
    case when jsonb_typeof(e->'certificateIds') = 'array' then array(select jsonb_array_elements_text(e->'certificateIds')) end,
    e->>'subject', e->'details', (e->>'leafIndex')::bigint, decode(e->>'salt', 'base64')
  from jsonb_array_elements($1::jsonb) as t(e)`
const SALT = Buffer.alloc(16, 7).toString('base64')
// An array, not its JSON text: the driver serialises it for the jsonb parameter it was told about.
const rowsFor = (from: number, count: number, at: (i: number) => string) =>
  Array.from({ length: count }, (_, k) => ({ ...eventAt(from + k, at(from + k)), leafIndex: from + k, salt: SALT })) as never

function cpuSeconds(pid: number): number | undefined {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')
    return (Number(fields[11]) + Number(fields[12])) / 100 // utime + stime, in clock ticks of 1/100 s
  } catch {
    return undefined
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
const fmt = (x: number | undefined, digits = 1) => (x === undefined || Number.isNaN(x) ? 'n/a' : x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }))

async function main(): Promise<void> {
  const database = await openDatabase({ url })
  await runMigrations(database)
  await database.close()
  const admin = postgres(url!, { max: 1, onnotice: () => {} })
  const { version } = (await admin<{ version: string }[]>`select current_setting('server_version') as version`)[0]!
  const clients = new Map<string, postgres.Sql>()
  const t0 = Date.parse('2026-01-01T00:00:00Z')
  const prefillAt = (i: number) => new Date(t0 + i * 60_000).toISOString()
  for (const set of Object.keys(SETS)) {
    const s = schemaOf(set)
    await admin.unsafe(`drop schema if exists ${s} cascade; create schema ${s}; create table ${s}.audit_events (like public.audit_events including defaults); alter table ${s}.audit_events add primary key (id)`)
    const client = postgres(url!, { max: 1, onnotice: () => {}, connection: { search_path: `${s}, public` } })
    clients.set(set, client)
    for (const ddl of SETS[set]!) await client.unsafe(ddl)
    for (let i = 0; i < PREFILL; i += 1000) await client.unsafe(INSERT, [rowsFor(i, Math.min(1000, PREFILL - i), prefillAt)])
    await client.unsafe('vacuum analyze audit_events')
  }
  await admin`checkpoint`

  // Measured: single-event inserts, the copies in turn, the order alternating between rounds.
  const next = new Map([...clients.keys()].map((k) => [k, PREFILL]))
  const results = new Map<string, { us: number[]; cpuUs: number[]; wal: number[] }>([...clients.keys()].map((k) => [k, { us: [], cpuUs: [], wal: [] }]))
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? [...clients.keys()] : [...clients.keys()].reverse()
    for (const set of order) {
      const client = clients.get(set)!
      // Each block starts right after a checkpoint: the full-page images its first writes to each
      // page cost then depend on the index set, not on where the server's own checkpoints fell.
      await admin`checkpoint`
      const { pid, lsn } = (await client<{ pid: number; lsn: string }[]>`select pg_backend_pid() as pid, pg_current_wal_lsn()::text as lsn`)[0]!
      const cpu0 = cpuSeconds(pid)
      const start = performance.now()
      const first = next.get(set)!
      for (let i = first; i < first + EVENTS; i++) await client.unsafe(INSERT, [rowsFor(i, 1, () => new Date().toISOString())], { prepare: true })
      const wall = performance.now() - start
      const cpu1 = cpuSeconds(pid)
      const { bytes } = (await client<{ bytes: string }[]>`select pg_wal_lsn_diff(pg_current_wal_lsn(), ${lsn}::pg_lsn)::text as bytes`)[0]!
      next.set(set, first + EVENTS)
      const r = results.get(set)!
      r.us.push((wall * 1000) / EVENTS)
      r.cpuUs.push(cpu0 === undefined || cpu1 === undefined ? NaN : ((cpu1 - cpu0) * 1e6) / EVENTS)
      r.wal.push(Number(bytes) / EVENTS)
      console.error(`round ${round + 1}, ${set}: ${fmt((wall * 1000) / EVENTS)} µs/event`)
    }
  }

  const base = results.get('before')!
  console.log(`## PostgreSQL's share of an access event\n`)
  console.log(`PostgreSQL ${version}; ${PREFILL.toLocaleString('en-US')} events before the first round, ${EVENTS.toLocaleString('en-US')} single-event inserts per copy per round, ${ROUNDS} rounds, medians.\n`)
  console.log('| index set | indexes | wall µs/event | backend CPU µs/event | WAL bytes/event | wall vs before | CPU vs before | WAL vs before |')
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|')
  for (const [set, r] of results) {
    const n = SETS[set]!.length + 1
    console.log(`| ${set} | ${n} | ${fmt(median(r.us))} | ${fmt(median(r.cpuUs))} | ${fmt(median(r.wal), 0)} | ${fmt(median(r.us) / median(base.us), 2)}× | ${fmt(median(r.cpuUs) / median(base.cpuUs), 2)}× | ${fmt(median(r.wal) / median(base.wal), 2)}× |`)
  }

  console.log('\n### Index sizes (bytes per event)\n')
  console.log('| index set | index | bytes/event |')
  console.log('|---|---|---:|')
  for (const [set, client] of clients) {
    const sizes = await client<{ name: string; bytes: string; rows: string }[]>`
      select c.relname as name, pg_relation_size(c.oid)::text as bytes, (select count(*) from audit_events)::text as rows
      from pg_index i join pg_class c on c.oid = i.indexrelid where i.indrelid = 'audit_events'::regclass order by c.relname`
    for (const s of sizes) console.log(`| ${set} | ${s.name} | ${fmt(Number(s.bytes) / Number(s.rows), 0)} |`)
  }

  await explainAll(clients)

  // What migration 0009 costs on an existing table: its build holds a SHARE lock (writes wait).
  const before = clients.get('before')!
  const { rows } = (await before<{ rows: string }[]>`select count(*)::text as rows from audit_events`)[0]!
  const built = performance.now()
  await before.unsafe('create index audit_events_certificates_idx on audit_events using gin ((certificate_ids || subject))')
  const seconds = (performance.now() - built) / 1000
  const { mem } = (await before<{ mem: string }[]>`select current_setting('maintenance_work_mem') as mem`)[0]!
  console.log(`
Migration 0009's CREATE INDEX on the "before" copy: ${Number(rows).toLocaleString('en-US')} events in ${fmt(seconds, 2)} s (${fmt((seconds * 1e6) / Number(rows), 0)} s per million events; maintenance_work_mem ${mem}).`)
  await Promise.all([...clients.values()].map((c) => c.end()))
  await admin.end()
}

/** Every read of audit_events, as the service sends it, EXPLAIN ANALYZEd on each copy. */
async function explainAll(clients: Map<string, postgres.Sql>): Promise<void> {
  const page: Page = { limit: 50 }
  const some = eventAt(123_457, '')
  const lastDay = { from: new Date(Date.parse('2026-01-01T00:00:00Z') + (PREFILL - 1440) * 60_000).toISOString(), to: undefined }
  for (const set of ['before', 'after']) {
    const client = clients.get(set)!
    await client`analyze audit_events`
    const db = drizzle(client, { schema })
    const q = auditEventQueries(db as never)
    const [cursorRow] = await client<{ at: string; id: number }[]>`select to_char(at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as at, id from audit_events order by at desc, id desc offset 50 limit 1`
    const cursor = { at: cursorRow!.at, id: Number(cursorRow!.id) }
    const search = (f: EventFilters, p: Page = page) => q.search(f, p).toSQL()
    const queries: [string, { sql: string; params: unknown[] }][] = [
      ['auditor: no filter, first page', search({})],
      ['auditor: no filter, a later page (cursor)', search({}, { ...page, cursor })],
      ['auditor: kind = access.denied (rare)', search({ kind: 'access.denied' })],
      ['auditor: kind = certificate.*', search({ kind: 'certificate.*' })],
      ['auditor: one certificate (subject or certificate_ids)', search({ certificateId: some.subject ?? certId(1) })],
      ['auditor: from/to, one day', search(lastDay)],
      ['auditor: org', search({ org: org(7) })],
      ['auditor: org and kind = access.lookup', search({ org: org(7), kind: 'access.lookup' })],
      ['auditor: holder', search({ holderRef: holderRef(4242) })],
      ['holder: own access log (/v1/me/access-log, the holder page)', q.accessLog(holderRef(4242), {}, page).toSQL()],
      ['log: pending events (integrator)', { sql: 'select id from audit_events e where e.leaf_index is null order by e.id limit 5000', params: [] }],
      ['log: leaves by index range (proofs, log verify)', { sql: 'select id from audit_events e where e.leaf_index >= $1::bigint and e.leaf_index < $2::bigint order by e.leaf_index', params: ['150000', '150256'] }],
      ['log: events by id', { sql: 'select id from audit_events e where e.id = any($1::bigint[]) and e.leaf_index is not null', params: [['1000', '2000', '3000']] }],
    ]
    console.log(`\n### Plans: ${set}\n`)
    console.log('| query | indexes used | ms |')
    console.log('|---|---|---:|')
    for (const [name, query] of queries) {
      let plan: PlanNode | undefined
      const ms: number[] = []
      for (let k = 0; k < 3; k++) {
        const [row] = await client.unsafe<{ 'QUERY PLAN': { Plan: PlanNode; 'Execution Time': number }[] }[]>(`explain (analyze, format json) ${query.sql}`, query.params as never[])
        plan = row!['QUERY PLAN'][0]!.Plan
        ms.push(row!['QUERY PLAN'][0]!['Execution Time'])
      }
      console.log(`| ${name} | ${indexesIn(plan!).join(', ') || 'none (' + plan!['Node Type'] + ')'} | ${fmt(median(ms), 2)} |`)
    }
  }
}

interface PlanNode {
  'Node Type': string
  'Index Name'?: string
  Plans?: PlanNode[]
}

function indexesIn(node: PlanNode): string[] {
  const own = node['Index Name'] ? [`${node['Node Type'].replace('Index Scan', 'scan').replace('Bitmap scan', 'bitmap')} ${node['Index Name']}`] : node['Node Type'] === 'Seq Scan' ? ['Seq Scan'] : []
  return [...own, ...(node.Plans ?? []).flatMap(indexesIn)]
}

await main()
