import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { EXAMPLE_KEYS_DIR } from '../../src/config.js'
import { bearer, buildTestApp, randomCreditCode, randomTypeCode } from '../helpers/app.js'
import { DATA_SCHEMA, payloadFor } from '../helpers/certs.js'
import { runCli } from './fixtures/cli.js'

// One app for the file, on the development trust anchors (keys.example/trust-anchors.pem), as
// `npm start` runs: a certificate made by issuer-cert must register there and sign what pushes.
const app = await buildTestApp(t)
const admin = await bearer(['admin'])
const exampleKeys = () => readdirSync(EXAMPLE_KEYS_DIR).sort()
const before = exampleKeys()

for (const sm2 of [false, true]) {
  t.test(`issuer-cert${sm2 ? ' --sm2' : ''}: the certificate registers, and what its key signs pushes`, async (t) => {
    const code = randomCreditCode()
    const typeCode = randomTypeCode()
    const dir = t.testdir()
    const made = await runCli(['issuer-cert', '--code', code, '--name', '测试新发证机关', '--type', typeCode, '--out-dir', dir, ...(sm2 ? ['--sm2'] : [])])
    t.equal(made.code, 0, made.stderr)
    const cert = join(dir, `issuer-${code}.cert.pem`)
    const key = join(dir, `issuer-${code}.private.pem`)
    t.equal(statSync(key).mode & 0o777, 0o600, 'the private key is 0600')
    t.match(made.stdout, `PUT http://127.0.0.1:3000/v1/issuers/${code}`, 'says the next step')
    t.match(made.stdout, `zhengzhao sign certificate.json --key ${key}`)
    t.same(exampleKeys(), before, 'nothing written to keys.example/ (no .srl, no new file)')

    const type = await app.inject({ method: 'PUT', url: `/v1/types/${typeCode}`, headers: admin, payload: { name: '测试许可证', holderIdTypes: ['111'], issuers: [code], dataSchema: DATA_SCHEMA } })
    t.equal(type.statusCode, 201, type.body)
    const body = JSON.parse(readFileSync(join(dir, `issuer-${code}.register.json`), 'utf8')) as { certificates: string[] }
    t.equal(body.certificates[0], readFileSync(cert, 'utf8'), 'the registration body carries the certificate')
    const registered = await app.inject({ method: 'PUT', url: `/v1/issuers/${code}`, headers: admin, payload: body })
    t.equal(registered.statusCode, 201, registered.body)
    t.same(registered.json().keys.map((k: { algorithms: string[] }) => k.algorithms), [[sm2 ? 'SM2' : 'ES256']])

    writeFileSync(join(dir, 'licence.json'), JSON.stringify(payloadFor({ typeCode, issuerCode: code })))
    const signed = await runCli(['sign', join(dir, 'licence.json'), '--key', key, '--out', join(dir, 'licence.jws')])
    t.equal(signed.code, 0, signed.stderr)
    const pushed = await app.inject({
      method: 'POST',
      url: '/v1/certificates',
      headers: await bearer(['issuer'], { org: code }),
      payload: { certificate: readFileSync(join(dir, 'licence.jws'), 'utf8').trim() },
    })
    t.equal(pushed.statusCode, 201, pushed.body)
  })
}

t.test('issuer-cert refuses what it cannot do well, with exit 2', async (t) => {
  const dir = t.testdir({ 'dev-ca.cert.pem': 'not a certificate', 'dev-ca.private.pem': 'nor a key' })
  const code = randomCreditCode()
  const cases: [string[], RegExp][] = [
    [['--code', '91110000MA01234568', '--out-dir', dir], /check character should be/],
    [['--code', code, '--out-dir', EXAMPLE_KEYS_DIR], /keys\.example/],
    [['--code', code, '--out-dir', dir, '--ca-dir', join(dir, 'nowhere')], /cannot read the development CA/],
    [['--code', code, '--out-dir', join(dir, 'out'), '--ca-dir', dir], /cannot read the CA/],
    [['--code', code, '--out-dir', dir, '--type', '123'], /21 characters/],
  ]
  for (const [args, message] of cases) {
    const run = await runCli(['issuer-cert', ...args])
    t.equal(run.code, 2, args.join(' '))
    t.match(run.stderr, message)
    t.equal(run.stdout, '')
  }
  const first = await runCli(['issuer-cert', '--code', code, '--out-dir', join(dir, 'set')])
  t.equal(first.code, 0, first.stderr)
  const again = await runCli(['issuer-cert', '--code', code, '--out-dir', join(dir, 'set')])
  t.equal(again.code, 2)
  t.match(again.stderr, /--force/)
  t.same(exampleKeys(), before, 'keys.example/ as it was')
})

t.test('issuer-cert --help says what it reads, what it writes and what comes next', async (t) => {
  const run = await runCli(['issuer-cert', '--help'])
  t.equal(run.code, 0)
  for (const text of ['--code', '--sm2', '--ca-dir', '--out-dir', 'issuer-<code>.register.json', 'PUT /v1/issuers/{code}', 'Examples:']) t.match(run.stdout, text)
})
