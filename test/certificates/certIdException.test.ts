import t from 'tap'
import { formatCertId, parseCertId } from '../../src/ids/index.js'
import { bearer, randomCreditCode } from '../helpers/app.js'
import { DATA_SCHEMA, issuanceFixture, payloadFor, randomSerial, HOLDER_ID } from '../helpers/certs.js'

interface Problem {
  pointer: string
  code: string
  message: string
}

/** The identifier with its check character replaced by another one, and the one MOD 37,36 gives. */
function wrongCheck(id: string): { id: string; expected: string; found: string } {
  const expected = id.slice(-1)
  const found = expected === 'T' ? 'U' : 'T'
  return { id: `${id.slice(0, -1)}${found}`, expected, found }
}

async function setup(t: Parameters<typeof issuanceFixture>[0]) {
  // The excepted issuer (a province whose system computes the check character otherwise) is
  // named in the environment; the fixture's own issuer is not.
  const excepted = randomCreditCode()
  const f = await issuanceFixture(t, { CERT_ID_CHECK_EXCEPTIONS: excepted })
  const key = f.pki.issue({ keyType: 'p256' })
  const typeRes = await f.app.inject({ method: 'PUT', url: `/v1/types/${f.typeCode}`, headers: f.adminAuth, payload: { name: '测试许可证', holderIdTypes: ['111'], issuers: [f.issuerCode, excepted], dataSchema: DATA_SCHEMA } })
  if (typeRes.statusCode >= 300) throw new Error(typeRes.body)
  const issuerRes = await f.app.inject({ method: 'PUT', url: `/v1/issuers/${excepted}`, headers: f.adminAuth, payload: { name: '山东测试发证机关', typeCodes: [f.typeCode], certificates: [key.chainPem] } })
  if (issuerRes.statusCode !== 201) throw new Error(issuerRes.body)
  const exceptedAuth = await bearer(['issuer'], { org: excepted })
  /** A payload of the excepted issuer whose identifier carries a wrong check character. */
  const exceptedPayload = () => {
    const p = payloadFor({ typeCode: f.typeCode, issuerCode: excepted, serial: randomSerial() })
    const wrong = wrongCheck(p.id)
    return { payload: { ...p, id: wrong.id }, ...wrong }
  }
  const signExcepted = (payload: unknown) => f.sign(payload, {}, key)
  const auditor = await bearer(['auditor'], { org: randomCreditCode() })
  const issuedEvent = async (id: string) => {
    const res = await f.app.inject({ method: 'GET', url: `/v1/audit/events?certificateId=${encodeURIComponent(id)}&kind=certificate.issued`, headers: auditor })
    if (res.statusCode !== 200) throw new Error(res.body)
    return (res.json().items as { details: Record<string, unknown> }[])[0]
  }
  return { f, excepted, exceptedAuth, exceptedPayload, signExcepted, issuedEvent }
}

t.test('push: an excepted issuer\'s identifier with a wrong check character', async (t) => {
  const { f, excepted, exceptedAuth, exceptedPayload, signExcepted, issuedEvent } = await setup(t)
  const push = (certificate: string, headers = exceptedAuth) => f.app.inject({ method: 'POST', url: '/v1/certificates', headers, payload: { certificate } })

  t.test('201, with a named warning and the exception in the issuance event', async (t) => {
    const { payload, expected, found } = exceptedPayload()
    const jws = await signExcepted(payload)
    const res = await push(jws)
    t.equal(res.statusCode, 201, res.body)
    const body = res.json()
    t.equal(body.id, payload.id)
    t.equal(body.warnings.length, 1)
    t.match(body.warnings[0], { pointer: '/certificate/payload/id', code: 'CERT_ID_CHECK_CHAR_EXCEPTION' })
    t.match(body.warnings[0].message, `gives ${expected}`, 'names the expected character')
    t.match(body.warnings[0].message, `is ${found}`)
    t.same((await issuedEvent(payload.id))?.details, { typeCode: f.typeCode, version: 1, certIdCheckCharException: { expected, found } })
    const again = await push(jws)
    t.equal(again.statusCode, 200, 'the same bytes again')
    t.same(again.json().warnings, body.warnings, 'still says so')
  })

  t.test('a certificate with a correct identifier carries no warning and no exception', async (t) => {
    const p = payloadFor({ typeCode: f.typeCode, issuerCode: excepted })
    const res = await push(await signExcepted(p))
    t.equal(res.statusCode, 201, res.body)
    t.notOk('warnings' in res.json())
    t.same((await issuedEvent(p.id))?.details, { typeCode: f.typeCode, version: 1 })
  })

  t.test('a structural fault is never excepted', async (t) => {
    const { payload } = exceptedPayload()
    for (const id of [`${payload.id}T`, `${payload.id.slice(0, -1)}t`, payload.id.replace(/\.001\./, '.000.')]) {
      const res = await push(await signExcepted({ ...payload, id }))
      t.equal(res.statusCode, 422, id)
      t.ok((res.json().errors as Problem[]).some((e) => e.code === 'CERT_ID_INVALID'), id)
    }
  })

  t.test('the same shape from an issuer not named is 422, naming the expected character', async (t) => {
    const p = f.payload()
    const { id, expected } = wrongCheck(p.id)
    const res = await push(await f.sign({ ...p, id }), f.issuerAuth)
    t.equal(res.statusCode, 422, res.body)
    const problem = (res.json().errors as Problem[]).find((e) => e.code === 'CERT_ID_INVALID')
    t.match(problem, { pointer: '/certificate/payload/id', message: `not a valid GB/T 36904 identifier (CHECK_CHAR); the check character should be ${expected}` })
    t.equal(parseCertId(id).ok, false)
  })

  t.test('a wrong holder ID check digit names only the expected character', async (t) => {
    const p = f.payload({ holderId: '110105194912310021' })
    const res = await push(await f.sign(p), f.issuerAuth)
    t.equal(res.statusCode, 422)
    const problem = (res.json().errors as Problem[]).find((e) => e.code === 'HOLDER_ID_INVALID')
    t.equal(problem?.message, 'not a valid citizen ID number (CHECK_CHAR); the check character should be X')
    t.notMatch(res.body, '110105194912310021', 'the number itself never appears')
    t.notMatch(res.body, HOLDER_ID)
  })
})

