import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyRequest } from 'fastify'
import type { Config } from '../config.js'
import type { Db } from '../db/client.js'
import { createAccessLog, maskedText } from '../audit/accessLog.js'
import { receiptFor } from '../audit/receipts.js'
import { createCertificateReader } from '../certificates/read.js'
import { AppError } from '../errors.js'
import { createGrantRepository } from '../grants/repository.js'
import { authErrors, Problem } from '../schemas.js'
import { holderRefFor } from './holder.js'
import { readByIdRoute } from './readById.js'
import { readDocumentRoute } from './readDocument.js'
import { LookupBody, LookupResult } from './schemas.js'

/** Approving departments look up a holder's certificates by ID number, for a stated purpose. */
export const lookupRoutes: FastifyPluginAsyncTypebox<{ db: Db; config: Config }> = async (app, opts) => {
  const { db, config } = opts
  const reader = createCertificateReader(db, config.dataProtection)
  const grantsRepo = createGrantRepository(db)
  const accessLog = createAccessLog(app.transparencyLog, app.log)
  app.addSchema(LookupResult)
  const actorOf = (request: FastifyRequest) => ({ actorSub: request.user.sub, actorOrg: request.user.org, requestId: request.id, clientRequestId: request.clientRequestId })

  app.post(
    '/v1/lookup',
    {
      onRequest: app.auth(['reader']),
      schema: {
        tags: ['lookup'],
        operationId: 'lookupCertificates',
        summary: 'Look up a holder\'s certificates of granted types, for a stated purpose (reader)',
        description:
          'The ID number travels in the body, never in a URL. Asking for a type the organisation is not granted for this matter is 403 TYPE_NOT_GRANTED, and the attempt is logged. Every lookup, including one that finds nothing, is logged before the answer leaves; if it cannot be logged the answer is 503 with no data.',
        security: [{ bearer: [] }],
        body: LookupBody,
        response: { 200: LookupResult, 422: Problem, 503: Problem, ...authErrors() },
      },
    },
    async (request) => {
      const { holder, typeCodes, include = 'in-force' } = request.body
      // The purpose is typed by a person: an ID number in it is masked in the log and the receipt alike.
      const purpose = maskedText(request.body.purpose)
      const holderRef = holderRefFor(config.dataProtection, holder, config.creditCodeExceptions)
      const { granted, rows: grantedRows } = await reader.grantedForHolder(request.user.org, purpose.matterCode, holderRef)
      const notGranted = (typeCodes ?? []).filter((t) => !granted.has(t))
      if (notGranted.length > 0) {
        await accessLog.record({ kind: 'access.denied', ...actorOf(request), holderRef, details: { purpose, via: 'lookup', typeCodes: notGranted, outcome: 'TYPE_NOT_GRANTED' } })
        throw new AppError('TYPE_NOT_GRANTED', `Not granted for matter ${purpose.matterCode}: ${notGranted.join(', ')}`)
      }
      const asked = typeCodes ? new Set(typeCodes) : granted
      const rows = grantedRows.filter((r) => asked.has(r.typeCode))
      const items = rows.map((r) => reader.view(r)).filter((v) => include === 'all' || v.inForce)
      const certificateIds = items.map((i) => i.id)
      // Durable before the answer leaves: no lookup without its log entry.
      const recorded = await accessLog.record({
        kind: 'access.lookup',
        ...actorOf(request),
        holderRef,
        certificateIds,
        details: {
          purpose,
          include,
          typeCodes: typeCodes ?? null,
          outcome: items.length > 0 ? 'found' : 'none',
          returned: items.map((i) => ({ id: i.id, sha256: i.jwsSha256 })),
        },
      })
      return { items, receipt: await receiptFor(app.transparencyLog.store, recorded) }
    },
  )

  await app.register(readByIdRoute, { reader, grantsRepo, accessLog, config, db })
  await app.register(readDocumentRoute, { reader, grantsRepo, accessLog, config, db })
}
