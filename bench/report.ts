// The numbers of one run as a table (stdout) and as its section of docs/benchmarks.md. Each
// section is keyed by database and row count, so a run with another --rows adds its own section
// and a repeat replaces it; the summary table at the top is rebuilt from every section's data.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'
import type { CpuShare } from './cpu.js'
import type { BulkLoadResult, VerifyAloneResult } from './load.js'
import type { Machine } from './machine.js'
import { PERF_NODE_FLAGS, PERF_HZ, type PerfRole, type PerfSummary } from './perf.js'
import type { ProfileSummary } from './profile.js'
import type { ScaleResult } from './scale.js'
import type { OfdFigures } from './ofd.js'
import type { LogFigures } from './log.js'
import type { Measurement } from './scenarios.js'

export interface Target {
  name: string
  measured: string
  met: boolean
}

export interface RunReport {
  database: 'postgres' | 'pglite'
  /** '' for the plain run (compiled, the image's flags); 'tsx', 'profiled' or node flags otherwise (each its own section). */
  variant: string
  /** PostgreSQL connections per service process (absent: runs before DB_POOL_SIZE, which had 10). */
  poolSize?: number | undefined
  rows: number
  holders: number
  apiRows: number
  date: string
  command: string
  machine: Machine
  options: { connections: number; durationSeconds: number; warmupSeconds: number; rounds: number; batchSize: number; loadConcurrency: number }
  signSeconds: number
  bulk: BulkLoadResult
  bulkCpu: CpuShare
  bulkRssBytes: number
  verifyAlone: VerifyAloneResult
  scale?: ScaleResult | undefined
  /** Baseline and lookup of each round, then verify and push. */
  measurements: Measurement[]
  baseline: Pick<Measurement, 'rps' | 'p50' | 'p99'>
  lookup: Pick<Measurement, 'rps' | 'p50' | 'p99'>
  idleRssBytes: number
  peakRssBytes: number
  targets: Target[]
  notes: string[]
  profile?: ProfileSummary[] | undefined
  /** --perf: each scenario's on-CPU samples of the service process (bench/perf.ts). */
  perf?: PerfSummary[] | undefined
  /** The certificates' signature algorithm (RS256 when absent: runs before --sm2 existed). */
  signAlg?: string | undefined
  /** --sm2: the pool's threads, one thread's verification rate, and the service key compared. */
  sm2?: Sm2Figures | undefined
  /** --ofd: certificates carrying their sealed OFD file, pushed, against the same files verified alone. */
  ofd?: OfdFigures | undefined
  /** The Merkle log: events appended per second under the lookups, and a backlog on PostgreSQL (runs before the log: absent). */
  log?: LogFigures | undefined
  /** --ladder: each round's baseline, the service with its log recording nothing, and the lookup. */
  ladder?: LadderFigures | undefined
}

/** The ladder's middle rung (--ladder): the service with its Merkle log recording nothing. */
export const UNLOGGED_SCENARIO = 'the same lookup, the service\'s log recording nothing (bench only)'

type LadderRound = { baseline: Measurement; unlogged: Measurement; lookup: Measurement }

export interface LadderFigures {
  rounds: LadderRound[]
}

/**
 * --ladder: the lookup's CPU above the bare baseline, split in two by the service with its log
 * recording nothing. Each rung's own process's CPU per request (the baseline's, then the
 * service's), and what it adds to the rung below, round by round: rounds differ more from each
 * other on this shared machine than the rungs of one round do.
 */
