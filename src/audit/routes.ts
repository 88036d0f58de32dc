import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { Config } from '../config.js'
import type { Db } from '../db/client.js'
import { holderRefFor } from '../lookup/holder.js'
import { authErrors, Problem } from '../schemas.js'
import { createAccessLog } from './accessLog.js'
import { decodeCursor } from './cursor.js'
import { createAuditEventRepository, type AuditEventRow, type EventFilters, type Page } from './events.js'
import { AuditEvent, AuditEventPage, DEFAULT_PAGE, EventQuery, EventSearchBody } from './schemas.js'

interface FilterInput extends Omit<EventFilters, 'holderRef'> {
  cursor?: string | undefined
}

function filtersOf(input: FilterInput): EventFilters {
  const { from, to, org, kind, certificateId } = input
  return { from, to, org, kind, certificateId }
}

function pageOf(input: FilterInput, limit: number | undefined, part: 'querystring' | 'body'): Page {
  return { cursor: input.cursor ? decodeCursor(input.cursor, `/${part}/cursor`) : undefined, limit: limit ?? DEFAULT_PAGE }
}

function itemOf(row: AuditEventRow) {
  return {
    id: row.id,
    at: row.atText,
    kind: row.kind,
    actor: { org: row.actorOrg, sub: row.actorSub },
    requestId: row.requestId,
    clientRequestId: row.clientRequestId,
    subject: row.subject,
    certificateIds: row.certificateIds ?? [],
    holderRef: row.holderRef,
    details: (row.details ?? {}) as Record<string, unknown>,
  }
}

/** Auditors read the whole trail: every change, every access, every denial. */
export const auditRoutes: FastifyPluginAsyncTypebox<{ db: Db; config: Config }> = async (app, { db, config }) => {
  const events = createAuditEventRepository(db)
  const accessLog = createAccessLog(app.transparencyLog, app.log)
  app.addSchema(AuditEvent)
  app.addSchema(AuditEventPage)

  app.get(
    '/v1/audit/events',
    {
      onRequest: app.auth(['auditor']),
      schema: {
        tags: ['audit'],
        operationId: 'listAuditEvents',
        summary: 'Audit events, newest first, filtered and paginated (auditor)',
        description:
          'Filters combine with AND. `kind` is exact, or a prefix ending in `.*`. To filter by holder use POST /v1/audit/events/search: an ID number never travels in a URL, and an unknown query parameter is 400.',
        security: [{ bearer: [] }],
        querystring: EventQuery,
        response: { 200: AuditEventPage, ...authErrors() },
      },
    },
    async (request) => {
      const q = request.query
      const found = await events.search(filtersOf(q), pageOf(q, q.limit === undefined ? undefined : Number(q.limit), 'querystring'))
      return { items: found.rows.map(itemOf), ...(found.nextCursor ? { nextCursor: found.nextCursor } : {}) }
    },
  )

  app.post(
    '/v1/audit/events/search',
    {
      onRequest: app.auth(['auditor']),
      schema: {
        tags: ['audit'],
        operationId: 'searchAuditEvents',
        summary: "Audit events about one holder, with the other filters (auditor; logged)",
        description:
          'The holder travels in the body. Searching by holder is itself a use of personal data: each search is logged as an access.audit event, shown to the holder, before the answer leaves; if it cannot be logged the answer is 503 with no data.',
        security: [{ bearer: [] }],
        body: EventSearchBody,
        response: { 200: AuditEventPage, 422: Problem, 503: Problem, ...authErrors() },
      },
    },
    async (request) => {
      const { holder, limit, ...rest } = request.body
      const holderRef = holderRefFor(config.dataProtection, holder, config.creditCodeExceptions)
      const filters = filtersOf(rest)
      const found = await events.search({ ...filters, holderRef }, pageOf(rest, limit, 'body'))
      // The log names what was asked (never the ID number: holderRef stands for it) and what came back.
      await accessLog.record({
        kind: 'access.audit',
        actorSub: request.user.sub,
        actorOrg: request.user.org,
        requestId: request.id,
        clientRequestId: request.clientRequestId,
        holderRef,
        details: { filters: { ...filters, holderIdType: holder.idType, page: rest.cursor ? 'next' : 'first' }, outcome: found.rows.length > 0 ? 'found' : 'none', count: found.rows.length },
      })
      return { items: found.rows.map(itemOf), ...(found.nextCursor ? { nextCursor: found.nextCursor } : {}) }
    },
  )
}
