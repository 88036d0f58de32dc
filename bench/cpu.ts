// Where the CPU goes during a scenario, per process, from /proc: the service, the baseline,
// PostgreSQL (the postmaster and its backends), this process (autocannon), and whatever else
// runs on the shared machine. No profiler, so no overhead.
import { readdirSync, readFileSync } from 'node:fs'

const TICKS_PER_SECOND = 100 // CLK_TCK on Linux

interface ProcStat {
  ppid: number
  /** user + system ticks of the process itself. */
  own: number
  /** user + system ticks of its children that exited and were waited for. */
  children: number
}

function procStat(pid: number): ProcStat | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const f = text.slice(text.lastIndexOf(')') + 2).split(' ')
    return { ppid: Number(f[1]), own: Number(f[11]) + Number(f[12]), children: Number(f[13]) + Number(f[14]) }
  } catch {
    return undefined
  }
}

/** The parent of a process (the postmaster of a backend). */
export function parentOf(pid: number): number | undefined {
  return procStat(pid)?.ppid
}

/** The live children of a process (a cluster primary's workers), with their stats. */
function childStats(pid: number): [number, ProcStat][] {
  const found: [number, ProcStat][] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    const child = procStat(Number(entry))
    if (child?.ppid === pid) found.push([Number(entry), child])
  }
  return found
}

/** The pids of a process's live children: the service's worker processes with --workers. */
export function childrenOf(pid: number): number[] {
  return childStats(pid).map(([child]) => child)
}

/** CPU seconds of a process and, with `tree`, of its live and reaped children. */
function cpuSeconds(pid: number | undefined, tree = false): number {
  if (pid === undefined) return 0
  const self = procStat(pid)
  if (!self) return 0
  let ticks = self.own
  if (tree) {
    ticks += self.children
    for (const [, child] of childStats(pid)) ticks += child.own
  }
  return ticks / TICKS_PER_SECOND
}

/** Whole-machine CPU seconds: busy (user, nice, system, irq, softirq) and stolen by the hypervisor. */
function machineSeconds(): { busy: number; steal: number } {
  const [, user, nice, system, , , irq, softirq, steal] = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).map(Number)
  return { busy: (user! + nice! + system! + irq! + softirq!) / TICKS_PER_SECOND, steal: steal! / TICKS_PER_SECOND }
}

export interface Pids {
  service?: number | undefined
  baseline?: number | undefined
  postmaster?: number | undefined
}

export interface CpuShare {
  /** CPU seconds per wall-clock second (cores) over the window. */
  service: number
  baseline: number
  postgres: number
  loadGenerator: number
  /** Busy cores not accounted for by the processes above: the rest of the shared machine. */
  others: number
  steal: number
  wallSeconds: number
}

/** Starts a CPU accounting window; `stop()` returns cores used by each party. */
export function cpuWindow(pids: Pids): { stop(): CpuShare } {
  const read = () => {
    const own = process.cpuUsage()
    return {
      service: cpuSeconds(pids.service, true),
      baseline: cpuSeconds(pids.baseline),
      postgres: cpuSeconds(pids.postmaster, true),
      loadGenerator: (own.user + own.system) / 1e6,
      machine: machineSeconds(),
      at: performance.now(),
    }
  }
  const start = read()
  return {
    stop() {
      const end = read()
      const wall = (end.at - start.at) / 1000
      const per = (k: 'service' | 'baseline' | 'postgres' | 'loadGenerator') => (end[k] - start[k]) / wall
      const busy = (end.machine.busy - start.machine.busy) / wall
      const ours = per('service') + per('baseline') + per('postgres') + per('loadGenerator')
      return {
        service: per('service'),
        baseline: per('baseline'),
        postgres: per('postgres'),
        loadGenerator: per('loadGenerator'),
        others: Math.max(0, busy - ours),
        steal: (end.machine.steal - start.machine.steal) / wall,
        wallSeconds: wall,
      }
    },
  }
}

/**
 * Waits (at most `maxSeconds`) until the machine is nearly idle while this run is idle, so a
 * scenario does not start in the middle of someone else's burst; returns the busy cores last seen.
 */
export async function waitForQuiet(maxSeconds: number, threshold = 0.3): Promise<number> {
  const deadline = Date.now() + maxSeconds * 1000
  for (;;) {
    const before = machineSeconds().busy
    await new Promise((r) => setTimeout(r, 1000))
    const busy = machineSeconds().busy - before
    if (busy <= threshold || Date.now() >= deadline) return busy
  }
}
