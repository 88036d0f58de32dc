import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import { bearer, randomCreditCode } from '../helpers/app.js'
import { issuanceFixture } from '../helpers/certs.js'

interface Answer {
  result: number
  resultText: string
  checks: { check: string; outcome: string; reason?: string }[]
}

t.test('a key revoked as compromised at T invalidates what was received from T on', async (t) => {
  const f = await issuanceFixture(t)
  const auth = await bearer(['reader'], { org: randomCreditCode() })
  const verify = async (body: object): Promise<Answer> => (await f.app.inject({ method: 'POST', url: '/v1/verify', headers: auth, payload: body })).json()
  const push = async () => {
    const p = f.payload()
    const jws = await f.sign(p)
    const res = await f.app.inject({ method: 'POST', url: '/v1/certificates', headers: f.issuerAuth, payload: { certificate: jws } })
    t.equal(res.statusCode, 201, res.body)
    return { id: p.id, jws }
  }

  const before = await push()
  await sleep(50)
  const compromisedAt = new Date()
  await sleep(50)
  const after = await push()
  // Revoked only now, with T in the past: the pushes above were accepted at the time.
  const revoke = await f.app.inject({
    method: 'POST',
    url: `/v1/issuers/${f.issuerCode}/keys/${f.key.kid}/revoke`,
    headers: f.adminAuth,
    payload: { reason: 'compromised', at: compromisedAt.toISOString() },
  })
  t.equal(revoke.statusCode, 200, revoke.body)

  for (const body of [{ id: before.id }, { certificate: before.jws }]) {
    const early = await verify(body)
    t.equal(early.result, 0, `received before T: still valid (${early.resultText})`)
    t.equal(early.checks.find((c) => c.check === 'keyWindow')?.outcome, 'pass')
  }

  for (const body of [{ id: after.id }, { certificate: after.jws }]) {
    const late = await verify(body)
    t.equal(late.result, 3, `received after T: invalid (${late.resultText})`)
    t.match(late.checks.find((c) => c.check === 'keyWindow'), { outcome: 'fail', reason: 'KEY_COMPROMISED' })
    t.match(late.resultText, /compromised/)
  }

  // Never stored, judged as of now: signed by a key compromised by now, and no record.
  const unstored = await verify({ certificate: await f.sign(f.payload()) })
  t.equal(unstored.result, 5)
  t.match(unstored.checks.find((c) => c.check === 'keyWindow'), { outcome: 'fail', reason: 'KEY_COMPROMISED' })
})

t.test('a retired key still vouches for what it signed before retirement', async (t) => {
  const f = await issuanceFixture(t)
  const auth = await bearer(['holder'], { org: randomCreditCode(), idType: '111', id: '110101200001010010' })
  const p = f.payload()
  const res = await f.app.inject({ method: 'POST', url: '/v1/certificates', headers: f.issuerAuth, payload: { certificate: await f.sign(p) } })
  t.equal(res.statusCode, 201)
  await f.app.inject({ method: 'POST', url: `/v1/issuers/${f.issuerCode}/keys/${f.key.kid}/revoke`, headers: f.adminAuth, payload: { reason: 'retired' } })
  const answer = await f.app.inject({ method: 'POST', url: '/v1/verify', headers: auth, payload: { id: p.id } })
  t.equal(answer.json().result, 0, 'a holder token of someone else may verify too')
})
