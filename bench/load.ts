// Bulk load through the real API, and the rate of verifying the same signatures alone.
import type { KeyObject } from 'node:crypto'
import { compactVerify } from 'jose'

export interface BulkLoadResult {
  certificates: number
  created: number
  rejected: number
  seconds: number
  perSecond: number
}

/** Runs `work(i)` for i in [0, n) with at most `concurrency` in flight. */
async function pool(n: number, concurrency: number, work: (i: number) => Promise<void>): Promise<void> {
  let next = 0
  const lanes = Array.from({ length: Math.min(concurrency, n) }, async () => {
    while (next < n) await work(next++)
  })
  await Promise.all(lanes)
}

/** Pushes `jws` with POST /v1/certificates/batch, `batchSize` per request, `concurrency` requests in flight. */
export async function bulkLoad(url: string, token: string, jws: readonly string[], batchSize: number, concurrency: number, onProgress?: (done: number) => void): Promise<BulkLoadResult> {
  let created = 0
  let rejected = 0
  let done = 0
  const batches = Math.ceil(jws.length / batchSize)
  const started = performance.now()
  await pool(batches, concurrency, async (b) => {
    const certificates = jws.slice(b * batchSize, (b + 1) * batchSize)
    const res = await fetch(`${url}/v1/certificates/batch`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ certificates }),
      signal: AbortSignal.timeout(120_000),
    })
    if (!res.ok) throw new Error(`batch ${b}: HTTP ${res.status}: ${(await res.text()).slice(0, 500)}`)
    const { summary } = (await res.json()) as { summary: { created: number; unchanged: number; rejected: number } }
    created += summary.created
    rejected += summary.rejected + summary.unchanged
    done += certificates.length
    onProgress?.(done)
  })
  const seconds = (performance.now() - started) / 1000
  return { certificates: jws.length, created, rejected, seconds, perSecond: jws.length / seconds }
}

export interface VerifyAloneResult {
  signatures: number
  seconds: number
  perSecond: number
}

/**
 * Verifies `jws` with jose's compactVerify against the issuer key, in this process, with the
 * concurrency the service's batch route has under the bulk load: `batchSize` verifications at
 * once (its Promise.all over a batch) times `concurrency` batches in flight. jose runs them on
 * WebCrypto, that is on libuv's thread pool, as the service does: same cores, same pool size.
 */
export async function verifyAlone(jws: readonly string[], key: KeyObject, alg: string, batchSize: number, concurrency: number): Promise<VerifyAloneResult> {
  const batches = Math.ceil(jws.length / batchSize)
  const started = performance.now()
  await pool(batches, concurrency, async (b) => {
    await Promise.all(jws.slice(b * batchSize, (b + 1) * batchSize).map((j) => compactVerify(j, key, { algorithms: [alg] })))
  })
  const seconds = (performance.now() - started) / 1000
  return { signatures: jws.length, seconds, perSecond: jws.length / seconds }
}
