import { CliError, maskIdNumbersIn, usageError } from './io.js'

/** One item of the server's batch answer (POST /v1/certificates/batch, results in input order). */
export interface BatchItemResult {
  index: number
  outcome: 'created' | 'unchanged' | 'rejected'
  status: number
  id?: string
  code?: string
  problems?: { code: string; pointer: string; message: string }[]
}

export interface RetryPolicy {
  retries: number
  baseMs: number
  capMs: number
}

export const DEFAULT_RETRY: RetryPolicy = { retries: 5, baseMs: 250, capMs: 10_000 }
const REQUEST_TIMEOUT_MS = 120_000
// Honour Retry-After, but never wait longer than this on one answer's say-so.
const MAX_RETRY_AFTER_MS = 5 * 60_000

/** Retry-After as milliseconds (delta-seconds or an HTTP date), or undefined if absent or unreadable. */
export function retryAfterMs(value: string | null, now = Date.now()): number | undefined {
  if (value === null || value.trim() === '') return undefined
  const ms = /^\d+$/.test(value.trim()) ? Number(value.trim()) * 1000 : Date.parse(value) - now
  return Number.isNaN(ms) ? undefined : Math.min(Math.max(ms, 0), MAX_RETRY_AFTER_MS)
}

/** Exponential backoff with "equal jitter": half the step fixed, half random, so retries spread out but still grow. */
export function backoffMs(attempt: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const step = Math.min(policy.capMs, policy.baseMs * 2 ** attempt)
  return step / 2 + random() * (step / 2)
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms)
    signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true })
  })
}

/** The problem+json a refused batch carries, as "CODE: detail" (masked: details may quote input). */
async function describeRefusal(res: Response): Promise<string> {
  const body = (await res.json().catch(() => ({}))) as { code?: unknown; detail?: unknown; title?: unknown }
  const code = typeof body.code === 'string' ? body.code : `HTTP ${res.status}`
  const detail = typeof body.detail === 'string' ? body.detail : typeof body.title === 'string' ? body.title : res.statusText
  return maskIdNumbersIn(`${res.status} ${code}: ${detail}`)
}

function checkAnswer(body: unknown, count: number): BatchItemResult[] {
  const results = (body as { results?: unknown } | null)?.results
  const ok =
    Array.isArray(results) &&
    results.length === count &&
    results.every((r: BatchItemResult, i) => r !== null && typeof r === 'object' && r.index === i && ['created', 'unchanged', 'rejected'].includes(r.outcome))
  if (!ok) throw usageError('the server answered 200 without a result for every certificate of the batch; is --url a Zhengzhao service?')
  return results as BatchItemResult[]
}

export interface BatchRequest {
  endpoint: string
  token: string
  certificates: string[]
  policy: RetryPolicy
  /** Aborted when another batch failed for good: stop retrying. */
  signal: AbortSignal
  onRetry?: (reason: string, delayMs: number) => void
  /**
   * Whether the service has answered this run before. Until it has, a refused connection or an
   * unknown host means nothing runs at that URL: said at once, not retried. After, the same is
   * a restart mid-run and is retried.
   */
  reached?: () => boolean
  /** Called on every answer, whatever its status. */
  onAnswer?: () => void
}

// Not transient at first contact: nothing listens there, or the host does not exist.
const NOTHING_THERE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH'])

/** The service the user meant is not at this URL: say which URL was tried and how to name another. */
export function nothingAnswers(endpoint: string, reason: string): CliError {
  const base = endpoint.replace(/\/v1\/.*$/, '')
  return usageError(
    `nothing answers at ${base} (${reason}): is the service running there? ` +
      `Name the service with --url URL or the ZHENGZHAO_URL environment variable (default http://localhost:3000).`,
  )
}

/**
 * Posts one batch, retrying network errors, 5xx and 429 with backoff (pushing again is safe:
 * a stored certificate answers "unchanged"). Any other refusal of the whole batch is final.
 * @throws CliError (exit 2) for a refused batch, an unexpected answer, or no answer after the retries.
 */
export async function postBatch(req: BatchRequest): Promise<BatchItemResult[]> {
  const body = JSON.stringify({ certificates: req.certificates })
  let lastProblem = ''
  for (let attempt = 0; ; attempt++) {
    let wait: number | undefined
    try {
      const res = await fetch(req.endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json', authorization: `Bearer ${req.token}` },
        body,
        signal: AbortSignal.any([req.signal, AbortSignal.timeout(REQUEST_TIMEOUT_MS)]),
      })
      req.onAnswer?.()
      if (res.status === 200) return checkAnswer(await res.json().catch(() => undefined), req.certificates.length)
      if (res.status !== 429 && res.status < 500) {
        const hint = res.status === 413 ? ' (try a smaller --batch-size)' : res.status === 401 ? ' (check --token or ZHENGZHAO_TOKEN)' : ''
        throw usageError(`the server refused the batch: ${await describeRefusal(res)}${hint}`)
      }
      lastProblem = await describeRefusal(res)
      wait = retryAfterMs(res.headers.get('retry-after'))
    } catch (err) {
      if (req.signal.aborted) throw err
      if (!(err instanceof TypeError) && (err as Error).name !== 'TimeoutError') throw err
      // fetch reports an unreachable server as TypeError("fetch failed") with the reason as its cause.
      const cause = (err as Error & { cause?: { code?: string; message?: string } }).cause
      lastProblem = cause?.code ?? cause?.message ?? (err as Error).message
      if (cause?.code !== undefined && NOTHING_THERE.has(cause.code) && !(req.reached?.() ?? false)) throw nothingAnswers(req.endpoint, cause.code)
    }
    if (attempt >= req.policy.retries) throw usageError(`no answer from ${req.endpoint} after ${attempt + 1} attempt(s): ${lastProblem}`)
    const delay = Math.max(wait ?? 0, backoffMs(attempt, req.policy))
    req.onRetry?.(lastProblem, delay)
    await sleep(delay, req.signal)
    if (req.signal.aborted) throw new Error('aborted')
  }
}
