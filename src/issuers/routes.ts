import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyRequest } from 'fastify'
import type { Config } from '../config.js'
import { checkSigningCertificate, type SigningCertificateInfo } from '../crypto/x509.js'
import type { Db } from '../db/client.js'
import { AppError, type FieldProblem } from '../errors.js'
import { isValidCreditCode } from '../ids/index.js'
import { authErrors, Problem } from '../schemas.js'
import { createTypeRepository } from '../types/repository.js'
import { createIssuerRepository, toKey } from './repository.js'
import { AddKeyBody, Issuer, IssuerCodeParams, IssuerDefinition, IssuerKey, IssuerKeyParams, RevokeKeyBody } from './schemas.js'

/** Issuers and their signing keys. Chains are checked here, at registration, not on every push. */
export const issuerRoutes: FastifyPluginAsyncTypebox<{ db: Db; config: Config }> = async (app, opts) => {
  const issuers = createIssuerRepository(opts.db)
  const types = createTypeRepository(opts.db)
  const { trustAnchors, creditCodeExceptions } = opts.config
  app.addSchema(IssuerKey)
  app.addSchema(Issuer)

  const actor = (request: FastifyRequest) => ({ sub: request.user.sub, org: request.user.org, requestId: request.id, clientRequestId: request.clientRequestId })
  const checkCode = (code: string) => {
    if (!isValidCreditCode(code, creditCodeExceptions)) throw new AppError('INVALID_ISSUER_CODE')
    return code
  }

  /** Validates certificates; every problem gets a pointer. Keys this issuer already has are skipped. */
  async function checkKeys(code: string, pems: string[], pointer: (i: number) => string): Promise<{ keys: SigningCertificateInfo[]; problems: FieldProblem[] }> {
    const results = await Promise.all(pems.map((pem) => checkSigningCertificate(pem, trustAnchors)))
    const problems: FieldProblem[] = []
    const checked: { i: number; key: SigningCertificateInfo }[] = []
    results.forEach((r, i) => (r.ok ? checked.push({ i, key: r.value }) : problems.push(...r.problems.map((p) => ({ pointer: pointer(i), code: p.code, message: p.message })))))
    const owners = await issuers.keyOwners(checked.map((c) => c.key.kid))
    const fresh: SigningCertificateInfo[] = []
    for (const { i, key } of checked) {
      const owner = owners.get(key.kid)
      if (owner && owner !== code) problems.push({ pointer: pointer(i), code: 'KEY_ALREADY_REGISTERED', message: 'this key is registered to another issuer' })
      else if (!owner && !fresh.some((k) => k.kid === key.kid)) fresh.push(key)
    }
    return { keys: fresh, problems }
  }

  app.put(
    '/v1/issuers/:code',
    {
      onRequest: app.auth(['admin']),
      schema: {
        tags: ['issuers'],
        operationId: 'putIssuer',
        summary: 'Register or update an issuer (admin)',
        description: '201 when created, 200 when updated. Each signing certificate must chain to a trust anchor, be valid now, allow digital signatures, not be a CA, and carry an RSA ≥ 2048, P-256, Ed25519 or SM2 key; SM2 certificates and CAs signed SM2-with-SM3 (ID 1234567812345678) are checked as any other. Every problem is listed in one 422.',
        security: [{ bearer: [] }],
        params: IssuerCodeParams,
        body: IssuerDefinition,
        response: { 200: Issuer, 201: Issuer, 422: Problem, ...authErrors() },
      },
    },
    async (request, reply) => {
      const code = checkCode(request.params.code)
      const { name, typeCodes, certificates } = request.body
      const existing = await issuers.get(code)
      const { keys, problems } = await checkKeys(code, certificates, (i) => `/body/certificates/${i}`)
      const known = new Set((await types.list()).map((t) => t.typeCode))
      typeCodes.forEach((t, i) => known.has(t) || problems.push({ pointer: `/body/typeCodes/${i}`, code: 'UNKNOWN_TYPE', message: 'not in the catalogue of certificate types' }))
      if (!existing && certificates.length === 0) problems.push({ pointer: '/body/certificates', code: 'NO_SIGNING_KEY', message: 'a new issuer needs at least one signing certificate' })
      if (problems.length > 0) throw new AppError('INVALID_ISSUER_DEFINITION', `${problems.length} problem(s) in the issuer definition`, { errors: problems })
      const { created, issuer } = await issuers.put(code, { name, typeCodes }, keys, actor(request))
      return reply.code(created ? 201 : 200).send(issuer)
    },
  )

  app.get(
    '/v1/issuers/:code',
    {
      onRequest: app.auth(['admin', 'issuer']),
      schema: { tags: ['issuers'], operationId: 'getIssuer', summary: 'Read an issuer and its keys (admin, or the issuer itself)', security: [{ bearer: [] }], params: IssuerCodeParams, response: { 200: Issuer, 404: Problem, ...authErrors() } },
    },
    async (request) => {
      const code = checkCode(request.params.code)
      if (!request.user.roles.includes('admin') && request.user.org !== code) throw new AppError('FORBIDDEN', 'An issuer may read only its own registration')
      const found = await issuers.get(code)
      if (!found) throw new AppError('ISSUER_NOT_FOUND')
      return found.issuer
    },
  )

  app.post(
    '/v1/issuers/:code/keys',
    {
      onRequest: app.auth(['admin']),
      schema: {
        tags: ['issuers'],
        operationId: 'addIssuerKey',
        summary: 'Add a signing key (rotation) (admin)',
        description: '201 when added, 200 when this issuer already has the key.',
        security: [{ bearer: [] }],
        params: IssuerCodeParams,
        body: AddKeyBody,
        response: { 200: IssuerKey, 201: IssuerKey, 404: Problem, 422: Problem, ...authErrors() },
      },
    },
    async (request, reply) => {
      const code = checkCode(request.params.code)
      const found = await issuers.get(code)
      if (!found) throw new AppError('ISSUER_NOT_FOUND')
      const checked = await checkSigningCertificate(request.body.certificate, trustAnchors)
      if (!checked.ok) {
        const errors = checked.problems.map((p) => ({ pointer: '/body/certificate', code: p.code, message: p.message }))
        throw new AppError('INVALID_ISSUER_DEFINITION', `${errors.length} problem(s) in the signing certificate`, { errors })
      }
      const owner = (await issuers.keyOwners([checked.value.kid])).get(checked.value.kid)
      if (owner === code) return reply.code(200).send(found.keys.map(toKey).find((k) => k.kid === checked.value.kid)!)
      if (owner) {
        const errors = [{ pointer: '/body/certificate', code: 'KEY_ALREADY_REGISTERED', message: 'this key is registered to another issuer' }]
        throw new AppError('INVALID_ISSUER_DEFINITION', 'the signing key belongs to another issuer', { errors })
      }
      return reply.code(201).send(await issuers.addKey(code, checked.value, actor(request)))
    },
  )

  app.post(
    '/v1/issuers/:code/keys/:kid/revoke',
    {
      onRequest: app.auth(['admin']),
      schema: {
        tags: ['issuers'],
        operationId: 'revokeIssuerKey',
        summary: 'Retire a key, or mark it compromised from a given time (admin)',
        security: [{ bearer: [] }],
        params: IssuerKeyParams,
        body: RevokeKeyBody,
        response: { 200: IssuerKey, 404: Problem, ...authErrors() },
      },
    },
    async (request) => {
      const code = checkCode(request.params.code)
      const found = await issuers.get(code)
      const key = found?.keys.find((k) => k.kid === request.params.kid)
      if (!key) throw new AppError('KEY_NOT_FOUND')
      const at = request.body.at ? new Date(request.body.at) : new Date()
      return issuers.revokeKey(key, request.body.reason, at, request.body.comment, actor(request))
    },
  )
}
