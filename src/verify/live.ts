import { DEFAULT_RETRY, describeRefusal, postWithRetries } from '../cli/pushClient.js'
import { maskIdNumbersIn, usageError } from '../cli/io.js'
import { isWellFormedCertId } from '../ids/index.js'
import { CHECK_NAMES, WARNING_CODES, type VerifyWarning } from './checkList.js'

/** What the service says about a stored certificate (POST /v1/verify {id}) or a sealed OFD file ({document}). */
export interface LiveAnswer {
  result: number
  resultText: string
  status?: string
  /** Reason codes of the service's failing checks. */
  reasons: string[]
  /** The SHA-256 the service's receipt states for the stored JWS, to compare with the file's. */
  storedSha256?: string
  /** For a file: the SM3 the receipt states for the stored document, and the certificate that carries it. */
  storedDocumentSm3?: string
  certificateId?: string
  /** The service's named warnings (e.g. CERT_ID_CHECK_CHAR_EXCEPTION): known codes only. */
  warnings?: VerifyWarning[]
}

export interface LiveClient {
  verify(id: string): Promise<LiveAnswer>
  /** Asks about a sealed OFD file by its bytes: the service matches it by SM3 to the certificate that carries it. */
  verifyDocument(bytes: Buffer): Promise<LiveAnswer>
}

const REQUEST_TIMEOUT_MS = 60_000
const RETRY = { ...DEFAULT_RETRY, retries: 3 }

interface VerifyAnswer {
  result?: unknown
  resultText?: unknown
  status?: unknown
  checks?: { outcome?: unknown; reason?: unknown; check?: unknown }[]
  receipt?: unknown
  certificate?: { id?: unknown }
  warnings?: { code?: unknown; check?: unknown; message?: unknown }[]
}

/** The answer's warnings whose code and check this client knows; the message is masked like any text from afar. */
function warningsOf(body: VerifyAnswer): VerifyWarning[] {
  if (!Array.isArray(body.warnings)) return []
  return body.warnings.flatMap((w) =>
    (WARNING_CODES as readonly unknown[]).includes(w?.code) && (CHECK_NAMES as readonly unknown[]).includes(w?.check)
      ? [{ code: w.code as VerifyWarning['code'], check: w.check as VerifyWarning['check'], message: maskIdNumbersIn(String(w.message ?? '')) }]
      : [],
  )
}

/**
 * The stored form's SHA-256 and the document's SM3 the receipt states: today's receipts record them
 * in the logged event (`event.details.returned`), older ones in a JWS's claims. The receipt is not
 * verified here (TLS and the token vouch for the answer; `zhengzhao verify --receipt` checks one).
 */
function receiptDigests(receipt: unknown): { sha256?: string; documentSm3?: string } {
  const digestsOf = (first: { sha256?: unknown; documentSm3?: unknown } | undefined) => ({
    ...(typeof first?.sha256 === 'string' ? { sha256: first.sha256 } : {}),
    ...(typeof first?.documentSm3 === 'string' ? { documentSm3: first.documentSm3 } : {}),
  })
  if (receipt !== null && typeof receipt === 'object') {
    const returned = (receipt as { event?: { details?: { returned?: unknown } } }).event?.details?.returned
    return Array.isArray(returned) ? digestsOf(returned[0] as { sha256?: unknown; documentSm3?: unknown } | undefined) : {}
  }
  if (typeof receipt !== 'string') return {}
  try {
    const claims = JSON.parse(Buffer.from(receipt.split('.')[1] ?? '', 'base64url').toString('utf8')) as { certificates?: { sha256?: unknown; documentSm3?: unknown }[] }
    return digestsOf(claims.certificates?.[0])
  } catch {
    return {}
  }
}

function toAnswer(body: VerifyAnswer): LiveAnswer {
  if (typeof body.result !== 'number' || !Array.isArray(body.checks)) throw usageError('the service answered 200 without a verification result; is --url a Zhengzhao service?')
  const { sha256, documentSm3 } = receiptDigests(body.receipt)
  const certificateId = body.certificate?.id
  const warnings = warningsOf(body)
  return {
    result: body.result,
    resultText: typeof body.resultText === 'string' ? body.resultText : '',
    ...(typeof body.status === 'string' ? { status: body.status } : {}),
    reasons: body.checks.filter((c) => c.outcome === 'fail').map((c) => String(c.reason ?? c.check)),
    ...(sha256 ? { storedSha256: sha256 } : {}),
    ...(documentSm3 ? { storedDocumentSm3: documentSm3 } : {}),
    ...(typeof certificateId === 'string' && isWellFormedCertId(certificateId) ? { certificateId } : {}),
    ...(warnings.length > 0 ? { warnings } : {}),
  }
}

// A file larger than the service takes is that file's answer, not a reason to stop the run.
const TOO_LARGE: LiveAnswer = { result: 4, resultText: 'larger than the service accepts (its MAX_DOCUMENT_BYTES)', reasons: ['DOCUMENT_TOO_LARGE'] }

/**
 * Asks the service about each identifier or OFD file, retrying network errors, 5xx and 429 with backoff.
 * @throws CliError (exit 2) when the service refuses (a bad token, say) or cannot be reached.
 */
export function createLiveClient(base: string, token: string): LiveClient {
  const endpoint = new URL(`${new URL(base).pathname.replace(/\/+$/, '')}/v1/verify`, base).href
  return {
    verify: (id) => post(endpoint, token, JSON.stringify({ id })),
    verifyDocument: (bytes) => post(endpoint, token, JSON.stringify({ document: bytes.toString('base64') }), { document: true }),
  }
}

/** One POST /v1/verify, retried on network errors, 5xx and 429 with backoff (the push's loop). */
async function post(endpoint: string, token: string, body: string, opts: { document?: boolean } = {}): Promise<LiveAnswer> {
  return (await postWithRetries({
    endpoint,
    token,
    body,
    policy: RETRY,
    timeoutMs: REQUEST_TIMEOUT_MS,
    settle: async (res) => {
      if (res.status === 200) return { done: true, value: toAnswer((await res.json().catch(() => ({}))) as VerifyAnswer) }
      if (opts.document && res.status === 413) return { done: true, value: TOO_LARGE }
      throw usageError(`the service refused the verification: ${await describeRefusal(res)}${res.status === 401 ? ' (check --token or ZHENGZHAO_TOKEN)' : ''}`)
    },
  })) as LiveAnswer
}