export function ladderTable(r: RunReport): string {
  const l = r.ladder
  if (!l || l.rounds.length === 0) return ''
  const perReq = (cores: number, rps: number) => (rps > 0 ? (cores / rps) * 1000 : NaN)
  const own = (m: Measurement, who: 'baseline' | 'service') => perReq(m.cpu[who], m.rps)
  const rungs = [
    { name: 'bare Fastify + prepared point lookup (bench/baseline.ts)', pick: (x: LadderRound) => x.baseline, who: 'baseline' as const, adds: '' },
    { name: 'the service, its log recording nothing (bench/unlogged.ts)', pick: (x: LadderRound) => x.unlogged, who: 'service' as const, adds: 'the bearer token, the grants, validation, decryption, the answer and its placeholder receipt: an authenticated JSON API' },
    { name: 'the service: `POST /v1/lookup`', pick: (x: LadderRound) => x.lookup, who: 'service' as const, adds: 'the guarantee: the access event written, hashed into the tree, a signed checkpoint, the receipt\'s proof' },
  ]
  const lines = [
    `| rung (median of ${l.rounds.length} round(s)) | req/s | p99 ms | its own CPU, ms/req | PostgreSQL, ms/req | own CPU above the rung below, by round | what that is |`,
    '|---|---:|---:|---:|---:|---|---|',
  ]
  rungs.forEach((rung, i) => {
    const runs = l.rounds.map(rung.pick)
    const below = i > 0 ? rungs[i - 1]! : undefined
    const steps = below ? l.rounds.map((x) => own(rung.pick(x), rung.who) - own(below.pick(x), below.who)) : []
    lines.push(
      `| ${rung.name} | ${n0(median(runs.map((m) => m.rps)))} | ${ms(median(runs.map((m) => m.p99)))} | ${ms(median(runs.map((m) => own(m, rung.who))))} | ${ms(median(runs.map((m) => perReq(m.cpu.postgres, m.rps))))} | ${steps.map((d) => (d >= 0 ? `+${ms(d)}` : `−${ms(-d)}`)).join(', ')} | ${rung.adds} |`,
    )
  })
  return lines.join('\n')
}

export interface Sm2Figures {
  threads: number
  /** SM2 verifications on one thread (the issuer key's table built), in the bench process. */
  perCore: VerifyAloneResult
  /** Requests per second with the SM2 service key (median of the rounds) and with Ed25519. */
  lookup: { sm2: number; ed25519: number }
  verify: { sm2: number; ed25519: number }
}

const n0 = (v: number) => Math.round(v).toLocaleString('en-US')
const ms = (v: number) => (Number.isFinite(v) ? v.toFixed(v < 10 ? 2 : 1) : '–')
const mb = (bytes: number) => `${Math.round(bytes / 2 ** 20)} MB`
/** How the service ran: compiled (as in the Docker image) unless the variant says tsx. */
function serviceCommand(variant: string): string {
  const words = variant.split(' ').filter(Boolean)
  const flags = words.filter((w) => w.startsWith('--'))
  const entry = words.includes('tsx') ? '--import tsx src/server.ts' : 'dist/server.js (compiled by tsc into a scratch folder)'
  return ['node', ...(words.includes('profiled') ? ['--cpu-prof'] : []), ...(words.includes('perf') ? PERF_NODE_FLAGS : []), ...flags, entry].join(' ')
}

const label = (r: Pick<RunReport, 'database' | 'rows' | 'variant'>) =>
  `${r.database === 'postgres' ? 'PostgreSQL' : 'PGlite'}, ${n0(r.rows)} certificates${r.variant ? ` (${r.variant})` : ''}`
const pct = (share: number) => `${(share * 100).toFixed(1)} %`

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b)
  const mid = Math.floor(s.length / 2)
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2
}

/** The median of each metric over the rounds of one scenario. */
export function medianOf(ms: Measurement[]): Pick<Measurement, 'rps' | 'p50' | 'p99'> {
  return { rps: median(ms.map((m) => m.rps)), p50: median(ms.map((m) => m.p50)), p99: median(ms.map((m) => m.p99)) }
}

