import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { bearer, randomCreditCode, randomTypeCode } from '../helpers/app.js'
import { DATA_SCHEMA } from '../helpers/certs.js'
import { LOCK_FILE } from '../../src/db/lock.js'
import { seededDataDir } from '../helpers/database.js'
import { untapped } from '../helpers/untapped.js'

// Two processes on one embedded (PGlite) data folder: the real server and CLI, as child
// processes. Before the lock, a second server started, both wrote, and half the acknowledged
// pushes were gone on reopening. Now the second opener stops at once with exit 2 and says who
// holds the folder, e.g.:
//   zhengzhao: cannot start: the embedded database in /tmp/x is in use by process 4242 (lock
//   file /tmp/x/zhengzhao.lock). PGlite serves one process only: stop that process first, or
//   set DATABASE_URL to share a PostgreSQL server.
// and `zhengzhao migrate` / `seed` print "cannot open the database (embedded PGlite in /tmp/x):
// the embedded database … is in use by process 4242 …" and exit 2. A lock left by a killed
// process is taken over.

const ROOT = new URL('../../', import.meta.url).pathname

function envFor(dataDir: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NODE_ENV: 'test', DATA_DIR: dataDir, PORT: '0', LOG_LEVEL: 'info', SEED_EXAMPLES: 'false', RATE_LIMIT_MAX: '0' }
  delete env.DATABASE_URL // always the embedded database, also when the suite runs on PostgreSQL
  return env
}

interface Run {
  code: number | null
  stdout: string
  stderr: string
}

function run(args: string[], env: NodeJS.ProcessEnv): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(...untapped(process.execPath, args), { cwd: ROOT, env })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => (stdout += d))
    child.stderr.on('data', (d: Buffer) => (stderr += d))
    child.on('close', (code) => resolve({ code, stdout, stderr }))
  })
}

/** Starts the real server; resolves with its port once it listens. */
function startServer(env: NodeJS.ProcessEnv): Promise<{ child: ChildProcess; port: number; output: () => string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(...untapped(process.execPath, ['--import', 'tsx', 'src/server.ts']), { cwd: ROOT, env })
    let out = ''
    let err = ''
    child.stderr.on('data', (d: Buffer) => (err += d))
    child.stdout.on('data', (d: Buffer) => {
      out += d
      const m = /listening at http:\/\/127\.0\.0\.1:(\d+)/.exec(out)
      if (m) resolve({ child, port: Number(m[1]), output: () => out })
    })
    child.on('close', (code) => reject(new Error(`server exited ${code}: ${err}`)))
  })
}

const cli = (args: string[], env: NodeJS.ProcessEnv) => run(['bin/zhengzhao.js', ...args], env)

t.test('a second process on the same PGlite folder is refused; a killed owner\'s lock is taken over', async (t) => {
  // A folder holding the migrated snapshot: on an empty one the first server would run initdb
  // first (test/db/pgliteMemory.test.ts covers that).
  const dir = await seededDataDir(t.testdir())
  const env = envFor(dir)
  const first = await startServer(env)
  t.teardown(() => first.child.kill('SIGKILL'))
  const pid = first.child.pid!
  // Its log says what the embedded database does not survive.
  t.match(first.output(), /embedded PGlite, which survives a killed process but not a power loss or an operating-system crash/)

  // The first server writes something the reopened folder must still hold.
  const typeCode = randomTypeCode()
  const put = await fetch(`http://127.0.0.1:${first.port}/v1/types/${typeCode}`, {
    method: 'PUT',
    headers: { ...(await bearer(['admin'])), 'content-type': 'application/json' },
    body: JSON.stringify({ name: '进程锁演练证照', holderIdTypes: ['111'], issuers: [randomCreditCode()], dataSchema: DATA_SCHEMA }),
  })
  t.equal(put.status, 201)

  const second = await run(['--import', 'tsx', 'src/server.ts'], env)
  t.comment(`second server: exit ${second.code}: ${second.stderr.trim()}`)
  t.equal(second.code, 2, 'a second server exits 2')
  t.match(second.stderr, `is in use by process ${pid}`)
  t.match(second.stderr, 'PGlite serves one process only')

  for (const command of ['migrate', 'seed']) {
    const r = await cli([command], env)
    t.comment(`zhengzhao ${command}: exit ${r.code}: ${r.stderr.trim()}`)
    t.equal(r.code, 2, `${command} exits 2`)
    t.match(r.stderr, `is in use by process ${pid}`)
  }

  // kill -9 leaves the lock file behind; its process is gone, so the next opener takes it over.
  first.child.kill('SIGKILL')
  await new Promise((r) => first.child.once('close', r))
  t.ok(existsSync(join(dir, LOCK_FILE)), 'the killed server left its lock file')
  const reopened = await startServer(env)
  t.teardown(() => reopened.child.kill('SIGKILL'))
  const got = await fetch(`http://127.0.0.1:${reopened.port}/v1/types/${typeCode}`, { headers: await bearer(['reader']) })
  t.equal(got.status, 200, 'what the first server wrote is there')
  t.equal(JSON.parse(readFileSync(join(dir, LOCK_FILE), 'utf8')).pid, reopened.child.pid, 'the stale lock was taken over')
})
