import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { Config } from '../config.js'
import type { Db } from '../db/client.js'
import { AppError, type FieldProblem } from '../errors.js'
import { isValidCreditCode } from '../ids/index.js'
import { authErrors, Problem } from '../schemas.js'
import { checkDataSchema } from './dataSchema.js'
import { createTypeRepository } from './repository.js'
import { CertificateType, CertificateTypeList, TypeCodeParams, TypeDefinition } from './schemas.js'

/** The catalogue of certificate types: admins write, any authenticated caller reads. */
export const typeRoutes: FastifyPluginAsyncTypebox<{ db: Db; config: Config }> = async (app, opts) => {
  const types = createTypeRepository(opts.db)
  const exceptions = opts.config.creditCodeExceptions

  app.get(
    '/v1/types',
    { onRequest: app.auth(), schema: { tags: ['types'], operationId: 'listCertificateTypes', summary: 'List certificate types', security: [{ bearer: [] }], response: { 200: CertificateTypeList, ...authErrors() } } },
    async () => ({ items: await types.list() }),
  )

  app.get(
    '/v1/types/:typeCode',
    {
      onRequest: app.auth(),
      schema: { tags: ['types'], operationId: 'getCertificateType', summary: 'Read one certificate type', security: [{ bearer: [] }], params: TypeCodeParams, response: { 200: CertificateType, 404: Problem, ...authErrors() } },
    },
    async (request) => {
      const type = await types.get(checkTypeCode(request.params.typeCode, exceptions))
      if (!type) throw new AppError('TYPE_NOT_FOUND')
      return type
    },
  )

  app.put(
    '/v1/types/:typeCode',
    {
      onRequest: app.auth(['admin']),
      schema: {
        tags: ['types'],
        operationId: 'putCertificateType',
        summary: 'Create or replace a certificate type (admin)',
        description: '201 when created, 200 when replaced or unchanged. Every problem with the definition is listed in one 422.',
        security: [{ bearer: [] }],
        params: TypeCodeParams,
        body: TypeDefinition,
        response: { 200: CertificateType, 201: CertificateType, 422: Problem, 413: Problem, 415: Problem, ...authErrors() },
      },
    },
    async (request, reply) => {
      const typeCode = checkTypeCode(request.params.typeCode, exceptions)
      const def = request.body
      const known = await types.knownHolderIdTypes()
      const problems: FieldProblem[] = [
        ...def.holderIdTypes.flatMap((t, i) =>
          known.has(t) ? [] : [{ pointer: `/body/holderIdTypes/${i}`, code: 'UNKNOWN_HOLDER_ID_TYPE', message: `holder ID type ${t} is not in the table of known types` }],
        ),
        ...def.issuers.flatMap((c, i) =>
          isValidCreditCode(c, exceptions) ? [] : [{ pointer: `/body/issuers/${i}`, code: 'INVALID_ISSUER_CODE', message: 'not a valid unified social credit code (check character)' }],
        ),
        ...checkDataSchema(def.dataSchema),
      ]
      if (problems.length > 0) throw new AppError('INVALID_TYPE_DEFINITION', `${problems.length} problem(s) in the type definition`, { errors: problems })
      const { outcome, type } = await types.put(typeCode, def, { sub: request.user.sub, org: request.user.org, requestId: request.id, clientRequestId: request.clientRequestId })
      return reply.code(outcome === 'created' ? 201 : 200).send(type)
    },
  )
}

/** The schema checks the shape; the authority part must also carry a valid check character. */
function checkTypeCode(typeCode: string, exceptions: ReadonlySet<string>): string {
  if (!isValidCreditCode(typeCode.slice(0, 18), exceptions)) {
    throw new AppError('INVALID_TYPE_CODE', 'The first 18 characters of a type code must be the defining authority\'s valid credit code')
  }
  return typeCode
}
