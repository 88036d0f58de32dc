// With --perf the bench records every CPU with Linux perf while it runs, and says for the time
// window of each scenario where the service process's CPU went: its main thread by kind of work
// (the same CATEGORIES as --profile), the kernel's share of that thread by system call, and the
// process's other threads (V8's compiler and garbage collector, libuv's pool) by what they ran.
//
// Why a second profiler: node --cpu-prof samples the main thread on a timer and records the stack
// where the thread was when it next ran. On a machine whose cores the service shares with
// PostgreSQL and the load generator, a thread that wakes another (a socket write to PostgreSQL,
// a crypto job handed to libuv's pool) is often preempted inside that call, and the sample lands
// there: the V8 profile of 2026-12-01 put 11-21 % of a request in `writeBuffer`, perf's on-CPU
// samples 2.7-4.0 % in the kernel's socket writes. perf counts only time on a CPU, kernel
// included, and every thread.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { existsSync, readFileSync, statSync } from 'node:fs'
import { categoryOf, type ProfileNode } from './profile.js'

/** The service's node flags for --perf: a map of its compiled code, interpreted functions included. */
export const PERF_NODE_FLAGS = ['--perf-basic-prof', '--interpreted-frames-native-stack']

/** Samples per second per CPU. */
export const PERF_HZ = 499

export interface PerfSample {
  pid: number
  tid: number
  /** CLOCK_MONOTONIC, µs: the clock of process.hrtime, so of the bench's windows. */
  timeUs: number
  /** Leaf first: `symbol` and the object it lies in (`[kernel.kallsyms]`, `/usr/bin/node`, a perf map), and its address. */
  frames: { symbol: string; dso: string; ip?: number }[]
}

/**
 * With `--workers`, which process of the service a sample is in: the primary (which appends the
 * log for every worker) or one of the worker processes (which answer the requests). Absent for a
 * service of one process.
 */
export type PerfRole = 'primary' | 'workers'

export interface PerfSummary {
  scenario: string
  pid: number
  /** With `--workers`: how many worker processes the window counted beside the primary. */
  workers?: number | undefined
  /** On-CPU samples of the process (with workers, of the primary and the workers) in the window, every thread. */
  samples: number
  /** Of them, the main threads'. */
  mainSamples: number
  /** The main threads' samples by kind of work (CATEGORIES), largest first; shares of mainSamples. */
  categories: { category: string; share: number; role?: PerfRole | undefined }[]
  /** The main threads' samples inside the kernel, by what it was doing; shares of mainSamples. */
  kernel: { kind: string; share: number; role?: PerfRole | undefined }[]
  /** The other threads' samples by what they ran; shares of all samples. */
  background: { kind: string; share: number; role?: PerfRole | undefined }[]
}

/** Refuses early, with what to do, when perf cannot record every CPU here. */
export function checkPerf(): void {
  const r = spawnSync('perf', ['--version'], { encoding: 'utf8' })
  if (r.error || r.status !== 0) throw new Error('--perf needs Linux perf: on Debian, apt-get install linux-perf')
}

/** Starts `perf record` of every CPU into `file`; stop() ends it (SIGINT) and waits until the file is written. */
export function startPerf(file: string): { stop(): Promise<void> } {
  const child: ChildProcess = spawn('perf', ['record', '-a', '-g', '-k', 'monotonic', '-F', String(PERF_HZ), '-o', file, '--', 'sleep', '86400'], { stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()))
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  return {
    async stop() {
      child.kill('SIGINT')
      const code = await exited
      if (code !== 0 && code !== null && !/Captured and wrote/.test(stderr)) throw new Error(`perf record failed (${code}): ${stderr.slice(-500)}`)
    },
  }
}

/** `perf script` of `file`, the processes in `pids` only. */
export function readPerf(file: string, pids: readonly number[]): PerfSample[] {
  const r = spawnSync('perf', ['script', '-i', file, '--pid', pids.join(','), '-F', 'comm,pid,tid,time,ip,sym,dso'], { encoding: 'utf8', maxBuffer: 2 ** 31 - 1 })
  if (r.status !== 0) throw new Error(`perf script failed: ${r.stderr.slice(-500)}`)
  return parsePerfScript(r.stdout)
}

