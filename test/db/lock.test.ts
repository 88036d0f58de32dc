import { spawn, spawnSync } from 'node:child_process'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { hostname } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { openDatabase } from '../../src/db/client.js'
import { DataDirLockedError, LOCK_FILE, lockDataDir } from '../../src/db/lock.js'
import { seededDataDir } from '../helpers/database.js'

/** /proc/PID/stat field 22, as the lock records it. */
function startTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]
  } catch {
    return undefined
  }
}

t.test('the lock file holds the owner and goes away on release', async (t) => {
  const dir = t.testdir()
  const release = lockDataDir(dir)
  const owner = JSON.parse(readFileSync(join(dir, LOCK_FILE), 'utf8'))
  t.equal(owner.pid, process.pid)
  t.equal(owner.host, hostname())
  t.throws(() => lockDataDir(dir), { name: 'DataDirLockedError' }, 'a second opener in the same process is refused')
  release()
  t.notOk(existsSync(join(dir, LOCK_FILE)))
  lockDataDir(dir)()
})

t.test('a live process holding the lock is respected', async (t) => {
  const dir = t.testdir()
  const other = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'])
  t.teardown(() => other.kill())
  await new Promise((r) => other.once('spawn', r))
  const pid = other.pid!
  writeFileSync(join(dir, LOCK_FILE), JSON.stringify({ pid, host: hostname(), boot: readBootId(), started: startTime(pid) }))
  const err = t.throws(() => lockDataDir(dir)) as DataDirLockedError
  t.type(err, DataDirLockedError)
  t.equal(err.ownerPid, pid)
  t.match(err.message, `in use by process ${pid}`)
  t.equal(JSON.parse(readFileSync(join(dir, LOCK_FILE), 'utf8')).pid, pid, 'left in place')
})

t.test('a stale lock is taken over: dead pid, reused pid, garbage', async (t) => {
  const dead = spawnSync(process.execPath, ['-e', '0']).pid
  const cases: Record<string, string> = {
    'dead process': JSON.stringify({ pid: dead, host: hostname() }),
    // A live pid that started at another time is a later process given the same number.
    'reused pid': JSON.stringify({ pid: process.ppid, host: hostname(), started: '1' }),
    'another boot': JSON.stringify({ pid: process.ppid, host: hostname(), boot: 'not-this-boot' }),
    garbage: 'not json',
  }
  for (const [name, content] of Object.entries(cases)) {
    const dir = t.testdir()
    writeFileSync(join(dir, LOCK_FILE), content)
    const release = lockDataDir(dir)
    t.equal(JSON.parse(readFileSync(join(dir, LOCK_FILE), 'utf8')).pid, process.pid, name)
    release()
  }
})

t.test('openDatabase refuses a folder another opener holds, and reopens after close', async (t) => {
  const dir = await seededDataDir(t.testdir())
  const first = await openDatabase({ dataDir: dir })
  await t.rejects(openDatabase({ dataDir: dir }), { name: 'DataDirLockedError' })
  await first.close()
  t.notOk(existsSync(join(dir, LOCK_FILE)), 'released on close')
  const again = await openDatabase({ dataDir: dir })
  await again.close()
})

function readBootId(): string | undefined {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim()
  } catch {
    return undefined
  }
}
