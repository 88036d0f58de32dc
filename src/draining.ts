import type { FastifyInstance } from 'fastify'
import { AppError } from './errors.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** True once the service has begun to close (SIGTERM): readiness reports not ready. */
    isClosing(): boolean
  }
}

const PROBES = new Set(['/healthz', '/readyz'])

/**
 * While the service closes (SIGTERM), a request that still arrives on an open connection gets
 * 503 problem+json `NOT_READY` with `Connection: close`, instead of Fastify's own 503 body, so a
 * client or load balancer retries it elsewhere; requests already in flight finish, and their
 * answers close the connection too. Register before the other onRequest hooks (no token check,
 * no rate limit for a request that will not be served).
 */
export function installDraining(app: FastifyInstance): void {
  let closing = false
  app.decorate('isClosing', () => closing)
  app.addHook('preClose', async () => {
    closing = true
  })
  app.addHook('onRequest', async (request, reply) => {
    // Probes keep their own answers (readyz says "not ready" while closing).
    if (!closing || PROBES.has(request.url)) return
    reply.header('connection', 'close')
    throw new AppError('NOT_READY', 'The service is shutting down; retry on another instance', { headers: { 'retry-after': '1' } })
  })
  app.addHook('onSend', async (_request, reply) => {
    if (closing) reply.header('connection', 'close')
  })
}

/** Server options that bound the time a client may hold a connection without finishing its request. */
export function connectionLimits(requestTimeoutMs: number) {
  return {
    // The whole request, headers and body, must arrive within this time: a client trickling a
    // body one byte at a time is cut off (408) instead of holding a connection and its buffer.
    requestTimeout: requestTimeoutMs,
    http: {
      // Headers within the same bound (Node's default is 60 s, longer than a short request timeout).
      headersTimeout: requestTimeoutMs > 0 ? Math.min(requestTimeoutMs, 60_000) : 60_000,
      // How often Node checks those deadlines; its default of 30 s would let a slow client run
      // half a minute past them.
      connectionsCheckingInterval: requestTimeoutMs > 0 ? Math.min(1000, requestTimeoutMs) : 30_000,
    },
    // Fastify's own 503 while closing is not problem+json: installDraining answers instead.
    return503OnClosing: false,
  }
}
