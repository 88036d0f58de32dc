import t from 'tap'
import { formatCertId } from '../../src/ids/index.js'
import { bearer, randomCreditCode } from '../helpers/app.js'
import { issuanceFixture, HOLDER_ID, HOLDER_NAME, OTHER_HOLDER_ID, randomSerial, type IssuanceFixture } from '../helpers/certs.js'

interface Check {
  check: string
  outcome: 'pass' | 'fail' | 'skipped'
  reason?: string
}
interface Answer {
  result: number
  resultText: string
  checks: Check[]
  status?: string
  certificate?: { id: string; version: number }
  receipt: { event: { details: Record<string, unknown> } }
}

type Payload = ReturnType<IssuanceFixture['payload']>

async function setup(t: Parameters<typeof issuanceFixture>[0]) {
  const f = await issuanceFixture(t)
  // Verification needs any authenticated caller, never the issuer: an auditor of another organisation asks.
  const auth = await bearer(['auditor'], { org: randomCreditCode(), sub: 'auditor-9' })
  const post = (body: unknown, headers: Record<string, string> = auth) => f.app.inject({ method: 'POST', url: '/v1/verify', headers, payload: body as object })
  const verify = async (body: unknown): Promise<Answer> => {
    const res = await post(body)
    if (res.statusCode !== 200) throw new Error(`${res.statusCode} ${res.body}`)
    // Whatever was presented, the holder's ID and name never come back.
    if (res.body.includes(HOLDER_ID) || res.body.includes(OTHER_HOLDER_ID) || res.body.includes(HOLDER_NAME)) throw new Error('holder echoed')
    return res.json() as Answer
  }
  const push = async (payload: Payload): Promise<string> => {
    const jws = await f.sign(payload)
    const res = await f.app.inject({ method: 'POST', url: '/v1/certificates', headers: f.issuerAuth, payload: { certificate: jws } })
    if (res.statusCode !== 201) throw new Error(res.body)
    return jws
  }
  const setStatus = (id: string, status: string) =>
    f.app.inject({ method: 'POST', url: `/v1/certificates/${id}/status`, headers: f.issuerAuth, payload: { status, reason: 'test' } })
  const fields = (p: Payload, holderId = p.holder.id) => ({ typeCode: p.typeCode, number: p.number, holder: { idType: '111', id: holderId } })
  return { f, post, verify, push, setStatus, fields }
}

const outcome = (a: Answer, name: string) => a.checks.find((c) => c.check === name)

