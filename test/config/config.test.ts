import { generateKeyPairSync, randomBytes } from 'node:crypto'
import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { ConfigError, EXAMPLE_KEYS_DIR, loadConfig } from '../../src/config.js'
import { createTestPki } from '../helpers/pki.js'

async function problemsOf(env: Record<string, string>): Promise<string[]> {
  try {
    await loadConfig(env)
  } catch (err) {
    if (err instanceof ConfigError) return err.problems
    throw err
  }
  return []
}

t.test('development defaults run on the example keys and say so', async (t) => {
  const config = await loadConfig({})
  t.equal(config.env, 'development')
  t.equal(config.port, 3000)
  t.equal(config.usingExampleKeys, true)
  t.equal(config.seedExamples, true)
  t.equal(config.database.url, undefined)
  t.match(config.database.dataDir, /data$/)
  t.same(config.auth.algorithms, ['ES256', 'EdDSA', 'RS256'])
  t.equal(config.auth.keys.length, 1)
})

t.test('every malformed setting is named in one error', async (t) => {
  const problems = await problemsOf({ PORT: 'eighty', DATABASE_URL: 'mysql://x', LOG_LEVEL: 'loud', AUTH_ALGORITHMS: 'ES256,HS256', TRUST_PROXY: 'maybe', BODY_LIMIT: '-1', NODE_ENV: 'staging' })
  for (const name of ['PORT', 'DATABASE_URL', 'LOG_LEVEL', 'AUTH_ALGORITHMS', 'TRUST_PROXY', 'BODY_LIMIT', 'NODE_ENV']) {
    t.ok(problems.some((p) => p.startsWith(name)), `${name} is named`)
  }
  t.equal(problems.length, 7)
})

t.test('production refuses the example keys and requires its settings', async (t) => {
  const missing = await problemsOf({ NODE_ENV: 'production' })
  for (const name of ['AUTH_KEYS', 'AUTH_ISSUER', 'AUTH_AUDIENCE', 'TRUST_ANCHORS', 'DATA_PROTECTION_KEYS', 'SERVICE_KEYS']) t.ok(missing.some((p) => p.includes(name)), `${name} required`)

  // The example key is recognised by its thumbprint, even copied elsewhere.
  const dir = mkdtempSync(join(tmpdir(), 'zz-config-'))
  for (const f of ['idp.jwks.json', 'trust-anchors.pem', 'data-protection.json', 'service-ed25519.private.pem']) copyFileSync(join(EXAMPLE_KEYS_DIR, f), join(dir, `copied-${f}`))
  const base = { NODE_ENV: 'production', AUTH_ISSUER: 'https://idp.gov.example', AUTH_AUDIENCE: 'zhengzhao' }
  const copied = await problemsOf({
    ...base,
    AUTH_KEYS: join(dir, 'copied-idp.jwks.json'),
    TRUST_ANCHORS: join(dir, 'copied-trust-anchors.pem'),
    DATA_PROTECTION_KEYS: join(dir, 'copied-data-protection.json'),
    SERVICE_KEYS: join(dir, 'copied-service-ed25519.private.pem'),
  })
  t.equal(copied.length, 4, copied.join('\n'))
  for (const name of ['AUTH_KEYS', 'TRUST_ANCHORS', 'DATA_PROTECTION_KEYS', 'SERVICE_KEYS']) t.ok(copied.some((p) => p.startsWith(name) && p.includes('keys.example')), `${name} refused`)

  const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  writeFileSync(join(dir, 'idp.pem'), publicKey.export({ type: 'spki', format: 'pem' }))
  writeFileSync(join(dir, 'dp.json'), JSON.stringify({ blindIndexKey: randomBytes(32).toString('base64'), encryptionKeys: [{ id: 'k1', key: randomBytes(32).toString('base64') }], activeKeyId: 'k1' }))
  // A production anchor: any CA but the development one.
  const pki = createTestPki()
  writeFileSync(join(dir, 'anchors.pem'), pki.anchorsPem)
  writeFileSync(join(dir, 'service.pem'), generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }))
  const config = await loadConfig({ ...base, AUTH_KEYS: join(dir, 'idp.pem'), TRUST_ANCHORS: join(dir, 'anchors.pem'), DATA_PROTECTION_KEYS: join(dir, 'dp.json'), SERVICE_KEYS: join(dir, 'service.pem') })
  t.equal(config.usingExampleKeys, false)
  t.equal(config.seedExamples, false, 'no example catalogue in production')
})

