import { Type } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import { withTimeout, type Database } from '../db/client.js'
import { migrationsApplied } from '../db/migrate.js'
import { Problem } from '../schemas.js'

const Health = Type.Object({ status: Type.Literal('ok') }, { $id: 'Health' })
const Readiness = Type.Object(
  {
    status: Type.Union([Type.Literal('ready'), Type.Literal('not ready')]),
    database: Type.Union([Type.Literal('ok'), Type.Literal('unreachable')]),
    migrations: Type.Union([Type.Literal('applied'), Type.Literal('pending'), Type.Literal('unknown')]),
  },
  { $id: 'Readiness' },
)

export async function healthRoutes(app: FastifyInstance, opts: { database: Database }): Promise<void> {
  const { database } = opts
  // Once every migration has been seen applied it stays so for this process (they only go forward).
  let migrated = false

  app.get('/healthz', { schema: { tags: ['health'], operationId: 'getLiveness', security: [], summary: 'Liveness: the process is up', response: { 200: Health } } }, async () => ({ status: 'ok' as const }))

  app.get(
    '/readyz',
    {
      schema: { tags: ['health'], operationId: 'getReadiness', security: [], summary: 'Readiness: database reachable and migrations applied', response: { 200: Readiness, 503: Readiness, 500: Problem } },
    },
    async (_request, reply) => {
      // Shutting down: the load balancer should stop sending before the listener goes.
      if (app.isClosing()) return reply.code(503).send({ status: 'not ready', database: 'ok', migrations: migrated ? 'applied' : 'unknown' })
      try {
        await database.ping()
      } catch {
        return reply.code(503).send({ status: 'not ready', database: 'unreachable', migrations: 'unknown' })
      }
      // Bounded like the ping: a probe never hangs on a database that stopped answering.
      if (!migrated) migrated = await withTimeout(migrationsApplied(database), 2000).catch(() => false)
      if (!migrated) return reply.code(503).send({ status: 'not ready', database: 'ok', migrations: 'pending' })
      return { status: 'ready', database: 'ok', migrations: 'applied' }
    },
  )
}
