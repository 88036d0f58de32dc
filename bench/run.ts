// npm run bench: the service on PostgreSQL (or PGlite with --pglite), a synthetic data set loaded
// through the API, then baseline, lookup, verify and push measured with autocannon in one run.
// Prints a table and writes its section of docs/benchmarks.md. See docs/benchmarks.md.
//
//   npx tsx bench/run.ts [--rows 100000] [--holders N] [--pglite] [--duration 10] [--warmup 3]
//                        [--connections 10] [--rounds 2] [--load-concurrency 4] [--no-write]
//                        [--tsx] [--profile] [--perf] [--node-flags "..."] [--quiet-wait 20] [--sm2]
//                        [--ofd] [--ofd-files 200] [--ofd-pages 2] [--ofd-threads N] [--ladder]
//
// The service runs as compiled JavaScript, as the Docker image runs it; --tsx runs it from the
// TypeScript sources as `npm start` does. --profile runs it under `node --cpu-prof` and reports
// where its CPU went per scenario; --node-flags=… replaces the flags given to the service's node
// (default: the Docker image's --max-old-space-size=128).
import { spawn } from 'node:child_process'
import { availableParallelism } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { fileURLToPath } from 'node:url'
import { killAllChildren, REPO } from './processes.js'
import { cpuTable, ladderTable, logTable, ofdTable, perfTables, profileTables, resultsTable, sm2Table, targetsTable, writeReport } from './report.js'
import { runSuite } from './suite.js'

const { values: args } = parseArgs({
  options: {
    rows: { type: 'string', default: '100000' },
    holders: { type: 'string' },
    'api-rows': { type: 'string', default: '100000' },
    pglite: { type: 'boolean', default: false },
    duration: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '3' },
    connections: { type: 'string', default: '10' },
    rounds: { type: 'string', default: '2' },
    batch: { type: 'string', default: '1000' },
    'load-concurrency': { type: 'string', default: '4' },
    'max-minutes': { type: 'string' },
    out: { type: 'string', default: join(REPO, 'docs/benchmarks.md') },
    'no-write': { type: 'boolean', default: false },
    tsx: { type: 'boolean', default: false },
    // The Docker image's heap cap (its NODE_OPTIONS): the service as it is deployed.
    'node-flags': { type: 'string', default: '--max-old-space-size=128' },
    profile: { type: 'boolean', default: false },
    perf: { type: 'boolean', default: false },
    pin: { type: 'boolean', default: false },
    ladder: { type: 'boolean', default: false },
    workers: { type: 'string', default: '1' },
    'quiet-wait': { type: 'string', default: '20' },
    'copy-workers': { type: 'string', default: '2' },
    sm2: { type: 'boolean', default: false },
    'sm2-threads': { type: 'string' },
    ofd: { type: 'boolean', default: false },
    'ofd-files': { type: 'string', default: '200' },
    'ofd-pages': { type: 'string', default: '2' },
    'ofd-threads': { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
})
if (args.help) {
  process.stdout.write(`Usage: npm run bench -- [options]

Starts the service (compiled, as the Docker image runs it) on a scratch PostgreSQL server, loads
a synthetic data set through the API, and measures in one run: a bare Fastify + prepared-statement
baseline, POST /v1/lookup, POST /v1/verify, POST /v1/certificates, and the bulk load against
verifying the same signatures alone. Prints the tables and writes docs/benchmarks.md.

  --rows N              certificates in the data set (default 100000; rows past --api-rows go in with COPY)
  --holders N           synthetic holders (default rows / 2)
  --api-rows N          certificates pushed through the API, the bulk load (default 100000)
  --pglite              run on embedded PGlite instead of PostgreSQL
  --duration S          seconds measured per scenario (default 10)
  --warmup S            seconds run and dropped before each (default 3)
  --connections N       autocannon connections (default 10)
  --rounds N            baseline and lookup alternate N times; the median is reported (default 2)
  --batch N             certificates per batch in the bulk load (default 1000)
  --load-concurrency N  batches in flight in the bulk load (default 4)
  --copy-workers N      worker threads generating the COPY rows (default 2)
  --sm2                 the SM2 (国密) variant: certificates signed SM2 by an SM2 issuer key (certified
                        by the development SM2 root with openssl), verification alone on the same
                        worker threads, one thread's SM2 verification rate, and lookup and verify
                        with an SM2 service key, then with the Ed25519 one to compare
  --sm2-threads N       SM2_THREADS of the service and of verification alone (default: the cores)
  --ofd                 add the sealed-OFD scenario: certificates carrying their sealed OFD file (made
                        with openssl SM2 seals under the development SM2 root), pushed one per request,
                        against verifying the same files alone on as many worker threads, and one
                        file's verification time on one core. Not in the default run: making the
                        files takes two openssl runs each
  --ofd-files N         sealed files in that scenario (default 200)
  --ofd-pages N         pages per file (default 2)
  --ofd-threads N       OFD_THREADS of the service and of verification alone (default: the cores)
  --tsx                 run the service from the TypeScript sources, as npm start does
  --node-flags=FLAGS    node flags for the service (default the image's --max-old-space-size=128)
  --profile             run the service under node --cpu-prof and report where its CPU went: each
                        scenario's CPU per request split by kind of work (access log, driver, HTTP,
                        token, validation, serialisation…), self time and the service's functions
  --perf                record every CPU with Linux perf (needs perf: Debian's linux-perf, and root or
                        kernel.perf_event_paranoid <= 0) and report each scenario's on-CPU samples of
                        the service: its main thread by kind of work, the kernel's share by system
                        call, its other threads (V8's compilers and garbage collector, libuv's pool).
                        Unlike --profile, time a thread spends preempted is not counted. With
                        --workers, the primary process (the log's appender) and the worker processes
                        are counted apart
  --ladder              split the lookup's cost above the baseline: every round also measures the same
                        lookup on the service with its Merkle log recording nothing (bench/unlogged.ts,
                        a process of its own that writes nothing; bench only), so the difference to the
                        baseline is the authenticated API's and the rest is the guarantee's
  --workers N           the service's WORKERS (processes, PostgreSQL only; default 1, so runs compare
                        with earlier ones); CPU and RSS then count every worker
  --pin                 separate machines, simulated (PostgreSQL only): taskset puts the service and
                        the baseline on the last core, PostgreSQL and the load generator on the
                        others, so the ratio no longer mixes the database's CPU into the service's
  --quiet-wait S        wait up to S seconds for the machine to go quiet before each scenario (default 20)
  --max-minutes M       stop everything and fail after M minutes (default 20 + 6 per million rows)
  --out FILE            report file (default docs/benchmarks.md); --no-write prints only
  -h, --help            this text
`)
  process.exit(0)
}
const int = (name: keyof typeof args, v: string | undefined, min: number): number => {
  const n = Number(v)
  if (!Number.isInteger(n) || n < min) throw new Error(`--${String(name)} must be an integer ≥ ${min}, not ${v}`)
  return n
}
const rows = int('rows', args.rows, 1000)
const holders = args.holders ? int('holders', args.holders, 1) : Math.max(1, Math.floor(rows / 2))
const apiRows = Math.min(rows, int('api-rows', args['api-rows'], 1000))
const opts = {
  connections: int('connections', args.connections, 1),
  durationSeconds: int('duration', args.duration, 1),
  warmupSeconds: int('warmup', args.warmup, 0),
  rounds: int('rounds', args.rounds, 1),
  batchSize: int('batch', args.batch, 1),
  loadConcurrency: int('load-concurrency', args['load-concurrency'], 1),
  quietSeconds: int('quiet-wait', args['quiet-wait'], 0),
}
const argv = process.argv.slice(2)
const command = process.env.ZHENGZHAO_BENCH_COMMAND ?? `npm run bench${argv.length ? ` -- ${argv.join(' ')}` : ''}`

// No database given: run again under a scratch PostgreSQL cluster (.ci/with-postgres), which
// stops the server when this exits. Its own process group, so a signal reaches every process.
if (!args.pglite && !process.env.DATABASE_URL) {
  const child = spawn('bash', [join(REPO, '.ci/with-postgres'), process.execPath, '--import', 'tsx', fileURLToPath(import.meta.url), ...argv], {
    cwd: REPO,
    stdio: 'inherit',
    detached: true,
    env: { ...process.env, ZHENGZHAO_BENCH_COMMAND: command },
  })
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => child.pid && process.kill(-child.pid, 'SIGTERM'))
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)))
} else {
  await main()
}