/** Parses `perf script -F comm,pid,tid,time,ip,sym,dso` output. */
export function parsePerfScript(text: string): PerfSample[] {
  const samples: PerfSample[] = []
  let current: PerfSample | undefined
  for (const line of text.split('\n')) {
    if (line.trim() === '') {
      if (current) samples.push(current)
      current = undefined
      continue
    }
    if (!/^\s/.test(line)) {
      // "node 17944/17946 1796097437.487580: " (comm may hold spaces)
      const m = /(\d+)\/(\d+)\s+(\d+)\.(\d+):\s*$/.exec(line)
      if (!m) continue
      current = { pid: Number(m[1]), tid: Number(m[2]), timeUs: Number(m[3]) * 1e6 + Number(m[4]!.padEnd(6, '0').slice(0, 6)), frames: [] }
      continue
    }
    if (!current) continue
    // "\t    7fc69e8884c4 JS:^getFullPath /path/resolve.js:71:21 (/tmp/perf-17944.map)"
    const m = /^\s*([0-9a-f]+)\s+(.*?)\s+\(([^()]*)\)\s*$/.exec(line)
    // The address of compiled JavaScript (a perf map's frame), to name it again (renameJitFrames).
    if (m) current.frames.push(/perf-\d+\.map$/.test(m[3]!) ? { symbol: m[2]!, dso: m[3]!, ip: parseInt(m[1]!, 16) } : { symbol: m[2]!, dso: m[3]! })
  }
  if (current) samples.push(current)
  return samples
}

/** One line of a perf map (`--perf-basic-prof`): code at [start, start + size) named `name`, and where the line ends in the file. */
export interface PerfMapEntry {
  start: number
  size: number
  name: string
  end: number
}

/** A perf map's entries in the order V8 wrote them. */
export function parsePerfMap(text: string): PerfMapEntry[] {
  const entries: PerfMapEntry[] = []
  let offset = 0
  for (const line of text.split('\n')) {
    const lineEnd = offset + Buffer.byteLength(line) + 1
    const m = /^([0-9a-f]+) ([0-9a-f]+) (.*)$/.exec(line)
    if (m) entries.push({ start: parseInt(m[1]!, 16), size: parseInt(m[2]!, 16), name: m[3]!, end: lineEnd })
    offset = lineEnd
  }
  return entries
}

/**
 * The samples' JavaScript frames named again from the perf map, the newest entry that covers each
 * address and was written before `cutBytes` of the map (the map's size when the window closed).
 *
 * Why: V8 reuses code space. Code that was optimised, replaced or collected leaves its line in
 * the append-only map, and newer code at the same addresses writes another; perf then names a
 * frame after whichever covering line it picks, often dead code (a lookup's stack through
 * `signCheckpoint`, `col` and `DataRow`). The newest line written before the window ended is
 * the code that was there during it, unless it was replaced inside the window itself.
 */
export function renameJitFrames(samples: readonly PerfSample[], entries: readonly PerfMapEntry[], mapFile: string, cutBytes = Infinity): PerfSample[] {
  const wanted = new Set<number>()
  for (const s of samples) for (const f of s.frames) if (f.dso === mapFile && f.ip !== undefined) wanted.add(f.ip)
  const ips = [...wanted].sort((a, b) => a - b)
  const names = new Map<number, string>()
  // Newest first: the first entry to cover an address names it.
  for (let k = entries.length - 1; k >= 0 && names.size < ips.length; k--) {
    const e = entries[k]!
    if (e.end > cutBytes) continue
    let lo = 0
    let hi = ips.length
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if (ips[mid]! < e.start) lo = mid + 1
      else hi = mid
    }
    for (let i = lo; i < ips.length && ips[i]! < e.start + e.size; i++) if (!names.has(ips[i]!)) names.set(ips[i]!, e.name)
  }
  return samples.map((s) => ({ ...s, frames: s.frames.map((f) => (f.dso === mapFile && f.ip !== undefined && names.has(f.ip) ? { ...f, symbol: names.get(f.ip)! } : f)) }))
}

/** A JavaScript frame of a perf map (`--perf-basic-prof`) as the V8 profiler names frames, or undefined. */
export function jsFrame(symbol: string): ProfileNode['callFrame'] | undefined {
  // "JS:*name /path/file.js:12:3", "JS:^ node:internal/streams/writable:460:16" (anonymous)
  const m = /^JS:[*~^+-]?(.*?)\s*(\S+?)(?::\d+)*$/.exec(symbol)
  if (!m) return undefined
  const where = m[2]!
  const url = where.startsWith('/') ? `file://${where}` : where
  return { functionName: m[1] || '(anonymous)', url, lineNumber: 0 }
}

