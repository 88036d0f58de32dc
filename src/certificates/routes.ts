import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyRequest } from 'fastify'
import pLimit from 'p-limit'
import type { Config } from '../config.js'
import type { Db } from '../db/client.js'
import { AppError, ERRORS, type FieldProblem } from '../errors.js'
import { CERT_ID_CHECK_CHAR_EXCEPTION, checkCharExceptionText, checkCharFaultOf } from '../ids/index.js'
import { createIssuerRepository } from '../issuers/repository.js'
import { authErrors, Problem } from '../schemas.js'
import { dataValidatorFor } from '../types/dataSchema.js'
import { createTypeRepository } from '../types/repository.js'
import type { CertificateType } from '../types/schemas.js'
import { checkCertificate, type CheckContext, type CheckedCertificate } from './checks.js'
import { checkAttachedDocument, type DocumentContext } from './document.js'
import { metadataPointer, pointerFromPayload } from './ofdMetadata.js'
import { checkOfdOnly } from './ofdOnly.js'
import { createCertificateRepository, type StoreOutcome } from './repository.js'
import { BatchBody, BatchResult, CertificateIdParams, PushBody, StatusBody, StoredCertificate } from './schemas.js'
import { changeStatus } from './status.js'
import { createTypeAndIssuerReader } from './pushReader.js'

/**
 * Batches one process checks and stores at once. Two keep both cores busy (signatures are checked
 * on the thread pool while the other batch is in the database) and bound the memory a burst of
 * batch pushes can take; the others wait, parsed, for their turn.
 */
const BATCHES_AT_ONCE = 2

/** A batch carries JWS only: an item whose payload names a document must be pushed on its own. */
function withoutDocument<T extends { ok: true; value: CheckedCertificate } | { ok: false; problems: { pointer: string; code: string; message: string }[] }>(c: T, i: number): T | { ok: false; problems: { pointer: string; code: string; message: string }[] } {
  if (!c.ok || !c.value.payload.document) return c
  return { ok: false, problems: [{ pointer: `/certificates/${i}/payload/document`, code: 'DOCUMENT_MISSING', message: 'a certificate that carries a document is pushed alone, with its bytes, to POST /v1/certificates' }] }
}

/**
 * An accepted identifier whose check character is not MOD 37,36's was taken in under
 * CERT_ID_CHECK_EXCEPTIONS: the answer says so, never silently (the audit event does too).
 */
function idWarnings(id: string, pointer: string): { warnings?: FieldProblem[] } {
  const fault = checkCharFaultOf(id)
  return fault ? { warnings: [{ pointer, code: CERT_ID_CHECK_CHAR_EXCEPTION, message: checkCharExceptionText(fault) }] } : {}
}

