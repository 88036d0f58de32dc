// One HTTP scenario with autocannon: a warm-up whose numbers are dropped, then a fixed-duration
// run. Latencies are kept per response in fractional milliseconds (autocannon's own histogram
// rounds to whole milliseconds, too coarse for a 2 ms baseline), 2xx only, as autocannon does.
import autocannon from 'autocannon'
import { cpuWindow, waitForQuiet, type CpuShare, type Pids } from './cpu.js'
import { sampleRss } from './processes.js'

export interface Scenario {
  name: string
  url: string
  path: string
  headers: Record<string, string>
  /** The body of the next request: a fresh certificate, a random holder… */
  body(): string
}

export interface ScenarioOptions {
  connections: number
  durationSeconds: number
  warmupSeconds: number
  /** The service is sampled for its peak RSS; each process's CPU is accounted. */
  pids: Pids
  /** Wait up to this long for the shared machine to be quiet before each scenario. */
  quietSeconds: number
}

export interface Measurement {
  name: string
  requests: number
  rps: number
  p50: number
  p90: number
  p99: number
  max: number
  non2xx: number
  errors: number
  statusCodes: Record<string, number>
  peakRssBytes?: number
  cpu: CpuShare
  /** Busy cores on the machine just before the warm-up, while this run was idle. */
  busyBefore: number
  /** The measured run on the monotonic clock, in microseconds (to slice a CPU profile). */
  windowUs: [number, number]
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!
}

function fire(s: Scenario, connections: number, duration: number, onLatency?: (ms: number) => void): Promise<autocannon.Result> {
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: s.url,
        connections,
        duration,
        timeout: 30,
        requests: [{ method: 'POST', path: s.path, headers: { ...s.headers, 'content-type': 'application/json' }, setupRequest: (req) => ({ ...req, body: s.body() }) }],
      },
      (err, result) => (err ? reject(err) : resolve(result)),
    )
    if (onLatency) instance.on('response', (_client, status, _bytes, ms) => void (status >= 200 && status < 300 && onLatency(ms)))
  })
}

const nowUs = () => Number(process.hrtime.bigint() / 1000n)

export async function measure(s: Scenario, opts: ScenarioOptions): Promise<Measurement> {
  const busyBefore = await waitForQuiet(opts.quietSeconds)
  if (opts.warmupSeconds > 0) await fire(s, opts.connections, opts.warmupSeconds)
  const latencies: number[] = []
  const rss = opts.pids.service !== undefined ? sampleRss(opts.pids.service) : undefined
  const cpu = cpuWindow(opts.pids)
  const startUs = nowUs()
  const result = await fire(s, opts.connections, opts.durationSeconds, (ms) => latencies.push(ms))
  const windowUs: [number, number] = [startUs, nowUs()]
  const share = cpu.stop()
  const peak = rss?.stop()
  const sorted = Float64Array.from(latencies).sort()
  const statusCodes = Object.fromEntries(Object.entries(result.statusCodeStats).map(([code, v]) => [code, v.count]))
  return {
    name: s.name,
    requests: sorted.length,
    rps: sorted.length / result.duration,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    max: sorted.length ? sorted[sorted.length - 1]! : NaN,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
    statusCodes,
    ...(peak !== undefined ? { peakRssBytes: peak } : {}),
    cpu: share,
    busyBefore,
    windowUs,
  }
}
