import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from 'jose'
import { DEV_AUDIENCE, DEV_ISSUER, EXAMPLE_KEYS_DIR } from '../../src/config.js'
import { ID_NUMBER, ORG, OTHER_ORG, runCli } from './fixtures/cli.js'

const exampleJwks = JSON.parse(readFileSync(join(EXAMPLE_KEYS_DIR, 'idp.jwks.json'), 'utf8')) as JSONWebKeySet
const verify = (token: string, opts: { issuer?: string; audience?: string } = {}) =>
  jwtVerify(token, createLocalJWKSet(exampleJwks), { issuer: opts.issuer ?? DEV_ISSUER, audience: opts.audience ?? DEV_AUDIENCE })

t.test('prints only a JWT signed by the example key, from any working directory', async (t) => {
  const cwd = t.testdir()
  const run = await runCli(['token', '--role', 'reader', 'auditor', '--org', ORG, '--sub', 'approvals'], { cwd })
  t.equal(run.code, 0, run.stderr)
  t.equal(run.stderr, '')
  t.match(run.stdout, /^[\w-]+\.[\w-]+\.[\w-]+\n$/, 'one JWT line and nothing else')
  const { payload } = await verify(run.stdout.trim())
  t.same(payload.roles, ['reader', 'auditor'])
  t.equal(payload.org, ORG)
  t.equal(payload.sub, 'approvals')
  t.equal(payload.exp! - payload.iat!, 3600, 'default ttl 1h')
  t.equal(decodeProtectedHeader(run.stdout.trim()).kid, exampleJwks.keys[0]!.kid)
})

t.test('--json, --ttl, --iss and --aud', async (t) => {
  for (const [ttl, seconds] of [
    ['30m', 1800],
    ['90', 90],
    ['90s', 90],
    ['24h', 86400],
  ] as const) {
    const run = await runCli(['token', '--role', 'admin', '--org', OTHER_ORG, '--sub', 'ops', '--ttl', ttl, '--iss', 'https://idp.example', '--aud', 'zz', '--json'])
    t.equal(run.code, 0, run.stderr)
    const { token } = JSON.parse(run.stdout) as { token: string }
    const { payload } = await verify(token, { issuer: 'https://idp.example', audience: 'zz' })
    t.equal(payload.exp! - payload.iat!, seconds, `--ttl ${ttl}`)
  }
})

t.test('holder tokens carry idType and id', async (t) => {
  const citizen = await runCli(['token', '--role', 'holder', '--org', OTHER_ORG, '--sub', 'c1', '--id-type', '111', '--id', ID_NUMBER.toLowerCase()])
  t.equal(citizen.code, 0, citizen.stderr)
  const { payload } = await verify(citizen.stdout.trim())
  t.equal(payload.idType, '111')
  t.equal(payload.id, ID_NUMBER, 'stored upper-case')
  const company = await runCli(['token', '--role', 'holder', '--org', OTHER_ORG, '--sub', 'c2', '--id-type', '001', '--id', ORG])
  t.equal(company.code, 0, company.stderr)
  t.match((await verify(company.stdout.trim())).payload, { idType: '001', id: ORG })
})

t.test('invalid input exits 2 with a reason on stderr and nothing on stdout', async (t) => {
  const base = ['--org', ORG, '--sub', 's']
  const cases: [string, string[], RegExp][] = [
    ['unknown role', ['--role', 'superuser', ...base], /superuser/],
    ['bad org check character', ['--role', 'reader', '--org', '11330105002500287D', '--sub', 's'], /--org/],
    ['missing org', ['--role', 'reader', '--sub', 's'], /--org/],
    ['empty sub', ['--role', 'reader', '--org', ORG, '--sub', ''], /--sub/],
    ['ttl zero', ['--role', 'reader', ...base, '--ttl', '0'], /--ttl/],
    ['ttl over 24h', ['--role', 'reader', ...base, '--ttl', '25h'], /--ttl/],
    ['ttl malformed', ['--role', 'reader', ...base, '--ttl', '1d'], /--ttl/],
    ['holder without id', ['--role', 'holder', ...base], /--id-type and --id/],
    ['holder without id-type', ['--role', 'holder', ...base, '--id', ID_NUMBER], /--id-type and --id/],
    ['unknown id type', ['--role', 'holder', ...base, '--id-type', '999', '--id', ID_NUMBER], /999/],
    ['id on a non-holder token', ['--role', 'reader', ...base, '--id-type', '111', '--id', ID_NUMBER], /only for tokens with the holder role/],
    ['bad credit code as holder id', ['--role', 'holder', ...base, '--id-type', '001', '--id', '91110000MA01234568'], /credit code/],
    ['missing key file', ['--role', 'reader', ...base, '--key', 'no/such.pem'], /signing key/],
  ]
  for (const [name, argv, reason] of cases) {
    const run = await runCli(['token', ...argv])
    t.equal(run.code, 2, name)
    t.match(run.stderr, reason, `${name}: reason`)
    t.equal(run.stdout, '', `${name}: no token`)
  }
})

t.test('an invalid ID number is refused without being echoed', async (t) => {
  // Wrong check character, and 30 February.
  for (const bad of ['110105194912310021', '110105194902300022']) {
    const run = await runCli(['token', '--role', 'holder', '--org', ORG, '--sub', 's', '--id-type', '111', '--id', bad])
    t.equal(run.code, 2)
    t.match(run.stderr, /not a valid citizen ID number/)
    t.notMatch(run.stderr, bad, 'the ID number is not echoed')
    t.match(run.stderr, `${bad.slice(0, 6)}********${bad.slice(14)}`, 'only its mask')
    t.equal(run.stdout, '')
  }
})
