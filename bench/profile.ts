// With --profile the service runs under `node --cpu-prof`; this reads the profile it writes at
// exit and says, for the time window of each scenario, where the service's CPU went: self time by
// package or source file, and inclusive time of the service's own functions.
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { REPO } from './processes.js'

export interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number }
  children?: number[]
}
interface CpuProfile {
  nodes: ProfileNode[]
  startTime: number
  endTime: number
  samples: number[]
  timeDeltas: number[]
}

export interface ProfileSummary {
  scenario: string
  samples: number
  /** Share of the window's samples by where the CPU was (self time), largest first. */
  self: { where: string; share: number }[]
  /** Share of samples with each package or file anywhere on the stack (inclusive time). */
  places: { where: string; share: number }[]
  /** Share of samples with each of the service's own functions on the stack. */
  inclusive: { fn: string; share: number }[]
  /** Every busy sample in exactly one category of work (CATEGORIES), largest first; the shares add up to 1. */
  categories?: { category: string; share: number }[]
}

/**
 * The kinds of work a request does, in the order a sample is tested against them: a sample
 * belongs to the first whose frames are on its stack (so a socket write made by the log's
 * statement counts as the log's, one made by Fastify's reply as HTTP). The profiler sees
 * synchronous stacks only: the driver's handling of a reply (postgres.js reading the socket) has
 * no caller on its stack and counts as the driver's, whichever query it answers.
 */
