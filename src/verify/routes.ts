import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { createAccessLog } from '../audit/accessLog.js'
import { receiptFor, type Receipt } from '../audit/receipts.js'
import type { CertificateStatus } from '../certificates/schemas.js'
import type { Config } from '../config.js'
import type { Db } from '../db/client.js'
import { decodeBase64 } from '../certificates/document.js'
import { AppError } from '../errors.js'
import { authErrors, Problem } from '../schemas.js'
import { warningsOf } from './checkList.js'
import { VerifyBody, VerifyResultSchema } from './schemas.js'
import { createVerifyService, type VerifyOutcome } from './service.js'

/** POST /v1/verify: any authenticated caller; the result codes are mapped in result.ts. */
export const verifyRoutes: FastifyPluginAsyncTypebox<{ db: Db; config: Config }> = async (app, { db, config }) => {
  const service = createVerifyService(db, config)
  const accessLog = createAccessLog(app.transparencyLog, app.log)
  app.addSchema(VerifyResultSchema)

  app.post(
    '/v1/verify',
    {
      // A presented OFD file travels as base64 in the body.
      bodyLimit: Math.max(config.bodyLimit, Math.ceil(config.maxDocumentBytes / 3) * 4 + 4096),
      onRequest: app.auth(),
      schema: {
        tags: ['verify'],
        operationId: 'verifyCertificate',
        summary: 'Verify a certificate: a JWS, an identifier, or the printed fields of a paper copy (any authenticated caller)',
        description:
          'Answers 200 with a GB/T 36906 result code (0–6), every check with its outcome (for a presented OFD file also `document`: verifyFile\'s 0/1/2 and every seal check; the file is matched by SM3 against the documents certificates carry, and a stored one is answered for its certificate), the stored status when the answer speaks for a stored certificate, and a receipt: the proof that this verification is in the Merkle log. The holder ID is never echoed. Every verification is logged before the answer leaves; if it cannot be logged the answer is 503 with no data.',
        security: [{ bearer: [] }],
        body: VerifyBody,
        response: { 200: VerifyResultSchema, 503: Problem, ...authErrors() },
      },
    },
    async (request) => {
      const now = new Date()
      const body = request.body
      const outcome =
        'certificate' in body
          ? await service.byJws(body.certificate, now)
          : 'id' in body
            ? await service.byId(body.id, now)
            : 'document' in body
              ? await service.byDocument(documentBytes(body.document, config.maxDocumentBytes), now)
              : await service.byFields(body, now)
      const { user } = request
      // Durable before the answer leaves: no verification without its log entry.
      const recorded = await accessLog.record({
        kind: 'access.verify',
        actorSub: user.sub,
        actorOrg: user.org,
        requestId: request.id,
        clientRequestId: request.clientRequestId,
        holderRef: outcome.holderRef,
        certificateIds: outcome.certificateIds,
        // `returned`: what the answer speaks for, with the SHA-256 of the stored form (and the SM3 of a presented file).
        details: { result: outcome.result, by: outcome.by, returned: outcome.receipt.certificates },
      })
      const receipt = await receiptFor(app.transparencyLog.store, recorded)
      return answer(outcome, receipt)
    },
  )
}

/** The bytes of a presented file: canonical padded base64, within MAX_DOCUMENT_BYTES. */
function documentBytes(base64: string, maxBytes: number): Buffer {
  if (base64.length > Math.ceil(maxBytes / 3) * 4) throw new AppError('PAYLOAD_TOO_LARGE', `the document is larger than ${maxBytes} bytes`)
  const bytes = decodeBase64(base64)
  if (!bytes) throw new AppError('VALIDATION_FAILED', 'document is not canonical base64', { errors: [{ pointer: '/document', code: 'DOCUMENT_ENCODING_INVALID', message: 'not canonical base64 (RFC 4648 §4, padded)' }] })
  return bytes
}

function answer(o: VerifyOutcome, receipt: Receipt) {
  return {
    result: o.result,
    resultText: o.resultText,
    checks: o.checks,
    warnings: warningsOf(o.checks),
    ...(o.record ? { status: o.record.status as CertificateStatus, statusChangedAt: o.record.statusChangedAt.toISOString() } : {}),
    ...(o.certificate ? { certificate: o.certificate } : {}),
    ...(o.document ? { document: o.document } : {}),
    receipt,
  }
}
