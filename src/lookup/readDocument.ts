import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { receiptFor } from '../audit/receipts.js'
import { readDocument } from '../certificates/repository.js'
import { CertificateIdParams } from '../certificates/schemas.js'
import { AppError } from '../errors.js'
import { authErrors, Problem } from '../schemas.js'
import { authorizeRead, PurposeHeaders, type Deps } from './readById.js'

/**
 * A certificate's sealed OFD file, to whoever may read the certificate, logged as an access
 * before a byte leaves. The bytes are the file exactly as the issuer pushed it; the receipt
 * (the access's proof in the Merkle log, as for a read) travels in the Zhengzhao-Receipt header and names the
 * certificate, the SHA-256 of its JWS and the SM3 of the file.
 */
export const readDocumentRoute: FastifyPluginAsyncTypebox<Deps> = async (app, { reader, grantsRepo, accessLog, config, db }) => {
  app.get(
    '/v1/certificates/:id/document',
    {
      onRequest: app.auth(['issuer', 'reader', 'holder']),
      schema: {
        tags: ['lookup'],
        operationId: 'readCertificateDocument',
        summary: 'Download the sealed OFD file a certificate carries (logged, with a receipt header)',
        description:
          'The same callers as GET /v1/certificates/{id}, readers stating the purpose in the same headers. 200 application/ofd with the file exactly as pushed; its receipt (the Receipt object of a read, as base64url of its JSON) in the Zhengzhao-Receipt header; 404 DOCUMENT_NOT_FOUND when the certificate carries no file. Logged before the bytes leave.',
        security: [{ bearer: [] }],
        params: CertificateIdParams,
        headers: PurposeHeaders,
        response: {
          200: { description: 'the sealed OFD file', content: { 'application/ofd': { schema: Type.String({ format: 'binary' }) } }, headers: { 'zhengzhao-receipt': Type.String({ description: 'base64url of the JSON receipt (see Receipt)' }) } },
          404: Problem,
          503: Problem,
          ...authErrors(),
        },
      },
    },
    async (request, reply) => {
      const row = await reader.byId(request.params.id)
      const { as, purpose, actor } = await authorizeRead(request, request.params.id, row, { grantsRepo, accessLog, config }, 'document')
      const document = await readDocument(db, config.dataProtection, row!.id)
      if (!document) throw new AppError('DOCUMENT_NOT_FOUND')
      const recorded = await accessLog.record({
        kind: 'access.read',
        ...actor,
        holderRef: row!.holderIndex,
        certificateIds: [row!.id],
        details: { purpose: purpose ?? null, as, outcome: 'found', document: true, returned: [{ id: row!.id, sha256: row!.jwsSha256, documentSm3: document.sm3 }] },
      })
      // The receipt travels in a header (the body is the file): base64url of its JSON.
      const receipt = Buffer.from(JSON.stringify(await receiptFor(app.transparencyLog.store, recorded))).toString('base64url')
      return reply
        .header('content-type', document.mediaType)
        .header('content-length', document.size)
        .header('content-disposition', 'attachment; filename="certificate.ofd"')
        .header('zhengzhao-receipt', receipt)
        .header('cache-control', 'no-store')
        // Fastify sends a Buffer as it is; the 200 schema only describes it for OpenAPI.
        .send(document.bytes as unknown as string)
    },
  )
}
