import { X509Certificate } from 'node:crypto'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { compactVerify, decodeProtectedHeader } from 'jose'
import { DEV_P12_PASSWORD, generateDevPki, issuerCertFile, issuerP12File, issuerPrivateKeyFile } from '../../src/crypto/devCa.js'
import { formatCertId } from '../../src/ids/index.js'
import { ID_NUMBER, ORG, runCli } from './fixtures/cli.js'
import { useFixtureRsaKeys } from '../helpers/rsaKeys.js'

// The development PKIs here take their RSA keys from the test fixture (test/helpers/rsaKeys.ts).
useFixtureRsaKeys()

const TYPE_CODE = '11100000000013338W032'
const BAD_ID_NUMBER = '110105194912310021' // fails the check character

function certificate(o: { serial?: string; typeCode?: string; idType?: string; holderId?: string; id?: string } = {}) {
  const serial = o.serial ?? '2025000001'
  return {
    id: o.id ?? formatCertId({ typeCode: TYPE_CODE, issuerCode: ORG, serial, version: 1 }),
    typeCode: o.typeCode ?? TYPE_CODE,
    name: '营业执照',
    number: serial,
    holder: { idType: o.idType ?? '111', id: o.holderId ?? ID_NUMBER, name: '张三' },
    issuer: { code: ORG, name: '杭州市西湖区市场监督管理局' },
    issuedOn: '2025-05-22',
    validFrom: '2025-05-22',
    validUntil: '2035-05-21',
    data: { enterpriseType: '有限责任公司' },
  }
}

// One issuer's development key set, shared by the tests (each writes its own certificate files).
const pki = await generateDevPki([{ code: ORG, name: '杭州市西湖区市场监督管理局' }])
const issuerCert = new X509Certificate(pki.files[issuerCertFile(ORG)] as string)

function workspace(t: Test, files: Record<string, unknown>): string {
  const dir = t.testdir({ 'issuer.private.pem': pki.files[issuerPrivateKeyFile(ORG)] as string })
  writeFileSync(join(dir, 'issuer.p12'), pki.files[issuerP12File(ORG)] as Buffer)
  for (const [name, value] of Object.entries(files)) writeFileSync(join(dir, name), typeof value === 'string' ? value : JSON.stringify(value, null, 2))
  return dir
}

t.test('a good certificate signed with a PEM key prints a JWS that verifies against the issuer certificate', async (t) => {
  const cwd = workspace(t, { 'licence.json': certificate() })
  const run = await runCli(['sign', 'licence.json', '--key', 'issuer.private.pem'], { cwd })
  t.equal(run.code, 0, run.stderr)
  t.equal(run.stderr, '')
  t.match(run.stdout, /^[\w-]+\.[\w-]+\.[\w-]+\n$/, 'one JWS line')
  const jws = run.stdout.trim()
  const { payload, protectedHeader } = await compactVerify(jws, issuerCert.publicKey, { algorithms: ['RS256'] })
  t.same(JSON.parse(Buffer.from(payload).toString('utf8')), certificate())
  t.equal(protectedHeader.typ, 'zhengzhao-cert+jws')
  t.equal(typeof protectedHeader.kid, 'string')
})

t.test('--p12 with --password-env, --alg PS256 and --out', async (t) => {
  const cwd = workspace(t, { 'licence.json': certificate() })
  const run = await runCli(['sign', 'licence.json', '--p12', 'issuer.p12', '--password-env', 'P12_PW', '--alg', 'PS256', '--out', 'licence.jws'], { cwd, env: { P12_PW: DEV_P12_PASSWORD } })
  t.equal(run.code, 0, run.stderr)
  const jws = readFileSync(join(cwd, 'licence.jws'), 'utf8').trim()
  t.equal(decodeProtectedHeader(jws).alg, 'PS256')
  t.match(run.stdout, /Wrote .*licence\.jws \(alg PS256, kid [\w-]+\)/)
  await compactVerify(jws, issuerCert.publicKey, { algorithms: ['PS256'] })
  t.equal(decodeProtectedHeader(jws).kid, decodeProtectedHeader((await runCli(['sign', 'licence.json', '--key', 'issuer.private.pem'], { cwd })).stdout.trim()).kid, 'the same kid from the PEM and the .p12')
})

