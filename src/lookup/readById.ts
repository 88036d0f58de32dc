import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import type { AccessLog } from '../audit/accessLog.js'
import { receiptFor } from '../audit/receipts.js'
import type { FastifyRequest } from 'fastify'
import type { CertificateReader, CertificateRow } from '../certificates/read.js'
import { statusHistory } from '../certificates/repository.js'
import { CertificateIdParams } from '../certificates/schemas.js'
import type { Config } from '../config.js'
import { holderIndex } from '../crypto/dataProtection.js'
import type { Db } from '../db/client.js'
import { AppError } from '../errors.js'
import { parseCertId } from '../ids/index.js'
import type { createGrantRepository } from '../grants/repository.js'
import { authErrors, Problem, unstorableText } from '../schemas.js'
import { ReadResult } from './schemas.js'

// A GET has no body, so a reader states the purpose in headers (never in the URL). The reason is
// percent-encoded UTF-8 so Chinese text survives HTTP header rules.
export const PurposeHeaders = Type.Object({
  'x-purpose-matter-code': Type.Optional(Type.String({ pattern: '^[0-9A-Za-z_-]{1,64}$' })),
  'x-purpose-reason': Type.Optional(Type.String({ minLength: 1, maxLength: 2000, description: 'percent-encoded UTF-8' })),
})

export interface Deps {
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
        operationId: 'readCertificate',
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
      const { as, purpose, actor } = await authorizeRead(request, request.params.id, row, { grantsRepo, accessLog, config }, 'read')
      const view = reader.view(row!)
      const recorded = await accessLog.record({ kind: 'access.read', ...actor, holderRef: row!.holderIndex, certificateIds: [view.id], details: { purpose: purpose ?? null, as, outcome: 'found', returned: [{ id: view.id, sha256: view.jwsSha256 }] } })
      const history = (await statusHistory(db, view.id)).map((h) => ({ at: h.at.toISOString(), from: h.fromStatus, to: h.toStatus, reason: h.reason }))
      return { certificate: view, history, receipt: await receiptFor(app.transparencyLog.store, recorded) }
    },
  )
}

/**
 * Who may read a stored certificate (or its document): its issuing organisation, its holder, or
 * a reader granted its type for the stated matter. A denial is logged; the caller logs the read.
 * A reader learns nothing about an identifier it may not read: the answer turns on the type the
 * identifier names and the reader's grants, never on whether it is stored (no existence oracle).
 */
export async function authorizeRead(
  request: FastifyRequest,
  id: string,
  row: CertificateRow | undefined,
  deps: Pick<Deps, 'grantsRepo' | 'accessLog' | 'config'>,
  via: 'read' | 'document',
): Promise<{ as: 'issuer' | 'holder' | 'reader'; purpose: { matterCode: string; reason: string } | undefined; actor: { actorSub: string; actorOrg: string; requestId: string; clientRequestId: string | null } }> {
  const { user } = request
  const actor = { actorSub: user.sub, actorOrg: user.org, requestId: request.id, clientRequestId: request.clientRequestId }
  const asIssuer = row !== undefined && user.roles.includes('issuer') && row.issuerCode === user.org
  const asHolder = row !== undefined && user.holder !== undefined && row.holderIndex === holderIndex(deps.config.dataProtection, user.holder.idType, user.holder.id)
  if (asIssuer) return { as: 'issuer', purpose: undefined, actor }
  if (asHolder) return { as: 'holder', purpose: undefined, actor }
  // A stored identifier parses (minting is strict; ingest excepts only CERT_ID_CHECK_EXCEPTIONS' issuers), so one that does not is simply absent.
  const named = parseCertId(id, { checkCharExceptionFor: deps.config.certIdCheckExceptions })
  if (!user.roles.includes('reader') || !named.ok) throw new AppError('CERTIFICATE_NOT_FOUND')
  const purpose = purposeFrom(request.headers)
  if (!(await deps.grantsRepo.grantedTypes(user.org, purpose.matterCode)).has(named.value.typeCode)) {
    await deps.accessLog.record({ kind: 'access.denied', ...actor, holderRef: row?.holderIndex, certificateIds: [id], details: { purpose, via, outcome: 'TYPE_NOT_GRANTED' } })
    throw new AppError('TYPE_NOT_GRANTED', `Not granted ${named.value.typeCode} for matter ${purpose.matterCode}`)
  }
  if (!row) throw new AppError('CERTIFICATE_NOT_FOUND')
  return { as: 'reader', purpose, actor }
}

const PURPOSE_HOW = "A reader states the purpose in two headers: x-purpose-matter-code (the matter code, e.g. M-1) and x-purpose-reason (the reason as percent-encoded UTF-8, e.g. encodeURIComponent('婚姻登记') = %E5%A9%9A%E5%A7%BB%E7%99%BB%E8%AE%B0)"

function purposeFrom(headers: Record<string, string | string[] | undefined>): { matterCode: string; reason: string } {
  const matterCode = headers['x-purpose-matter-code']
  const reason = headers['x-purpose-reason']
  const missing = [typeof matterCode !== 'string' ? 'x-purpose-matter-code' : '', typeof reason !== 'string' ? 'x-purpose-reason' : ''].filter(Boolean)
  if (typeof matterCode !== 'string' || typeof reason !== 'string') throw new AppError('PURPOSE_REQUIRED', `Missing ${missing.join(' and ')}. ${PURPOSE_HOW}`)
  // Node hands header bytes over as Latin-1, so raw UTF-8 would be stored garbled (婚姻 as å©å§»).
  // Refused rather than re-decoded: the reason is signed into receipts and the log, and guessing
  // an encoding could store a text the caller never sent (Latin-1 bytes can also form valid UTF-8).
  if (/[^\x00-\x7f]/.test(reason)) {
    throw new AppError('PURPOSE_REQUIRED', `x-purpose-reason carries raw non-ASCII bytes; HTTP headers carry them as Latin-1, so the text would be stored garbled: percent-encode its UTF-8. ${PURPOSE_HOW}`, {
      errors: [{ pointer: '/headers/x-purpose-reason', code: 'NOT_PERCENT_ENCODED', message: 'percent-encode the UTF-8 text (encodeURIComponent)' }],
    })
  }
  let decoded: string
  try {
    decoded = decodeURIComponent(reason)
  } catch {
    throw new AppError('PURPOSE_REQUIRED', `x-purpose-reason is not valid percent-encoded UTF-8 (a % must start %XX of a UTF-8 byte; write a literal % as %25). ${PURPOSE_HOW}`, {
      errors: [{ pointer: '/headers/x-purpose-reason', code: 'BAD_PERCENT_ENCODING', message: 'not valid percent-encoded UTF-8' }],
    })
  }
  // Decoding happens here, after the request's own text check: %00 would otherwise reach the log.
  const why = unstorableText(decoded)
  if (why) throw new AppError('INVALID_TEXT', 'x-purpose-reason cannot be stored', { errors: [{ pointer: '/headers/x-purpose-reason', code: 'UNSTORABLE_TEXT', message: why }] })
  return { matterCode, reason: decoded }
}