const GC = /v8::internal::(Heap::|Scavenger|ScavengerCollector|MarkCompactCollector|MinorMarkCompact|MinorMarkSweep|ConcurrentMarking|IncrementalMarking|Sweeper|MemoryAllocator::Unmapper|GCTracer)/
const JIT = /v8::internal::(compiler::|maglev::|baseline::|Compiler::|OptimizingCompileDispatcher|Parser::|PreParser)|v8::internal::wasm::/

/** glibc's allocator: perf cannot walk past it to its caller (no frame pointers in libc). */
const MALLOC = /^(malloc|_int_malloc|_int_free|free|cfree|__libc_free|__libc_malloc|realloc|_int_realloc|calloc|__libc_calloc|unlink_chunk.*|malloc_consolidate|tcache_.*)$/

function isKernel(f: { dso: string }): boolean {
  return f.dso === '[kernel.kallsyms]' || f.dso.startsWith('[kernel')
}

const KERNEL_KINDS: [string, RegExp][] = [
  ['writes (sockets, pipes, files)', /^(ksys_write|do_writev|vfs_writev?|__sys_send(to|msg)|sock_write_iter|tcp_sendmsg|pipe_write|unix_stream_sendmsg|__x64_sys_(write|writev|sendto|sendmsg))$/],
  ['reads (sockets, pipes, files)', /^(ksys_read|do_readv|vfs_readv?|__sys_recv(from|msg)|sock_read_iter|tcp_recvmsg|pipe_read|unix_stream_recvmsg|__x64_sys_(read|readv|recvfrom|recvmsg))$/],
  ['waiting for events (epoll)', /^(do_epoll_wait|ep_poll|__x64_sys_epoll_p?wait)$/],
  ['futex (waking or waiting for a thread)', /futex/],
  ['memory mappings', /^(do_mmap|vm_mmap_pgoff|__vm_munmap|do_madvise|do_mprotect_pkey|do_brk_flags|__x64_sys_(mmap|munmap|madvise|mprotect|brk))$/],
  ['page faults', /page_fault|^handle_mm_fault$/],
]

/** What the kernel was doing for a sample whose leaf is in it, by the system call on its stack. */
export function kernelKind(frames: PerfSample['frames']): string | undefined {
  if (!frames[0] || !isKernel(frames[0])) return undefined
  const symbols = frames.filter(isKernel).map((f) => f.symbol)
  for (const [kind, re] of KERNEL_KINDS) if (symbols.some((s) => re.test(s))) return kind
  return symbols.includes('do_syscall_64') ? 'other system calls' : 'interrupts and scheduling'
}

/** What a thread other than the main one ran. */
export function backgroundKind(frames: PerfSample['frames']): string {
  const symbols = frames.map((f) => f.symbol)
  if (symbols.some((s) => GC.test(s))) return "V8's garbage collector (concurrent marking, sweeping, parallel scavenges)"
  if (symbols.some((s) => JIT.test(s))) return "V8's compilers (optimising hot functions)"
  if (symbols.some((s) => s.startsWith('JS:'))) return 'worker threads (JavaScript: SM2, OFD)'
  if (symbols.some((s) => /^(uv_|node::ThreadPoolWork|worker$)/.test(s) || /node::crypto::|EVP_|ossl_|RSA_|ECDSA|ED25519/.test(s))) return "libuv's pool (crypto jobs, files, DNS)"
  if (frames[0] && isKernel(frames[0])) return 'kernel (interrupts, scheduling)'
  return 'other'
}

/** The kind of work of a main-thread sample: garbage collection first, then the JS stack's CATEGORIES. */
export function mainCategory(frames: PerfSample['frames']): string {
  if (frames.some((f) => GC.test(f.symbol))) return 'garbage collection'
  const js = frames.map((f) => jsFrame(f.symbol)).filter((f): f is ProfileNode['callFrame'] => f !== undefined)
  if (js.length > 0) return categoryOf(js)
  // No JavaScript on the stack: Node's HTTP parser called from a socket read, or native code.
  if (frames.some((f) => /^llhttp_|node::\(anonymous namespace\)::Parser::/.test(f.symbol))) return 'HTTP in Node (parsing, socket reads and writes)'
  if (kernelKind(frames)) return 'kernel, no JavaScript on the stack (event loop, interrupts)'
  if (frames[0] && MALLOC.test(frames[0].symbol) && frames.every((f) => !f.symbol.startsWith('node::') && !f.symbol.startsWith('v8::'))) return 'malloc and free, caller unknown (libc keeps no frame pointers)'
  return 'other (Node internals, timers, microtask queue)'
}

