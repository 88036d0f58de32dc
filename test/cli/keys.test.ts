import { X509Certificate } from 'node:crypto'
import { chmodSync, existsSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from 'jose'
import { DEV_AUDIENCE, DEV_ISSUER, EXAMPLE_KEYS_DIR } from '../../src/config.js'
import { checkSigningCertificate, parseTrustAnchors } from '../../src/crypto/x509.js'
import { EXAMPLE_ISSUERS } from '../../src/types/catalogue.js'
import { ORG, runCli } from './fixtures/cli.js'
import { useFixtureRsaKeys } from '../helpers/rsaKeys.js'

// The development PKIs here take their RSA keys from the test fixture (test/helpers/rsaKeys.ts).
useFixtureRsaKeys()

const PRIVATE = 'idp-es256.private.pem'
// The development PKI beside the identity-provider key, with the mode each file must have.
const PKI_FILES: [string, number][] = [
  ['dev-ca.cert.pem', 0o644],
  ['dev-ca.private.pem', 0o600],
  ['dev-ca-sm2.cert.pem', 0o644],
  ['dev-ca-sm2.private.pem', 0o600],
  ['trust-anchors.pem', 0o644],
  ['data-protection.json', 0o600],
  ...EXAMPLE_ISSUERS.flatMap(({ code, keyType }): [string, number][] => [
    [`issuer-${code}.cert.pem`, 0o644],
    [`issuer-${code}.private.pem`, 0o600],
    // forge cannot wrap an SM2 key in PKCS#12: the SM2 issuer signs with --key.
    ...(keyType === 'sm2' ? [] : [[`issuer-${code}.p12`, 0o600] as [string, number]]),
  ]),
]
const RSA_ISSUERS = EXAMPLE_ISSUERS.filter((i) => i.keyType !== 'sm2')
const SM2_ISSUERS = EXAMPLE_ISSUERS.filter((i) => i.keyType === 'sm2')
const JWKS = 'idp.jwks.json'
const readJwks = (dir: string) => JSON.parse(readFileSync(join(dir, JWKS), 'utf8')) as JSONWebKeySet

t.test('keys writes a set, refuses to overwrite it, and replaces it with --force', async (t) => {
  const dir = join(t.testdir(), 'nested', 'dev-keys')
  const first = await runCli(['keys', '--out', dir])
  t.equal(first.code, 0, first.stderr)
  t.ok(existsSync(join(dir, PRIVATE)) && existsSync(join(dir, JWKS)), 'both files written, folder created')
  t.equal(statSync(join(dir, PRIVATE)).mode & 0o777, 0o600, 'private key is 0600')
  for (const [name, mode] of PKI_FILES) t.equal(statSync(join(dir, name)).mode & 0o777, mode, `${name} written, mode ${mode.toString(8)}`)
  t.match(first.stdout, `AUTH_KEYS=${join(dir, JWKS)}`)
  t.match(first.stdout, `Wrote ${join(dir, 'service-ed25519.private.pem')} (the service's own`, 'the summary names the service key')
  t.match(first.stdout, `SERVICE_KEYS=${join(dir, 'service-ed25519.private.pem')}`)
  const pem = readFileSync(join(dir, PRIVATE), 'utf8')
  const kid = readJwks(dir).keys[0]!.kid
  t.not(kid, readJwks(EXAMPLE_KEYS_DIR).keys[0]!.kid, 'a fresh key, not the example')

  const again = await runCli(['keys', '--out', dir])
  t.equal(again.code, 2)
  t.match(again.stderr, /--force/)
  t.equal(readFileSync(join(dir, PRIVATE), 'utf8'), pem, 'existing key untouched')

  const forced = await runCli(['keys', '--out', dir, '--force', '--json'])
  t.equal(forced.code, 0, forced.stderr)
  const result = JSON.parse(forced.stdout) as { kid: string; authKeys: string; trustAnchors: string; dataProtectionKeys: string; files: string[]; issuers: { code: string; keyType: string; p12?: string }[] }
  t.not(result.kid, kid, 'replaced with a new key')
  t.equal(result.kid, readJwks(dir).keys[0]!.kid)
  t.equal(result.authKeys, join(dir, JWKS))
  t.equal(result.trustAnchors, join(dir, 'trust-anchors.pem'))
  t.equal(result.dataProtectionKeys, join(dir, 'data-protection.json'))
  t.equal((result as { serviceKeys?: string }).serviceKeys, join(dir, 'service-ed25519.private.pem'))
  t.same(result.files.sort(), [PRIVATE, JWKS, 'service-ed25519.private.pem', ...PKI_FILES.map(([name]) => name)].map((name) => join(dir, name)).sort())
  t.equal(statSync(join(dir, 'service-ed25519.private.pem')).mode & 0o777, 0o600, 'the service key is 0600 too')
  t.same(result.issuers.map((i) => i.code), EXAMPLE_ISSUERS.map((i) => i.code))
  t.ok(SM2_ISSUERS.length > 0, 'an SM2 example issuer')
  for (const { code } of SM2_ISSUERS) t.match(result.issuers.find((i) => i.code === code), { keyType: 'sm2', p12: undefined }, `${code}: SM2, no .p12`)
  t.equal(statSync(join(dir, PRIVATE)).mode & 0o777, 0o600, 'still 0600 after overwrite')
})

t.test('--force over a readable private key file makes it 0600', async (t) => {
  const dir = t.testdir({ [PRIVATE]: 'old', [JWKS]: '{}' })
  chmodSync(join(dir, PRIVATE), 0o644)
  const run = await runCli(['keys', '--out', dir, '--force'])
  t.equal(run.code, 0, run.stderr)
  t.equal(statSync(join(dir, PRIVATE)).mode & 0o777, 0o600)
  t.match(readFileSync(join(dir, PRIVATE), 'utf8'), /BEGIN PRIVATE KEY/)
})

t.test('a relative --out is relative to the working directory', async (t) => {
  const cwd = t.testdir()
  const run = await runCli(['keys', '--out', 'k'], { cwd })
  t.equal(run.code, 0, run.stderr)
  t.ok(existsSync(join(cwd, 'k', JWKS)))
})

t.test('a token signed with --key verifies against the JWKS written beside it, and not the example', async (t) => {
  const cwd = t.testdir()
  t.equal((await runCli(['keys', '--out', 'k'], { cwd })).code, 0)
  const run = await runCli(['token', '--key', join('k', PRIVATE), '--role', 'issuer', '--org', ORG, '--sub', 'dept'], { cwd })
  t.equal(run.code, 0, run.stderr)
  const token = run.stdout.trim()
  const { payload } = await jwtVerify(token, createLocalJWKSet(readJwks(join(cwd, 'k'))), { issuer: DEV_ISSUER, audience: DEV_AUDIENCE })
  t.same(payload.roles, ['issuer'])
  await t.rejects(jwtVerify(token, createLocalJWKSet(readJwks(EXAMPLE_KEYS_DIR)), { issuer: DEV_ISSUER, audience: DEV_AUDIENCE }))
})

t.test('a key file that is not a private key is a usage error', async (t) => {
  const cwd = t.testdir({ 'public.json': readFileSync(join(EXAMPLE_KEYS_DIR, JWKS), 'utf8') })
  const run = await runCli(['token', '--key', 'public.json', '--role', 'reader', '--org', ORG, '--sub', 's'], { cwd })
  t.equal(run.code, 2)
  t.match(run.stderr, /cannot sign/)
  t.equal(run.stdout, '')
})

t.test('the issuer certificates chain to the root written beside them, and a refusal writes nothing', async (t) => {
  const dir = t.testdir({ 'trust-anchors.pem': 'keep me' })
  const refused = await runCli(['keys', '--out', dir])
  t.equal(refused.code, 2)
  t.match(refused.stderr, /trust-anchors\.pem/)
  t.notOk(existsSync(join(dir, PRIVATE)), 'no file written when one exists')
  t.equal(readFileSync(join(dir, 'trust-anchors.pem'), 'utf8'), 'keep me')

  t.equal((await runCli(['keys', '--out', dir, '--force'])).code, 0)
  const root = new X509Certificate(readFileSync(join(dir, 'trust-anchors.pem')))
  for (const { code } of RSA_ISSUERS) {
    const cert = new X509Certificate(readFileSync(join(dir, `issuer-${code}.cert.pem`)))
    t.ok(cert.checkIssued(root) && cert.verify(root.publicKey), `${code} chains to the root`)
    t.match(cert.subject, `serialNumber=${code}`)
  }
  await issuersRegisterAgainst(t, dir)
})

/** Every example issuer's certificate passes the service's own check against the bundle beside it (SM2 ones under the SM2 root). */
async function issuersRegisterAgainst(t: Test, dir: string): Promise<void> {
  const anchors = parseTrustAnchors(readFileSync(join(dir, 'trust-anchors.pem'), 'utf8'))
  t.equal(anchors.length, 2, 'the bundle holds the RSA and the SM2 root')
  for (const { code, keyType } of EXAMPLE_ISSUERS) {
    const checked = await checkSigningCertificate(readFileSync(join(dir, `issuer-${code}.cert.pem`), 'utf8'), anchors)
    t.ok(checked.ok, `${code} registers against ${dir}/trust-anchors.pem`)
    if (checked.ok) t.same(checked.value.algorithms, keyType === 'sm2' ? ['SM2'] : ['RS256', 'PS256'])
  }
}

t.test('the committed keys.example has the development PKI too, chaining to its trust anchors', async (t) => {
  const root = new X509Certificate(readFileSync(join(EXAMPLE_KEYS_DIR, 'trust-anchors.pem')))
  t.ok(root.ca)
  for (const { code } of RSA_ISSUERS) {
    const cert = new X509Certificate(readFileSync(join(EXAMPLE_KEYS_DIR, `issuer-${code}.cert.pem`)))
    t.ok(cert.verify(root.publicKey), `${code} chains to keys.example/trust-anchors.pem`)
  }
  await issuersRegisterAgainst(t, EXAMPLE_KEYS_DIR)
})
