import t, { type Test } from 'tap'
import type { FastifyInstance } from 'fastify'
import { faultyProxy, type FaultyProxy } from './proxy.js'

// PostgreSQL stopped, or cut off without a reset, under lookup load: every answer during the
// outage is 200 or a 503 problem+json, none waits longer than the connection and statement
// timeouts allow, and lookups succeed again within 2 s of the database's return.
//
// Measured with the default timeouts (connect 2 s, statement 5 s, lock 2 s), 8 concurrent
// lookups through app.inject, a 10 s outage (2 cores, PostgreSQL 15, 29 Nov 2026):
//   stop (reset):  401 answers during the outage, all 503 problem+json (399 DATABASE_UNAVAILABLE,
//                  2 ACCESS_LOG_UNAVAILABLE); slowest 0.25 s; first 200 0.02 s after the return.
//   partition:     18 answers (13 DATABASE_UNAVAILABLE, 2 ACCESS_LOG_UNAVAILABLE, 3 × 200 that
//                  completed as the cut began); slowest 6.01 s (statement timeout + 1 s: the
//                  watchdog); first 200 0.04 s after the network healed.
// Before (issue 14): 14 × 500 INTERNAL_ERROR of 18, slowest 16.7 s, first 200 5.3 s after the
// return; a partition left every request hanging for the whole 20 s.
// Each run prints its own figures as t.comment lines.

const url = process.env.DATABASE_URL
const OUTAGE_MS = 10_000
const WORKERS = 8
const HOLDER = { idType: '111', id: '11010519491231002X' }

interface Answer {
  start: number
  end: number
  status: number
  code: string | undefined
  problem: boolean
}

async function setup(t: Test, proxy: FaultyProxy) {
  // Imported here: without DATABASE_URL both tests skip, and the service's modules would cost the
  // skipping process about 3 s of CPU.
  const { bearer, buildTestApp, randomCreditCode, randomTypeCode } = await import('../helpers/app.js')
  const { DATA_SCHEMA } = await import('../helpers/certs.js')
  const viaProxy = new URL(url!)
  viaProxy.port = String(proxy.port)
  const app = await buildTestApp(t, { DATABASE_URL: viaProxy.toString() })
  const admin = await bearer(['admin'])
  const typeCode = randomTypeCode()
  const readerOrg = randomCreditCode()
  const type = await app.inject({ method: 'PUT', url: `/v1/types/${typeCode}`, headers: admin, payload: { name: '故障演练证照', holderIdTypes: ['111'], issuers: [randomCreditCode()], dataSchema: DATA_SCHEMA } })
  t.equal(type.statusCode, 201, type.body)
  const grant = await app.inject({ method: 'PUT', url: `/v1/grants/${readerOrg}`, headers: admin, payload: { name: '故障演练审批局', grants: [{ typeCode }] } })
  t.equal(grant.statusCode, 201, grant.body)
  const reader = await bearer(['reader'], { org: readerOrg, sub: 'clerk-fault' })
  return { app, reader }
}

/** Runs lookups from WORKERS loops until `until` resolves; every answer is recorded. */
async function underLoad(app: FastifyInstance, reader: { authorization: string }, scenario: () => Promise<number>) {
  const answers: Answer[] = []
  let running = true
  const worker = async () => {
    while (running) {
      const start = performance.now()
      const res = await app.inject({ method: 'POST', url: '/v1/lookup', headers: reader, payload: { holder: HOLDER, purpose: { matterCode: 'M-FAULT', reason: '故障演练' } } })
      const problem = String(res.headers['content-type']).startsWith('application/problem+json')
      answers.push({ start, end: performance.now(), status: res.statusCode, code: problem ? res.json().code : undefined, problem })
      if (res.statusCode !== 200) await new Promise((r) => setTimeout(r, 50))
    }
  }
  const workers = Array.from({ length: WORKERS }, worker)
  const restoredAt = await scenario()
  // Keep the load on until the first 200 after the return, then a little longer.
  const deadline = performance.now() + 15_000
  while (performance.now() < deadline && !answers.some((a) => a.status === 200 && a.end > restoredAt)) await new Promise((r) => setTimeout(r, 20))
  await new Promise((r) => setTimeout(r, 500))
  running = false
  await Promise.all(workers)
  return { answers, restoredAt }
}