export const CATEGORIES: { category: string; test: (frames: readonly ProfileNode['callFrame'][]) => boolean }[] = [
  { category: 'access log (leaf, statement, checkpoint signature, proofs)', test: own(/^(log|audit\/accessLog)\b/) },
  { category: 'receipt', test: own(/^audit\/receipts\b/) },
  { category: 'certificate signature check', test: (f) => own(/^(verify\/certificate|crypto\/(jwsVerify|sm2|x509)|ofd\/)/)(f) || pkg(/^jose$|^@noble\//)(f) },
  { category: 'stored certificate decryption', test: own(/^crypto\/dataProtection\b/) },
  { category: 'bearer token (JWT)', test: (f) => pkg(/^(fast-jwt|@fastify\/jwt)$/)(f) || own(/^auth\//)(f) },
  { category: 'rate limiting', test: pkg(/^@fastify\/rate-limit$/) },
  { category: 'security headers (helmet)', test: pkg(/^(@fastify\/helmet|helmet)$/) },
  { category: 'response serialisation', test: (f) => pkg(/^fast-json-stringify$/)(f) || f.some((c) => c.functionName === 'serialize' && /fastify\/lib\/reply\.js$/.test(c.url)) },
  { category: 'validation and body parsing', test: (f) => pkg(/^(ajv|secure-json-parse)$/)(f) || f.some((c) => /fastify\/lib\/(validation|contentTypeParser)\.js$/.test(c.url)) || own(/^schemas\b/)(f) },
  { category: 'database driver (postgres.js, drizzle)', test: pkg(/^(postgres|drizzle-orm|@electric-sql\/pglite)$/) },
  { category: 'HTTP in Node (parsing, socket reads and writes)', test: (f) => f.some((c) => /^node:(internal\/)?(_http_|net$|stream_base_commons|streams\/)/.test(c.url.replace(/^node:internal\//, 'node:'))) },
  { category: 'Fastify (routing, hooks, reply)', test: pkg(/^(fastify|find-my-way|avvio|fastify-plugin|@fastify\/.*)$/) },
  { category: "the route's own work", test: (f) => f.some((c) => ownPath(c.url) !== undefined) },
  { category: 'garbage collection', test: (f) => f[0]?.functionName === '(garbage collector)' },
]

function own(re: RegExp) {
  return (frames: readonly ProfileNode['callFrame'][]) => frames.some((c) => re.test(ownPath(c.url)?.replace(/^(src|dist)\//, '') ?? '\0'))
}

function pkg(re: RegExp) {
  return (frames: readonly ProfileNode['callFrame'][]) => frames.some((c) => re.test(/node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(c.url)?.[1] ?? '\0'))
}

/** The category of one sample's stack, leaf first. */
export function categoryOf(frames: readonly ProfileNode['callFrame'][]): string {
  return CATEGORIES.find((c) => c.test(frames))?.category ?? 'other (Node internals, timers, microtask queue)'
}

const ROOT = `file://${REPO.replace(/\/$/, '')}`

/** `src/…` of the sources (tsx), or `dist/…` of the scratch build the bench compiled (processes.ts). */
function ownPath(url: string): string | undefined {
  if (url.startsWith(`${ROOT}/src/`)) return url.slice(ROOT.length + 1)
  return /^file:\/\/.*\/zhengzhao-bench-dist-[^/]+\/(dist\/.*)$/.exec(url)?.[1]
}

/** Where a frame belongs: a package, a file of src/, a Node internal module, or V8's own buckets. */
function placeOf(frame: ProfileNode['callFrame']): string {
  const { url, functionName } = frame
  if (!url) return functionName.startsWith('(') ? functionName : `(native) ${functionName || 'anonymous'}`
  if (url.startsWith('node:')) return url.replace(/^node:(internal\/)?/, 'node:').split('/').slice(0, 2).join('/')
  const own = ownPath(url)
  if (own) return own
  const path = url.startsWith(ROOT) ? url.slice(ROOT.length) : url
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path)
  if (pkg) return pkg[1]!
  return path.replace(/^\//, '')
}

function ownFunction(frame: ProfileNode['callFrame']): string | undefined {
  const own = ownPath(frame.url)
  return own ? `${frame.functionName || '(anonymous)'} (${own})` : undefined
}

/**
 * The main thread's profile of each service process, oldest first. Node writes one file per
 * thread, CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile, and tsx's loader hooks run on a
 * thread of their own (thread id ≠ 0).
 */
export function mainThreadProfiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => /^CPU\.\d+\.\d+\.\d+\.0\.\d+\.cpuprofile$/.test(f))
    .sort()
    .map((f) => join(dir, f))
}

export function summarizeProfile(file: string, windows: { scenario: string; windowUs: [number, number] }[], top = 12): ProfileSummary[] {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile
  const byId = new Map(profile.nodes.map((n) => [n.id, n]))
  const parent = new Map<number, number>()
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
  // Sample times: startTime plus the running sum of the deltas (microseconds, monotonic clock).
  const times = new Float64Array(profile.samples.length)
  let t = profile.startTime
  for (let i = 0; i < profile.samples.length; i++) times[i] = t += profile.timeDeltas[i]!

  return windows.map(({ scenario, windowUs: [from, to] }) => {
    const self = new Map<string, number>()
    const inclusive = new Map<string, number>()
    const places = new Map<string, number>()
    const categories = new Map<string, number>()
    let busy = 0
    let count = 0
    for (let i = 0; i < times.length; i++) {
      if (times[i]! < from || times[i]! > to) continue
      count++
      const leaf = byId.get(profile.samples[i]!)!
      const place = placeOf(leaf.callFrame)
      self.set(place, (self.get(place) ?? 0) + 1)
      const seen = new Set<string>()
      const frames: ProfileNode['callFrame'][] = []
      for (let id: number | undefined = leaf.id; id !== undefined; id = parent.get(id)) {
        const frame = byId.get(id)!.callFrame
        frames.push(frame)
        const fn = ownFunction(frame)
        if (fn && !seen.has(fn)) seen.add(fn), inclusive.set(fn, (inclusive.get(fn) ?? 0) + 1)
        const where = placeOf(frame)
        if (!where.startsWith('(') && !seen.has(where)) seen.add(where), places.set(where, (places.get(where) ?? 0) + 1)
      }
      if (leaf.callFrame.functionName !== '(idle)') {
        busy++
        const category = categoryOf(frames)
        categories.set(category, (categories.get(category) ?? 0) + 1)
      }
    }
    const rank = <K extends string>(m: Map<string, number>, key: K) =>
      [...m.entries()].sort((a, b) => b[1] - a[1]).slice(0, top).map(([k, v]) => ({ [key]: k, share: v / Math.max(1, count) }) as { [P in K]: string } & { share: number })
    const byCategory = [...categories.entries()].sort((a, b) => b[1] - a[1]).map(([category, n]) => ({ category, share: n / Math.max(1, busy) }))
    return { scenario, samples: count, self: rank(self, 'where'), places: rank(places, 'where'), inclusive: rank(inclusive, 'fn'), categories: byCategory }
  })
}