function log(msg: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`)
}

async function main(): Promise<void> {
  const databaseUrl = args.pglite ? undefined : process.env.DATABASE_URL
  const cleanups: (() => Promise<void> | void)[] = []
  const cleanup = async () => {
    for (const c of cleanups.splice(0).reverse()) await Promise.resolve(c()).catch((err: Error) => log(`cleanup: ${err.message}`))
  }
  process.on('exit', killAllChildren)
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void cleanup().finally(() => process.exit(130)))
  // Everything is bounded: past the limit, stop what this run started and fail.
  const maxMinutes = args['max-minutes'] ? Number(args['max-minutes']) : 20 + Math.ceil(rows / 1_000_000) * 6
  setTimeout(() => (log(`time limit of ${maxMinutes} min reached`), void cleanup().finally(() => process.exit(3))), maxMinutes * 60_000).unref()
  try {
    const report = await runSuite({ databaseUrl, rows, holders, apiRows, command, compiled: !args.tsx, profile: args.profile, perf: args.perf, pin: args.pin, ladder: args.ladder, workers: int('workers', args.workers, 1), nodeFlags: args['node-flags'].split(/\s+/).filter(Boolean), copyWorkers: int('copy-workers', args['copy-workers'], 1), sm2: args.sm2 ? { threads: args['sm2-threads'] ? int('sm2-threads', args['sm2-threads'], 1) : availableParallelism() } : undefined, ofd: args.ofd ? { threads: args['ofd-threads'] ? int('ofd-threads', args['ofd-threads'], 1) : availableParallelism(), files: int('ofd-files', args['ofd-files'], 1), pages: int('ofd-pages', args['ofd-pages'], 1) } : undefined, run: opts, log }, cleanups)
    process.stdout.write(`\n${resultsTable(report)}\n\n${cpuTable(report)}\n\n${targetsTable(report)}\n\n${report.log ? `${logTable(report)}\n\n` : ''}${report.ladder ? `${ladderTable(report)}\n\n` : ''}${report.sm2 ? `${sm2Table(report)}\n\n` : ''}${report.ofd ? `${ofdTable(report)}\n\n` : ''}${report.perf ? `${perfTables(report)}\n\n` : ''}${report.profile ? `${profileTables(report)}\n\n` : ''}`)
    if (!args['no-write']) {
      writeReport(args.out, report)
      log(`wrote ${args.out}`)
    }
  } catch (err) {
    log(`failed: ${(err as Error).stack ?? String(err)}`)
    process.exitCode = 1
  } finally {
    await cleanup()
  }
}
