/**
 * What the embedded database's memory is made of (issue 13 item 6). Every measurement runs in a
 * process of its own (plain node, no tsx), so each figure starts from the same empty process:
 *
 *   npx tsx bench/pgliteMemory.ts [--runs 3] [--rows 200000] [--only <part of a scenario's name>]
 *   npm run build && npx tsx bench/pgliteMemory.ts --service [--runs 3]
 *
 * Per scenario: RSS when PGlite is ready, the process's peak (VmHWM), RSS after three forced
 * collections, the WebAssembly memory's size and how much of it is resident (its mapping in
 * /proc/self/smaps), and process.memoryUsage() (the WebAssembly memory counts in `external`).
 * The service's own options come from src/db/client.ts (pgliteOptions), so this measures what
 * the service runs. Medians of the runs, min–max in brackets.
 *
 * `--service` measures the service itself as the issue asks: `node dist/server.js` on a fresh
 * data folder, then again on the same folder (reopened), NODE_ENV=development; VmRSS and VmHWM
 * from /proc/<pid>/status once /readyz answers 200, and the peak of the process and its
 * children together (sampled every 50 ms: the first start's initdb runs in a child).
 */
import { execFile, spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs, promisify } from 'node:util'
import { PGlite } from '@electric-sql/pglite'
import { pgliteOptions } from '../src/db/client.js'
import { freePort, REPO } from './processes.js'

