import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { categoryOf, summarizeProfile, type ProfileNode } from '../../bench/profile.js'
import { categoryTable, type RunReport } from '../../bench/report.js'
import { committedPostgresRun } from '../helpers/benchData.js'

// Frames as node --cpu-prof writes them: the service compiled into a scratch folder (bench/processes.ts).
const DIST = 'file:///tmp/zhengzhao-bench-dist-abc123/dist'
const NM = 'file:///tmp/zhengzhao-bench-dist-abc123/node_modules'
const frame = (functionName: string, url = '', lineNumber = 0): ProfileNode['callFrame'] => ({ functionName, url, lineNumber })

t.test('each stack falls in the first kind of work whose frames it holds', async (t) => {
  const write = frame('writeBuffer')
  const socket = frame('writeGeneric', 'node:internal/stream_base_commons')
  // A socket write made by the log's statement is the log's; one made by Fastify's reply is HTTP.
  t.equal(categoryOf([write, socket, frame('appendNewOnce', `${DIST}/log/store.js`), frame('(anonymous)', `${DIST}/lookup/routes.js`)]), 'access log (leaf, statement, checkpoint signature, proofs)')
  t.equal(categoryOf([write, socket, frame('onSendEnd', `${NM}/fastify/lib/reply.js`)]), 'HTTP in Node (parsing, socket reads and writes)')
  t.equal(categoryOf([frame('receiptFor', `${DIST}/audit/receipts.js`), frame('(anonymous)', `${DIST}/lookup/routes.js`)]), 'receipt')
  t.equal(categoryOf([frame('verify', `${NM}/jose/dist/node/esm/runtime/verify.js`), frame('byId', `${DIST}/verify/service.js`)]), 'certificate signature check')
  t.equal(categoryOf([frame('decrypt', `${DIST}/crypto/dataProtection.js`), frame('view', `${DIST}/certificates/read.js`)]), 'stored certificate decryption')
  t.equal(categoryOf([frame('verify', `${NM}/fast-jwt/src/verifier.js`), frame('handle', `${NM}/fastify/lib/hooks.js`)]), 'bearer token (JWT)')
  t.equal(categoryOf([frame('serialize', `${NM}/fastify/lib/reply.js`)]), 'response serialisation')
  t.equal(categoryOf([frame('anonymous2'), frame('validate', `${NM}/fastify/lib/validation.js`)]), 'validation and body parsing')
  // The driver's handling of a reply has no caller on its stack: it is the driver's, whatever it answers.
  t.equal(categoryOf([frame('DataRow', `${NM}/postgres/src/connection.js`), frame('data', `${NM}/postgres/src/connection.js`), socket]), 'database driver (postgres.js, drizzle)')
  t.equal(categoryOf([frame('hookIterator', `${NM}/fastify/lib/hooks.js`)]), 'Fastify (routing, hooks, reply)')
  t.equal(categoryOf([frame('view', `${DIST}/certificates/read.js`)]), "the route's own work")
  t.equal(categoryOf([frame('(garbage collector)')]), 'garbage collection')
  t.equal(categoryOf([frame('processTicksAndRejections', 'node:internal/process/task_queues')]), 'other (Node internals, timers, microtask queue)')
})

t.test('a profile window: every busy sample counted once, idle left out, shares adding up to one', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'zhengzhao-profile-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const nodes: ProfileNode[] = [
    { id: 1, callFrame: frame('(root)'), children: [2, 3, 4, 6] },
    { id: 2, callFrame: frame('(idle)') },
    { id: 3, callFrame: frame('(garbage collector)') },
    { id: 4, callFrame: frame('appendNewOnce', `${DIST}/log/store.js`), children: [5] },
    { id: 5, callFrame: frame('leafOf', `${DIST}/log/leaf.js`) },
    { id: 6, callFrame: frame('data', `${NM}/postgres/src/connection.js`) },
  ]
  // 10 samples 1 ms apart: 4 idle, 1 garbage collection, 3 in the log, 2 in the driver; and 2 outside the window.
  const samples = [2, 2, 2, 2, 3, 5, 5, 4, 6, 6, 5, 5]
  const file = join(dir, 'CPU.20261130.090000.1.0.001.cpuprofile')
  writeFileSync(file, JSON.stringify({ nodes, startTime: 0, endTime: 12_000, samples, timeDeltas: samples.map(() => 1000) }))
  const [summary] = summarizeProfile(file, [{ scenario: 'POST /v1/lookup', windowUs: [1000, 10_000] }])
  t.equal(summary!.samples, 10)
  t.same(summary!.categories, [
    { category: 'access log (leaf, statement, checkpoint signature, proofs)', share: 3 / 6 },
    { category: 'database driver (postgres.js, drizzle)', share: 2 / 6 },
    { category: 'garbage collection', share: 1 / 6 },
  ])

  // In the report: each share of the service's CPU per request measured in the same run.
  const real = committedPostgresRun()
  const lookup = real.measurements.find((m) => m.name === 'POST /v1/lookup')!
  const run: RunReport = { ...real, measurements: [{ ...lookup, rps: 500, cpu: { ...lookup.cpu, service: 1 } }] }
  const table = categoryTable(run, summary!)
  t.match(table, '| access log (leaf, statement, checkpoint signature, proofs) | 50.0 % | 1000 |', '1 core at 500 req/s is 2,000 µs per request, half of it the log')
  t.match(table, '| garbage collection | 16.7 % | 333 |')
  t.match(table, '| all | 100 % | 2000 |')
  t.match(categoryTable(run, { ...summary!, scenario: 'bulk load' }), '| where the CPU went (each sample counted once) | share | µs per certificate |')
})
