import { linkSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs'
import { hostname } from 'node:os'
import { join } from 'node:path'

/** The lock file an embedded database's owner keeps in its data folder. */
export const LOCK_FILE = 'zhengzhao.lock'

/** A second process tried to open an embedded data folder that another process has open. */
export class DataDirLockedError extends Error {
  constructor(
    readonly dataDir: string,
    readonly ownerPid: number,
  ) {
    super(
      `the embedded database in ${dataDir} is in use by process ${ownerPid} (lock file ${join(dataDir, LOCK_FILE)}). ` +
        'PGlite serves one process only: stop that process first, or set DATABASE_URL to share a PostgreSQL server.',
    )
    this.name = 'DataDirLockedError'
  }
}

// Lock files this process holds: a second opener in the same process is refused too.
const heldHere = new Set<string>()

interface Owner {
  pid: number
  host: string
  /** Linux: the boot and the process start time, so a reused pid is not mistaken for the owner. */
  boot?: string | undefined
  started?: string | undefined
}

/**
 * Takes the data folder's lock: an exclusive-create lock file holding the owner's pid. PGlite is
 * PostgreSQL in one process with no locking of its own, so two processes on one folder each
 * keep their own copy of the pages and the later writer silently wins (issue 14: 400 pushes
 * acknowledged, 200 found). A lock left by a process that has died is taken over. Returns the
 * function that releases it.
 */
export function lockDataDir(dataDir: string): () => void {
  const file = join(dataDir, LOCK_FILE)
  if (heldHere.has(file)) throw new DataDirLockedError(dataDir, process.pid)
  const mine = JSON.stringify(currentOwner(process.pid))
  // Written aside, then linked into place: the lock file appears whole or not at all, so a
  // reader never sees a half-written one and mistakes it for stale.
  const pending = `${file}.${process.pid}`
  writeFileSync(pending, mine, { mode: 0o600 })
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        linkSync(pending, file)
        break
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 2) throw err
      }
      const text = readText(file)
      const owner = parseOwner(text)
      if (owner && ownerAlive(owner)) throw new DataDirLockedError(dataDir, owner.pid)
      // Stale (its process is gone) or unreadable: take it over, unless someone just did.
      if (readText(file) === text) removeQuietly(file)
    }
  } finally {
    removeQuietly(pending)
  }
  heldHere.add(file)
  return () => {
    heldHere.delete(file)
    if (readText(file) === mine) removeQuietly(file)
  }
}

function ownerAlive(owner: Owner): boolean {
  if (owner.host !== hostname()) return true // another machine's process cannot be checked: assume it runs
  if (owner.pid === process.pid) return false // not held here (checked first), so left by an earlier process given the same pid (pid 1 in a container)
  if (owner.boot !== undefined && owner.boot !== procText('/proc/sys/kernel/random/boot_id')) return false
  try {
    process.kill(owner.pid, 0)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false
  }
  // The pid runs; on Linux, make sure it is the same process and not a later one given that pid.
  const started = startTime(owner.pid)
  return owner.started === undefined || started === undefined || started === owner.started
}

function currentOwner(pid: number): Owner {
  return { pid, host: hostname(), boot: procText('/proc/sys/kernel/random/boot_id'), started: startTime(pid) }
}

function parseOwner(text: string | undefined): Owner | undefined {
  try {
    const o = JSON.parse(text ?? '') as Owner
    return Number.isInteger(o.pid) && o.pid > 0 && typeof o.host === 'string' ? o : undefined
  } catch {
    return undefined
  }
}

/** Field 22 of /proc/PID/stat: the start time in clock ticks since boot. */
function startTime(pid: number): string | undefined {
  const stat = procText(`/proc/${pid}/stat`)
  // The command name (field 2) may hold spaces and parentheses: count from the last ')'.
  return stat?.slice(stat.lastIndexOf(')') + 2).split(' ')[19]
}

function procText(path: string): string | undefined {
  return readText(path)?.trim()
}

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8')
  } catch {
    return undefined
  }
}

function removeQuietly(file: string): void {
  try {
    unlinkSync(file)
  } catch {
    // already gone
  }
}
