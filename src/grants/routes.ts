import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import type { Config } from '../config.js'
import type { Db } from '../db/client.js'
import { AppError, type FieldProblem } from '../errors.js'
import { isValidCreditCode } from '../ids/index.js'
import { authErrors, CreditCodeSchema, Problem } from '../schemas.js'
import { createTypeRepository } from '../types/repository.js'
import { createGrantRepository } from './repository.js'
import { GrantsBody, OrgGrants } from './schemas.js'

const OrgParams = Type.Object({ org: CreditCodeSchema }, { additionalProperties: false })

/** Which certificate types each reader organisation may look up, for which matters (admin). */
export const grantRoutes: FastifyPluginAsyncTypebox<{ db: Db; config: Config }> = async (app, opts) => {
  const repo = createGrantRepository(opts.db)
  const types = createTypeRepository(opts.db)
  app.addSchema(OrgGrants)
  const checkOrg = (org: string) => {
    if (!isValidCreditCode(org, opts.config.creditCodeExceptions)) throw new AppError('INVALID_ORG_CODE')
    return org
  }

  app.put(
    '/v1/grants/:org',
    {
      onRequest: app.auth(['admin']),
      schema: {
        tags: ['grants'],
        operationId: 'putGrants',
        summary: 'Set the grants of a reader organisation (admin)',
        description: 'Replaces every grant of the organisation: 201 the first time, 200 after. Each change is an audit event.',
        security: [{ bearer: [] }],
        params: OrgParams,
        body: GrantsBody,
        response: { 200: OrgGrants, 201: OrgGrants, 422: Problem, ...authErrors() },
      },
    },
    async (request, reply) => {
      const org = checkOrg(request.params.org)
      const known = new Set((await types.list()).map((t) => t.typeCode))
      const problems: FieldProblem[] = []
      request.body.grants.forEach((g, i) => {
        if (!known.has(g.typeCode)) problems.push({ pointer: `/body/grants/${i}/typeCode`, code: 'UNKNOWN_TYPE', message: 'not in the catalogue of certificate types' })
        if (request.body.grants.findIndex((o) => o.typeCode === g.typeCode) !== i) problems.push({ pointer: `/body/grants/${i}/typeCode`, code: 'DUPLICATE_TYPE', message: 'each type is granted once' })
      })
      if (problems.length > 0) throw new AppError('INVALID_GRANT', `${problems.length} problem(s) in the grants`, { errors: problems })
      const { created } = await repo.put(org, request.body, { sub: request.user.sub, org: request.user.org, requestId: request.id, clientRequestId: request.clientRequestId })
      return reply.code(created ? 201 : 200).send((await repo.get(org))!)
    },
  )

  app.get(
    '/v1/grants/:org',
    {
      onRequest: app.auth(['admin']),
      schema: { tags: ['grants'], operationId: 'getGrants', summary: 'Read the grants of a reader organisation (admin)', security: [{ bearer: [] }], params: OrgParams, response: { 200: OrgGrants, 404: Problem, ...authErrors() } },
    },
    async (request) => {
      const found = await repo.get(checkOrg(request.params.org))
      if (!found) throw new AppError('ORG_NOT_FOUND')
      return found
    },
  )
}
