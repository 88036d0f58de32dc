import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { writeReport, type RunReport } from '../../bench/report.js'
import { committedPostgresRun } from '../helpers/benchData.js'

// A real run's data, as the committed report carries it.
const { sm2: _sm2, signAlg: _signAlg, ofd: _ofd, ...real } = committedPostgresRun()

t.test('each run rewrites its own section, keeps the others and the analysis, and rebuilds the summary', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'zhengzhao-report-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const file = join(dir, 'benchmarks.md')
  const small = { ...real, rows: 100_000, variant: '' }
  const large = { ...real, rows: 10_000_000, variant: '' }

  writeReport(file, large)
  writeReport(file, small)
  let text = readFileSync(file, 'utf8')
  t.ok(text.indexOf('<!-- bench-section postgres-100000 -->') < text.indexOf('<!-- bench-section postgres-10000000 -->'), 'sections ordered by rows')
  t.match(text, /\| PostgreSQL, 100,000 certificates \|/)
  t.match(text, /\| PostgreSQL, 10,000,000 certificates \|/)

  // A hand-written analysis survives the next run; a repeat replaces its section, not adds one.
  writeFileSync(file, text.replace('<!-- bench-section', '<!-- analysis -->\nWhat limits lookup: measured.\n<!-- /analysis -->\n\n<!-- bench-section'))
  writeReport(file, { ...small, lookup: { ...small.lookup, rps: 12_345 } })
  text = readFileSync(file, 'utf8')
  t.match(text, 'What limits lookup: measured.')
  t.equal(text.match(/<!-- bench-section postgres-100000 -->/g)?.length, 1)
  t.match(text, '| 12,345 |', 'the summary shows the new figure')
  t.equal(text.match(/<!-- analysis -->/g)?.length, 1)

  // Variants get their own section.
  writeReport(file, { ...small, variant: 'tsx' })
  t.match(readFileSync(file, 'utf8'), /\| PostgreSQL, 100,000 certificates \(tsx\) \|/)
})

t.test('the SM2 variant has its own section with its SM2 figures', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'zhengzhao-report-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const file = join(dir, 'benchmarks.md')
  const plain = { ...real, rows: 20_000, variant: '--max-old-space-size=128' }
  writeReport(file, plain)
  const sm2: RunReport = {
    ...plain,
    variant: 'sm2 --max-old-space-size=128',
    signAlg: 'SM2',
    bulk: { ...real.bulk, perSecond: 1200 },
    verifyAlone: { signatures: 20_000, seconds: 12.5, perSecond: 1600 },
    sm2: { threads: 2, perCore: { signatures: 2000, seconds: 2.5, perSecond: 800 }, lookup: { sm2: 900, ed25519: 1100 }, verify: { sm2: 250, ed25519: 300 } },
  }
  writeReport(file, sm2)
  const text = readFileSync(file, 'utf8')
  t.equal(text.match(/<!-- bench-section postgres-20000-/g)?.length, 2, 'beside the plain run, not instead of it')
  const section = text.slice(text.indexOf('<!-- bench-section postgres-20000-sm2'))
  t.match(section, /## PostgreSQL, 20,000 certificates \(sm2 --max-old-space-size=128\)/)
  t.match(section, 'signed (SM2, ')
  t.match(section, 'SM2 on 2 worker threads of src/crypto/sm2Pool.ts')
  t.match(section, '| SM2 verifications per second on one thread (one core), the issuer key\'s table built | 800 (2,000 signatures, 2.5 s) |')
  t.match(section, '| verified alone on 2 worker threads | 1,600/s (2.00× one thread) |')
  t.match(section, '| bulk load vs verification alone | 0.75× (1,200 vs 1,600 /s) |')
  t.match(section, '| `POST /v1/lookup` req/s, SM2 service key vs Ed25519 | 900 vs 1,100 (0.82×) |')
  const before = text.slice(0, text.indexOf('<!-- bench-section postgres-20000-sm2'))
  t.notMatch(before.slice(before.indexOf('<!-- bench-section postgres-20000-')), '| SM2 |', 'the plain run has no SM2 table')
})

t.test('the Merkle log figures appear when a run has them, and a run from before the log shows none', async (t) => {
  const { logTable } = await import('../../bench/report.js')
  t.equal(logTable({ ...real, log: undefined }), '', 'runs before the log')
  const table = logTable({ ...real, log: { sizeBefore: 1000, sizeAfter: 13_000, lookupSeconds: 12, appendedPerSecond: 1000, backlog: { count: 20_000, seconds: 2.5, perSecond: 8000 } } })
  t.match(table, /12,000 in 12\.0 s: \*\*1,000\/s\*\* \(tree size 13,000\)/)
  t.match(table, /a backlog of 20,000 events .* 2\.50 s: \*\*8,000 events\/s\*\*/)
  t.notMatch(logTable({ ...real, log: { sizeBefore: 0, sizeAfter: 10, lookupSeconds: 1, appendedPerSecond: 10 } }), /backlog|checkpoints signed/, 'no backlog nor checkpoint count on PGlite')
  t.match(logTable({ ...real, log: { sizeBefore: 1000, sizeAfter: 13_000, lookupSeconds: 12, appendedPerSecond: 1000, checkpoints: 4800 } }), /checkpoints signed meanwhile.* \| 4,800: \*\*2\.50 events each\*\* on average \|/, 'the mean group on PostgreSQL')
})

