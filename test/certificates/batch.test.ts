import t from 'tap'
import { issuanceFixture } from '../helpers/certs.js'

t.test('batch push: one result per item, in order, each atomic', async (t) => {
  const f = await issuanceFixture(t)
  const batch = (certificates: string[]) => f.app.inject({ method: 'POST', url: '/v1/certificates/batch', headers: f.issuerAuth, payload: { certificates } })

  const stored = await f.sign(f.payload())
  t.equal((await f.app.inject({ method: 'POST', url: '/v1/certificates', headers: f.issuerAuth, payload: { certificate: stored } })).statusCode, 201)
  const fresh = await Promise.all([1, 2, 3].map(() => f.sign(f.payload())))
  const serial = 'B2025001'
  const v1 = await f.sign(f.payload({ serial, version: 1 }))
  const v2 = await f.sign(f.payload({ serial, version: 2 }))
  const conflicting = await f.sign({ ...JSON.parse(Buffer.from(stored.split('.')[1]!, 'base64url').toString()), data: { level: 5 } })
  const invalid = await f.sign({ ...f.payload(), data: { level: 0 } })

  const items = [fresh[0]!, stored, invalid, v1, fresh[1]!, v2, conflicting, fresh[2]!, fresh[0]!]
  const res = await batch(items)
  t.equal(res.statusCode, 200, res.body)
  const { results, summary } = res.json()
  t.same(
    results.map((r: { index: number; outcome: string; status: number; code?: string }) => [r.index, r.outcome, r.status, r.code ?? null]),
    [
      [0, 'created', 201, null],
      [1, 'unchanged', 200, null],
      [2, 'rejected', 422, 'INVALID_CERTIFICATE'],
      [3, 'created', 201, null],
      [4, 'created', 201, null],
      [5, 'created', 201, null],
      [6, 'rejected', 409, 'CERTIFICATE_CONFLICT'],
      [7, 'created', 201, null],
      [8, 'unchanged', 200, null],
    ],
  )
  t.same(summary, { created: 5, unchanged: 2, rejected: 2 })
  t.equal(results[2].problems[0].pointer, '/certificates/2/payload/data/level')

  // Re-running the same batch is safe: nothing new, same rejections.
  const rerun = (await batch(items)).json()
  t.same(rerun.summary, { created: 0, unchanged: 7, rejected: 2 })

  // Version 1 in the batch was superseded by version 2 from the same batch.
  const probe = await f.app.inject({ method: 'POST', url: `/v1/certificates/${f.payload({ serial, version: 1 }).id}/status`, headers: f.issuerAuth, payload: { status: 'suspended', reason: 'probe' } })
  t.equal(probe.statusCode, 409, 'superseded cannot be suspended')
})

t.test('batch limits', async (t) => {
  const f = await issuanceFixture(t)
  const one = await f.sign(f.payload())
  const tooMany = await f.app.inject({ method: 'POST', url: '/v1/certificates/batch', headers: f.issuerAuth, payload: { certificates: new Array(1001).fill(one) } })
  t.equal(tooMany.statusCode, 400)
  t.equal(tooMany.json().code, 'VALIDATION_FAILED')
  const empty = await f.app.inject({ method: 'POST', url: '/v1/certificates/batch', headers: f.issuerAuth, payload: { certificates: [] } })
  t.equal(empty.statusCode, 400)
})

t.test('a full batch of 1,000 goes through the multi-row path', async (t) => {
  const f = await issuanceFixture(t)
  const certificates = await Promise.all(Array.from({ length: 1000 }, () => f.sign(f.payload())))
  const res = await f.app.inject({ method: 'POST', url: '/v1/certificates/batch', headers: f.issuerAuth, payload: { certificates } })
  t.equal(res.statusCode, 200)
  t.same(res.json().summary, { created: 1000, unchanged: 0, rejected: 0 })
})

t.test('batches pushed at once all complete: they take turns, none is lost or mixed up', async (t) => {
  const f = await issuanceFixture(t)
  const batches = await Promise.all(Array.from({ length: 5 }, () => Promise.all(Array.from({ length: 20 }, () => f.sign(f.payload())))))
  const responses = await Promise.all(batches.map((certificates) => f.app.inject({ method: 'POST', url: '/v1/certificates/batch', headers: f.issuerAuth, payload: { certificates } })))
  for (const [i, res] of responses.entries()) {
    t.equal(res.statusCode, 200)
    t.same(res.json().summary, { created: 20, unchanged: 0, rejected: 0 }, `batch ${i}`)
    t.same(
      res.json().results.map((r: { id: string }) => r.id),
      batches[i]!.map((jws) => JSON.parse(Buffer.from(jws.split('.')[1]!, 'base64url').toString()).id),
      `batch ${i} answers for its own certificates, in order`,
    )
  }
})
