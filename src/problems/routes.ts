import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { AppError, ERRORS, type ErrorCode } from '../errors.js'
import { Problem } from '../schemas.js'

const ProblemTypeParams = Type.Object({ name: Type.String({ pattern: '^[a-z0-9-]{1,64}$', description: 'the code in lower case, `_` as `-`', examples: ['type-not-granted'] }) }, { additionalProperties: false })

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)

/**
 * The page a problem's `type` names (RFC 9457 §3.1.1: a type URI should resolve to documentation
 * for people). A `type` of `/problems/type-not-granted` is relative to the service that answered,
 * so it resolves wherever the service is deployed, and no Host header a client sends ends up in it.
 */
export const problemRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/problems/:name',
    {
      schema: {
        tags: ['problems'],
        operationId: 'getProblemType',
        security: [],
        summary: 'What a problem type means: its code, HTTP status and title (the page a problem\'s `type` names)',
        params: ProblemTypeParams,
        response: {
          200: { description: 'a small HTML page naming the code, its status and title', content: { 'text/html': { schema: Type.String() } } },
          404: Problem,
        },
      },
    },
    async (request, reply) => {
      const code = request.params.name.toUpperCase().replaceAll('-', '_')
      if (!Object.hasOwn(ERRORS, code)) throw new AppError('ROUTE_NOT_FOUND', 'No such problem type')
      const { status, title } = ERRORS[code as ErrorCode]
      const html =
        `<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>${code}</title></head>\n` +
        `<body><h1>${code}</h1>\n<p>HTTP status ${status}</p>\n<p>${escapeHtml(title)}</p>\n` +
        `<p>A problem of this type (application/problem+json, RFC 9457) carries <code>"code": "${code}"</code>: switch on the code, not on the text; <code>detail</code> and <code>errors[]</code> say what to change.</p></body></html>\n`
      return reply
        .header('content-type', 'text/html; charset=utf-8')
        .header('content-security-policy', "default-src 'none'")
        .header('cache-control', 'public, max-age=86400')
        .send(html)
    },
  )
}
