import t from 'tap'
import { bearer, randomCreditCode, randomTypeCode } from '../helpers/app.js'
import { issuanceFixture } from '../helpers/certs.js'
import { createTestPki } from '../helpers/pki.js'

t.test('issuers and their signing keys', async (t) => {
  const f = await issuanceFixture(t)
  const put = (code: string, body: Record<string, unknown>, headers = f.adminAuth) => f.app.inject({ method: 'PUT', url: `/v1/issuers/${code}`, headers, payload: body })
  const problemCodes = (body: { errors?: { code: string }[] }) => (body.errors ?? []).map((e) => e.code)

  t.test('registration, reading, updating', async (t) => {
    const read = await f.app.inject({ method: 'GET', url: `/v1/issuers/${f.issuerCode}`, headers: f.adminAuth })
    t.equal(read.statusCode, 200)
    t.match(read.json(), { code: f.issuerCode, name: '测试发证机关', typeCodes: [f.typeCode] })
    t.same(read.json().keys.map((k: { kid: string; state: string }) => [k.kid, k.state]), [[f.key.kid, 'active']])
    const renamed = await put(f.issuerCode, { name: '新名称', typeCodes: [f.typeCode], certificates: [] })
    t.equal(renamed.statusCode, 200)
    t.equal(renamed.json().keys.length, 1, 'keys are kept when none are given')
    t.equal((await f.app.inject({ method: 'GET', url: `/v1/issuers/${f.issuerCode}`, headers: f.issuerAuth })).statusCode, 200, 'an issuer reads its own registration')
    const other = await bearer(['issuer'], { org: randomCreditCode() })
    t.equal((await f.app.inject({ method: 'GET', url: `/v1/issuers/${f.issuerCode}`, headers: other })).statusCode, 403)
    t.equal((await f.app.inject({ method: 'GET', url: `/v1/issuers/${randomCreditCode()}`, headers: f.adminAuth })).statusCode, 404)
  })

  t.test('every certificate problem is reported, and nothing is registered', async (t) => {
    const stranger = createTestPki()
    const code = randomCreditCode()
    const res = await put(code, {
      name: 'x',
      typeCodes: [f.typeCode, randomTypeCode()],
      certificates: [
        stranger.issue().chainPem,
        f.pki.issue({ expired: true }).chainPem,
        f.pki.issue({ ca: true }).chainPem,
        f.pki.issue({ keyUsage: 'critical,keyCertSign' }).chainPem,
        f.pki.issue({ keyType: 'rsa1024' }).chainPem,
        f.key.chainPem,
        'not a certificate',
      ],
    })
    t.equal(res.statusCode, 422)
    t.equal(res.json().code, 'INVALID_ISSUER_DEFINITION')
    const byPointer = Object.fromEntries(res.json().errors.map((e: { pointer: string; code: string }) => [e.pointer, e.code]))
    t.equal(byPointer['/body/certificates/0'], 'NOT_TRUSTED')
    t.equal(byPointer['/body/certificates/1'], 'EXPIRED')
    t.equal(byPointer['/body/certificates/2'], 'CA_CERTIFICATE')
    t.equal(byPointer['/body/certificates/3'], 'NO_DIGITAL_SIGNATURE')
    t.equal(byPointer['/body/certificates/4'], 'KEY_NOT_ALLOWED')
    t.equal(byPointer['/body/certificates/5'], 'KEY_ALREADY_REGISTERED')
    t.equal(byPointer['/body/certificates/6'], 'PEM_INVALID')
    t.equal(byPointer['/body/typeCodes/1'], 'UNKNOWN_TYPE')
    t.equal((await f.app.inject({ method: 'GET', url: `/v1/issuers/${code}`, headers: f.adminAuth })).statusCode, 404)
  })

  t.test('other refusals', async (t) => {
    t.equal((await put('91110000MA01234568', { name: 'x', typeCodes: [], certificates: [f.pki.issue().chainPem] })).json().code, 'INVALID_ISSUER_CODE')
    t.ok(problemCodes((await put(randomCreditCode(), { name: 'x', typeCodes: [], certificates: [] })).json()).includes('NO_SIGNING_KEY'))
    t.equal((await put(randomCreditCode(), { name: 'x', typeCodes: [], certificates: [] }, f.issuerAuth)).statusCode, 403)
  })

  t.test('rotation, retirement and compromise', async (t) => {
    const push = async (key = f.key) => f.app.inject({ method: 'POST', url: '/v1/certificates', headers: f.issuerAuth, payload: { certificate: await f.sign(f.payload(), {}, key) } })
    const next = f.pki.issue({ keyType: 'ed25519' })
    const keysUrl = `/v1/issuers/${f.issuerCode}/keys`
    const added = await f.app.inject({ method: 'POST', url: keysUrl, headers: f.adminAuth, payload: { certificate: next.chainPem } })
    t.equal(added.statusCode, 201)
    t.equal(added.json().kid, next.kid)
    t.equal((await f.app.inject({ method: 'POST', url: keysUrl, headers: f.adminAuth, payload: { certificate: next.chainPem } })).statusCode, 200, 'adding it again is harmless')
    t.equal((await push(next)).statusCode, 201)
    t.equal((await push()).statusCode, 201, 'the old key still signs until retired')

    const retire = await f.app.inject({ method: 'POST', url: `${keysUrl}/${f.key.kid}/revoke`, headers: f.adminAuth, payload: { reason: 'retired' } })
    t.equal(retire.statusCode, 200)
    t.equal(retire.json().state, 'retired')
    const refused = await push()
    t.equal(refused.statusCode, 422)
    t.ok(problemCodes(refused.json()).includes('KEY_NOT_ACTIVE'))

    const since = new Date(Date.now() - 3600_000).toISOString()
    const compromised = await f.app.inject({ method: 'POST', url: `${keysUrl}/${next.kid}/revoke`, headers: f.adminAuth, payload: { reason: 'compromised', at: since, comment: 'HSM stolen' } })
    t.equal(compromised.json().state, 'compromised')
    t.equal(compromised.json().compromisedAt, since)
    t.ok(problemCodes((await push(next)).json()).includes('KEY_NOT_ACTIVE'))
    t.equal((await f.app.inject({ method: 'POST', url: `${keysUrl}/no-such-kid/revoke`, headers: f.adminAuth, payload: { reason: 'retired' } })).statusCode, 404)
  })
})
