import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyReply } from 'fastify'
import type { Config } from '../config.js'
import { publicRateLimit } from '../public/rateLimit.js'
import type { ScanService } from '../public/scan.js'
import { CodeParams, LangQuery } from '../public/schemas.js'
import { PAGE_CSP } from './html.js'
import { codeNotFoundPage, verificationPage } from './verification.js'

function html(reply: FastifyReply, status: number, body: string) {
  // A page that names a certificate's holder, even masked, is never cached by a browser or a proxy.
  return reply.code(status).header('content-security-policy', PAGE_CSP).header('cache-control', 'no-store').type('text/html; charset=utf-8').send(body)
}

/** Pages for people: server-rendered HTML, no script, phone first, 中文 with an English switch. */
export const pageRoutes: FastifyPluginAsyncTypebox<{ config: Config; scan: ScanService }> = async (app, { config, scan }) => {
  app.get(
    '/v/:code',
    {
      config: { rateLimit: publicRateLimit(config) },
      schema: {
        tags: ['pages'],
        operationId: 'getVerificationPage',
        security: [],
        summary: 'Scan-to-verify (扫码核验): the page a printed QR code leads to (anonymous, HTML)',
        description: 'The same content as GET /v1/public/verification/{code}, as a page; `?lang=en` for English. An unknown code is a 404 page that says nothing about any certificate.',
        params: CodeParams,
        querystring: LangQuery,
        produces: ['text/html'],
      },
      // Any unknown query parameter is answered as the page in Chinese rather than a JSON 400.
      attachValidation: true,
    },
    async (request, reply) => {
      const lang = request.validationError ? 'zh' : request.query.lang === 'en' ? 'en' : 'zh'
      const view = await scan.scan(request.params.code, { requestId: request.id, clientRequestId: request.clientRequestId, via: 'page' })
      return view ? html(reply, 200, verificationPage(view, lang)) : html(reply, 404, codeNotFoundPage(lang))
    },
  )
}