export function resultsTable(r: RunReport): string {
  const lines = [
    '| scenario | req/s | p50 ms | p99 ms | ratio | non-2xx | service peak RSS |',
    '|---|---:|---:|---:|---|---:|---:|',
  ]
  for (const m of r.measurements) {
    const ratio = m.name.startsWith('POST /v1/lookup') ? `${(m.rps / r.baseline.rps).toFixed(2)}× baseline req/s, ${(m.p99 / r.baseline.p99).toFixed(2)}× its p99` : ''
    // The ladder's rung is another process than the service: its RSS is not the service's.
    const rss = m.peakRssBytes && !m.name.startsWith(UNLOGGED_SCENARIO) ? mb(m.peakRssBytes) : ''
    lines.push(`| ${m.name} | ${n0(m.rps)} | ${ms(m.p50)} | ${ms(m.p99)} | ${ratio} | ${m.non2xx} | ${rss} |`)
  }
  lines.push(`| **lookup vs baseline (median of ${r.options.rounds} round(s))** | ${n0(r.lookup.rps)} vs ${n0(r.baseline.rps)} | ${ms(r.lookup.p50)} vs ${ms(r.baseline.p50)} | ${ms(r.lookup.p99)} vs ${ms(r.baseline.p99)} | **${(r.lookup.rps / r.baseline.rps).toFixed(2)}×** req/s, **${(r.lookup.p99 / r.baseline.p99).toFixed(2)}×** p99 | | |`)
  lines.push('')
  lines.push('| bulk | certificates/s | seconds | ratio | | | service peak RSS |')
  lines.push('|---|---:|---:|---|---|---|---:|')
  lines.push(`| bulk load: ${n0(r.bulk.certificates)} through \`POST /v1/certificates/batch\` (${r.options.batchSize} per batch, ${r.options.loadConcurrency} in flight) | ${n0(r.bulk.perSecond)} | ${r.bulk.seconds.toFixed(1)} | **${(r.bulk.perSecond / r.verifyAlone.perSecond).toFixed(2)}×** signature verification | | | ${mb(r.peakRssBytes)} overall |`)
  const how = r.sm2 ? `SM2 on ${r.sm2.threads} worker threads of src/crypto/sm2Pool.ts, as the service` : 'jose `compactVerify`'
  lines.push(`| the same ${n0(r.verifyAlone.signatures)} signatures verified alone (${how}, same concurrency, same cores) | ${n0(r.verifyAlone.perSecond)} | ${r.verifyAlone.seconds.toFixed(1)} | | | | |`)
  return lines.join('\n')
}

/** --sm2: what SM2 costs, in the run's own figures. */
export function sm2Table(r: RunReport): string {
  const s = r.sm2
  if (!s) return ''
  const vs = (a: number, b: number) => `${n0(a)} vs ${n0(b)} (${(a / b).toFixed(2)}×)`
  return [
    '| SM2 | measured |',
    '|---|---|',
    `| SM2 verifications per second on one thread (one core), the issuer key's table built | ${n0(s.perCore.perSecond)} (${n0(s.perCore.signatures)} signatures, ${s.perCore.seconds.toFixed(1)} s) |`,
    `| verified alone on ${s.threads} worker threads | ${n0(r.verifyAlone.perSecond)}/s (${(r.verifyAlone.perSecond / s.perCore.perSecond).toFixed(2)}× one thread) |`,
    `| bulk load vs verification alone | ${(r.bulk.perSecond / r.verifyAlone.perSecond).toFixed(2)}× (${n0(r.bulk.perSecond)} vs ${n0(r.verifyAlone.perSecond)} /s) |`,
    `| \`POST /v1/lookup\` req/s, SM2 service key vs Ed25519 | ${vs(s.lookup.sm2, s.lookup.ed25519)} |`,
    `| \`POST /v1/verify {id}\` req/s, SM2 service key vs Ed25519 (SM2 certificates both) | ${vs(s.verify.sm2, s.verify.ed25519)} |`,
  ].join('\n')
}

/** The Merkle log: every lookup's access event appended (and signed into a checkpoint) before its answer. */
export function logTable(r: RunReport): string {
  const l = r.log
  if (!l) return ''
  const lines = [
    '| Merkle log | measured |',
    '|---|---|',
    `| events appended while the lookup scenarios ran, warm-up included (each answer waits for its event in a signed checkpoint) | ${n0(l.sizeAfter - l.sizeBefore)} in ${l.lookupSeconds.toFixed(1)} s: **${n0(l.appendedPerSecond)}/s** (tree size ${n0(l.sizeAfter)}) |`,
  ]
  if (l.checkpoints) lines.push(`| checkpoints signed meanwhile: one per group of events (one statement, one signature, one commit) | ${n0(l.checkpoints)}: **${((l.sizeAfter - l.sizeBefore) / l.checkpoints).toFixed(2)} events each** on average |`)
  if (l.backlog) lines.push(`| a backlog of ${n0(l.backlog.count)} events written straight into \`audit_events\`, appended by the service for one request that waits for them all | ${l.backlog.seconds.toFixed(2)} s: **${n0(l.backlog.perSecond)} events/s** |`)
  return lines.join('\n')
}

