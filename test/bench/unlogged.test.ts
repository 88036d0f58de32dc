import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { sql } from 'drizzle-orm'
import t from 'tap'
import { unloggedLog } from '../../bench/unloggedLog.js'
import { rowsOf } from '../../src/db/client.js'
import { bearer, buildTestApp, randomCreditCode, testConfig } from '../helpers/app.js'
import { HOLDER_ID, issuanceFixture } from '../helpers/certs.js'
import { untapped } from '../helpers/untapped.js'

// The ladder's middle rung (npm run bench -- --ladder): the service with a log that keeps nothing.
const ROOT = fileURLToPath(new URL('../../', import.meta.url))

t.test('bench/unlogged.ts starts only under the bench', async (t) => {
  const r = spawnSync(...untapped(process.execPath, ['--import', 'tsx', 'bench/unlogged.ts']), { cwd: ROOT, encoding: 'utf8', timeout: 60_000, env: { ...process.env, ZHENGZHAO_BENCH_UNLOGGED: '' } })
  t.equal(r.status, 2, r.stderr)
  t.match(r.stderr, 'runs only under npm run bench -- --ladder')
})

t.test('it answers a lookup as the service does, with a receipt of the same shape, and writes nothing', async (t) => {
  // Its own database on PostgreSQL too: the counts below must not see other tests' events.
  const f = await issuanceFixture(t, {}, { own: true })
  for (let i = 0; i < 2; i++) {
    const res = await f.app.inject({ method: 'POST', url: '/v1/certificates', headers: f.issuerAuth, payload: { certificate: await f.sign(f.payload()) } })
    t.equal(res.statusCode, 201, res.statusCode === 201 ? 'pushed' : res.body)
  }
  const readerOrg = randomCreditCode()
  const grant = await f.app.inject({ method: 'PUT', url: `/v1/grants/${readerOrg}`, headers: f.adminAuth, payload: { name: '某区行政审批局', grants: [{ typeCode: f.typeCode }] } })
  t.equal(grant.statusCode, 201, grant.statusCode === 201 ? 'granted' : grant.body)
  const readerAuth = await bearer(['reader'], { org: readerOrg })
  const body = { holder: { idType: '111', id: HOLDER_ID }, purpose: { matterCode: 'M-1', reason: '基准测试' } }
  const real = await f.app.inject({ method: 'POST', url: '/v1/lookup', headers: readerAuth, payload: body })
  t.equal(real.statusCode, 200, real.statusCode === 200 ? 'the service answers' : real.body)

  const log = await unloggedLog(await testConfig(f.env), f.database.db)
  const rung = await buildTestApp(t, f.env, { database: f.database, migrate: false, transparencyLog: () => log })
  const counts = async () => (await rowsOf<{ events: string; checkpoints: string }>(f.database.db, sql`select (select count(*) from audit_events)::text as events, (select count(*) from log_checkpoints)::text as checkpoints`))[0]
  const before = await counts()
  const answered = await rung.inject({ method: 'POST', url: '/v1/lookup', headers: readerAuth, payload: body })
  t.equal(answered.statusCode, 200, answered.statusCode === 200 ? 'the rung answers' : answered.body)
  t.same(await counts(), before, 'no event, no checkpoint')

  const [r, u] = [real.json(), answered.json()]
  t.same(u.items, r.items, 'the same certificates, as served')
  t.equal(u.receipt.treeSize, r.receipt.treeSize, 'against the latest real checkpoint')
  t.equal(u.receipt.checkpoint, r.receipt.checkpoint)
  t.equal(u.receipt.inclusionProof.length, Math.ceil(Math.log2(r.receipt.treeSize)), 'a proof as long as one into that tree')
  t.equal(Buffer.from(u.receipt.leaf, 'base64').length, Buffer.from(r.receipt.leaf, 'base64').length, 'a leaf as long as a real one')
  t.same(Object.keys(u.receipt.event).sort(), Object.keys(r.receipt.event).sort())
  t.ok(Math.abs(answered.body.length - real.body.length) < 0.05 * real.body.length, `about the same size: ${answered.body.length} against ${real.body.length} bytes`)
})

t.test('an empty log has nothing to stand in for', async (t) => {
  const f = await issuanceFixture(t, {}, { own: true })
  await f.database.db.execute(sql`truncate log_checkpoints, log_nodes`)
  await t.rejects(unloggedLog(await testConfig(f.env), f.database.db), /the log is empty/)
})
