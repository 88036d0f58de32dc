// One benchmark run, start to finish: service, data set, baseline, scenarios. Every process it
// starts is registered in `cleanups` the moment it exists, so the caller stops it whatever happens.
import { appendBacklog, checkpointCount, treeSize, type LogFigures } from './log.js'
import { execFile } from 'node:child_process'
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { availableParallelism, tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import postgres from 'postgres'
import { readExampleSigningKey, signDevToken } from '../src/auth/devTokens.js'
import { defaultPoolSize, EXAMPLE_KEYS_DIR } from '../src/config.js'
import { parseDataProtectionKeys } from '../src/crypto/dataProtection.js'
import { childrenOf, cpuWindow, parentOf, type Pids } from './cpu.js'
import { bulkLoad, verifyAlone } from './load.js'
import { describeMachine } from './machine.js'
import { compileService, REPO, rssBytes, sampleRss, startNode, type Child } from './processes.js'
import { checkPerf, PERF_NODE_FLAGS, perfMapBytes, perfMapOf, readPerf, startPerf, summarizeNamed } from './perf.js'
import { mainThreadProfiles, summarizeProfile } from './profile.js'
import { medianOf, UNLOGGED_SCENARIO, type RunReport } from './report.js'
import { copyIntoPglite, copyIntoPostgres, type ScaleResult } from './scale.js'
import { measure, type Measurement, type Scenario } from './scenarios.js'
import { createSm2Signer, makeSm2Material, registerSm2Key, sm2PerCore, verifyAloneSm2 } from './sm2.js'
import { runOfdScenario } from './ofd.js'
import { createSigner, ISSUER_CODE, signCertificates, syntheticHolder, TYPE_CODE } from './synthetic.js'

export interface SuiteOptions {
  databaseUrl: string | undefined
  rows: number
  holders: number
  apiRows: number
  command: string
  compiled: boolean
  profile: boolean
  /** Record every CPU with Linux perf and report each scenario's on-CPU samples of the service (bench/perf.ts). */
  perf?: boolean | undefined
  /** Extra node flags for the service process (e.g. --max-old-space-size=128). */
  nodeFlags: string[]
  /** Worker threads generating the rows written with COPY. */
  copyWorkers: number
  /**
   * Separate machines, simulated: the service (and the baseline) on the last core, PostgreSQL and
   * the load generator on the others (taskset), so the service's CPU no longer competes with the
   * database's. PostgreSQL only.
   */
  pin?: boolean | undefined
  /** The service's WORKERS (processes); its CPU and RSS then count the workers too. */
  workers: number
  /**
   * A rung between the baseline and the lookup in every round: the same service with its Merkle
   * log recording nothing (bench/unlogged.ts), so the lookup's cost above the bare baseline splits
   * into the authenticated API's and the guarantee's.
   */
  ladder?: boolean | undefined
  /** The SM2 variant: SM2 issuer key and service key, the service's SM2 pool of `threads` workers. */
  sm2?: { threads: number } | undefined
  /** The sealed-OFD scenario: `files` certificates with a file of `pages` pages, the service's OFD pool of `threads` workers. */
  ofd?: { threads: number; files: number; pages: number } | undefined
  run: RunReport['options'] & { quietSeconds: number }
  log(msg: string): void
}

type Cleanups = (() => Promise<void> | void)[]

/** `taskset -a -cp CPUS PID`: every thread of the process, and whatever it forks from now on. */
async function pinTo(cpus: string, pid: number): Promise<void> {
  await promisify(execFile)('taskset', ['-a', '-cp', cpus, String(pid)])
}

/** The cores for `--pin`: the service gets the last one, PostgreSQL and the bench the rest. */
function pinPlan(): { service: string; others: string } {
  const n = availableParallelism()
  if (n < 2) throw new Error('--pin needs at least 2 cores')
  return { service: String(n - 1), others: n === 2 ? '0' : `0-${n - 2}` }
}

/** A process and every process it has forked (PostgreSQL's backends, the service's workers); later forks inherit. */
async function pinTree(cpus: string, parent: number): Promise<void> {
  const { stdout } = await promisify(execFile)('pgrep', ['-P', String(parent)]).catch(() => ({ stdout: '' }))
  for (const pid of [parent, ...stdout.split(/\s+/).filter(Boolean).map(Number)]) await pinTo(cpus, pid).catch(() => {})
}
const READER_ORG = '11330105002500287C'

function scratchDir(prefix: string, cleanups: Cleanups): string {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

/**
 * Settles the database after the load as a production table would be: statistics, visibility map
 * and a checkpoint, so neither autovacuum nor a checkpoint runs in the middle of a scenario.
 */
async function settle(url: string): Promise<void> {
  const sql = postgres(url, { max: 1, onnotice: () => {} })
  try {
    await sql`vacuum (analyze) certificates, audit_events`
    await sql`checkpoint`.catch(() => undefined)
  } finally {
    await sql.end({ timeout: 5 })
  }
}

async function postmasterOf(url: string): Promise<number | undefined> {
  const sql = postgres(url, { max: 1, onnotice: () => {} })
  try {
    const [row] = await sql<{ pid: number }[]>`select pg_backend_pid() as pid`
    return parentOf(row!.pid)
  } finally {
    await sql.end({ timeout: 5 })
  }
}

export async function runSuite(o: SuiteOptions, cleanups: Cleanups): Promise<RunReport> {
  const { databaseUrl, rows, holders, apiRows, log } = o
  const machine = await describeMachine(databaseUrl)
  log(`${machine.database}; ${rows} rows over ${holders} holders, ${apiRows} through the API`)
  const pgliteDir = databaseUrl ? undefined : scratchDir('zhengzhao-bench-', cleanups)
  const profileDir = o.profile ? scratchDir('zhengzhao-bench-prof-', cleanups) : undefined
  if (o.perf) checkPerf()
  const perfFile = o.perf ? join(scratchDir('zhengzhao-bench-perf-', cleanups), 'perf.data') : undefined
  const distDir = o.compiled ? await compileService() : undefined
  if (distDir) cleanups.push(() => rmSync(distDir, { recursive: true, force: true }))
  // --perf: V8 writes /tmp/perf-<pid>.map, naming its compiled code, interpreted frames included.
  const perfFlags = perfFile ? PERF_NODE_FLAGS : []
  const serviceArgv = [...o.nodeFlags, ...perfFlags, ...(profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []), ...(distDir ? ['dist/server.js'] : ['--import', 'tsx', 'src/server.ts'])]
  const sm2 = o.sm2 ? { ...o.sm2, ...makeSm2Material(scratchDir('zhengzhao-bench-sm2-', cleanups)) } : undefined
  const pin = o.pin ? pinPlan() : undefined
  if (pin && !databaseUrl) throw new Error('--pin needs PostgreSQL: PGlite runs inside the service process')
  // The service's pool, as its config would choose it; said in the report (DB_POOL_SIZE in the bench's environment wins).
  const poolSize = Number(process.env.DB_POOL_SIZE) || defaultPoolSize(o.workers)
  const baseEnv: Record<string, string> = { NODE_ENV: 'development', LOG_LEVEL: 'warn', RATE_LIMIT_MAX: '0', WORKERS: String(o.workers), DB_POOL_SIZE: String(poolSize), ...(o.ofd ? { OFD_THREADS: String(o.ofd.threads) } : {}), ...(databaseUrl ? { DATABASE_URL: databaseUrl } : { DATA_DIR: pgliteDir!, DATABASE_URL: '' }) }
  // SM2: the service signs the log's checkpoints with an SM2 key and checks SM2 signatures on its worker pool.
  let serviceEnv = sm2 ? { ...baseEnv, SERVICE_KEYS: sm2.serviceKeyFile, SM2_THREADS: String(sm2.threads) } : baseEnv
  let service: Child | undefined
  let idleRssBytes = 0
  const servicePids: number[] = []
  // With --workers: the primary's worker processes (node:cluster forks them with its node flags).
  const workerPids = new Map<number, number[]>()
  const startService = async () => {
    service = await startNode('service', serviceArgv, serviceEnv, '/readyz', distDir)
    servicePids.push(service.pid)
    if (pin) await pinTree(pin.service, service.pid)
    await new Promise((r) => setTimeout(r, 1000))
    // By now every worker has been forked (the first one's answer made the service ready). A worker
    // started later, after one died, is not counted: the bench's scenarios never kill one.
    const workers = o.workers > 1 ? childrenOf(service.pid) : []
    if (workers.length > 0) workerPids.set(service.pid, workers)
    // --perf: V8 writes one map per process, the workers' included.
    for (const pid of [service.pid, ...workers]) if (perfFile) cleanups.push(() => rmSync(perfMapOf(pid), { force: true }))
    idleRssBytes = rssBytes(service.pid) ?? 0
    log(`service pid ${service.pid} on ${service.url}, RSS ${(idleRssBytes / 2 ** 20).toFixed(0)} MB when ready`)
  }
  cleanups.push(() => service?.stop())
  await startService()
  const pids: Pids = { service: service!.pid, postmaster: databaseUrl ? await postmasterOf(databaseUrl) : undefined }
  if (pin) {
    if (!pids.postmaster) throw new Error('--pin needs PostgreSQL (its postmaster could not be found)')
    await pinTree(pin.others, pids.postmaster)
    await pinTo(pin.others, process.pid)
    log(`pinned: service and baseline on core ${pin.service}; PostgreSQL and the load generator on ${pin.others}`)
  }

  const idpKey = readExampleSigningKey()
  const token = (roles: ('admin' | 'issuer' | 'reader')[], org: string) => signDevToken(idpKey, { roles, org, sub: 'bench', ttlSeconds: 4 * 3600 })
  const [adminToken, issuerToken, readerToken] = await Promise.all([token(['admin'], READER_ORG), token(['issuer'], ISSUER_CODE), token(['reader'], READER_ORG)])
  const grant = await fetch(`${service!.url}/v1/grants/${READER_ORG}`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: '基准测试审批部门', grants: [{ typeCode: TYPE_CODE }] }),
  })
  if (!grant.ok) throw new Error(`PUT grants: HTTP ${grant.status}: ${await grant.text()}`)
  if (sm2) await registerSm2Key(service!.url, adminToken, sm2.certificatePem)

  // The data set: signed here, pushed through the API in batches; that push is the bulk load.
  const signer = sm2 ? await createSm2Signer(sm2.privateKeyPem) : await createSigner()
  const prefix = `B${Date.now().toString(36).toUpperCase()}`
  let t = performance.now()
  const loaded = await signCertificates(signer, prefix, 0, apiRows, holders)
  const signSeconds = (performance.now() - t) / 1000
  log(`signed ${apiRows} certificates in ${signSeconds.toFixed(1)} s; bulk load…`)
  // --perf: each window's perf maps as they stood when it closed (bench/perf.ts renameJitFrames).
  const windowMaps = new Map<string, Map<number, number>>()
  const perfRecord = perfFile ? startPerf(perfFile) : undefined
  if (perfRecord) cleanups.push(() => perfRecord.stop().catch(() => {}))
  const bulkPid = service!.pid
  const loadRss = sampleRss(service!.pid)
  const loadCpu = cpuWindow(pids)
  const loadStartUs = Number(process.hrtime.bigint() / 1000n)
  const bulk = await bulkLoad(service!.url, issuerToken, loaded.jws, o.run.batchSize, o.run.loadConcurrency)
  const bulkWindowUs: [number, number] = [loadStartUs, Number(process.hrtime.bigint() / 1000n)]
  const bulkCpu = loadCpu.stop()
  if (perfFile) windowMaps.set('bulk load', perfMapBytes([bulkPid, ...(workerPids.get(bulkPid) ?? [])]))
  const bulkRssBytes = loadRss.stop()
  log(`bulk load: ${bulk.created} created in ${bulk.seconds.toFixed(1)} s (${bulk.perSecond.toFixed(0)}/s)`)
  if (bulk.created !== apiRows) throw new Error(`bulk load created ${bulk.created} of ${apiRows} (rejected or unchanged: ${bulk.rejected})`)
  const publicKeyPem = signer.publicKey.export({ type: 'spki', format: 'pem' }).toString()
  const alone = sm2
    ? await verifyAloneSm2(loaded.jws, publicKeyPem, signer.kid, o.run.batchSize, o.run.loadConcurrency, sm2.threads)
    : await verifyAlone(loaded.jws, signer.publicKey, signer.alg, o.run.batchSize, o.run.loadConcurrency)
  log(`signature verification alone: ${alone.perSecond.toFixed(0)}/s`)
  const perCore = sm2 ? sm2PerCore(loaded.jws, publicKeyPem) : undefined
  if (perCore) log(`SM2 verification on one thread: ${perCore.perSecond.toFixed(0)}/s`)

  // Rows past the API-loaded ones go straight into the table (bench/scale.ts).
  const allHolders = new Int32Array(new SharedArrayBuffer(rows * 4))
  allHolders.set(loaded.holders)
  let scale: ScaleResult | undefined
  let baselineDir: string | undefined
  // --ladder on PGlite: the rung's own copy of the folder, made while no process has it open.
  let unloggedDir: string | undefined
  const keysFile = process.env.DATA_PROTECTION_KEYS ?? join(EXAMPLE_KEYS_DIR, 'data-protection.json')
  const spec = { keys: parseDataProtectionKeys(readFileSync(keysFile, 'utf8')), prefix, first: apiRows, count: rows - apiRows, holders, alg: signer.alg, kid: signer.kid }
  // The scenarios get a fresh service process: the bulk load's heap does not carry over into
  // their memory figures, and a PGlite folder is free meanwhile to add rows and to be copied.
  await service!.stop()
  if (databaseUrl) {
    if (spec.count > 0) {
      log(`writing ${spec.count} more rows with COPY…`)
      const plan = { url: databaseUrl, keysFile, prefix, first: apiRows, count: spec.count, holderCount: holders, alg: signer.alg, kid: signer.kid, holders: allHolders.buffer as SharedArrayBuffer, workers: o.copyWorkers }
      scale = await copyIntoPostgres(plan, log)
    }
    await settle(databaseUrl)
  } else {
    if (spec.count > 0) {
      log(`writing ${spec.count} more rows into PGlite…`)
      scale = await copyIntoPglite(pgliteDir!, spec, allHolders.subarray(apiRows))
    }
    baselineDir = scratchDir('zhengzhao-bench-baseline-', cleanups)
    cpSync(pgliteDir!, baselineDir, { recursive: true })
    if (o.ladder) {
      unloggedDir = scratchDir('zhengzhao-bench-unlogged-', cleanups)
      cpSync(pgliteDir!, unloggedDir, { recursive: true })
    }
  }
  const loadIdleRssBytes = idleRssBytes
  await startService()
  pids.service = service!.pid

  const baseline = await startNode('baseline', ['--import', 'tsx', 'bench/baseline.ts'], databaseUrl ? { DATABASE_URL: databaseUrl } : { DATA_DIR: baselineDir!, DATABASE_URL: '' }, '/ready')
  cleanups.push(() => baseline.stop())
  pids.baseline = baseline.pid
  if (pin) await pinTo(pin.service, baseline.pid)
  log(`baseline pid ${baseline.pid} on ${baseline.url}`)
  // --ladder: the service without its log (on PGlite, on its own copy of the folder).
  let unlogged: Child | undefined
  if (o.ladder) {
    const env = { ...serviceEnv, WORKERS: '1', ZHENGZHAO_BENCH_UNLOGGED: '1', UNLOGGED_FROM: distDir ? join(distDir, 'dist') : '', ...(unloggedDir ? { DATA_DIR: unloggedDir } : {}) }
    unlogged = await startNode('unlogged', [...o.nodeFlags, '--import', 'tsx', join(REPO, 'bench/unlogged.ts')], env, '/readyz', distDir)
    cleanups.push(() => unlogged?.stop())
    if (pin) await pinTo(pin.service, unlogged.pid)
    log(`the service without its log (--ladder) pid ${unlogged.pid} on ${unlogged.url}`)
  }
  const lookupBody = () => JSON.stringify({ holder: { idType: '111', id: syntheticHolder(allHolders[Math.floor(Math.random() * rows)]!) }, purpose: { matterCode: 'BENCH-LOOKUP', reason: 'benchmark' } })
  await sanityCheck(service!.url, baseline.url, readerToken, syntheticHolder(loaded.holders[0]!), unlogged?.url)

  const measurements: Measurement[] = []
  const scenarioPids = new Map<string, number>()
  // `servedBy`: another process in the service's place (the ladder's rung), measured as the service is.
  const run = async (s: Scenario, servedBy?: Child) => {
    log(`${s.name}…`)
    if (!servedBy) scenarioPids.set(s.name, service!.pid)
    const m = await measure(s, { ...o.run, pids: servedBy ? { ...pids, service: servedBy.pid } : pids })
    if (perfFile && !servedBy) windowMaps.set(s.name, perfMapBytes([service!.pid, ...(workerPids.get(service!.pid) ?? [])]))
    log(`${s.name}: ${m.rps.toFixed(0)} req/s, p50 ${m.p50.toFixed(2)} ms, p99 ${m.p99.toFixed(2)} ms, non-2xx ${m.non2xx}; cores: service ${m.cpu.service.toFixed(2)}, postgres ${m.cpu.postgres.toFixed(2)}, baseline ${m.cpu.baseline.toFixed(2)}, autocannon ${m.cpu.loadGenerator.toFixed(2)}, others ${m.cpu.others.toFixed(2)}`)
    measurements.push(m)
    return m
  }
  const auth = (tok: string) => ({ authorization: `Bearer ${tok}` })
  const baselines: Measurement[] = []
  const lookups: Measurement[] = []
  const unloggeds: Measurement[] = []
  const keyTag = sm2 ? ' (SM2 service key)' : ''
  // The log's rate under the lookups alone: tree size read around each lookup scenario only.
  let appendedDuringLookups = 0
  let checkpointsDuringLookups = 0
  let lookupSeconds = 0
  for (let round = 1; round <= o.run.rounds; round++) {
    const tag = o.run.rounds > 1 ? ` (round ${round})` : ''
    baselines.push(await run({ name: `baseline: bare Fastify + prepared point lookup${tag}`, url: baseline.url, path: '/baseline', headers: {}, body: lookupBody }))
    if (unlogged) unloggeds.push(await run({ name: `${UNLOGGED_SCENARIO}${tag}`, url: unlogged.url, path: '/v1/lookup', headers: auth(readerToken), body: lookupBody }, unlogged))
    const sizeBefore = await treeSize(service!.url)
    const checkpointsBefore = databaseUrl ? await checkpointCount(databaseUrl) : 0
    const startedAt = performance.now()
    lookups.push(await run({ name: `POST /v1/lookup${keyTag}${tag}`, url: service!.url, path: '/v1/lookup', headers: auth(readerToken), body: lookupBody }))
    lookupSeconds += (performance.now() - startedAt) / 1000
    appendedDuringLookups += (await treeSize(service!.url)) - sizeBefore
    if (databaseUrl) checkpointsDuringLookups += (await checkpointCount(databaseUrl)) - checkpointsBefore
  }
  // The rung has done its part: nothing of it runs beside the scenarios that follow.
  await unlogged?.stop()
  const sizeAfter = await treeSize(service!.url)
  const logFigures: LogFigures = { sizeBefore: sizeAfter - appendedDuringLookups, sizeAfter, lookupSeconds, appendedPerSecond: appendedDuringLookups / lookupSeconds, ...(databaseUrl ? { checkpoints: checkpointsDuringLookups } : {}) }
  log(`Merkle log: ${appendedDuringLookups} events appended during the lookups (${logFigures.appendedPerSecond.toFixed(0)}/s, warm-up included)${databaseUrl ? ` in ${checkpointsDuringLookups} checkpoints (${(appendedDuringLookups / Math.max(1, checkpointsDuringLookups)).toFixed(2)} events each)` : ''}; tree size ${sizeAfter}`)
  if (databaseUrl) {
    // A change waits until every event committed before it is in the tree (a lookup appends only
    // its own event in one statement, and takes a backlog in after its answer has left).
    const changeOnce = () =>
      fetch(`${service!.url}/v1/grants/${READER_ORG}`, {
        method: 'PUT',
        headers: { ...auth(adminToken), 'content-type': 'application/json' },
        body: JSON.stringify({ name: '基准测试审批部门', grants: [{ typeCode: TYPE_CODE }] }),
      })
    logFigures.backlog = await appendBacklog(databaseUrl, service!.url, 20_000, changeOnce)
    log(`Merkle log: a backlog of ${logFigures.backlog!.count} events appended in ${logFigures.backlog!.seconds.toFixed(2)} s (${logFigures.backlog!.perSecond.toFixed(0)}/s)`)
  }
  const verifyBody = () => JSON.stringify({ id: loaded.ids[Math.floor(Math.random() * apiRows)] })
  const verify = await run({ name: `POST /v1/verify {id}${keyTag}`, url: service!.url, path: '/v1/verify', headers: auth(readerToken), body: verifyBody })

  // One fresh certificate per push: enough for a rate above verify's (a push does more), signed ahead.
  const freshCount = Math.ceil(Math.max(2000, verify.rps * 1.5) * (o.run.durationSeconds + o.run.warmupSeconds))
  const fresh = await signCertificates(signer, prefix, rows, freshCount, holders)
  let next = 0
  await run({ name: 'POST /v1/certificates (one at a time)', url: service!.url, path: '/v1/certificates', headers: auth(issuerToken), body: () => JSON.stringify({ certificate: fresh.jws[next++ % fresh.jws.length] }) })
  const notes: string[] = []
  if (next > fresh.jws.length) notes.push(`The push scenario ran out of fresh certificates after ${fresh.jws.length}: the rest were repeats (200, unchanged).`)

  // OFD: certificates carrying their sealed file, pushed one per request, against the files verified alone.
  const ofd = o.ofd
    ? await runOfdScenario(
        { url: service!.url, adminToken, issuerToken, signer, prefix, first: rows + poolSize, holders, ...o.ofd, dir: scratchDir('zhengzhao-bench-ofd-', cleanups), cpu: () => cpuWindow(pids), log },
        registerSm2Key,
      )
    : undefined

  // SM2: lookup and verify again on the same data with the default Ed25519 service key, to compare.
  let sm2Report: RunReport['sm2']
  if (sm2) {
    await service!.stop()
    serviceEnv = { ...baseEnv, SM2_THREADS: String(sm2.threads) }
    await startService()
    pids.service = service!.pid
    const edLookup = await run({ name: 'POST /v1/lookup (Ed25519 service key)', url: service!.url, path: '/v1/lookup', headers: auth(readerToken), body: lookupBody })
    const edVerify = await run({ name: 'POST /v1/verify {id} (Ed25519 service key)', url: service!.url, path: '/v1/verify', headers: auth(readerToken), body: verifyBody })
    sm2Report = { threads: sm2.threads, perCore: perCore!, lookup: { sm2: medianOf(lookups).rps, ed25519: edLookup.rps }, verify: { sm2: verify.rps, ed25519: edVerify.rps } }
  }

  let perf: RunReport['perf']
  if (perfRecord && perfFile) {
    await perfRecord.stop()
    log('reading the perf record…')
    const windowOf = (scenario: string, pid: number, windowUs: [number, number]) => ({ scenario, pid, workers: workerPids.get(pid), windowUs, mapBytes: windowMaps.get(scenario) })
    const windows = [windowOf('bulk load', bulkPid, bulkWindowUs), ...measurements.filter((m) => scenarioPids.has(m.name) && !m.name.startsWith('baseline')).map((m) => windowOf(m.name, scenarioPids.get(m.name)!, m.windowUs))]
    perf = summarizeNamed(readPerf(perfFile, [...servicePids, ...[...workerPids.values()].flat()]), windows)
  }

  let profile: RunReport['profile']
  if (profileDir) {
    // The profile is written when the service exits.
    await service!.stop()
    // One profile per service process: the bulk load's, then the scenarios'.
    const windows = [{ scenario: 'bulk load', windowUs: bulkWindowUs }, ...measurements.filter((m) => scenarioPids.has(m.name)).map((m) => ({ scenario: m.name, windowUs: m.windowUs }))]
    profile = mainThreadProfiles(profileDir)
      .flatMap((file) => summarizeProfile(file, windows))
      .filter((p) => p.samples > 0 && (p.self.find((e) => e.where === '(idle)')?.share ?? 0) < 0.95)
  }

  // The service's own processes only: the ladder's rung is another process.
  const scenarioRss = Math.max(...measurements.filter((m) => scenarioPids.has(m.name)).map((m) => m.peakRssBytes ?? 0))
  const peakRssBytes = Math.max(bulkRssBytes, scenarioRss)
  const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(0)
  const b = medianOf(baselines)
  const l = medianOf(lookups)
  const targets = [
    { name: 'lookup req/s ≥ 0.6 × baseline', measured: `${(l.rps / b.rps).toFixed(2)}× (${l.rps.toFixed(0)} vs ${b.rps.toFixed(0)})`, met: l.rps >= 0.6 * b.rps },
    { name: 'lookup p99 ≤ 2 × baseline p99', measured: `${(l.p99 / b.p99).toFixed(2)}× (${l.p99.toFixed(2)} vs ${b.p99.toFixed(2)} ms)`, met: l.p99 <= 2 * b.p99 },
    { name: 'bulk load ≥ 0.7 × signature verification alone', measured: `${(bulk.perSecond / alone.perSecond).toFixed(2)}× (${bulk.perSecond.toFixed(0)} vs ${alone.perSecond.toFixed(0)} /s)`, met: bulk.perSecond >= 0.7 * alone.perSecond },
    { name: 'service RSS under load < 200 MB', measured: `${mib(peakRssBytes)} MB peak: ${mib(bulkRssBytes)} MB in the bulk load, ${mib(scenarioRss)} MB in the scenarios (${mib(loadIdleRssBytes)} MB when ready)`, met: peakRssBytes < 200 * 2 ** 20 },
  ]
  return {
    database: databaseUrl ? 'postgres' : 'pglite',
    poolSize,
    variant: [sm2 ? 'sm2' : '', ofd ? 'ofd' : '', pin ? 'pinned' : '', unlogged ? 'ladder' : '', o.workers > 1 ? `workers=${o.workers}` : '', o.compiled ? '' : 'tsx', o.profile ? 'profiled' : '', o.perf ? 'perf' : '', ...o.nodeFlags].filter(Boolean).join(' '),
    rows, holders, apiRows, command: o.command, machine, options: o.run, signSeconds,
    date: new Date().toISOString(),
    bulk, bulkCpu, bulkRssBytes, verifyAlone: alone, scale, measurements, baseline: b, lookup: l,
    idleRssBytes: loadIdleRssBytes, peakRssBytes, targets, notes, profile, perf, signAlg: signer.alg, sm2: sm2Report, ofd, log: logFigures,
    ladder: unlogged ? { rounds: baselines.map((b, i) => ({ baseline: b, unlogged: unloggeds[i]!, lookup: lookups[i]! })) } : undefined,
  }
}