t.test('a bad certificate: exit 1, every problem listed, no ID number in clear, nothing signed', async (t) => {
  const badCheck = certificate({ holderId: BAD_ID_NUMBER, id: '1.2.156.3005.2.11100000000013338W032.11330105002500287C.2025000001.001.9' })
  const mismatch = certificate({ typeCode: '11100000000013338W009' }) // the identifier still says ...W032
  const cwd = workspace(t, { 'bad.json': badCheck, 'mismatch.json': mismatch, 'credit.json': certificate({ idType: '001', holderId: '91110000MA01234568' }) })

  const run = await runCli(['sign', 'bad.json', '--key', 'issuer.private.pem'], { cwd })
  t.equal(run.code, 1)
  t.equal(run.stdout, '', 'no JWS')
  t.match(run.stderr, /bad\.json: 2 problem\(s\)/)
  t.match(run.stderr, /\/id {2}CERT_ID_INVALID: .*CHECK_CHAR/)
  t.match(run.stderr, /\/holder\/id {2}HOLDER_ID_INVALID: .*CHECK_CHAR/)
  t.notMatch(run.stderr, BAD_ID_NUMBER)

  const mis = await runCli(['sign', 'mismatch.json', '--key', 'issuer.private.pem'], { cwd })
  t.equal(mis.code, 1)
  t.match(mis.stderr, /CERT_ID_TYPE_MISMATCH/)
  t.notMatch(mis.stderr, /HOLDER_ID_INVALID/, 'a valid holder ID is not a problem')
  t.notMatch(mis.stderr + mis.stdout, ID_NUMBER)

  const credit = await runCli(['sign', 'credit.json', '--key', 'issuer.private.pem'], { cwd })
  t.equal(credit.code, 1)
  t.match(credit.stderr, /\/holder\/id {2}HOLDER_ID_INVALID: not a valid unified social credit code/)
})

t.test('shape problems and invalid JSON are listed without echoing the content', async (t) => {
  const { name: _, ...noName } = certificate()
  const cwd = workspace(t, {
    'shape.json': { ...noName, holder: { idType: '999', id: ID_NUMBER, name: 'x' }, extra: 1 },
    'broken.json': `{ "holder": { "id": "${ID_NUMBER}" `,
    'array.json': [certificate()],
  })
  const shape = await runCli(['sign', 'shape.json', '--key', 'issuer.private.pem'], { cwd })
  t.equal(shape.code, 1)
  t.match(shape.stderr, /\/name {2}PAYLOAD_INVALID/)
  t.match(shape.stderr, /\/extra {2}PAYLOAD_INVALID/)
  t.match(shape.stderr, /\/holder\/idType {2}HOLDER_ID_TYPE_UNKNOWN/)
  const broken = await runCli(['sign', 'broken.json', '--key', 'issuer.private.pem'], { cwd })
  t.equal(broken.code, 1)
  t.match(broken.stderr, /JSON_INVALID: not valid JSON/)
  t.notMatch(broken.stderr, ID_NUMBER.slice(6, 14), 'no part of the ID number')
  const array = await runCli(['sign', 'array.json', '--key', 'issuer.private.pem'], { cwd })
  t.equal(array.code, 1)
  t.match(array.stderr, /PAYLOAD_INVALID: must be a JSON object/)
})

t.test('--no-check signs a bad certificate anyway', async (t) => {
  const bad = certificate({ holderId: BAD_ID_NUMBER, typeCode: '11100000000013338W009' })
  const cwd = workspace(t, { 'bad.json': bad })
  const run = await runCli(['sign', 'bad.json', '--key', 'issuer.private.pem', '--no-check'], { cwd })
  t.equal(run.code, 0, run.stderr)
  const { payload } = await compactVerify(run.stdout.trim(), issuerCert.publicKey)
  t.same(JSON.parse(Buffer.from(payload).toString('utf8')), bad)
})

t.test('key problems are usage errors (exit 2)', async (t) => {
  const cwd = workspace(t, { 'licence.json': certificate() })
  const cases: [string[], RegExp, Record<string, string>?][] = [
    [['--key', 'issuer.private.pem', '--p12', 'issuer.p12'], /exactly one of --key FILE and --p12 FILE/],
    [[], /exactly one of --key FILE and --p12 FILE/],
    [['--p12', 'issuer.p12', '--password', 'wrong'], /wrong password for the PKCS#12 file/],
    [['--p12', 'issuer.p12'], /needs its password/],
    [['--p12', 'issuer.p12', '--password-env', 'NOPE'], /NOPE \(--password-env\) is not set/],
    [['--p12', 'issuer.p12', '--password', 'a', '--password-env', 'P'], /not both/, { P: 'b' }],
    [['--key', 'missing.pem'], /cannot read the signing key .*missing\.pem: no such file/],
    [['--key', 'licence.json'], /not a PEM private key/],
    [['--key', 'issuer.private.pem', '--alg', 'ES256'], /cannot sign with this key: this rsa key signs with RS256 or PS256/],
    [['--key', 'issuer.private.pem', '--alg', 'HS256'], /invalid/],
  ]
  for (const [args, message, env] of cases) {
    const run = await runCli(['sign', 'licence.json', ...args], { cwd, env: env ?? {} })
    t.equal(run.code, 2, args.join(' '))
    t.match(run.stderr, message)
    t.equal(run.stdout, '')
  }
  const missing = await runCli(['sign', 'nope.json', '--key', 'issuer.private.pem'], { cwd })
  t.equal(missing.code, 2)
  t.match(missing.stderr, /cannot read the certificate .*nope\.json: no such file/)
})