/** --ofd: the bulk load of certificates with their sealed file against verifying the files alone, and one file's cost. */
export function ofdTable(r: RunReport): string {
  const o = r.ofd
  if (!o) return ''
  const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`
  const cores = o.bulkCpu ? `; cores: service ${o.bulkCpu.service.toFixed(2)}, PostgreSQL ${o.bulkCpu.postgres.toFixed(2)}, others ${o.bulkCpu.others.toFixed(2)}` : ''
  return [
    '| sealed OFD | files/s | seconds | measured |',
    '|---|---:|---:|---|',
    `| bulk load: ${n0(o.bulk.created)} certificates${o.files > o.bulk.created ? ` (after ${n0(o.files - o.bulk.created)} to warm up)` : ''}, each with its sealed OFD file (${o.pages} page(s), ${kb(o.meanBytes)} on average, base64 in the body), one per \`POST /v1/certificates\`, ${o.concurrency} in flight, OFD_THREADS=${o.threads} | ${o.bulk.perSecond.toFixed(1)} | ${o.bulk.seconds.toFixed(1)} | **${(o.bulk.perSecond / o.alone.perSecond).toFixed(2)}×** verification alone${cores} |`,
    `| the same ${n0(o.files)} files verified alone: \`verifyOfd\` on ${o.threads} worker thread(s) of src/ofd/pool.ts, as the service, ${o.concurrency} in flight | ${o.alone.perSecond.toFixed(1)} | ${o.alone.seconds.toFixed(1)} | ${((o.threads * 1000) / o.alone.perSecond).toFixed(1)} ms of a thread per file |`,
    `| one file on one core: \`verifyOfd\` on the bench's own thread, one after another (${n0(o.perCore.files)} files) | ${(1000 / o.perCore.msPerFile).toFixed(1)} | | **${o.perCore.msPerFile.toFixed(1)} ms per file** |`,
  ].join('\n')
}

export function targetsTable(r: RunReport): string {
  return ['| target | measured | met |', '|---|---|---|', ...r.targets.map((t) => `| ${t.name} | ${t.measured} | ${t.met ? 'yes' : '**no**'} |`)].join('\n')
}

/** CPU per request of each process, and what the rest of the shared machine was doing meanwhile. */
export function cpuTable(r: RunReport): string {
  const per = (cores: number, rate: number) => (rate > 0 ? (cores / rate) * 1000 : NaN)
  const row = (name: string, c: CpuShare, rate: number, busyBefore: string) =>
    `| ${name} | ${ms(per(c.service, rate))} | ${ms(per(c.postgres, rate))} | ${ms(per(c.baseline, rate))} | ${ms(per(c.loadGenerator, rate))} | ${c.service.toFixed(2)} / ${c.postgres.toFixed(2)} / ${c.baseline.toFixed(2)} / ${c.loadGenerator.toFixed(2)} | ${c.others.toFixed(2)} | ${c.steal.toFixed(2)} | ${busyBefore} |`
  return [
    '| CPU (from /proc) | service ms/req | PostgreSQL ms/req | baseline ms/req | autocannon ms/req | cores: service / PostgreSQL / baseline / autocannon | cores: other processes | cores: stolen | busy cores before |',
    '|---|---:|---:|---:|---:|---|---:|---:|---:|',
    row(`bulk load (per certificate)`, r.bulkCpu, r.bulk.perSecond, ''),
    ...r.measurements.map((m) => row(m.name, m.cpu, m.rps, m.busyBefore.toFixed(2))),
  ].join('\n')
}

/** The service's CPU per request (per certificate for the bulk load) in the scenario a profile window names, in µs. */
function serviceMicrosPerRequest(r: RunReport, scenario: string): number | undefined {
  if (scenario === 'bulk load') return r.bulk.perSecond > 0 ? (r.bulkCpu.service / r.bulk.perSecond) * 1e6 : undefined
  const m = r.measurements.find((x) => x.name === scenario)
  return m && m.rps > 0 ? (m.cpu.service / m.rps) * 1e6 : undefined
}