t.test('every result code', async (t) => {
  const { f, post, verify, push, setStatus, fields } = await setup(t)

  t.test('0: correct and valid, by JWS, identifier and printed fields', async (t) => {
    const p = f.payload()
    const jws = await push(p)
    const byJws = await verify({ certificate: jws })
    t.equal(byJws.result, 0, byJws.resultText)
    t.same(byJws.checks.filter((c) => c.outcome !== 'pass'), [], 'every check passes')
    t.match(byJws, { status: 'valid', certificate: { id: p.id, version: 1, typeCode: f.typeCode, issuerCode: f.issuerCode, validFrom: p.validFrom, validUntil: p.validUntil } })
    const byId = await verify({ id: p.id })
    t.equal(byId.result, 0)
    t.equal(outcome(byId, 'matchesRecord')?.outcome, 'skipped', 'nothing presented to compare')
    t.equal(outcome(byId, 'signature')?.outcome, 'pass', 'the stored JWS is checked')
    const byFields = await verify(fields(p))
    t.equal(byFields.result, 0)
    t.equal(outcome(byFields, 'matchesRecord')?.outcome, 'pass')
    t.same(byJws.checks.map((c) => c.check), ['format', 'signature', 'registeredKey', 'keyWindow', 'trustChain', 'issuerAllowed', 'identifier', 'holderId', 'validityPeriod', 'status', 'matchesRecord'])
  })

  t.test('1: not yet in force', async (t) => {
    const jws = await push({ ...f.payload(), validFrom: '2999-01-01', validUntil: '2999-12-31' })
    const a = await verify({ certificate: jws })
    t.equal(a.result, 1)
    t.match(outcome(a, 'validityPeriod'), { outcome: 'fail', reason: 'NOT_YET_IN_FORCE' })
  })

  t.test('2: suspended, and 0 again once reinstated', async (t) => {
    const p = f.payload()
    await push(p)
    await setStatus(p.id, 'suspended')
    const a = await verify({ id: p.id })
    t.equal(a.result, 2)
    t.equal(a.status, 'suspended')
    t.match(outcome(a, 'status'), { outcome: 'fail', reason: 'SUSPENDED' })
    await setStatus(p.id, 'valid')
    t.equal((await verify({ id: p.id })).result, 0)
  })

  t.test('3: revoked, expired, superseded, each named', async (t) => {
    const revoked = f.payload()
    const jws = await push(revoked)
    await setStatus(revoked.id, 'revoked')
    const r = await verify({ certificate: jws })
    t.equal(r.result, 3)
    t.match(r.resultText, /revoked/)
    t.equal(r.status, 'revoked')

    const expired = await push({ ...f.payload(), issuedOn: '2020-01-01', validFrom: '2020-01-01', validUntil: '2021-01-01' })
    const e = await verify({ certificate: expired })
    t.equal(e.result, 3)
    t.match(e.resultText, /expired/)
    t.match(outcome(e, 'validityPeriod'), { outcome: 'fail', reason: 'EXPIRED' })

    const serial = randomSerial()
    const v1 = f.payload({ serial })
    await push(v1)
    const v2 = f.payload({ serial, version: 2 })
    await push(v2)
    const s = await verify({ id: v1.id })
    t.equal(s.result, 3)
    t.match(s.resultText, /superseded/)
    t.equal(s.status, 'superseded')
    // A paper copy carries the same number in every version: the newest version answers.
    const printed = await verify(fields(v1))
    t.equal(printed.result, 0)
    t.equal(printed.certificate?.id, v2.id)
    t.equal(printed.certificate?.version, 2)
  })

  t.test('4: too little information; 400 when the body is none of the three forms', async (t) => {
    const notJws = await verify({ certificate: 'not a jws' })
    t.equal(notJws.result, 4)
    t.match(outcome(notJws, 'format'), { outcome: 'fail', reason: 'JWS_MALFORMED' })
    t.equal(outcome(notJws, 'signature')?.outcome, 'skipped')
    t.equal((await verify({ certificate: await f.sign(f.payload(), { typ: 'JWT' }) })).result, 4)
    const badId = await verify({ id: 'garbage' })
    t.equal(badId.result, 4)
    t.match(outcome(badId, 'identifier'), { reason: 'CERT_ID_INVALID' })
    const badHolder = await verify(fields(f.payload(), '110105194912310021'))
    t.equal(badHolder.result, 4)
    t.match(outcome(badHolder, 'holderId'), { reason: 'HOLDER_ID_INVALID' })
    for (const body of [{ typeCode: f.typeCode }, {}, { id: 'x', certificate: 'y' }, { ...fields(f.payload()), extra: 1 }]) {
      const res = await post(body)
      t.equal(res.statusCode, 400, Object.keys(body).join(', ') || 'empty body')
      t.equal(res.json().code, 'VALIDATION_FAILED')
      t.notMatch(res.body, HOLDER_ID)
    }
  })

  t.test('5: no such record, with the signature still checked', async (t) => {
    const p = f.payload()
    const a = await verify({ certificate: await f.sign(p) })
    t.equal(a.result, 5)
    t.equal(outcome(a, 'signature')?.outcome, 'pass')
    t.match(outcome(a, 'matchesRecord'), { outcome: 'fail', reason: 'NO_RECORD' })
    t.equal(a.status, undefined)
    t.equal((await verify({ id: p.id })).result, 5)
    t.equal((await verify(fields(p))).result, 5)
    const unknownId = formatCertId({ typeCode: f.typeCode, issuerCode: f.issuerCode, serial: randomSerial(), version: 1 })
    t.equal((await verify({ id: unknownId })).result, 5)
  })

  t.test('6: inconsistent with the record', async (t) => {
    const p = f.payload()
    const jws = await push(p)
    // The same identifier signed again with other content: a genuine signature, other bytes.
    const other = await verify({ certificate: await f.sign({ ...p, data: { level: 9 } }) })
    t.equal(other.result, 6)
    t.equal(outcome(other, 'signature')?.outcome, 'pass')
    t.match(outcome(other, 'matchesRecord'), { outcome: 'fail', reason: 'RECORD_MISMATCH' })
    t.equal(other.status, undefined, 'the record\'s status is not shown for other bytes')

    const [h, body, sig] = jws.split('.') as [string, string, string]
    const tampered = await verify({ certificate: `${h}.${body}.${sig.slice(0, 10)}${sig[10] === 'A' ? 'B' : 'A'}${sig.slice(11)}` })
    t.equal(tampered.result, 6)
    t.match(outcome(tampered, 'signature'), { outcome: 'fail', reason: 'SIGNATURE_INVALID' })

    const unregistered = f.pki.issue({ keyType: 'p256' })
    const forged = await verify({ certificate: await f.sign(f.payload(), {}, unregistered) })
    t.equal(forged.result, 6)
    t.match(outcome(forged, 'registeredKey'), { outcome: 'fail', reason: 'KID_UNKNOWN' })

    const wrongHolder = await verify(fields(p, OTHER_HOLDER_ID))
    t.equal(wrongHolder.result, 6)
    t.match(outcome(wrongHolder, 'matchesRecord'), { outcome: 'fail', reason: 'HOLDER_MISMATCH' })
    t.equal(wrongHolder.certificate, undefined, 'nothing of the record is shown')
    t.equal(wrongHolder.status, undefined)
  })

  t.test('401 without a token', async (t) => {
    const res = await f.app.inject({ method: 'POST', url: '/v1/verify', payload: { id: 'x' } })
    t.equal(res.statusCode, 401)
  })
})