function report(t: Test, name: string, answers: Answer[], cutAt: number, restoredAt: number) {
  const during = answers.filter((a) => a.end > cutAt && a.end <= restoredAt)
  const byStatus: Record<string, number> = {}
  for (const a of during) byStatus[`${a.status}${a.code ? ` ${a.code}` : ''}`] = (byStatus[`${a.status}${a.code ? ` ${a.code}` : ''}`] ?? 0) + 1
  const touched = answers.filter((a) => a.end > cutAt && a.start < restoredAt)
  const slowest = Math.max(...touched.map((a) => a.end - a.start))
  const firstOk = answers.filter((a) => a.status === 200 && a.end > restoredAt).sort((a, b) => a.end - b.end)[0]
  const recovery = firstOk ? (firstOk.end - restoredAt) / 1000 : Infinity
  t.comment(`${name}: ${during.length} answers during the ${OUTAGE_MS / 1000} s outage ${JSON.stringify(byStatus)}; slowest ${(slowest / 1000).toFixed(2)} s; first 200 ${recovery.toFixed(2)} s after the database returned`)

  t.ok(during.length > 0, 'requests were answered during the outage')
  const bad = touched.filter((a) => a.status !== 200 && !(a.status === 503 && a.problem && ['DATABASE_UNAVAILABLE', 'ACCESS_LOG_UNAVAILABLE'].includes(a.code!)))
  t.same(bad.map((a) => `${a.status} ${a.code}`), [], 'every answer is 200 or 503 problem+json with a database code')
  // An access answers only once its event is written AND appended to the Merkle log (issue 10):
  // two database phases, each bounded by connect (2 s) or statement (5 s) plus the watchdog's
  // second — at most 12 s — and a margin for a loaded CI machine. (One phase, 9 s, before the log.)
  t.ok(slowest < 14000, `slowest answer ${slowest.toFixed(0)} ms is bounded`)
  t.ok(recovery < 2, `first 200 ${recovery.toFixed(2)} s after the return`)
}

t.test('PostgreSQL stops under load, then returns', { skip: !url && 'needs DATABASE_URL (run under .ci/with-postgres)' }, async (t) => {
  const target = new URL(url!)
  const proxy = await faultyProxy(target.hostname, Number(target.port || 5432))
  t.teardown(() => proxy.close())
  const { app, reader } = await setup(t, proxy)
  let cutAt = 0
  const { answers, restoredAt } = await underLoad(app, reader, async () => {
    await new Promise((r) => setTimeout(r, 1000))
    cutAt = performance.now()
    await proxy.stop()
    await new Promise((r) => setTimeout(r, OUTAGE_MS))
    await proxy.start()
    return performance.now()
  })
  report(t, 'stop (reset)', answers, cutAt, restoredAt)
})

t.test('the network to PostgreSQL drops everything (no reset), then heals', { skip: !url && 'needs DATABASE_URL (run under .ci/with-postgres)' }, async (t) => {
  const target = new URL(url!)
  const proxy = await faultyProxy(target.hostname, Number(target.port || 5432))
  t.teardown(() => proxy.close())
  const { app, reader } = await setup(t, proxy)
  let cutAt = 0
  const { answers, restoredAt } = await underLoad(app, reader, async () => {
    await new Promise((r) => setTimeout(r, 1000))
    cutAt = performance.now()
    proxy.partition()
    await new Promise((r) => setTimeout(r, OUTAGE_MS))
    proxy.heal()
    return performance.now()
  })
  report(t, 'partition', answers, cutAt, restoredAt)
})
