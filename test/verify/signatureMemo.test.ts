import t from 'tap'
import { offloadSm2Verification } from '../../src/crypto/jwsVerify.js'
import { signatureCheckStats } from '../../src/verify/certificate.js'
import { bearer } from '../helpers/app.js'
import { issuanceFixture, type IssuanceFixture } from '../helpers/certs.js'

// A signature that verified is not checked again (src/verify/certificate.ts): the same JWS, the
// same algorithm and the same key. Everything else is checked anew, and only a signature that
// verified is kept. The figures are deltas: other files in the same process verify too.

type Check = { check: string; outcome: string; reason?: string }

async function verify(f: IssuanceFixture, body: Record<string, string>) {
  const res = await f.app.inject({ method: 'POST', url: '/v1/verify', headers: await bearer(['auditor']), payload: body })
  if (res.statusCode !== 200) throw new Error(`verify: ${res.statusCode} ${res.body}`)
  const { result, checks } = res.json() as { result: number; checks: Check[] }
  return { result, signature: checks.find((c) => c.check === 'signature'), status: checks.find((c) => c.check === 'status') }
}

function delta() {
  const before = signatureCheckStats()
  return () => {
    const after = signatureCheckStats()
    return { checked: after.checked - before.checked, remembered: after.remembered - before.remembered }
  }
}

t.test('a stored certificate verified twice by identifier: its signature is checked once, its status each time', async (t) => {
  const f = await issuanceFixture(t)
  const payload = f.payload()
  const jws = await f.sign(payload)
  t.equal((await f.app.inject({ method: 'POST', url: '/v1/certificates', headers: f.issuerAuth, payload: { certificate: jws } })).statusCode, 201)

  let since = delta()
  t.match(await verify(f, { id: payload.id }), { result: 0, signature: { outcome: 'pass' } })
  t.same(since(), { checked: 1, remembered: 0 }, 'the first verification checks the signature')
  since = delta()
  t.match(await verify(f, { id: payload.id }), { result: 0, signature: { outcome: 'pass' } })
  t.same(since(), { checked: 0, remembered: 1 }, 'the second answers from the first')
  since = delta()
  t.match(await verify(f, { certificate: jws }), { result: 0, signature: { outcome: 'pass' } }, 'the same JWS presented')
  t.same(since(), { checked: 0, remembered: 1 }, 'is the same bytes: remembered too')

  // Revoked after: the status is read anew, the remembered signature does not make it valid.
  const revoke = await f.app.inject({ method: 'POST', url: `/v1/certificates/${payload.id}/status`, headers: f.issuerAuth, payload: { status: 'revoked', reason: '测试撤销' } })
  t.equal(revoke.statusCode, 200, revoke.body)
  t.match(await verify(f, { id: payload.id }), { result: 3, signature: { outcome: 'pass' }, status: { outcome: 'fail', reason: 'REVOKED' } })
})

t.test('one byte changed is other bytes: checked, and refused', async (t) => {
  const f = await issuanceFixture(t)
  const payload = f.payload()
  const jws = await f.sign(payload)
  t.match(await verify(f, { certificate: jws }), { signature: { outcome: 'pass' } })
  const [h, p, s] = jws.split('.')
  // The signature's first character changed: still canonical base64url, another signature.
  const other = `${h}.${p}.${s![0] === 'A' ? 'B' : 'A'}${s!.slice(1)}`
  const since = delta()
  t.match(await verify(f, { certificate: other }), { signature: { outcome: 'fail', reason: 'SIGNATURE_INVALID' } })
  t.same(since(), { checked: 1, remembered: 0 }, 'not answered from the good one')
})

t.test('a signature that did not verify is not remembered: a failed SM2 worker is not a forgery', async (t) => {
  const f = await issuanceFixture(t, {}, { sm2: true })
  const payload = f.payload()
  const jws = await f.sign(payload)
  t.equal((await f.app.inject({ method: 'POST', url: '/v1/certificates', headers: f.issuerAuth, payload: { certificate: jws } })).statusCode, 201)
  // As a pool whose worker died answers: "does not verify".
  offloadSm2Verification(async () => false)
  t.teardown(() => offloadSm2Verification(undefined))
  t.match(await verify(f, { id: payload.id }), { result: 6, signature: { outcome: 'fail', reason: 'SIGNATURE_INVALID' } })
  offloadSm2Verification(undefined)
  const since = delta()
  t.match(await verify(f, { id: payload.id }), { result: 0, signature: { outcome: 'pass' } }, 'checked again, and it verifies')
  t.same(since(), { checked: 1, remembered: 0 })
})