/**
 * Each busy sample in one kind of work (bench/profile.ts CATEGORIES), with what that share is of
 * the service's CPU per request measured from /proc in the same (profiled) run.
 */
export function categoryTable(r: RunReport, p: ProfileSummary): string {
  const per = serviceMicrosPerRequest(r, p.scenario)
  const unit = p.scenario === 'bulk load' ? 'µs per certificate' : 'µs per request'
  const rows = (p.categories ?? []).map((c) => `| ${c.category} | ${pct(c.share)} | ${per === undefined ? '' : (c.share * per).toFixed(0)} |`)
  return [`| where the CPU went (each sample counted once) | share | ${unit} |`, '|---|---:|---:|', ...rows, `| all | 100 % | ${per === undefined ? '' : per.toFixed(0)} |`].join('\n')
}

/**
 * Where the service process's CPU went in each scenario by perf's on-CPU samples (--perf): the
 * main thread by kind of work, then the other threads by kind, each as a share of the process and
 * of its CPU per request measured from /proc in the same run.
 */
export function perfTables(r: RunReport): string {
  return (r.perf ?? [])
    .filter((p) => p.samples > 0)
    .map((p) => {
      const per = serviceMicrosPerRequest(r, p.scenario)
      const unit = p.scenario === 'bulk load' ? 'µs per certificate' : 'µs per request'
      const main = p.mainSamples / p.samples
      const row = (what: string, share: number) => `| ${what} | ${pct(share)} | ${per === undefined ? '' : (share * per).toFixed(0)} |`
      // With --workers each kind is the primary's or the workers' (bench/perf.ts PerfRole).
      const mainOf = (role: PerfRole | undefined) => (role === 'primary' ? "primary's main thread" : role === 'workers' ? "workers' main threads" : 'main thread')
      const otherOf = (role: PerfRole | undefined) => (role === 'primary' ? "primary's other threads" : role === 'workers' ? "workers' other threads" : 'other threads')
      const rows = [
        ...p.categories.map((c) => row(`${mainOf(c.role)}: ${c.category}`, c.share * main)),
        ...p.background.map((b) => row(`${otherOf(b.role)}: ${b.kind}`, b.share)),
        `| all | 100 % | ${per === undefined ? '' : per.toFixed(0)} |`,
      ]
      // The largest kinds only: with --workers each kind comes twice, and a tail of 0.0 % says nothing.
      const kernel = p.kernel
        .filter((k) => k.share >= 0.001)
        .slice(0, 8)
        .map((k) => `${k.role ? `${k.role}: ` : ''}${k.kind} ${pct(k.share)}`)
        .join(' · ')
      const whose = p.workers
        ? `the service's primary process and its ${p.workers} worker ${p.workers === 1 ? 'process' : 'processes'} at ${PERF_HZ} Hz: their main threads ${pct(main)}, their other threads ${pct(1 - main)}`
        : `the service process at ${PERF_HZ} Hz: its main thread ${pct(main)}, its other threads ${pct(1 - main)}`
      return `**${p.scenario}** (${n0(p.samples)} on-CPU samples of ${whose}). In the kernel, as a share of the main ${p.workers ? 'threads' : 'thread'}: ${kernel || 'none'}.\n\n| where the service's CPU went (perf) | share | ${unit} |\n|---|---:|---:|\n${rows.join('\n')}`
    })
    .join('\n\n')
}

/** Where the service's CPU went in each scenario (--profile). */
export function profileTables(r: RunReport): string {
  return (r.profile ?? [])
    .map((p) => {
      const list = (xs: { where: string; share: number }[]) => xs.map((e) => `${e.where} ${pct(e.share)}`).join(' · ')
      const incl = p.inclusive.map((e) => `| ${e.fn.replaceAll('|', '\\|')} | ${pct(e.share)} |`).join('\n')
      const categories = p.categories?.length ? `\n\n${categoryTable(r, p)}` : ''
      return `**${p.scenario}** (${p.samples} samples of 1 ms). Self time: ${list(p.self)}.\nOn the stack (inclusive): ${list(p.places ?? [])}.${categories}\n\n| service function (inclusive) | samples |\n|---|---:|\n${incl}`
    })
    .join('\n\n')
}

