import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { decodeProtectedHeader } from 'jose'
import { EXAMPLE_KEYS_DIR } from '../../src/config.js'
import { EXAMPLE_ISSUERS } from '../../src/types/catalogue.js'
import { formatCertId } from '../../src/ids/index.js'
import { bearer, buildTestApp } from '../helpers/app.js'
import { issuanceFixture } from '../helpers/certs.js'
import { opensslSm2Key, opensslSm2Verifies, rawToDer } from '../helpers/sm2.js'
import { runCli } from './fixtures/cli.js'
import { useFixtureRsaKeys } from '../helpers/rsaKeys.js'

// The development PKIs here take their RSA keys from the test fixture (test/helpers/rsaKeys.ts).
useFixtureRsaKeys()

// `zhengzhao sign` with SM2 keys: the key decides the algorithm, openssl checks what we signed,
// and the service takes it: from an openssl-made chain, and at a development start from keys.example/.

const SM2_ISSUER = EXAMPLE_ISSUERS.find((i) => i.keyType === 'sm2')!
const BUSINESS_LICENCE = '11100000000013338W032'
const ENTERPRISE = '91370406L24894136J' // the holder: an organisation, by its credit code

function businessLicence(serial: string) {
  return {
    id: formatCertId({ typeCode: BUSINESS_LICENCE, issuerCode: SM2_ISSUER.code, serial, version: 1 }),
    typeCode: BUSINESS_LICENCE,
    name: '营业执照',
    number: serial,
    holder: { idType: '001', id: ENTERPRISE, name: '示例科技有限公司' },
    issuer: { code: SM2_ISSUER.code, name: SM2_ISSUER.name },
    issuedOn: '2025-05-22',
    validFrom: '2025-05-22',
    data: { enterpriseType: '有限责任公司', legalRepresentative: '张三', address: '杭州市上城区示例路 1 号', businessScope: '软件开发' },
  }
}

const serial = () => `S${Date.now()}${Math.floor(Math.random() * 1000)}`
const parts = (jws: string) => {
  const [header, payload, signature] = jws.split('.') as [string, string, string]
  return { input: `${header}.${payload}`, signature: Buffer.from(signature, 'base64url') }
}

t.test('a key written by zhengzhao keys signs with alg SM2, and openssl verifies the signature', async (t) => {
  const cwd = t.testdir({ 'licence.json': JSON.stringify(businessLicence(serial())) })
  t.equal((await runCli(['keys', '--out', 'k'], { cwd })).code, 0)
  const key = join('k', `issuer-${SM2_ISSUER.code}.private.pem`)
  const run = await runCli(['sign', 'licence.json', '--key', key, '--out', 'licence.jws'], { cwd })
  t.equal(run.code, 0, run.stderr)
  t.match(run.stdout, /\(alg SM2, kid [\w-]{43}\)/)
  const jws = readFileSync(join(cwd, 'licence.jws'), 'utf8').trim()
  t.match(decodeProtectedHeader(jws), { alg: 'SM2', typ: 'zhengzhao-cert+jws' }, 'no --alg: the key chose SM2')

  // The public key as openssl reads it from the certificate written beside the key.
  const publicKeyPem = execFileSync('openssl', ['x509', '-in', join(cwd, 'k', `issuer-${SM2_ISSUER.code}.cert.pem`), '-noout', '-pubkey'], { encoding: 'utf8' })
  const { input, signature } = parts(jws)
  t.equal(signature.length, 64, 'r ‖ s, 64 bytes')
  t.ok(opensslSm2Verifies(input, rawToDer(signature), publicKeyPem), 'openssl dgst -sm3 -verify -sigopt distid:1234567812345678 says Verified OK')
  t.notOk(opensslSm2Verifies(`${input}x`, rawToDer(signature), publicKeyPem), 'and refuses another signing input')
})

t.test('an openssl genpkey SM2 key: alg SM2 by itself, pushed to a service with an openssl-made SM2 chain', async (t) => {
  const f = await issuanceFixture(t, {}, { sm2: true })
  const cwd = t.testdir({ 'key.pem': f.key.privateKeyPem, 'cert.json': JSON.stringify(f.payload()) })
  t.match(f.key.privateKeyPem, /^-----BEGIN PRIVATE KEY-----/, 'PKCS#8 as openssl genpkey -algorithm SM2 writes it')
  const run = await runCli(['sign', 'cert.json', '--key', 'key.pem'], { cwd })
  t.equal(run.code, 0, run.stderr)
  const jws = run.stdout.trim()
  t.same(decodeProtectedHeader(jws), { alg: 'SM2', kid: f.key.kid, typ: 'zhengzhao-cert+jws' }, 'kid is the SM2 JWK thumbprint')
  const pushed = await f.app.inject({ method: 'POST', url: '/v1/certificates', headers: f.issuerAuth, payload: { certificate: jws } })
  t.equal(pushed.statusCode, 201, pushed.body)

  const refused = await runCli(['sign', 'cert.json', '--key', 'key.pem', '--alg', 'ES256'], { cwd })
  t.equal(refused.code, 2, 'an SM2 key cannot sign ES256')
  t.match(refused.stderr, /signs with SM2, not ES256/)
  t.equal(refused.stdout, '')
})

