// A worker thread of the large-data-set load: generates its slice of rows in binary COPY format
// (bench/scale.ts) and hands them to the main thread, at most a few chunks ahead of the database.
import { readFileSync } from 'node:fs'
import { parentPort, workerData } from 'node:worker_threads'
import { parseDataProtectionKeys } from '../src/crypto/dataProtection.js'
import { rowChunks, type ExtraRowsSpec } from './scale.js'

/** One worker's slice: the rows' spec (keys read from their file), and where it writes each row's holder. */
export type SliceJob = Omit<ExtraRowsSpec, 'keys'> & {
  keysFile: string
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