t.test('batch: the exception per item, the same as a single push', async (t) => {
  const { f, exceptedAuth, exceptedPayload, signExcepted, issuedEvent } = await setup(t)
  const excepted = exceptedPayload()
  const correct = payloadFor({ typeCode: f.typeCode, issuerCode: excepted.payload.issuer.code })
  const items = [await signExcepted(excepted.payload), await signExcepted(correct)]
  const res = await f.app.inject({ method: 'POST', url: '/v1/certificates/batch', headers: exceptedAuth, payload: { certificates: items } })
  t.equal(res.statusCode, 200, res.body)
  const [first, second] = res.json().results
  t.match(first, { index: 0, outcome: 'created', status: 201, id: excepted.payload.id, warnings: [{ pointer: '/certificates/0/payload/id', code: 'CERT_ID_CHECK_CHAR_EXCEPTION' }] })
  t.match(first.warnings[0].message, `gives ${excepted.expected}`)
  t.match(second, { index: 1, outcome: 'created', status: 201 })
  t.notOk('warnings' in second)
  t.same((await issuedEvent(excepted.payload.id))?.details, { typeCode: f.typeCode, version: 1, certIdCheckCharException: { expected: excepted.expected, found: excepted.found } })
  t.same((await issuedEvent(correct.id))?.details, { typeCode: f.typeCode, version: 1 })

  // From the issuer not named: rejected, naming the expected character.
  const p = f.payload()
  const wrong = wrongCheck(p.id)
  const other = await f.app.inject({ method: 'POST', url: '/v1/certificates/batch', headers: f.issuerAuth, payload: { certificates: [await f.sign({ ...p, id: wrong.id })] } })
  const [item] = other.json().results
  t.match(item, { outcome: 'rejected', status: 422, code: 'INVALID_CERTIFICATE' })
  t.match((item.problems as Problem[]).find((e) => e.code === 'CERT_ID_INVALID')?.message, `should be ${wrong.expected}`)
})

t.test('CERT_ID_CHECK_EXCEPTIONS takes named valid credit codes only', async (t) => {
  const { loadConfig } = await import('../../src/config.js')
  const { testEnv } = await import('../helpers/app.js')
  const code = randomCreditCode()
  t.ok((await loadConfig(testEnv({ CERT_ID_CHECK_EXCEPTIONS: ` ${code} , 11330105002500287C` }))).certIdCheckExceptions.has(code))
  t.equal((await loadConfig(testEnv({}))).certIdCheckExceptions.size, 0, 'none by default')
  for (const bad of ['*', 'true', '11330105002500287D', '1133010500250028']) {
    const err = await loadConfig(testEnv({ CERT_ID_CHECK_EXCEPTIONS: bad })).then(() => undefined, (e: unknown) => e as Error)
    t.match(err?.message, `CERT_ID_CHECK_EXCEPTIONS: "${bad}" is not a valid unified social credit code`, bad)
  }
  // An early-pilot issuer code the operator also allowed is a valid issuer code here.
  const pilot = '91110000MA01234568'
  t.ok((await loadConfig(testEnv({ CREDIT_CODE_EXCEPTIONS: pilot, CERT_ID_CHECK_EXCEPTIONS: pilot }))).certIdCheckExceptions.has(pilot))
  t.ok(formatCertId({ typeCode: `${code}001`, issuerCode: code, serial: 'A1', version: 1 }), 'minting needs no setting')
})