t.test('key files: private keys, weak RSA and missing files are refused', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'zz-config-'))
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  writeFileSync(join(dir, 'private.pem'), ec.privateKey.export({ type: 'pkcs8', format: 'pem' }))
  const weak = generateKeyPairSync('rsa', { modulusLength: 1024 })
  writeFileSync(join(dir, 'weak.pem'), weak.publicKey.export({ type: 'spki', format: 'pem' }))
  const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' })
  writeFileSync(join(dir, 'p384.pem'), p384.publicKey.export({ type: 'spki', format: 'pem' }))
  const problems = await problemsOf({ AUTH_KEYS: ['private.pem', 'weak.pem', 'p384.pem', 'absent.pem'].map((f) => join(dir, f)).join(',') })
  t.match(problems.join('\n'), /private\.pem: PEM holds a private key/)
  t.match(problems.join('\n'), /weak\.pem: RSA keys need at least 2048 bits/)
  t.match(problems.join('\n'), /p384\.pem: only P-256/)
  t.match(problems.join('\n'), /absent\.pem/)
})

t.test('credit-code exceptions are named codes that fail the check, never a switch', async (t) => {
  const config = await loadConfig({ CREDIT_CODE_EXCEPTIONS: '91110000MA01234568' })
  t.ok(config.creditCodeExceptions.has('91110000MA01234568'))
  const problems = await problemsOf({ CREDIT_CODE_EXCEPTIONS: '11330105002500287C,*,true' })
  t.equal(problems.length, 3)
})

t.test('data-protection keys: malformed files are named precisely', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'zz-config-'))
  const k = randomBytes(32).toString('base64')
  const cases: [unknown, RegExp][] = [
    [{ blindIndexKey: 'short', encryptionKeys: [{ id: 'a', key: k }], activeKeyId: 'a' }, /blindIndexKey must be 32 bytes/],
    [{ blindIndexKey: k, encryptionKeys: [], activeKeyId: 'a' }, /at least one key/],
    [{ blindIndexKey: k, encryptionKeys: [{ id: 'a', key: k }, { id: 'a', key: k }], activeKeyId: 'a' }, /duplicate id/],
    [{ blindIndexKey: k, encryptionKeys: [{ id: 'a', key: k }], activeKeyId: 'b' }, /activeKeyId must name/],
  ]
  for (const [i, [content, expected]] of cases.entries()) {
    writeFileSync(join(dir, `${i}.json`), JSON.stringify(content))
    t.match((await problemsOf({ DATA_PROTECTION_KEYS: join(dir, `${i}.json`) })).join('\n'), expected)
  }
})

t.test('database and request time bounds: defaults, and every malformed one named', async (t) => {
  const config = await loadConfig({})
  t.same(config.database.timeouts, { connectMs: 2000, statementMs: 5000, lockMs: 2000 })
  t.equal(config.requestTimeoutMs, 30_000)
  const problems = await problemsOf({ DB_CONNECT_TIMEOUT_MS: '0', DB_STATEMENT_TIMEOUT_MS: 'soon', DB_LOCK_TIMEOUT_MS: '-5', REQUEST_TIMEOUT_MS: '1.5' })
  for (const name of ['DB_CONNECT_TIMEOUT_MS', 'DB_STATEMENT_TIMEOUT_MS', 'DB_LOCK_TIMEOUT_MS', 'REQUEST_TIMEOUT_MS']) t.ok(problems.some((p) => p.startsWith(name)), `${name} is named`)
  t.equal((await loadConfig({ REQUEST_TIMEOUT_MS: '0' })).requestTimeoutMs, 0, '0 disables the request timeout')
})

t.test('the pool: the workers share 80 connections unless DB_POOL_SIZE says otherwise', async (t) => {
  const url = 'postgres://zz@db.invalid/zz'
  t.equal((await loadConfig({ DATABASE_URL: url, WORKERS: '1' })).database.poolSize, 10, 'one process: 10, as before')
  t.equal((await loadConfig({ DATABASE_URL: url, WORKERS: '8' })).database.poolSize, 10, '8 workers: 80 connections')
  t.equal((await loadConfig({ DATABASE_URL: url, WORKERS: '16' })).database.poolSize, 5, '16 workers: 80, not the 160 that PostgreSQL\'s default 100 would refuse')
  t.equal((await loadConfig({ DATABASE_URL: url, WORKERS: '64' })).database.poolSize, 2, 'never under 2')
  t.equal((await loadConfig({ DATABASE_URL: url, WORKERS: '16', DB_POOL_SIZE: '12' })).database.poolSize, 12, 'DB_POOL_SIZE wins')
  for (const bad of ['0', '1001', 'many', '2.5']) {
    t.match((await problemsOf({ DB_POOL_SIZE: bad })).join('\n'), /^DB_POOL_SIZE must be an integer from 1 to 1000/m, `DB_POOL_SIZE=${bad} is named`)
  }
})
