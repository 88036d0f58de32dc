import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyRequest } from 'fastify'
import pLimit from 'p-limit'
import type { Config } from '../config.js'
import type { Db } from '../db/client.js'
import { AppError, ERRORS } from '../errors.js'
import { createIssuerRepository } from '../issuers/repository.js'
import { authErrors, Problem } from '../schemas.js'
import { dataValidatorFor } from '../types/dataSchema.js'
import { createTypeRepository } from '../types/repository.js'
import { checkCertificate, type CheckContext } from './checks.js'
import { createCertificateRepository, type StoreOutcome } from './repository.js'
import { BatchBody, BatchResult, CertificateIdParams, PushBody, StatusBody, StoredCertificate } from './schemas.js'
import { changeStatus } from './status.js'

/**
 * Batches one process checks and stores at once. Two keep both cores busy (signatures are checked
 * on the thread pool while the other batch is in the database) and bound the memory a burst of
 * batch pushes can take; the others wait, parsed, for their turn.
 */
const BATCHES_AT_ONCE = 2

/** Issuing departments push certificates and keep their status. */
export const certificateRoutes: FastifyPluginAsyncTypebox<{ db: Db; config: Config }> = async (app, opts) => {
  const { db, config } = opts
  const types = createTypeRepository(db)
  const issuers = createIssuerRepository(db)
  const store = createCertificateRepository(db, config.dataProtection)
  app.addSchema(StoredCertificate)
  app.addSchema(BatchResult)
  const batchTurns = pLimit(BATCHES_AT_ONCE)

  // Lookups are memoised for the request: a batch of 1,000 reads each type and issuer once.
  const contextFor = (request: FastifyRequest): CheckContext => {
    const memo = <T>(load: (code: string) => Promise<T>) => {
      const seen = new Map<string, Promise<T>>()
      return (code: string) => seen.get(code) ?? (seen.set(code, load(code)), seen.get(code)!)
    }
    return {
      callerOrg: request.user.org,
      now: new Date(),
      maxBytes: config.maxCertificateBytes,
      exceptions: config.creditCodeExceptions,
      type: memo((code) => types.get(code)),
      issuer: memo((code) => issuers.get(code)),
      dataValidator: dataValidatorFor,
    }
  }
  const actor = (request: FastifyRequest) => ({ sub: request.user.sub, org: request.user.org, requestId: request.id })

  app.post(
    '/v1/certificates',
    {
      onRequest: app.auth(['issuer']),
      schema: {
        tags: ['certificates'],
        summary: 'Push one signed certificate (issuer)',
        description:
          '201 stored; 200 the same JWS was stored already; 409 CERTIFICATE_CONFLICT (same identifier, other bytes) or VERSION_NOT_NEWER; 422 INVALID_CERTIFICATE listing every problem, and nothing is stored. Problem pointers address the request: /certificate/header/…, /certificate/payload/….',
        security: [{ bearer: [] }],
        body: PushBody,
        response: { 200: StoredCertificate, 201: StoredCertificate, 409: Problem, 422: Problem, ...authErrors() },
      },
    },
    async (request, reply) => {
      const checked = await checkCertificate(request.body.certificate, contextFor(request), '/certificate')
      if (!checked.ok) throw new AppError('INVALID_CERTIFICATE', `${checked.problems.length} problem(s) in the certificate`, { errors: checked.problems })
      const result = await store.storeOne(checked.value, actor(request))
      if (result.outcome === 'rejected') throw new AppError(result.code, undefined, 'problems' in result ? { errors: result.problems.map((p) => ({ ...p, pointer: `/certificate${p.pointer}` })) } : {})
      return reply.code(result.outcome === 'created' ? 201 : 200).send(result.record)
    },
  )

  app.post(
    '/v1/certificates/batch',
    {
      onRequest: app.auth(['issuer']),
      schema: {
        tags: ['certificates'],
        summary: 'Push up to 1,000 signed certificates (issuer)',
        description: `Each certificate is checked and stored on its own, all or nothing: a bad item is rejected with its own code and problems and its neighbours are still stored; one result per item, in order, with the status a single push would have had. A service process works on at most ${BATCHES_AT_ONCE} batches at once; further batches wait their turn.`,
        security: [{ bearer: [] }],
        body: BatchBody,
        response: { 200: BatchResult, ...authErrors() },
      },
    },
    // Batches take turns: bounded memory whatever the number of issuers pushing at once.
    (request) => batchTurns(async () => {
      const ctx = contextFor(request)
      const checked = await Promise.all(request.body.certificates.map((jws, i) => checkCertificate(jws, ctx, `/certificates/${i}`)))
      const accepted = checked.flatMap((c, i) => (c.ok ? [{ i, value: c.value }] : []))
      const stored = await store.storeMany(accepted.map((a) => a.value), actor(request))
      const byIndex = new Map<number, StoreOutcome>(accepted.map((a, k) => [a.i, stored[k]!]))
      const results: BatchResult['results'] = checked.map((c, index) => {
        if (!c.ok) return { index, outcome: 'rejected', status: 422, code: 'INVALID_CERTIFICATE', problems: c.problems }
        const o = byIndex.get(index)!
        if (o.outcome === 'rejected') {
          const problems = 'problems' in o ? { problems: o.problems.map((p) => ({ ...p, pointer: `/certificates/${index}${p.pointer}` })) } : {}
          return { index, outcome: 'rejected', status: ERRORS[o.code].status, code: o.code, id: o.id, ...problems }
        }
        return { index, outcome: o.outcome, status: o.outcome === 'created' ? 201 : 200, id: o.record.id }
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
