import { connect, createServer, type Server, type Socket } from 'node:net'

/**
 * A TCP proxy in front of the real PostgreSQL that a test can break two ways:
 * - `stop()`: every connection is reset and new ones are refused, as when PostgreSQL stops;
 * - `partition()`: connections stay open but nothing gets through either way (no reset), as
 *   when the network between the service and the database drops packets; `heal()` delivers
 *   what was held, in order, like TCP retransmission after a short partition.
 */
export interface FaultyProxy {
  port: number
  stop(): Promise<void>
  start(): Promise<void>
  partition(): void
  heal(): void
  close(): Promise<void>
}

export async function faultyProxy(targetHost: string, targetPort: number): Promise<FaultyProxy> {
  const sockets = new Set<Socket>()
  const held: (() => void)[] = []
  let partitioned = false
  let server: Server | undefined
  let port = 0

  const pass = (from: Socket, to: Socket) => {
    from.on('data', (chunk: Buffer) => {
      if (partitioned) held.push(() => to.writable && to.write(chunk))
      else if (to.writable) to.write(chunk)
    })
  }
  const listen = () =>
    new Promise<void>((resolve) => {
      server = createServer((client) => {
        const upstream = connect(targetPort, targetHost)
        for (const s of [client, upstream]) {
          sockets.add(s)
          s.on('close', () => {
            sockets.delete(s)
            client.destroy()
            upstream.destroy()
          })
          s.on('error', () => s.destroy())
        }
        pass(client, upstream)
        pass(upstream, client)
      })
      server.listen(port, '127.0.0.1', () => {
        port = (server!.address() as { port: number }).port
        resolve()
      })
    })
  const stop = () =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.resetAndDestroy()
      if (!server?.listening) return resolve()
      server.close(() => resolve())
    })
  await listen()
  return {
    get port() {
      return port
    },
    stop,
    start: listen,
    partition: () => {
      partitioned = true
    },
    heal: () => {
      partitioned = false
      for (const deliver of held.splice(0)) deliver()
    },
    close: stop,
  }
}