t.test('the report says the pool the service ran with, per worker with --workers, and 10 for runs from before DB_POOL_SIZE', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'zhengzhao-report-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const file = join(dir, 'benchmarks.md')
  writeReport(file, { ...real, poolSize: undefined, variant: '' })
  writeReport(file, { ...real, poolSize: 5, variant: 'workers=16' })
  const text = readFileSync(file, 'utf8')
  const sectionOf = (key: string) => text.slice(text.indexOf(`<!-- bench-section ${key} -->`)).split('<!-- /bench-section -->')[0]!
  t.match(sectionOf(`postgres-${real.rows}`), 'PostgreSQL pool of 10.')
  t.match(sectionOf(`postgres-${real.rows}-workers=16`), 'PostgreSQL pool of 5 per worker.')
})

t.test('--ladder splits the lookup above the baseline at the service with its log recording nothing, round by round', async (t) => {
  const { ladderTable, resultsTable, UNLOGGED_SCENARIO } = await import('../../bench/report.js')
  t.equal(ladderTable({ ...real, ladder: undefined }), '', 'runs without --ladder show none')
  const [template] = real.measurements
  // One process's cores at a rate: its CPU per request is cores / rps.
  const m = (name: string, rps: number, cores: { service?: number; baseline?: number; postgres?: number }, p99 = 10) => ({
    ...template!,
    name,
    rps,
    p99,
    peakRssBytes: 300 * 2 ** 20,
    cpu: { ...template!.cpu, service: cores.service ?? 0, baseline: cores.baseline ?? 0, postgres: cores.postgres ?? 0 },
  })
  const rounds = [
    { baseline: m('baseline (round 1)', 2000, { baseline: 0.8, postgres: 0.4 }), unlogged: m(`${UNLOGGED_SCENARIO} (round 1)`, 1000, { service: 1, postgres: 0.3 }), lookup: m('POST /v1/lookup (round 1)', 500, { service: 1, postgres: 0.25 }) },
    { baseline: m('baseline (round 2)', 2500, { baseline: 0.75, postgres: 0.4 }), unlogged: m(`${UNLOGGED_SCENARIO} (round 2)`, 1250, { service: 1, postgres: 0.3 }), lookup: m('POST /v1/lookup (round 2)', 800, { service: 1, postgres: 0.4 }) },
    { baseline: m('baseline (round 3)', 1000, { baseline: 0.6, postgres: 0.2 }), unlogged: m(`${UNLOGGED_SCENARIO} (round 3)`, 1100, { service: 1, postgres: 0.3 }), lookup: m('POST /v1/lookup (round 3)', 600, { service: 1, postgres: 0.3 }) },
  ]
  const table = ladderTable({ ...real, ladder: { rounds } })
  // Baseline: 0.40, 0.30, 0.60 ms (median 0.40); unlogged 1.00, 0.80, 0.91 (0.91); lookup 2.00, 1.25, 1.67 (1.67).
  t.match(table, /^\| rung \(median of 3 round\(s\)\) \|/)
  t.match(table, '| bare Fastify + prepared point lookup (bench/baseline.ts) | 2,000 | 10.0 | 0.40 | 0.20 |  |')
  t.match(table, '| the service, its log recording nothing (bench/unlogged.ts) | 1,100 | 10.0 | 0.91 | 0.27 | +0.60, +0.50, +0.31 |')
  t.match(table, '| the service: `POST /v1/lookup` | 600 | 10.0 | 1.67 | 0.50 | +1.00, +0.45, +0.76 |')
  const cheaper = ladderTable({ ...real, ladder: { rounds: [{ ...rounds[0]!, lookup: m('POST /v1/lookup', 2000, { service: 1 }) }] } })
  t.match(cheaper, '| −0.50 |', 'a rung cheaper than the one below says so')
  const results = resultsTable({ ...real, measurements: [rounds[0]!.unlogged, rounds[0]!.lookup] })
  t.match(results, new RegExp(`\\| ${UNLOGGED_SCENARIO.replace(/[()]/g, '\\$&')} \\(round 1\\) \\| 1,000 \\| [^|]+ \\| 10\\.0 \\|  \\| 0 \\|  \\|`), 'the rung is another process: no service RSS beside it')
  t.match(results, /\| POST \/v1\/lookup \(round 1\) \| 500 \|.*\| 300 MB \|/)
})