/**
 * Both endpoints find the same certificates for a holder that has some, before anything is
 * measured; with --ladder, the rung answers as the service does: the same certificates, and a body
 * of about the same size (its receipt's bytes are placeholders of the real lengths).
 */
async function sanityCheck(serviceUrl: string, baselineUrl: string, readerToken: string, holderId: string, unloggedUrl?: string): Promise<void> {
  const body = JSON.stringify({ holder: { idType: '111', id: holderId }, purpose: { matterCode: 'BENCH-LOOKUP', reason: 'sanity check' } })
  const headers = { 'content-type': 'application/json' }
  const lookup = (url: string) => fetch(`${url}/v1/lookup`, { method: 'POST', headers: { ...headers, authorization: `Bearer ${readerToken}` }, body })
  const [s, b, u] = await Promise.all([lookup(serviceUrl), fetch(`${baselineUrl}/baseline`, { method: 'POST', headers, body }), unloggedUrl ? lookup(unloggedUrl) : undefined])
  const [st, ut] = await Promise.all([s.text(), u?.text()])
  if (!s.ok || !b.ok) throw new Error(`sanity lookup: service HTTP ${s.status} ${st}, baseline HTTP ${b.status}`)
  const service = JSON.parse(st) as { items: { id: string }[]; receipt: string }
  const bare = (await b.json()) as { items: unknown[] }
  if (service.items.length === 0 || service.items.length !== bare.items.length || !service.receipt) {
    throw new Error(`sanity lookup: service found ${service.items.length}, baseline ${bare.items.length}`)
  }
  if (!u || ut === undefined) return
  if (!u.ok) throw new Error(`sanity lookup: the unlogged rung HTTP ${u.status} ${ut.slice(0, 500)}`)
  const ids = (items: { id: string }[]) => items.map((i) => i.id).join(' ')
  const rung = JSON.parse(ut) as { items: { id: string }[] }
  if (ids(rung.items) !== ids(service.items)) throw new Error(`sanity lookup: the unlogged rung found ${ids(rung.items)}, the service ${ids(service.items)}`)
  if (Math.abs(ut.length - st.length) > 0.1 * st.length) throw new Error(`sanity lookup: the unlogged rung answered ${ut.length} bytes, the service ${st.length}`)
}
