import t from 'tap'
import { blankDataDir } from '../helpers/database.js'
import { runCli } from './fixtures/cli.js'

// An explicit environment: the suite's DATABASE_URL is deliberately not passed, so these runs
// always use an embedded database in the test's own folder, never migrated: the folder a first
// start leaves (blankDataDir; the first start itself, initdb, is test/db/pgliteMemory's).
const embedded = (dataDir: string) => ({ NODE_ENV: 'test', DATA_DIR: dataDir, LOG_LEVEL: 'silent' })

t.test('migrate applies the migrations once', async (t) => {
  const env = embedded(await blankDataDir(t.testdir()))
  const first = await runCli(['migrate', '--json'], { env })
  t.equal(first.code, 0, first.stderr)
  const applied = JSON.parse(first.stdout) as { applied: string[]; alreadyApplied: number }
  t.ok(applied.applied.length >= 1, 'first run applies')
  t.equal(applied.alreadyApplied, 0)

  const second = await runCli(['migrate'], { env })
  t.equal(second.code, 0, second.stderr)
  t.match(second.stdout, `Applied 0 migration(s); ${applied.applied.length} already applied.`)
})

t.test('seed migrates first, then loads the example catalogue once', async (t) => {
  const env = embedded(await blankDataDir(t.testdir()))
  const first = await runCli(['seed', '--json'], { env })
  t.equal(first.code, 0, first.stderr)
  const result = JSON.parse(first.stdout) as { created: number; unchanged: number; migrations: { applied: string[] } }
  t.ok(result.migrations.applied.length >= 1, 'migrated')
  t.ok(result.created >= 1, 'types created')
  t.equal(result.unchanged, 0)

  const second = await runCli(['seed'], { env })
  t.equal(second.code, 0, second.stderr)
  t.match(second.stdout, `0 type(s) created, ${result.created} unchanged`)
})

t.test('production without AUTH_KEYS is an environment error naming the missing settings', async (t) => {
  const run = await runCli(['migrate'], { env: { NODE_ENV: 'production', DATA_DIR: t.testdir() } })
  t.equal(run.code, 2)
  for (const name of ['AUTH_KEYS', 'AUTH_ISSUER', 'AUTH_AUDIENCE']) t.match(run.stderr, name)
  t.equal(run.stdout, '')
})

t.test('an unreachable database is an environment error, and the password is not printed', async (t) => {
  // Port 1 on the loopback: nothing listens, so the connection is refused at once.
  const run = await runCli(['migrate'], { env: { NODE_ENV: 'test', DATABASE_URL: 'postgres://zz:s3cret-pw@127.0.0.1:1/zhengzhao' } })
  t.equal(run.code, 2)
  t.match(run.stderr, /cannot reach the database \(PostgreSQL at 127\.0\.0\.1:1\/zhengzhao\)/)
  t.notMatch(run.stderr, 's3cret-pw')
  t.equal(run.stdout, '')
})

t.test('invalid settings are reported all at once', async (t) => {
  const run = await runCli(['seed'], { env: { NODE_ENV: 'staging', DATABASE_URL: 'mysql://x' } })
  t.equal(run.code, 2)
  t.match(run.stderr, /NODE_ENV/)
  t.match(run.stderr, /DATABASE_URL/)
})