t.test('SM2 keys as encrypted PKCS#8 and as SEC1 PEM sign too', async (t) => {
  const { privateKeyPem } = opensslSm2Key()
  const encrypted = execFileSync('openssl', ['pkcs8', '-topk8', '-passout', 'env:KEY_PW'], { input: privateKeyPem, env: { ...process.env, KEY_PW: 'secret-pw' }, encoding: 'utf8' })
  const sec1 = execFileSync('openssl', ['ec'], { input: privateKeyPem, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] })
  t.match(encrypted, /BEGIN ENCRYPTED PRIVATE KEY/)
  t.match(sec1, /BEGIN SM2 PRIVATE KEY/)
  const cwd = t.testdir({ 'enc.pem': encrypted, 'sec1.pem': sec1, 'licence.json': JSON.stringify(businessLicence(serial())) })
  const fromEncrypted = await runCli(['sign', 'licence.json', '--key', 'enc.pem', '--password-env', 'KEY_PW'], { cwd, env: { KEY_PW: 'secret-pw' } })
  t.equal(fromEncrypted.code, 0, fromEncrypted.stderr)
  const fromSec1 = await runCli(['sign', 'licence.json', '--key', 'sec1.pem'], { cwd })
  t.equal(fromSec1.code, 0, fromSec1.stderr)
  const a = decodeProtectedHeader(fromEncrypted.stdout.trim())
  t.match(a, { alg: 'SM2' })
  t.equal(decodeProtectedHeader(fromSec1.stdout.trim()).kid, a.kid, 'the same key either way')
  const wrong = await runCli(['sign', 'licence.json', '--key', 'enc.pem', '--password-env', 'KEY_PW'], { cwd, env: { KEY_PW: 'wrong' } })
  t.equal(wrong.code, 2)
  t.match(wrong.stderr, /wrong password/)
})

t.test('an SM2 key in a .p12 that openssl made signs with --p12', async (t) => {
  const f = await issuanceFixture(t, {}, { sm2: true })
  const cwd = t.testdir({ 'key.pem': f.key.privateKeyPem, 'cert.pem': f.key.certPem, 'cert.json': JSON.stringify(f.payload()) })
  execFileSync('openssl', ['pkcs12', '-export', '-inkey', 'key.pem', '-in', 'cert.pem', '-out', 'issuer.p12', '-passout', 'env:P12_PW'], { cwd, env: { ...process.env, P12_PW: 'p12-pw' }, stdio: 'pipe' })
  const run = await runCli(['sign', 'cert.json', '--p12', 'issuer.p12', '--password-env', 'P12_PW'], { cwd, env: { P12_PW: 'p12-pw' } })
  t.equal(run.code, 0, run.stderr)
  t.match(decodeProtectedHeader(run.stdout.trim()), { alg: 'SM2', kid: f.key.kid })
  const pushed = await f.app.inject({ method: 'POST', url: '/v1/certificates', headers: f.issuerAuth, payload: { certificate: run.stdout.trim() } })
  t.equal(pushed.statusCode, 201, pushed.body)
})

t.test('a development start registers the SM2 example issuer from keys.example/, and its certificates push', async (t) => {
  // The embedded database and the development defaults (TRUST_ANCHORS, the example issuers), as `npm start`.
  const app = await buildTestApp(t, { SEED_EXAMPLES: 'true', DATABASE_URL: undefined })
  const issuer = await app.inject({ method: 'GET', url: `/v1/issuers/${SM2_ISSUER.code}`, headers: await bearer(['admin']) })
  t.equal(issuer.statusCode, 200, issuer.body)
  t.match(issuer.json(), { name: SM2_ISSUER.name, typeCodes: [BUSINESS_LICENCE], keys: [{ algorithms: ['SM2'], state: 'active' }] })

  const cwd = t.testdir({ 'licence.json': JSON.stringify(businessLicence(serial())) })
  const signed = await runCli(['sign', 'licence.json', '--key', join(EXAMPLE_KEYS_DIR, `issuer-${SM2_ISSUER.code}.private.pem`), '--out', 'licence.jws'], { cwd })
  t.equal(signed.code, 0, signed.stderr)
  const token = await runCli(['token', '--role', 'issuer', '--org', SM2_ISSUER.code, '--sub', 'shangcheng-amr'])
  t.equal(token.code, 0, token.stderr)
  const jws = readFileSync(join(cwd, 'licence.jws'), 'utf8').trim()
  const push = () => app.inject({ method: 'POST', url: '/v1/certificates', headers: { authorization: `Bearer ${token.stdout.trim()}` }, payload: { certificate: jws } })
  const pushed = await push()
  t.equal(pushed.statusCode, 201, pushed.body)
  t.equal((await push()).statusCode, 200, 'the same JWS again: already stored')

  const verified = await app.inject({ method: 'POST', url: '/v1/verify', headers: await bearer(['auditor']), payload: { certificate: jws } })
  t.equal(verified.json().result, 0, 'verifies: correct and valid')
})
