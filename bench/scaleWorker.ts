// A worker thread of the large-data-set load: generates its slice of rows in binary COPY format
// (bench/scale.ts) and hands them to the main thread, at most a few chunks ahead of the database.
import { readFileSync } from 'node:fs'
import { parentPort, workerData } from 'node:worker_threads'
import { parseDataProtectionKeys } from '../src/crypto/dataProtection.js'
import { rowChunks } from './scale.js'

export interface SliceJob {
  keysFile: string
  prefix: string
  /** Row number of the slice's first row (its serial), and how many rows. */
  first: number
  count: number
  holders: number
  alg: string
  kid: string
  /** Shared Int32Array of every row's holder; this slice writes [first, first + count). */
  holdersOut: SharedArrayBuffer
}

const CHUNKS_AHEAD = 8
const job = workerData as SliceJob
const port = parentPort!
let credits = CHUNKS_AHEAD
let wake: (() => void) | undefined
port.on('message', () => {
  credits++
  wake?.()
})

const spec = { ...job, keys: parseDataProtectionKeys(readFileSync(job.keysFile, 'utf8')) }
for (const chunk of rowChunks(spec, new Int32Array(job.holdersOut, job.first * 4, job.count))) {
  while (credits === 0) await new Promise<void>((resolve) => (wake = resolve))
  credits--
  const own = chunk.byteOffset === 0 && chunk.byteLength === chunk.buffer.byteLength ? (chunk.buffer as ArrayBuffer) : new Uint8Array(chunk).buffer
  port.postMessage(own, [own])
}
port.postMessage('done')
port.close()
