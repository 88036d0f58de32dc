import { connect, type Socket } from 'node:net'

/** The error a connection fails with when PostgreSQL stops answering: mapped to 503. */
export const NO_ANSWER = 'DATABASE_NO_ANSWER'

// Frontend messages that each earn exactly one ReadyForQuery ('Z') from a working server.
const SYNC = 0x53 // 'S'
const QUERY = 0x51 // 'Q'
const READY_FOR_QUERY = 0x5a // 'Z'
const SSL_REQUEST = 80877103

/**
 * A socket factory for the `postgres` driver that destroys a connection when PostgreSQL owes it
 * an answer and sends nothing for `silenceMs`.
 *
 * Why: a network partition drops packets without a reset, so a query in flight would wait for
 * TCP to give up (many minutes) and every request queued behind it with it. A server-side
 * statement_timeout cannot help, since its answer never arrives. The watchdog counts the
 * messages that each earn one ReadyForQuery (startup, Sync, simple Query) against the
 * ReadyForQuery messages received; while any are owed, silence longer than the statement
 * timeout plus a margin means the server is unreachable. An idle pooled connection owes nothing
 * and is never cut. Over TLS the stream cannot be read, so the watchdog stands aside.
 */
export function watchedSocketFactory(silenceMs: number) {
  return (options: { host: string[]; port: number[]; path?: string }): Socket => {
    const socket = options.path ? connect(options.path) : connect(options.port[0] ?? 5432, options.host[0] ?? 'localhost')
    watch(socket, silenceMs)
    return socket
  }
}

function watch(socket: Socket, silenceMs: number): void {
  let owed = 0
  let timer: NodeJS.Timeout | undefined
  let active = true
  const out = frameReader(true)
  const incoming = frameReader(false)

  const arm = () => {
    clearTimeout(timer)
    timer = owed > 0 && active ? setTimeout(() => socket.destroy(noAnswer(silenceMs)), silenceMs) : undefined
  }
  const write = socket.write.bind(socket) as (...args: unknown[]) => boolean
  socket.write = ((chunk: unknown, ...rest: unknown[]) => {
    if (active && Buffer.isBuffer(chunk)) {
      for (const m of out(chunk)) {
        if (m.startup === SSL_REQUEST) active = false
        else if (m.startup !== undefined || m.type === SYNC || m.type === QUERY) owed++
      }
      if (timer === undefined) arm()
    }
    return write(chunk, ...rest)
  }) as Socket['write']
  socket.on('data', (chunk: Buffer) => {
    if (!active) return
    for (const m of incoming(chunk)) if (m.type === READY_FOR_QUERY) owed = Math.max(0, owed - 1)
    arm() // any byte is progress: a long result streaming in is not silence
  })
  socket.on('close', () => {
    active = false
    clearTimeout(timer)
  })
}

function noAnswer(ms: number): Error {
  return Object.assign(new Error(`the database sent nothing for ${ms} ms while a query waited`), { code: NO_ANSWER })
}

interface Frame {
  type?: number
  /** The code of an untyped first message (startup, SSL or cancel request). */
  startup?: number
}

/**
 * Splits a PostgreSQL protocol stream into messages (type byte + int32 length), across chunk
 * boundaries. The first frontend message has no type byte.
 */
function frameReader(frontend: boolean): (chunk: Buffer) => Frame[] {
  let buffered: Buffer = Buffer.alloc(0)
  let first = frontend
  let skip = 0
  return (chunk) => {
    const frames: Frame[] = []
    if (skip >= chunk.length) {
      skip -= chunk.length
      return frames
    }
    buffered = buffered.length ? Buffer.concat([buffered, chunk.subarray(skip)]) : chunk.subarray(skip)
    skip = 0
    for (;;) {
      const header = first ? 8 : 5
      if (buffered.length < header) break
      const length = first ? buffered.readInt32BE(0) : buffered.readInt32BE(1) + 1
      frames.push(first ? { startup: buffered.readInt32BE(4) } : { type: buffered[0]! })
      first = false
      if (buffered.length < length) {
        // The rest of a long message (a big row) is skipped without being held.
        skip = length - buffered.length
        buffered = Buffer.alloc(0)
        break
      }
      buffered = buffered.subarray(length)
    }
    if (buffered.length) buffered = Buffer.from(buffered)
    return frames
  }
}