function section(r: RunReport): string {
  const m = r.machine
  const extra = r.scale
    ? `\n- Rows past the first ${n0(r.apiRows)}: ${n0(r.scale.rows)} written straight into \`certificates\` with a binary COPY (bench/scale.ts), shaped like pushed rows (same payloads, blind index, encryption; signatures not valid, never verified by the lookup): COPY ${r.scale.copySeconds.toFixed(0)} s, index rebuild ${r.scale.indexSeconds.toFixed(0)} s, VACUUM ANALYZE ${r.scale.vacuumSeconds.toFixed(0)} s. \`audit_events\` was not padded: it holds the issuance events of the API-loaded certificates and the events of this run.`
    : ''
  return `## ${label(r)}

- Date: ${r.date}
- Machine: ${m.cpus} CPU (${m.cpuModel}), ${m.memoryGiB} GiB RAM, ${m.kernel}, Node ${m.node}; ${m.database}. Shared and noisy: the service, the baseline, the database and autocannon all run on these ${m.cpus} cores.
- Command: \`${r.command}\`
- Service: \`${serviceCommand(r.variant)}\`, NODE_ENV=development (keys.example/), LOG_LEVEL=warn, RATE_LIMIT_MAX=0${r.database === 'postgres' ? `, PostgreSQL pool of ${r.poolSize ?? 10}${r.variant.includes('workers=') ? ' per worker' : ''}` : ''}. RSS ${mb(r.idleRssBytes)} when ready, ${mb(r.bulkRssBytes)} peak during the bulk load.
- Data: ${n0(r.rows)} certificates over ${n0(r.holders)} synthetic holders; ${n0(r.apiRows)} signed (${r.signAlg ?? 'RS256'}, ${r.signSeconds.toFixed(0)} s) and pushed through the API.${extra}${r.sm2 ? `\n- SM2: the bench issuer's key is SM2, certified SM2-with-SM3 by the development SM2 root with the openssl CLI; the service signs the log's checkpoints with an SM2 service key (SERVICE_KEYS), then runs lookup and verify again with the Ed25519 one; SM2_THREADS=${r.sm2.threads}.` : ''}
- Scenarios: ${r.options.connections} connections, ${r.options.warmupSeconds} s warm-up (dropped), then ${r.options.durationSeconds} s measured; baseline and lookup alternate for ${r.options.rounds} round(s). Latencies are per response, 2xx only.

${resultsTable(r)}

${cpuTable(r)}

${targetsTable(r)}
${r.log ? `\n${logTable(r)}\n` : ''}${r.ladder ? `\n${ladderTable(r)}\n` : ''}${r.sm2 ? `\n${sm2Table(r)}\n` : ''}${r.ofd ? `\n${ofdTable(r)}\n` : ''}${r.perf?.length ? `\n### Where the service's CPU goes (perf, on-CPU samples)\n\nEvery CPU recorded with \`perf record -a -g\` while the bench ran; the service's compiled code named through \`--perf-basic-prof\`. Only time on a CPU counts, the kernel's and every thread's included.\n\n${perfTables(r)}\n` : ''}${r.profile ? `\n### Where the service's CPU goes (node --cpu-prof)\n\nThe profiler slows the service down: the numbers above are not comparable with the unprofiled section.\n\n${profileTables(r)}\n` : ''}${r.notes.length ? `\n${r.notes.map((n) => `- ${n}`).join('\n')}\n` : ''}`
}

const SECTION = /<!-- bench-section (\S+) -->\n([\s\S]*?)<!-- \/bench-section -->\n?/g
const DATA = /<!-- bench-data ([A-Za-z0-9+/=]+) -->/