/** Issuing departments push certificates and keep their status. */
export const certificateRoutes: FastifyPluginAsyncTypebox<{ db: Db; config: Config }> = async (app, opts) => {
  const { db, config } = opts
  const types = createTypeRepository(db)
  const issuers = createIssuerRepository(db)
  const readTypeAndIssuer = createTypeAndIssuerReader(db)
  const store = createCertificateRepository(db, config.dataProtection, app.transparencyLog)
  app.addSchema(StoredCertificate)
  app.addSchema(BatchResult)
  const batchTurns = pLimit(BATCHES_AT_ONCE)

  // Lookups are memoised for the request: a batch of 1,000 reads each type and issuer once, and a
  // certificate's type and issuer, when neither was read yet, come in one statement.
  const contextFor = (request: FastifyRequest): CheckContext => {
    const typesSeen = new Map<string, Promise<CertificateType | undefined>>()
    const issuersSeen = new Map<string, Promise<Awaited<ReturnType<typeof issuers.get>>>>()
    const remember = <T>(seen: Map<string, Promise<T>>, code: string, value: Promise<T>) => {
      // A failed read is met by whoever awaits it; until then it must not count as unhandled.
      value.catch(() => {})
      seen.set(code, value)
      return value
    }
    return {
      callerOrg: request.user.org,
      now: new Date(),
      maxBytes: config.maxCertificateBytes,
      exceptions: config.creditCodeExceptions,
      certIdCheckExceptions: config.certIdCheckExceptions,
      type: (code) => typesSeen.get(code) ?? remember(typesSeen, code, types.get(code)),
      issuer: (code) => issuersSeen.get(code) ?? remember(issuersSeen, code, issuers.get(code)),
      prefetch: (typeCode, issuerCode) => {
        if (typesSeen.has(typeCode) || issuersSeen.has(issuerCode)) return
        const both = readTypeAndIssuer(typeCode, issuerCode)
        remember(typesSeen, typeCode, both.then((b) => b.type))
        remember(issuersSeen, issuerCode, both.then((b) => b.issuer))
      },
      dataValidator: dataValidatorFor,
    }
  }
  const actor = (request: FastifyRequest) => ({ sub: request.user.sub, org: request.user.org, requestId: request.id, clientRequestId: request.clientRequestId })
  // The document's checks read the issuer through the push's own memo: one query per request.
  const documentsFor = (ctx: CheckContext): DocumentContext => ({
    maxBytes: config.maxDocumentBytes,
    anchors: config.trustAnchors,
    issuerKeys: async (code) => (await ctx.issuer(code))?.keys ?? [],
  })
  // A push may carry a sealed OFD file as base64: the body may then be that much larger.
  const pushBodyLimit = Math.max(config.bodyLimit, Math.ceil(config.maxDocumentBytes / 3) * 4 + config.maxCertificateBytes + 4096)

  app.post(
    '/v1/certificates',
    {
      bodyLimit: pushBodyLimit,
      onRequest: app.auth(['issuer']),
      schema: {
        tags: ['certificates'],
        operationId: 'pushCertificate',
        summary: 'Push one certificate: a signed JWS, or a sealed OFD file alone (issuer)',
        description:
          '201 stored; 200 the same JWS was stored already; 409 CERTIFICATE_CONFLICT (same identifier, other bytes) or VERSION_NOT_NEWER; 422 INVALID_CERTIFICATE listing every problem, and nothing is stored. Problem pointers address the request: /certificate/header/…, /certificate/payload/…, /document. A certificate whose payload names a document (a sealed OFD file) carries its bytes in `document`, base64: accepted only when the file has the SM3 and size named, its seals verify (every GB/T 38540 check, to a trust anchor), and each seal was made with a registered signing key of the same issuer, active when it sealed (DOCUMENT_MISSING, DOCUMENT_NOT_DECLARED, DOCUMENT_TOO_LARGE, DOCUMENT_ENCODING_INVALID, DOCUMENT_SIZE_MISMATCH, DOCUMENT_DIGEST_MISMATCH, DOCUMENT_INVALID, DOCUMENT_SEAL_INVALID, DOCUMENT_SIGNER_NOT_REGISTERED, DOCUMENT_SIGNER_NOT_ACTIVE). The file is stored encrypted with the certificate, in one transaction. A sealed OFD file alone, {document}, is a certificate whose only signed form is the file: it passes the same file checks, its GB/T 36903 metadata (DocInfo/CustomDatas in OFD.xml) must lie in a file a seal covers (DOCUMENT_METADATA_NOT_SEALED), every missing or malformed field of it is listed in one 422 DOCUMENT_METADATA_INVALID (pointers /document/CustomDatas/<name>), and the payload it gives then gets every check a JWS payload gets (INVALID_CERTIFICATE, pointed at the field each came from); it is stored as form ofd, and 200 and 409 compare the SHA-256 of the file. An identifier whose only fault is its check character is accepted for an issuer named in CERT_ID_CHECK_EXCEPTIONS, and the answer then carries `warnings` [CERT_ID_CHECK_CHAR_EXCEPTION naming the expected character].',
        security: [{ bearer: [] }],
        body: PushBody,
        response: { 200: StoredCertificate, 201: StoredCertificate, 409: Problem, 422: Problem, ...authErrors() },
      },
    },
    async (request, reply) => {
      const ctx = contextFor(request)
      const body = request.body
      if (!('certificate' in body)) {
        // A sealed OFD alone: its seal signs, its metadata is the payload.
        const ofd = await checkOfdOnly(body.document, ctx, documentsFor(ctx))
        if (!ofd.ok) throw new AppError(ofd.code, `${ofd.problems.length} problem(s) in the document`, { errors: ofd.problems })
        const result = await store.storeOne(ofd.value.certificate, actor(request), ofd.value.document)
        if (result.outcome === 'rejected') throw new AppError(result.code, undefined, 'problems' in result ? { errors: result.problems.map((p) => ({ ...p, pointer: pointerFromPayload(p.pointer) })) } : {})
        return reply.code(result.outcome === 'created' ? 201 : 200).send({ ...result.record, ...idWarnings(result.record.id, metadataPointer('ZZBS')) })
      }
      const checked = await checkCertificate(body.certificate, ctx, '/certificate')
      if (!checked.ok) throw new AppError('INVALID_CERTIFICATE', `${checked.problems.length} problem(s) in the certificate`, { errors: checked.problems })
      const document = await checkAttachedDocument(checked.value, body.document, documentsFor(ctx))
      if (!document.ok) throw new AppError('INVALID_CERTIFICATE', `${document.problems.length} problem(s) in the certificate's document`, { errors: document.problems })
      const result = await store.storeOne(checked.value, actor(request), document.value)
      if (result.outcome !== 'rejected' && result.inTree) request.eventsInTree = true
      if (result.outcome === 'rejected') throw new AppError(result.code, undefined, 'problems' in result ? { errors: result.problems.map((p) => ({ ...p, pointer: `/certificate${p.pointer}` })) } : {})
      return reply.code(result.outcome === 'created' ? 201 : 200).send({ ...result.record, ...idWarnings(result.record.id, '/certificate/payload/id') })
    },
  )

  app.post(
    '/v1/certificates/batch',
    {
      onRequest: app.auth(['issuer']),
      schema: {
        tags: ['certificates'],
        operationId: 'pushCertificateBatch',
        summary: 'Push up to 1,000 signed certificates (issuer)',
        description: `Each certificate is checked and stored on its own, all or nothing: a bad item is rejected with its own code and problems and its neighbours are still stored; one result per item, in order, with the status a single push would have had. A certificate whose payload names a document is refused here (DOCUMENT_MISSING): push it alone with its file. A service process works on at most ${BATCHES_AT_ONCE} batches at once; further batches wait their turn.`,
        security: [{ bearer: [] }],
        body: BatchBody,
        response: { 200: BatchResult, ...authErrors() },
      },
    },
    // Batches take turns: bounded memory whatever the number of issuers pushing at once.
    (request) => batchTurns(async () => {
      const ctx = contextFor(request)
      const checked = (await Promise.all(request.body.certificates.map((jws, i) => checkCertificate(jws, ctx, `/certificates/${i}`)))).map((c, i) => withoutDocument(c, i))
      const accepted = checked.flatMap((c, i) => (c.ok ? [{ i, value: c.value }] : []))
      const stored = await store.storeMany(accepted.map((a) => a.value), actor(request))
      // Every certificate stored went in with its event already in the tree: nothing to wait for.
      request.eventsInTree = stored.every((o) => o.outcome !== 'created' || o.inTree === true)
      const byIndex = new Map<number, StoreOutcome>(accepted.map((a, k) => [a.i, stored[k]!]))
      const results: BatchResult['results'] = checked.map((c, index) => {
        if (!c.ok) return { index, outcome: 'rejected', status: 422, code: 'INVALID_CERTIFICATE', problems: c.problems }
        const o = byIndex.get(index)!
        if (o.outcome === 'rejected') {
          const problems = 'problems' in o ? { problems: o.problems.map((p) => ({ ...p, pointer: `/certificates/${index}${p.pointer}` })) } : {}
          return { index, outcome: 'rejected', status: ERRORS[o.code].status, code: o.code, id: o.id, ...problems }
        }
        return { index, outcome: o.outcome, status: o.outcome === 'created' ? 201 : 200, id: o.record.id, ...idWarnings(o.record.id, `/certificates/${index}/payload/id`) }
      })
      const count = (outcome: string) => results.filter((r) => r.outcome === outcome).length
      return { results, summary: { created: count('created'), unchanged: count('unchanged'), rejected: count('rejected') } }
    }),
  )

  app.post(
    '/v1/certificates/:id/status',
    {
      onRequest: app.auth(['issuer']),
      schema: {
        tags: ['certificates'],
        operationId: 'changeCertificateStatus',
        summary: 'Revoke, suspend or reinstate a certificate (its issuing organisation)',
        description: 'revoked is final. Asking for the current status again changes nothing (200). Every change is kept in the history: who, when, why, from, to.',
        security: [{ bearer: [] }],
        params: CertificateIdParams,
        body: StatusBody,
        response: { 200: StoredCertificate, 404: Problem, 409: Problem, ...authErrors() },
      },
    },
    async (request) => {
      const { record } = await changeStatus(db, request.params.id, request.body.status, request.body.reason, { ...actor(request), clientRequestId: request.clientRequestId })
      return record
    },
  )
}
