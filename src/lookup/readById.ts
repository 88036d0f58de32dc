import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import type { AccessLog } from '../audit/accessLog.js'
import { signReceipt } from '../audit/receipts.js'
import type { CertificateReader } from '../certificates/read.js'
import { statusHistory } from '../certificates/repository.js'
import { CertificateIdParams } from '../certificates/schemas.js'
import type { Config } from '../config.js'
import { holderIndex } from '../crypto/dataProtection.js'
import type { Db } from '../db/client.js'
import { AppError } from '../errors.js'
import type { createGrantRepository } from '../grants/repository.js'
import { authErrors, Problem } from '../schemas.js'
import { ReadResult } from './schemas.js'

// A GET has no body, so a reader states the purpose in headers (never in the URL). The reason is
// percent-encoded UTF-8 so Chinese text survives HTTP header rules.
const PurposeHeaders = Type.Object({
  'x-purpose-matter-code': Type.Optional(Type.String({ pattern: '^[0-9A-Za-z_-]{1,64}$' })),
  'x-purpose-reason': Type.Optional(Type.String({ minLength: 1, maxLength: 2000, description: 'percent-encoded UTF-8' })),
})

interface Deps {
  reader: CertificateReader
  grantsRepo: ReturnType<typeof createGrantRepository>
  accessLog: AccessLog
  config: Config
  db: Db
}

/** One certificate by identifier: for its issuer, its holder, or a reader granted its type. */
export const readByIdRoute: FastifyPluginAsyncTypebox<Deps> = async (app, { reader, grantsRepo, accessLog, config, db }) => {
  app.addSchema(ReadResult)
  app.get(
    '/v1/certificates/:id',
    {
      onRequest: app.auth(['issuer', 'reader', 'holder']),
      schema: {
        tags: ['lookup'],
        summary: 'Read one certificate: its issuing organisation, its holder, or a granted reader (logged)',
        description: 'Readers state the purpose in the x-purpose-matter-code and x-purpose-reason (percent-encoded) headers. Every read is logged before the answer leaves.',
        security: [{ bearer: [] }],
        params: CertificateIdParams,
        headers: PurposeHeaders,
        response: { 200: ReadResult, 404: Problem, 503: Problem, ...authErrors() },
      },
    },
    async (request) => {
      const { user } = request
      const row = await reader.byId(request.params.id)
      const actor = { actorSub: user.sub, actorOrg: user.org, requestId: request.id }
      const asIssuer = row !== undefined && user.roles.includes('issuer') && row.issuerCode === user.org
      const asHolder = row !== undefined && user.holder !== undefined && row.holderIndex === holderIndex(config.dataProtection, user.holder.idType, user.holder.id)
      let purpose: { matterCode: string; reason: string } | undefined
      if (!asIssuer && !asHolder) {
        if (!user.roles.includes('reader') || !row) throw new AppError('CERTIFICATE_NOT_FOUND')
        purpose = purposeFrom(request.headers)
        if (!(await grantsRepo.grantedTypes(user.org, purpose.matterCode)).has(row.typeCode)) {
          await accessLog.record({ kind: 'access.denied', ...actor, holderRef: row.holderIndex, certificateIds: [row.id], details: { purpose, via: 'read', outcome: 'TYPE_NOT_GRANTED' } })
          throw new AppError('TYPE_NOT_GRANTED', `Not granted ${row.typeCode} for matter ${purpose.matterCode}`)
        }
      }
      const view = reader.view(row!)
      const as = asIssuer ? 'issuer' : asHolder ? 'holder' : 'reader'
      await accessLog.record({ kind: 'access.read', ...actor, holderRef: row!.holderIndex, certificateIds: [view.id], details: { purpose: purpose ?? null, as, outcome: 'found' } })
      const history = (await statusHistory(db, view.id)).map((h) => ({ at: h.at.toISOString(), from: h.fromStatus, to: h.toStatus, reason: h.reason }))
      const receipt = await signReceipt(config.serviceKeys, {
        kind: 'read',
        requester: { org: user.org, sub: user.sub },
        holderRef: row!.holderIndex,
        ...(purpose ? { purpose } : {}),
        requestId: request.id,
        certificates: [{ id: view.id, sha256: view.jwsSha256 }],
      })
      return { certificate: view, history, receipt }
    },
  )
}

function purposeFrom(headers: Record<string, string | string[] | undefined>): { matterCode: string; reason: string } {
  const matterCode = headers['x-purpose-matter-code']
  const reason = headers['x-purpose-reason']
  if (typeof matterCode !== 'string' || typeof reason !== 'string') throw new AppError('PURPOSE_REQUIRED')
  try {
    return { matterCode, reason: decodeURIComponent(reason) }
  } catch {
    throw new AppError('PURPOSE_REQUIRED', 'x-purpose-reason must be percent-encoded UTF-8')
  }
}
