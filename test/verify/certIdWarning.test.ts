import { createHash } from 'node:crypto'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { bearer, randomCreditCode } from '../helpers/app.js'
import { DATA_SCHEMA, issuanceFixture, payloadFor, HOLDER_ID, HOLDER_NAME } from '../helpers/certs.js'
import { makeSealedOfd } from '../helpers/ofd.js'
import { runCli } from '../cli/fixtures/cli.js'

// A certificate taken in under CERT_ID_CHECK_EXCEPTIONS (its identifier's only fault is the
// check character) verifies with the named warning CERT_ID_CHECK_CHAR_EXCEPTION on every path,
// and the result code is what it would be otherwise.

interface Warning {
  code: string
  check: string
  message: string
}
interface Answer {
  result: number
  checks: { check: string; outcome: string; reason?: string }[]
  warnings: Warning[]
}

const sm3 = (b: Buffer) => createHash('sm3').update(b).digest('hex')

function wrongCheck(id: string): { id: string; expected: string; found: string } {
  const expected = id.slice(-1)
  const found = expected === 'T' ? 'U' : 'T'
  return { id: `${id.slice(0, -1)}${found}`, expected, found }
}

t.test('verification warns, by name, and keeps the result code', async (t) => {
  const excepted = randomCreditCode()
  // SM2 throughout: the excepted issuer also seals an OFD file (the by-document path).
  const f = await issuanceFixture(t, { CERT_ID_CHECK_EXCEPTIONS: excepted }, { sm2: true })
  const key = f.pki.issue({ keyType: 'sm2', viaIntermediate: true })
  const sealer = f.pki.issue({ keyType: 'sm2', subjectCN: 'Zhengzhao test sealing key' })
  const maker = f.pki.issue({ keyType: 'sm2', subjectCN: 'Zhengzhao test seal maker' })
  const admin = (method: 'PUT' | 'POST', url: string, payload: object) => f.app.inject({ method, url, headers: f.adminAuth, payload })
  t.ok((await admin('PUT', `/v1/types/${f.typeCode}`, { name: '测试许可证', holderIdTypes: ['111'], issuers: [f.issuerCode, excepted], dataSchema: DATA_SCHEMA })).statusCode < 300)
  t.equal((await admin('PUT', `/v1/issuers/${excepted}`, { name: '山东测试发证机关', typeCodes: [f.typeCode], certificates: [key.chainPem, sealer.chainPem] })).statusCode, 201)
  const exceptedAuth = await bearer(['issuer'], { org: excepted })
  const auditor = await bearer(['auditor'], { org: randomCreditCode(), sub: 'auditor-7' })

  const verify = async (body: object): Promise<Answer> => {
    const res = await f.app.inject({ method: 'POST', url: '/v1/verify', headers: auditor, payload: body })
    if (res.statusCode !== 200) throw new Error(`${res.statusCode} ${res.body}`)
    if (res.body.includes(HOLDER_ID) || res.body.includes(HOLDER_NAME)) throw new Error('holder echoed')
    return res.json() as Answer
  }
  const exceptedPayload = (extra: object = {}) => {
    const p = payloadFor({ typeCode: f.typeCode, issuerCode: excepted })
    const wrong = wrongCheck(p.id)
    return { payload: { ...p, id: wrong.id, ...extra }, ...wrong }
  }
  const push = async (body: object) => {
    const res = await f.app.inject({ method: 'POST', url: '/v1/certificates', headers: exceptedAuth, payload: body })
    if (res.statusCode !== 201) throw new Error(res.body)
  }
  const warned = (t: Test, a: Answer, expected: string, name: string) => {
    t.equal(a.warnings.length, 1, `${name}: one warning`)
    t.match(a.warnings[0], { code: 'CERT_ID_CHECK_CHAR_EXCEPTION', check: 'identifier' }, name)
    t.match(a.warnings[0]?.message, `gives ${expected}`, `${name}: names the expected character`)
    t.equal(a.checks.find((c) => c.check === 'identifier')?.outcome, 'pass', `${name}: the identifier check passes`)
  }

  const { payload, expected } = exceptedPayload()
  const jws = await f.sign(payload, {}, key)
  await push({ certificate: jws })

  t.test('by JWS, by identifier, by printed fields: result 0 with the warning', async (t) => {
    const byJws = await verify({ certificate: jws })
    t.equal(byJws.result, 0)
    warned(t, byJws, expected, 'by JWS')
    const byId = await verify({ id: payload.id })
    t.equal(byId.result, 0)
    warned(t, byId, expected, 'by id')
    const byFields = await verify({ typeCode: payload.typeCode, number: payload.number, holder: { idType: '111', id: HOLDER_ID } })
    t.equal(byFields.result, 0)
    warned(t, byFields, expected, 'by printed fields')
  })

  let sealed: { bytes: Buffer; expected: string } | undefined
  t.test('by document: the certificate carrying the file, with the warning', async (t) => {
    const made = makeSealedOfd({ signer: sealer, maker })
    const withDoc = exceptedPayload({ document: { mediaType: 'application/ofd', sm3: sm3(made.bytes), size: made.bytes.length } })
    await push({ certificate: await f.sign(withDoc.payload, {}, key), document: made.bytes.toString('base64') })
    const byDoc = await verify({ document: made.bytes.toString('base64') })
    t.equal(byDoc.result, 0)
    warned(t, byDoc, withDoc.expected, 'by document')
    sealed = { bytes: made.bytes, expected: withDoc.expected }
  })

  t.test('the result code is what it would be otherwise: suspended is 2, with the warning', async (t) => {
    const other = exceptedPayload()
    await push({ certificate: await f.sign(other.payload, {}, key) })
    const status = await f.app.inject({ method: 'POST', url: `/v1/certificates/${other.payload.id}/status`, headers: exceptedAuth, payload: { status: 'suspended', reason: 'test' } })
    t.equal(status.statusCode, 200, status.body)
    const answer = await verify({ id: other.payload.id })
    t.equal(answer.result, 2)
    warned(t, answer, other.expected, 'suspended')
    const notStored = exceptedPayload()
    const unknown = await verify({ certificate: await f.sign(notStored.payload, {}, key) })
    t.equal(unknown.result, 5, 'never stored: 5')
    warned(t, unknown, notStored.expected, 'never stored')
  })

  t.test('no warning for a correct identifier; no exception for an issuer not named', async (t) => {
    const good = payloadFor({ typeCode: f.typeCode, issuerCode: excepted })
    const goodJws = await f.sign(good, {}, key)
    await push({ certificate: goodJws })
    const answer = await verify({ certificate: goodJws })
    t.equal(answer.result, 0)
    t.same(answer.warnings, [])
    const p = f.payload()
    const wrong = wrongCheck(p.id)
    const forged = await verify({ certificate: await f.sign({ ...p, id: wrong.id }) })
    t.equal(forged.result, 6, 'the identifier check fails for an issuer not named')
    t.same(forged.warnings, [])
    t.match(forged.checks.find((c) => c.check === 'identifier'), { outcome: 'fail', reason: 'CERT_ID_INVALID' })
    const byId = await verify({ id: wrong.id })
    t.equal(byId.result, 4)
    t.match(byId.checks.find((c) => c.check === 'identifier'), { outcome: 'fail', detail: `not a valid GB/T 36904 identifier (CHECK_CHAR); the check character should be ${wrong.expected}` })
  })

  t.test('offline, zhengzhao verify shows the warning; the bundle names the issuer', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'zz-certid-warning-'))
    const bundle = (await f.app.inject({ method: 'GET', url: '/v1/trust-bundle', headers: auditor })).body
    const claims = JSON.parse(Buffer.from((JSON.parse(bundle) as { bundle: string }).bundle.split('.')[1]!, 'base64url').toString())
    t.same(claims.certIdCheckExceptions, [excepted])
    writeFileSync(join(dir, 'bundle.json'), bundle)
    writeFileSync(join(dir, 'jwks.json'), (await f.app.inject({ method: 'GET', url: '/.well-known/jwks.json' })).body)
    writeFileSync(join(dir, 'excepted.jws'), jws)
    const args = ['--bundle', join(dir, 'bundle.json'), '--jwks', join(dir, 'jwks.json')]
    const text = await runCli(['verify', join(dir, 'excepted.jws'), ...args])
    t.equal(text.code, 0, text.stderr)
    t.match(text.stdout, new RegExp(`VALID +${payload.id.replace(/\./g, '\\.')}  WARNING CERT_ID_CHECK_CHAR_EXCEPTION: .*gives ${expected}`))
    const json = await runCli(['verify', join(dir, 'excepted.jws'), ...args, '--json'])
    t.equal(json.code, 0)
    const [verdict] = (JSON.parse(json.stdout) as { results: { verdict: string; id?: string; warnings?: Warning[] }[] }).results
    t.match(verdict, { verdict: 'VALID', id: payload.id, warnings: [{ code: 'CERT_ID_CHECK_CHAR_EXCEPTION', check: 'identifier' }] })

    // A sealed OFD file names no identifier offline: with --url, the service's warning for the
    // certificate that carries it is shown on the file's line.
    writeFileSync(join(dir, 'excepted.ofd'), sealed!.bytes)
    const url = await f.app.listen({ port: 0, host: '127.0.0.1' })
    const env = { NODE_ENV: 'test', ZHENGZHAO_TOKEN: auditor.authorization.replace(/^Bearer /, '') }
    const live = await runCli(['verify', join(dir, 'excepted.ofd'), join(dir, 'excepted.jws'), ...args, '--url', url], { env })
    t.equal(live.code, 0, live.stderr)
    const [ofdLine, jwsLine] = live.stdout.split('\n').filter((l) => /VALID/.test(l))
    t.match(ofdLine, new RegExp(`WARNING CERT_ID_CHECK_CHAR_EXCEPTION: .*gives ${sealed!.expected}`), 'the OFD file: the live warning')
    t.equal(jwsLine?.match(/WARNING CERT_ID_CHECK_CHAR_EXCEPTION/g)?.length, 1, 'the JWS: once, not again from the service')
  })
})
