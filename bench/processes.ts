// Child processes of a benchmark run: the service and the bare baseline, each its own Node
// process on 127.0.0.1, stopped by pid whatever happens; and the RSS sampler for the service.
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, symlinkSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { fileURLToPath } from 'node:url'

export const REPO = fileURLToPath(new URL('..', import.meta.url))

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
    server.on('error', reject)
  })
}

export interface Child {
  name: string
  pid: number
  url: string
  /** Everything the process wrote, for the error message when it dies. */
  output(): string
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once it exited. */
  stop(graceMs?: number): Promise<void>
}

const running = new Set<ChildProcess>()

/** Last resort on exit: nothing this run started outlives it. */
export function killAllChildren(): void {
  for (const p of running) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL')
}

/**
 * Compiles src/ with the project's tsconfig into a scratch folder laid out like the repository
 * (dist/ next to symlinks to node_modules, keys.example, migrations, package.json), so the
 * service runs as the Docker image runs it: plain JavaScript, no tsx loader. Returns the folder.
 */
export async function compileService(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'zhengzhao-bench-dist-'))
  await promisify(execFile)(process.execPath, [join(REPO, 'node_modules/typescript/bin/tsc'), '-p', join(REPO, 'tsconfig.json'), '--outDir', join(dir, 'dist'), '--sourceMap', 'false'], { cwd: REPO })
  for (const entry of ['node_modules', 'keys.example', 'migrations', 'package.json']) symlinkSync(join(REPO, entry), join(dir, entry))
  return dir
}

/** Starts `node ARGV…` in `cwd` with `env` and waits until `readyPath` answers 200. */
export async function startNode(name: string, argv: string[], env: Record<string, string>, readyPath: string, cwd = REPO, timeoutMs = 120_000): Promise<Child> {
  const port = await freePort()
  const child = spawn(process.execPath, argv, {
    cwd,
    env: { ...process.env, ...env, PORT: String(port), HOST: '127.0.0.1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  running.add(child)
  let log = ''
  const keep = (chunk: Buffer) => (log = (log + chunk.toString('utf8')).slice(-20_000))
  child.stdout!.on('data', keep)
  child.stderr!.on('data', keep)
  const exited = new Promise<void>((resolve) => child.once('exit', () => (running.delete(child), resolve())))
  const url = `http://127.0.0.1:${port}`
  const handle: Child = {
    name,
    pid: child.pid!,
    url,
    output: () => log,
    async stop(graceMs = 10_000) {
      if (child.exitCode !== null || child.signalCode !== null) return
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
      await exited
      clearTimeout(timer)
    },
  }
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode}:\n${log}`)
    try {
      if ((await fetch(url + readyPath, { signal: AbortSignal.timeout(2000) })).ok) return handle
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250))
  }
  await handle.stop()
  throw new Error(`${name} was not ready within ${timeoutMs / 1000} s:\n${log}`)
}

/** Resident set size of a process in bytes, from /proc (VmRSS); undefined once it is gone. */
function ownRss(pid: number): number | undefined {
  try {
    const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return m ? Number(m[1]) * 1024 : undefined
  } catch {
    return undefined
  }
}

/** A process's RSS plus its child processes' (the workers of a WORKERS>1 service). */
export function rssBytes(pid: number): number | undefined {
  const own = ownRss(pid)
  if (own === undefined) return undefined
  let total = own
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      if (Number(readFileSync(`/proc/${entry}/stat`, 'utf8').replace(/^.*\) /s, '').split(' ')[1]) === pid) total += ownRss(Number(entry)) ?? 0
    } catch {
      // gone meanwhile
    }
  }
  return total
}

/** Samples a process's RSS every `everyMs` while running; `stop()` returns the peak in bytes. */
export function sampleRss(pid: number, everyMs = 200): { stop(): number } {
  let peak = rssBytes(pid) ?? 0
  const timer = setInterval(() => (peak = Math.max(peak, rssBytes(pid) ?? 0)), everyMs)
  return {
    stop() {
      clearInterval(timer)
      return Math.max(peak, rssBytes(pid) ?? 0)
    },
  }
}