const USAGE = `Usage: npx tsx bench/pgliteMemory.ts [options]
What the embedded database's memory is made of; each figure from a process of its own (medians
of the runs, min-max in brackets). Writes nothing; prints a table.

  --runs N        runs per scenario (default 3)
  --rows N        rows of the loaded scenarios (default 200000)
  --only TEXT     only the scenarios whose name contains TEXT
  --service       measure the service instead: node dist/server.js on a fresh data folder, then
                  reopened (run npm run build first); RSS when /readyz answers, and the peak of
                  the service and its children (the first start's initdb runs in a child)
  -h, --help      this text
`
const { values: args } = parseArgs({ options: { runs: { type: 'string', default: '3' }, rows: { type: 'string', default: '200000' }, only: { type: 'string' }, service: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h', default: false } } })
if (args.help) {
  process.stdout.write(USAGE)
  process.exit(0)
}
const runs = Number(args.runs)
const rows = Number(args.rows)

interface Sample {
  startRss: number
  importedRss: number
  readyRss: number
  peak: number
  gcRss: number
  wasmSize: number
  wasmRss: number
  heapUsed: number
  external: number
  arrayBuffers: number
  sharedBuffers: string
  loadedWasmSize?: number
  loadedRss?: number
  loadedWasmRss?: number
  lookupUs?: number
  blocksPerLookup?: number
}

interface Options {
  startParams?: string[]
  initDbStartParams?: string[]
}

// The child: plain ESM, PGlite from this checkout, options as JSON literals.
function childScript(dataDir: string | undefined, options: Options, load: number): string {
  return `
import { readFileSync } from 'node:fs'
const MB = 1048576
const status = (k) => Number(new RegExp(k + ':\\\\s+(\\\\d+)').exec(readFileSync('/proc/self/status', 'utf8'))[1]) * 1024
// The WebAssembly memory is the read-write anonymous mapping exactly its size, followed by V8's guard region.
function wasmResident(size) {
  const lines = readFileSync('/proc/self/smaps', 'utf8').split('\\n')
  let best = 0, cur
  for (const line of lines) {
    const m = /^([0-9a-f]+)-([0-9a-f]+) (\\S+) /.exec(line)
    if (m) { cur = { size: Number(BigInt('0x' + m[2]) - BigInt('0x' + m[1])), perm: m[3] }; continue }
    const r = /^Rss:\\s+(\\d+) kB/.exec(line)
    if (r && cur && cur.perm === 'rw-p' && cur.size === size) best = Math.max(best, Number(r[1]) * 1024)
  }
  return best
}
const startRss = process.memoryUsage().rss
const { PGlite } = await import(${JSON.stringify(import.meta.resolve('@electric-sql/pglite'))})
const importedRss = process.memoryUsage().rss
const pg = new PGlite(${JSON.stringify(dataDir)}, ${JSON.stringify(options)})
await pg.waitReady
const readyRss = process.memoryUsage().rss
const out = { startRss, importedRss, readyRss }
const sharedBuffers = (await pg.query('show shared_buffers')).rows[0].shared_buffers
for (let i = 0; i < 3; i++) { globalThis.gc(); await new Promise((r) => setTimeout(r, 200)) }
const m = process.memoryUsage()
const wasmSize = pg.mod.HEAPU8.buffer.byteLength
Object.assign(out, { gcRss: m.rss, heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers, wasmSize, wasmRss: wasmResident(wasmSize), sharedBuffers })
if (${load} > 0) {
  // A table of ${load} rows and an index built over it: what an index build (a migration on a full table) adds for good.
  await pg.exec("create table if not exists bench_mem (id int primary key, k text)")
  await pg.exec("truncate bench_mem")
  await pg.exec("insert into bench_mem select g, md5(g::text) from generate_series(1, ${load}) g")
  await pg.exec("drop index if exists bench_mem_k; create index bench_mem_k on bench_mem (k)")
  // Point lookups by the indexed key, twice: the second pass is warm, and what it still reads
  // into shared buffers (from the OS page cache, through PGlite's file system) is what a small
  // shared_buffers costs a lookup.
  const blocksRead = async () => (await pg.query('select blks_read::int as r from pg_stat_database where datname = current_database()')).rows[0].r
  for (let pass = 0; pass < 2; pass++) {
    const [r0, t0] = [await blocksRead(), performance.now()]
    for (let i = 0; i < 2000; i++) await pg.query('select id from bench_mem where k = md5($1)', [String(1 + Math.floor(Math.random() * ${load}))])
    out.lookupUs = ((performance.now() - t0) / 2000) * 1000
    out.blocksPerLookup = ((await blocksRead()) - r0) / 2000
  }
  out.loadedWasmSize = pg.mod.HEAPU8.buffer.byteLength
  out.loadedRss = process.memoryUsage().rss
  out.loadedWasmRss = wasmResident(out.loadedWasmSize)
}
out.peak = status('VmHWM')
await pg.close()
process.stdout.write(JSON.stringify(out))
`
}

async function measure(dataDir: string | undefined, options: Options, load = 0, flags: string[] = []): Promise<Sample> {
  const { stdout } = await promisify(execFile)(process.execPath, [...flags, '--expose-gc', '--input-type=module', '-e', childScript(dataDir, options, load)], {
    maxBuffer: 1 << 24,
  })
  return JSON.parse(stdout) as Sample
}

const mb = (b: number) => Math.round(b / 1048576)
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0
function cell(samples: Sample[], key: keyof Sample): string {
  const xs = samples.map((s) => s[key]).filter((x): x is number => typeof x === 'number')
  if (!xs.length) return ''
  const [lo, hi] = [Math.min(...xs), Math.max(...xs)]
  return mb(hi - lo) >= 2 ? `${mb(median(xs))} (${mb(lo)}–${mb(hi)})` : `${mb(median(xs))}`
}

const defaults: Options = {}
const withSettings = (settings: string[]): Options => ({ startParams: [...PGlite.defaultStartParams, ...settings.flatMap((s) => ['-c', s])] })
const service = pgliteOptions()

const kB = (pid: number, key: string): number => {
  try {
    return Number(new RegExp(`${key}:\\s+(\\d+)`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024
  } catch {
    return 0 // gone
  }
}
const descendants = (pid: number): number[] => [pid, ...readChildren(pid).flatMap(descendants)]
function readChildren(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number)
  } catch {
    return []
  }
}

interface ServiceSample {
  readyRss: number
  peak: number
  treePeak: number
  seconds: number
}

async function serviceRun(dataDir: string): Promise<ServiceSample> {
  const port = await freePort()
  const env: NodeJS.ProcessEnv = { ...process.env, NODE_ENV: 'development', DATA_DIR: dataDir, PORT: String(port), LOG_LEVEL: 'warn', RATE_LIMIT_MAX: '0' }
  delete env.DATABASE_URL
  const started = Date.now()
  const child = spawn(process.execPath, [join(REPO, 'dist/server.js')], { cwd: REPO, env, stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  let treePeak = 0
  const sampler = setInterval(() => {
    treePeak = Math.max(treePeak, descendants(child.pid!).reduce((sum, pid) => sum + kB(pid, 'VmRSS'), 0))
  }, 50)
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`the service exited: ${stderr}`)
      if (Date.now() - started > 120_000) throw new Error('the service was not ready within 120 s')
      const ok = await fetch(`http://127.0.0.1:${port}/readyz`).then((r) => r.ok, () => false)
      if (ok) break
      await new Promise((r) => setTimeout(r, 100))
    }
    const seconds = (Date.now() - started) / 1000
    return { readyRss: kB(child.pid!, 'VmRSS'), peak: kB(child.pid!, 'VmHWM'), treePeak, seconds }
  } finally {
    clearInterval(sampler)
    child.kill('SIGTERM')
    await exited
  }
}

async function serviceMode(): Promise<void> {
  const scratch = mkdtempSync(join(tmpdir(), 'zhengzhao-pglite-service-'))
  try {
    const rowsOut: string[] = []
    for (let r = 0; r < runs; r++) {
      const dir = join(scratch, `data-${r}`)
      const fresh = await serviceRun(dir)
      const reopened = await serviceRun(dir)
      const f = (s: ServiceSample) => `${mb(s.readyRss)} | ${mb(s.peak)} | ${mb(s.treePeak)} | ${s.seconds.toFixed(1)}`
      rowsOut.push(`| ${r + 1} | ${f(fresh)} | ${f(reopened)} |`)
    }
    console.log(`node dist/server.js, NODE_ENV=development, ${process.version}; MB, seconds to ready.\n`)
    console.log('| run | fresh: VmRSS ready | VmHWM | with children, peak | s | reopened: VmRSS ready | VmHWM | with children, peak | s |')
    console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|')
    for (const row of rowsOut) console.log(row)
  } finally {
    rmSync(scratch, { recursive: true, force: true })
  }
}

if (args.service) {
  await serviceMode()
  process.exit(0)
}

const scratch = mkdtempSync(join(tmpdir(), 'zhengzhao-pglite-memory-'))
const reopened = join(scratch, 'reopened')
const loaded = join(scratch, 'loaded')
let fresh = 0
const freshDir = () => join(scratch, `fresh-${fresh++}`)

// Scenarios: [label, what to run]. A reopened folder was made by PGlite's own defaults (its
// postgresql.conf says 128MB), so each scenario's settings are the ones it passes.
const scenarios: [string, () => Promise<Sample>][] = [
  ['in memory, PGlite defaults', () => measure(undefined, defaults)],
  ['reopened folder, PGlite defaults (shared_buffers 128MB)', () => measure(reopened, defaults)],
  ['reopened folder, shared_buffers 64MB', () => measure(reopened, withSettings(['shared_buffers=64MB']))],
  ['reopened folder, shared_buffers 32MB', () => measure(reopened, withSettings(['shared_buffers=32MB']))],
  ['reopened folder, shared_buffers 8MB', () => measure(reopened, withSettings(['shared_buffers=8MB']))],
  ['reopened folder, the service options', () => measure(reopened, service)],
  // Not the service's choice (a node flag, and every query then runs TurboFan code compiled up
  // front): how much of the rest is WebAssembly code compiled by Liftoff, V8's baseline tier.
  ['reopened folder, the service options, node --no-liftoff', () => measure(reopened, service, 0, ['--no-liftoff'])],
  ['fresh folder, initdb in the process, PGlite defaults', () => measure(freshDir(), defaults)],
  ['fresh folder, the service: initdb in a child (its figures), then opened', () => measure(freshDir(), service)],
  [`reopened folder, PGlite defaults, then ${rows.toLocaleString('en')} rows and an index`, () => measure(loaded, defaults, rows)],
  [`reopened folder, shared_buffers 16MB (maintenance_work_mem 64MB), then ${rows.toLocaleString('en')} rows and an index`, () => measure(loaded, withSettings(['shared_buffers=16MB']), rows)],
  [`reopened folder, the service options, then ${rows.toLocaleString('en')} rows and an index`, () => measure(loaded, service, rows)],
]

try {
  await Promise.all([measure(reopened, defaults), measure(loaded, defaults)])
  const results = new Map<string, Sample[]>()
  for (let r = 0; r < runs; r++) {
    for (const [label, run] of scenarios) {
      if (args.only && !label.includes(args.only)) continue
      if (label.includes('a child')) {
        // What src/db/client.ts does on a fresh folder: a child runs initdb and exits, then the
        // service opens the folder. The child's row is its peak; the service's is the reopen.
        const dir = freshDir()
        const child = await measure(dir, service)
        const opened = await measure(dir, service)
        results.set(`${label} — the child`, [...(results.get(`${label} — the child`) ?? []), child])
        results.set(`${label} — the service`, [...(results.get(`${label} — the service`) ?? []), opened])
        continue
      }
      results.set(label, [...(results.get(label) ?? []), await run()])
    }
  }
  const cols: [string, keyof Sample][] = [
    ['RSS ready', 'readyRss'],
    ['peak (VmHWM)', 'peak'],
    ['RSS after GC', 'gcRss'],
    ['WASM size', 'wasmSize'],
    ['WASM resident', 'wasmRss'],
    ['external', 'external'],
    ['arrayBuffers', 'arrayBuffers'],
    ['JS heap used', 'heapUsed'],
    ['WASM after load', 'loadedWasmSize'],
    ['WASM resident after load', 'loadedWasmRss'],
    ['RSS after load', 'loadedRss'],
  ]
  const first = [...results.values()][0]?.[0]
  console.log(`Node ${process.version}, ${runs} run(s) each; MB. An empty node process: ${first ? mb(first.startRss) : '?'} MB; after importing PGlite: ${first ? mb(first.importedRss) : '?'} MB.\n`)
  console.log(`| scenario | shared_buffers | ${cols.map((c) => c[0]).join(' | ')} |`)
  console.log(`|---|---|${cols.map(() => '---:').join('|')}|`)
  for (const [label, samples] of results) console.log(`| ${label} | ${samples[0]?.sharedBuffers ?? ''} | ${cols.map(([, k]) => cell(samples, k)).join(' | ')} |`)
  const loads = [...results].filter(([, samples]) => samples.some((s) => s.lookupUs !== undefined))
  if (loads.length) {
    console.log('\n| scenario | µs per warm point lookup | blocks read per warm lookup |\n|---|---:|---:|')
    const raw = (samples: Sample[], key: 'lookupUs' | 'blocksPerLookup', digits: number) =>
      samples.map((s) => (s[key] ?? 0).toFixed(digits)).join(', ')
    for (const [label, samples] of loads) console.log(`| ${label} | ${raw(samples, 'lookupUs', 0)} | ${raw(samples, 'blocksPerLookup', 2)} |`)
  }
} finally {
  rmSync(scratch, { recursive: true, force: true })
}
