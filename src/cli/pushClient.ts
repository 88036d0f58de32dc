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

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms)
    signal?.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true })
  })
}

/** The problem+json a refused batch carries, as "CODE: detail" (masked: details may quote input). */
export async function describeRefusal(res: Response): Promise<string> {
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
   * a restart mid-run and is retried. Without it, both are retried like any network error.
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

export interface PostRequest extends Omit<BatchRequest, 'certificates' | 'signal'> {
  body: string
  /** The answer when it is final; undefined to retry (429, 5xx). */
  settle(res: Response): Promise<{ done: true; value: unknown } | undefined>
  /** Aborted: stop retrying. */
  signal?: AbortSignal
  /** Longest one attempt may take (default 2 minutes: a batch of 1,000). */
  timeoutMs?: number
}

/**
 * Posts, retrying network errors, 5xx and 429 with backoff, never sooner than Retry-After;
 * `settle` decides the rest. The one retry loop of the CLI: push and verify --url.
 * @throws CliError (exit 2) when no answer came after the retries, or what `settle` throws.
 */
export async function postWithRetries(req: PostRequest): Promise<unknown> {
  let lastProblem = ''
  for (let attempt = 0; ; attempt++) {
    let wait: number | undefined
    try {
      const res = await fetch(req.endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json', authorization: `Bearer ${req.token}` },
        body: req.body,
        signal: AbortSignal.any([...(req.signal ? [req.signal] : []), AbortSignal.timeout(req.timeoutMs ?? REQUEST_TIMEOUT_MS)]),
      })
      req.onAnswer?.()
      const settled = res.status === 429 || res.status >= 500 ? undefined : await req.settle(res)
      if (settled) return settled.value
      lastProblem = await describeRefusal(res)
      wait = retryAfterMs(res.headers.get('retry-after'))
    } catch (err) {
      if (req.signal?.aborted) throw err
      if (!(err instanceof TypeError) && (err as Error).name !== 'TimeoutError') throw err
      // fetch reports an unreachable server as TypeError("fetch failed") with the reason as its cause.
      const cause = (err as Error & { cause?: { code?: string; message?: string } }).cause
      lastProblem = cause?.code ?? cause?.message ?? (err as Error).message
      if (cause?.code !== undefined && NOTHING_THERE.has(cause.code) && req.reached && !req.reached()) throw nothingAnswers(req.endpoint, cause.code)
    }
    if (attempt >= req.policy.retries) throw usageError(`no answer from ${req.endpoint} after ${attempt + 1} attempt(s): ${lastProblem}`)
    const delay = Math.max(wait ?? 0, backoffMs(attempt, req.policy))
    req.onRetry?.(lastProblem, delay)
    await sleep(delay, req.signal)
    if (req.signal?.aborted) throw new Error('aborted')
  }
}

/** A whole request refused (401, 403, 413…): final, and said with the hint that fixes it. */
async function refused(res: Response, what: string, tooLarge: string): Promise<never> {
  const hint = res.status === 413 ? tooLarge : res.status === 401 ? ' (check --token or ZHENGZHAO_TOKEN)' : ''
  throw usageError(`the server refused the ${what}: ${await describeRefusal(res)}${hint}`)
}

/**
 * Posts one batch, retrying network errors, 5xx and 429 with backoff (pushing again is safe:
 * a stored certificate answers "unchanged"). Any other refusal of the whole batch is final.
 * @throws CliError (exit 2) for a refused batch, an unexpected answer, or no answer after the retries.
 */
export async function postBatch(req: BatchRequest): Promise<BatchItemResult[]> {
  return (await postWithRetries({
    ...req,
    body: JSON.stringify({ certificates: req.certificates }),
    settle: async (res) => {
      if (res.status === 200) return { done: true, value: checkAnswer(await res.json().catch(() => undefined), req.certificates.length) }
      return refused(res, 'batch', ' (try a smaller --batch-size)')
    },
  })) as BatchItemResult[]
}

export interface DocumentRequest extends Omit<BatchRequest, 'certificates'> {
  /** The sealed OFD file's bytes; with `certificate`, the JWS whose payload names it. */
  document: Buffer
  certificate?: string
}

/**
 * Pushes one sealed OFD file to POST /v1/certificates — alone (its metadata is the payload) or
 * with the JWS that names it — and answers like one item of a batch: 201 created, 200
 * unchanged, 409/422 rejected with the server's code and problems.
 */
export async function postDocument(req: DocumentRequest): Promise<BatchItemResult> {
  const body = JSON.stringify({ ...(req.certificate ? { certificate: req.certificate } : {}), document: req.document.toString('base64') })
  return (await postWithRetries({
    ...req,
    body,
    settle: async (res) => {
      const answer = (await res.json().catch(() => ({}))) as { id?: unknown; code?: unknown; errors?: unknown }
      if (res.status === 201 || res.status === 200) return { done: true, value: { index: 0, outcome: res.status === 201 ? 'created' : 'unchanged', status: res.status, ...(typeof answer.id === 'string' ? { id: answer.id } : {}) } }
      if (res.status === 409 || res.status === 422 || res.status === 400) {
        const problems = Array.isArray(answer.errors) ? (answer.errors as { code?: unknown; pointer?: unknown; message?: unknown }[]).map((e) => ({ code: String(e.code ?? ''), pointer: String(e.pointer ?? ''), message: String(e.message ?? '') })) : []
        return { done: true, value: { index: 0, outcome: 'rejected', status: res.status, ...(typeof answer.code === 'string' ? { code: answer.code } : {}), problems } }
      }
      return refused(res, 'file', ' (the file is larger than the service accepts: MAX_DOCUMENT_BYTES)')
    },
  })) as BatchItemResult
}
