import { backoffMs, DEFAULT_RETRY, retryAfterMs } from '../cli/pushClient.js'
import { maskIdNumbersIn, usageError } from '../cli/io.js'

/** What the service says about a stored certificate (POST /v1/verify {id}). */
export interface LiveAnswer {
  result: number
  resultText: string
  status?: string
  /** Reason codes of the service's failing checks. */
  reasons: string[]
  /** The SHA-256 the service's receipt states for the stored JWS, to compare with the file's. */
  storedSha256?: string
}

export interface LiveClient {
  verify(id: string): Promise<LiveAnswer>
}

const REQUEST_TIMEOUT_MS = 60_000
const RETRIES = 3

interface VerifyAnswer {
  result?: unknown
  resultText?: unknown
  status?: unknown
  checks?: { outcome?: unknown; reason?: unknown; check?: unknown }[]
  receipt?: unknown
}

/** The stored JWS's hash from the receipt; the receipt is not verified here (TLS and the token vouch for the answer). */
function receiptSha256(receipt: unknown): string | undefined {
  if (typeof receipt !== 'string') return undefined
  try {
    const claims = JSON.parse(Buffer.from(receipt.split('.')[1] ?? '', 'base64url').toString('utf8')) as { certificates?: { sha256?: unknown }[] }
    const sha = claims.certificates?.[0]?.sha256
    return typeof sha === 'string' ? sha : undefined
  } catch {
    return undefined
  }
}

function toAnswer(body: VerifyAnswer): LiveAnswer {
  if (typeof body.result !== 'number' || !Array.isArray(body.checks)) throw usageError('the service answered 200 without a verification result; is --url a Zhengzhao service?')
  const sha = receiptSha256(body.receipt)
  return {
    result: body.result,
    resultText: typeof body.resultText === 'string' ? body.resultText : '',
    ...(typeof body.status === 'string' ? { status: body.status } : {}),
    reasons: body.checks.filter((c) => c.outcome === 'fail').map((c) => String(c.reason ?? c.check)),
    ...(sha ? { storedSha256: sha } : {}),
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * Asks the service about each identifier, retrying network errors, 5xx and 429 with backoff.
 * @throws CliError (exit 2) when the service refuses (a bad token, say) or cannot be reached.
 */
export function createLiveClient(base: string, token: string): LiveClient {
  const endpoint = new URL(`${new URL(base).pathname.replace(/\/+$/, '')}/v1/verify`, base).href
  return {
    async verify(id) {
      let last = ''
      for (let attempt = 0; ; attempt++) {
        let wait: number | undefined
        try {
          const res = await fetch(endpoint, {
            method: 'POST',
            headers: { 'content-type': 'application/json', accept: 'application/json', authorization: `Bearer ${token}` },
            body: JSON.stringify({ id }),
            signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
          })
          if (res.status === 200) return toAnswer((await res.json().catch(() => ({}))) as VerifyAnswer)
          const problem = (await res.json().catch(() => ({}))) as { code?: unknown; detail?: unknown }
          last = maskIdNumbersIn(`${res.status} ${String(problem.code ?? res.statusText)}${typeof problem.detail === 'string' ? `: ${problem.detail}` : ''}`)
          if (res.status !== 429 && res.status < 500) throw usageError(`the service refused the verification: ${last}${res.status === 401 ? ' (check --token or ZHENGZHAO_TOKEN)' : ''}`)
          wait = retryAfterMs(res.headers.get('retry-after'))
        } catch (err) {
          if (!(err instanceof TypeError) && (err as Error).name !== 'TimeoutError') throw err
          const cause = (err as Error & { cause?: { code?: string } }).cause
          last = cause?.code ?? (err as Error).message
        }
        if (attempt >= RETRIES) throw usageError(`no answer from ${endpoint} after ${attempt + 1} attempt(s): ${last}`)
        await sleep(Math.max(wait ?? 0, backoffMs(attempt, DEFAULT_RETRY)))
      }
    },
  }
}
