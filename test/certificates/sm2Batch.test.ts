import t, { type Test } from 'tap'
import { installedSm2PoolStats } from '../../src/crypto/sm2Pool.js'
import { issuanceFixture } from '../helpers/certs.js'
import { opensslSm2Jws } from '../helpers/sm2.js'

// A batch of SM2 certificates (signed by openssl) gets the same answer, item by item, whether
// its signatures are checked on worker threads (SM2_THREADS=2) or on the main thread (0).

const VALID = 6

async function pushBatch(t: Test, threads: string) {
  const f = await issuanceFixture(t, { SM2_THREADS: threads }, { sm2: true })
  const valid = await Promise.all(Array.from({ length: VALID }, () => f.sign(f.payload())))
  // The payload changed after signing: only the signature can tell.
  const [h, , s] = valid[0]!.split('.') as [string, string, string]
  const changed = { ...f.payload(), number: 'CHANGED' }
  const tampered = `${h}.${Buffer.from(JSON.stringify(changed)).toString('base64url')}.${s}`
  // OpenSSL 3.0's default, the empty distinguishing ID: not the SM2 profile.
  const emptyId = opensslSm2Jws(f.payload(), { alg: 'SM2', kid: f.key.kid }, f.key.privateKeyPem, '')
  const certificates = [valid[0]!, tampered, ...valid.slice(1), emptyId, valid[1]!]
  const before = installedSm2PoolStats().tasks
  const res = await f.app.inject({ method: 'POST', url: '/v1/certificates/batch', headers: f.issuerAuth, payload: { certificates } })
  t.equal(res.statusCode, 200, res.body)
  const tasks = installedSm2PoolStats().tasks - before
  const body = res.json() as { results: { index: number; outcome: string; status: number; code?: string; problems?: { code: string; pointer: string }[] }[]; summary: unknown }
  // Identifiers differ from one fixture to the other; outcomes, statuses and codes must not.
  const results = body.results.map(({ index, outcome, status, code, problems }) => ({ index, outcome, status, code, problems: problems?.map((p) => `${p.code} ${p.pointer}`) }))
  return { results, summary: body.summary, tasks, count: certificates.length }
}

t.test('worker threads and the main thread give the same per-item results', async (t) => {
  let on: Awaited<ReturnType<typeof pushBatch>> | undefined
  let off: Awaited<ReturnType<typeof pushBatch>> | undefined
  await t.test('SM2_THREADS=2', async (t) => {
    on = await pushBatch(t, '2')
  })
  await t.test('SM2_THREADS=0', async (t) => {
    off = await pushBatch(t, '0')
  })
  t.ok(on && off)
  t.same(on!.results, off!.results, 'item by item')
  t.same(on!.summary, { created: VALID, unchanged: 1, rejected: 2 })
  t.match(on!.results[1], { outcome: 'rejected', status: 422, code: 'INVALID_CERTIFICATE', problems: ['SIGNATURE_INVALID /certificates/1'] }, 'the changed payload')
  t.match(on!.results[VALID + 1], { outcome: 'rejected', problems: [`SIGNATURE_INVALID /certificates/${VALID + 1}`] }, 'the empty ID')
  t.equal(on!.tasks, on!.count, 'with the pool on, every signature was checked on a worker thread')
  t.equal(off!.tasks, 0, 'with it off, none')
})
