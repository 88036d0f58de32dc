import t from 'tap'
import { bearer, randomCreditCode } from '../helpers/app.js'
import { issuanceFixture } from '../helpers/certs.js'

t.test('status changes by the issuing organisation', async (t) => {
  const f = await issuanceFixture(t)
  const p = f.payload()
  const created = await f.app.inject({ method: 'POST', url: '/v1/certificates', headers: f.issuerAuth, payload: { certificate: await f.sign(p) } })
  t.equal(created.statusCode, 201)
  const change = (status: string, reason: string | null = 'routine check', headers = f.issuerAuth) =>
    f.app.inject({ method: 'POST', url: `/v1/certificates/${p.id}/status`, headers, payload: reason === null ? { status } : { status, reason } })

  t.test('suspend, reinstate, revoke; revoked is final', async (t) => {
    const suspended = await change('suspended', '涉嫌违法，暂停使用')
    t.equal(suspended.statusCode, 200)
    t.equal(suspended.json().status, 'suspended')
    const again = await change('suspended', 'pressed twice')
    t.equal(again.statusCode, 200, 'repeating the same change is harmless')
    t.equal(again.json().history.length, 1, 'and writes no history')
    t.equal((await change('valid', 'investigation closed')).json().status, 'valid')
    const revoked = await change('revoked', 'licence withdrawn')
    t.equal(revoked.json().status, 'revoked')
    t.equal((await change('revoked', 'again')).statusCode, 200)
    const back = await change('valid', 'undo?')
    t.equal(back.statusCode, 409)
    t.equal(back.json().code, 'STATUS_CHANGE_NOT_ALLOWED')
    const history = revoked.json().history as { from: string; to: string; reason: string; actorOrg: string; at: string }[]
    t.same(
      history.map((h) => [h.from, h.to, h.reason]),
      [
        ['valid', 'suspended', '涉嫌违法，暂停使用'],
        ['suspended', 'valid', 'investigation closed'],
        ['valid', 'revoked', 'licence withdrawn'],
      ],
    )
    t.ok(history.every((h) => h.actorOrg === f.issuerCode && !Number.isNaN(Date.parse(h.at))))
  })

  t.test('a reason is required; status is one of three', async (t) => {
    t.equal((await change('suspended', null)).statusCode, 400)
    t.equal((await change('suspended', '')).statusCode, 400)
    t.equal((await change('superseded')).statusCode, 400)
  })

  t.test('only the issuing organisation, and only issuers', async (t) => {
    const other = await change('suspended', 'not mine', await bearer(['issuer'], { org: randomCreditCode() }))
    t.equal(other.statusCode, 404, 'another organisation learns nothing, not even existence')
    t.equal(other.json().code, 'CERTIFICATE_NOT_FOUND')
    t.equal((await change('suspended', 'x', await bearer(['admin'], { org: f.issuerCode }))).statusCode, 403)
    const missing = await f.app.inject({ method: 'POST', url: `/v1/certificates/${f.payload().id}/status`, headers: f.issuerAuth, payload: { status: 'revoked', reason: 'x' } })
    t.equal(missing.statusCode, 404)
  })
})
