import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyRequest } from 'fastify'
import { decodeCursor } from '../audit/cursor.js'
import { createAuditEventRepository, type AccessLogRow } from '../audit/events.js'
import { DEFAULT_PAGE } from '../audit/schemas.js'
import { createCertificateReader } from '../certificates/read.js'
import type { Config } from '../config.js'
import { holderIndex } from '../crypto/dataProtection.js'
import type { Db } from '../db/client.js'
import { AppError } from '../errors.js'
import { eventBodyOf, leafOf } from '../log/leaf.js'
import { authErrors } from '../schemas.js'
import { AccessLogEntry, AccessLogPage, AccessLogQuery, MyCertificates, NoQuery } from './schemas.js'

function text(value: unknown): string | null {
  return typeof value === 'string' ? value : null
}

/**
 * Organisation level only: the holder learns which department looked, when and why, which is what
 * they can act on. The individual civil servant (`actor_sub`) is that person's own personal data;
 * it stays with the organisation and the auditors, so a holder cannot single out or pressure staff.
 */
export function entryOf(row: AccessLogRow) {
  const details = (row.details ?? {}) as { purpose?: { matterCode?: unknown; reason?: unknown } | string | null; outcome?: unknown; presentation?: unknown }
  // An anonymous verification states no matter: its purpose is the string "scan" (someone holding
  // the printed code opened it) or "public" (a copy was checked through POST /v1/public/verify).
  const anonymous = row.org === null && (details.purpose === 'scan' || details.purpose === 'public') ? details.purpose : undefined
  const purpose = typeof details.purpose === 'object' ? details.purpose : undefined
  return {
    at: row.atText,
    kind: row.kind,
    organisation: { code: row.org, name: row.orgName },
    matterCode: text(purpose?.matterCode),
    reason: text(purpose?.reason),
    certificateIds: row.certificateIds ?? [],
    outcome: text(details.outcome),
    // 亮证: the holder showed it themselves (src/present/); the organisation, or none, is who saw it.
    ...(details.presentation === true ? { presentation: true as const } : {}),
    ...(anonymous ? { anonymous } : {}),
    log: logOf(row),
  }
}

/** The leaf, salt and opening a holder needs to check this access in the Merkle log themselves. */
function logOf(row: AccessLogRow) {
  if (row.leafIndex === null || row.salt === null) return null
  const event = { at: row.atText, kind: row.kind, actorOrg: row.org, actorSub: row.actorSub, requestId: row.requestId, clientRequestId: row.clientRequestId, subject: row.subject, holderRef: row.holderRef, certificateIds: row.certificateIds, details: row.details }
  return { leafIndex: row.leafIndex, leaf: leafOf(event, row.salt).toString('base64'), salt: row.salt.toString('base64'), opening: eventBodyOf(event) as unknown as Record<string, unknown> }
}

/** A holder sees their own certificates and every access to them. */
export const meRoutes: FastifyPluginAsyncTypebox<{ db: Db; config: Config }> = async (app, { db, config }) => {
  const reader = createCertificateReader(db, config.dataProtection)
  const events = createAuditEventRepository(db)
  app.addSchema(MyCertificates)
  app.addSchema(AccessLogEntry)
  app.addSchema(AccessLogPage)

  // The holder is whoever the token names (its idType and id were validated with the token);
  // nothing in the request can point these routes at somebody else.
  const holderRefOf = (request: FastifyRequest): string => {
    const holder = request.user.holder
    if (!holder) throw new AppError('FORBIDDEN', 'This operation needs a holder token')
    return holderIndex(config.dataProtection, holder.idType, holder.id)
  }

  app.get(
    '/v1/me/certificates',
    {
      onRequest: app.auth(['holder']),
      schema: {
        tags: ['holder'],
        operationId: 'listMyCertificates',
        summary: "The holder's own certificates, every status (holder)",
        description: 'The holder is the one named by the token. Each item says whether it is in force today.',
        security: [{ bearer: [] }],
        querystring: NoQuery,
        response: { 200: MyCertificates, ...authErrors() },
      },
    },
    async (request) => {
      const rows = await reader.byHolder(holderRefOf(request))
      return { items: rows.map((row) => reader.view(row)) }
    },
  )

  app.get(
    '/v1/me/access-log',
    {
      onRequest: app.auth(['holder']),
      schema: {
        tags: ['holder'],
        operationId: 'listMyAccessLog',
        summary: 'Who accessed the holder\'s certificates, when and why, newest first (holder)',
        description:
          'Every lookup (including those that found nothing), read, verification, refusal and auditor search concerning the holder. Organisations are named; individual staff are not.',
        security: [{ bearer: [] }],
        querystring: AccessLogQuery,
        response: { 200: AccessLogPage, ...authErrors() },
      },
    },
    async (request) => {
      const { from, to, cursor, limit } = request.query
      const page = { cursor: cursor ? decodeCursor(cursor, '/querystring/cursor') : undefined, limit: limit ? Number(limit) : DEFAULT_PAGE }
      const holderRef = holderRefOf(request)
      const found = await events.accessLog(holderRef, { from, to }, page)
      return { items: found.rows.map(entryOf), holderRef, ...(found.nextCursor ? { nextCursor: found.nextCursor } : {}) }
    },
  )
}