const INTRO = `# Benchmarks

\`npm run bench\` (\`npx tsx bench/run.ts\`; \`npm run bench -- --help\` lists the options) starts
the service on a scratch PostgreSQL server (or PGlite with \`--pglite\`), compiled and with the
Docker image's heap cap, loads synthetic marriage certificates through the API (rows past
\`--api-rows\` go straight in with COPY), and measures in the same run, with autocannon: a bare
Fastify baseline doing the same indexed point lookup with a prepared statement
(bench/baseline.ts), \`POST /v1/lookup\` with everything on (token, grants, access event,
receipt), \`POST /v1/verify\` by identifier, \`POST /v1/certificates\` one at a time, and the
bulk load against verifying the same signatures alone. A run rewrites only its own section below
(by database, row count and variant); the analysis between the markers is kept as written.
\`--sm2\` is the 国密 variant, in its own section: the certificates are signed SM2 by an SM2 key of
the same issuer (certified by the development SM2 root with the openssl CLI), verified alone on the
same worker threads the service uses (\`SM2_THREADS\`), and lookup and verify run with an SM2
service key, then again with the Ed25519 one. \`--ofd\` adds, in its own section, certificates that
carry their sealed OFD file (made with test/helpers/ofd.ts, sealed under the development SM2 root),
pushed one per request, against verifying the same files alone on as many worker threads
(\`OFD_THREADS\`), and the time of one file on one core. \`--ladder\` adds, in its own section,
a rung between the baseline and the lookup in every round: the same lookup on the service with its
Merkle log recording nothing (bench/unlogged.ts, a process of its own, bench only), which splits
the lookup's cost above the baseline into the authenticated API's and the guarantee's.

Targets, as ratios within one run: lookup at least 0.6 of the baseline's requests per second
with a p99 at most twice the baseline's; bulk load at least 0.7 of the signature-verification
rate; the service's RSS under load below 200 MB.
`

// Hand-written analysis, kept from one run to the next.
const ANALYSIS = /<!-- analysis -->[\s\S]*?<!-- \/analysis -->\n/

function summary(reports: RunReport[]): string {
  const rows = reports.map((r) => `| ${label(r)} | ${r.date.slice(0, 10)} | ${n0(r.baseline.rps)} | ${ms(r.baseline.p50)} | ${ms(r.baseline.p99)} | ${n0(r.lookup.rps)} | ${ms(r.lookup.p50)} | ${ms(r.lookup.p99)} | ${r.targets.filter((t) => t.met).length} of ${r.targets.length} |`)
  return `## Lookup latency by data-set size

| run | date | baseline req/s | p50 ms | p99 ms | lookup req/s | p50 ms | p99 ms | targets met |
|---|---|---:|---:|---:|---:|---:|---:|---|
${rows.join('\n')}
`
}

/** Writes `r`'s section into the file, keeping the other sections, and rebuilds the summary. */
export function writeReport(file: string, r: RunReport): void {
  const key = `${r.database}-${r.rows}${r.variant ? `-${r.variant.replace(/[^a-z0-9=.]+/gi, '-')}` : ''}`
  const sections = new Map<string, { text: string; report: RunReport }>()
  const previous = existsSync(file) ? readFileSync(file, 'utf8') : ''
  const analysis = ANALYSIS.exec(previous)?.[0] ?? ''
  if (previous) {
    for (const [, k, body] of previous.matchAll(SECTION)) {
      const data = DATA.exec(body!)
      if (data) sections.set(k!, { text: body!, report: JSON.parse(Buffer.from(data[1]!, 'base64').toString('utf8')) as RunReport })
    }
  }
  const data = Buffer.from(JSON.stringify(r)).toString('base64')
  sections.set(key, { text: `${section(r)}\n<!-- bench-data ${data} -->\n`, report: r })
  const ordered = [...sections.entries()].sort(([, a], [, b]) => a.report.database.localeCompare(b.report.database) || a.report.rows - b.report.rows || (a.report.variant ?? '').localeCompare(b.report.variant ?? ''))
  const body = ordered.map(([k, s]) => `<!-- bench-section ${k} -->\n${s.text}<!-- /bench-section -->\n`).join('\n')
  mkdirSync(dirname(file), { recursive: true })
  writeFileSync(file, `${INTRO}\n${summary(ordered.map(([, s]) => s.report))}\n${analysis ? `${analysis}\n` : ''}${body}`)
}