const SEP = '\u0000'

/** Counts by (role, kind), largest first, as shares of `total`; a service of one process has no role. */
function rank<K extends string>(counts: Map<string, number>, total: number, key: K): ({ [P in K]: string } & { share: number; role?: PerfRole })[] {
  return [...counts.entries()]
    .sort((a, b) => b[1] - a[1])
    .map(([k, n]) => {
      const [role, kind] = k.includes(SEP) ? (k.split(SEP) as [PerfRole, string]) : [undefined, k]
      return { [key]: kind, share: n / Math.max(1, total), ...(role ? { role } : {}) } as { [P in K]: string } & { share: number; role?: PerfRole }
    })
}

/** Where V8 writes the perf map of process `pid` (`--perf-basic-prof`). */
export const perfMapOf = (pid: number): string => `/tmp/perf-${pid}.map`

/** The size of each process's perf map now (0 if it has none yet): a window's cut for renameJitFrames. */
export function perfMapBytes(pids: readonly number[]): Map<number, number> {
  return new Map(pids.map((pid) => [pid, existsSync(perfMapOf(pid)) ? statSync(perfMapOf(pid)).size : 0]))
}

/**
 * summarizePerf, each window's JavaScript frames first named again from its processes' perf maps
 * as they stood when it closed (renameJitFrames; `mapBytes` by pid).
 */
export function summarizeNamed(samples: readonly PerfSample[], windows: readonly (PerfWindow & { mapBytes?: ReadonlyMap<number, number> | undefined })[]): PerfSummary[] {
  const maps = new Map<number, PerfMapEntry[]>()
  const mapOf = (pid: number) => {
    if (!maps.has(pid)) maps.set(pid, existsSync(perfMapOf(pid)) ? parsePerfMap(readFileSync(perfMapOf(pid), 'utf8')) : [])
    return maps.get(pid)!
  }
  return windows.flatMap((w) => {
    let inWindow = samples.filter((s) => s.timeUs >= w.windowUs[0] && s.timeUs <= w.windowUs[1])
    for (const pid of [w.pid, ...(w.workers ?? [])]) inWindow = renameJitFrames(inWindow, mapOf(pid), perfMapOf(pid), w.mapBytes?.get(pid))
    return summarizePerf(inWindow, [w])
  })
}

export interface PerfWindow {
  scenario: string
  /** The service process (with --workers, the primary). */
  pid: number
  /** With --workers: the worker processes, counted apart from the primary. */
  workers?: readonly number[] | undefined
  windowUs: [number, number]
}

/**
 * Each window's samples of its process (and its worker processes): main threads by kind of work
 * and kernel call, other threads by kind; with workers, each kind is counted per role.
 */
export function summarizePerf(samples: readonly PerfSample[], windows: readonly PerfWindow[]): PerfSummary[] {
  return windows.map(({ scenario, pid, workers, windowUs: [from, to] }) => {
    const categories = new Map<string, number>()
    const kernel = new Map<string, number>()
    const background = new Map<string, number>()
    const workerPids = new Set(workers ?? [])
    const add = (counts: Map<string, number>, key: string) => counts.set(key, (counts.get(key) ?? 0) + 1)
    let count = 0
    let main = 0
    for (const s of samples) {
      if (s.timeUs < from || s.timeUs > to) continue
      const primary = s.pid === pid
      if (!primary && !workerPids.has(s.pid)) continue
      const role: PerfRole | undefined = workers ? (primary ? 'primary' : 'workers') : undefined
      const keyOf = (kind: string) => (role ? `${role}${SEP}${kind}` : kind)
      count++
      if (s.tid !== s.pid) {
        add(background, keyOf(backgroundKind(s.frames)))
        continue
      }
      main++
      add(categories, keyOf(mainCategory(s.frames)))
      const k = kernelKind(s.frames)
      if (k) add(kernel, keyOf(k))
    }
    return {
      scenario,
      pid,
      ...(workers ? { workers: workers.length } : {}),
      samples: count,
      mainSamples: main,
      categories: rank(categories, main, 'category'),
      kernel: rank(kernel, main, 'kind'),
      background: rank(background, count, 'kind'),
    }
  })
}
