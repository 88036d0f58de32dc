import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { createAccessLog } from '../audit/accessLog.js'
import { decodeBase64 } from '../certificates/document.js'
import { CertificateIdParams } from '../certificates/schemas.js'
import type { Config } from '../config.js'
import type { Db } from '../db/client.js'
import { AppError } from '../errors.js'
import { maskIdNumbersIn } from '../ids/index.js'
import { authErrors, Problem } from '../schemas.js'
import { checkList, fail } from '../verify/checkList.js'
import { resultOf } from '../verify/result.js'
import { createVerifyService, type VerifyOutcome } from '../verify/service.js'
import { normaliseCode } from './codes.js'
import { qrPng, qrSvg } from './qr.js'
import { createVerificationCodeRepository } from './repository.js'
import { publicRateLimit } from './rateLimit.js'
import { createScanService } from './scan.js'
import { pageRoutes } from '../pages/routes.js'
import { CodeFormatQuery, CodeParams, PublicVerifyBody, PublicVerifyResult, ScanResult, VerificationCodeView } from './schemas.js'

/** Verification codes for issuers, and the anonymous verification API (scan-to-verify and presented certificates). */
export const publicRoutes: FastifyPluginAsyncTypebox<{ db: Db; config: Config }> = async (app, { db, config }) => {
  const verify = createVerifyService(db, config)
  const codes = createVerificationCodeRepository(db, config.dataProtection)
  const accessLog = createAccessLog(app.transparencyLog, app.log)
  const scan = createScanService(db, config, { verify, codes, accessLog })
  app.addSchema(ScanResult)
  app.addSchema(PublicVerifyResult)
  app.addSchema(VerificationCodeView)
  const rateLimit = publicRateLimit(config)
  const urlOf = (code: string) => `${config.publicBaseUrl}/v/${code}`
  // The page and the JSON form share one scan service.
  await app.register(pageRoutes, { config, scan })

  app.get(
    '/v1/public/verification/:code',
    {
      config: { rateLimit },
      schema: {
        tags: ['public'],
        operationId: 'getPublicVerification',
        security: [],
        summary: 'Scan-to-verify, for machines: what the page GET /v/{code} shows (anonymous)',
        description: `The certificate a verification code stands for, verified now: the GB/T 36906 result, type and issuer names, number, validity, status and since when, the holder's name masked, and nothing else (no ID number, no identifier, no data fields). A revoked certificate's code still answers, saying so. Unknown, malformed and rotated codes are 404 VERIFICATION_CODE_NOT_FOUND. Anonymous; at most a tenth of RATE_LIMIT_MAX per client per window. Every answer is an access event (access.verify, no organisation, details {purpose: scan, via: code}) in the holder's access log, written before the answer leaves.`,
        params: CodeParams,
        response: { 200: ScanResult, 404: Problem, 429: Problem, 503: Problem },
      },
    },
    async (request) => {
      const view = await scan.scan(request.params.code, { requestId: request.id, clientRequestId: request.clientRequestId, via: 'json' })
      if (!view) throw new AppError('VERIFICATION_CODE_NOT_FOUND')
      return view
    },
  )

  app.post(
    '/v1/public/verify',
    {
      config: { rateLimit },
      bodyLimit: Math.max(config.bodyLimit, Math.ceil(config.maxDocumentBytes / 3) * 4 + 4096),
      schema: {
        tags: ['public'],
        operationId: 'verifyPresented',
        security: [],
        summary: 'Verify a presented certificate, sealed OFD file or verification code (anonymous)',
        description:
          'No token: for a clerk at a counter or a landlord holding a copy. Answers the GB/T 36906 result code, every check and the stored status, and nothing personal beyond what was presented (no holder name, no ID number; check details have ID-number-shaped text masked). An unknown code is result 5. Rate-limited like GET /v1/public/verification/{code}; logged like every verification, with an anonymous actor, before the answer leaves.',
        body: PublicVerifyBody,
        response: { 200: PublicVerifyResult, 400: Problem, 413: Problem, 429: Problem, 503: Problem },
      },
    },
    async (request) => {
      const now = new Date()
      const body = request.body
      const outcome =
        'certificate' in body
          ? await verify.byJws(body.certificate, now)
          : 'document' in body
            ? await verify.byDocument(documentBytes(body.document, config.maxDocumentBytes), now)
            : await byCode(body.code, now)
      await accessLog.record({
        kind: 'access.verify',
        actorSub: 'anonymous',
        actorOrg: null,
        requestId: request.id,
        clientRequestId: request.clientRequestId,
        holderRef: outcome.holderRef,
        certificateIds: outcome.certificateIds,
        details: { purpose: 'public', via: 'code' in body ? 'code' : outcome.by, result: outcome.result },
      })
      return publicAnswer(outcome)
    },
  )

  async function byCode(text: string, now: Date): Promise<VerifyOutcome> {
    const code = normaliseCode(text)
    const certificateId = code ? await codes.certificateOf(code) : undefined
    if (certificateId) return verify.byId(certificateId, now)
    const checks = checkList([fail('matchesRecord', 'NO_RECORD', 'no certificate has this verification code')])
    return { by: 'id', ...resultOf(checks), checks, certificateIds: [], receipt: { certificates: [] } }
  }

  const codeAnswer = async (certificateId: string, got: { code: string; createdAt: Date }) => {
    const url = urlOf(got.code)
    return { certificateId, code: got.code, url, createdAt: got.createdAt.toISOString(), qr: { svg: await qrSvg(url), png: (await qrPng(url)).toString('base64') } }
  }

  app.get(
    '/v1/certificates/:id/verification-code',
    {
      onRequest: app.auth(['issuer']),
      schema: {
        tags: ['certificates'],
        operationId: 'getVerificationCode',
        summary: "A certificate's verification code, its URL and QR code, to print on paper copies (its issuer)",
        description:
          'The current code, made on first use. `?format=svg` or `?format=png` answers the QR code alone (image/svg+xml, image/png); it encodes PUBLIC_BASE_URL/v/{code}. Another organisation\'s certificate is 404 CERTIFICATE_NOT_FOUND.',
        security: [{ bearer: [] }],
        params: CertificateIdParams,
        querystring: CodeFormatQuery,
        response: {
          200: {
            description: 'the code (JSON), or its QR code as SVG or PNG',
            content: {
              'application/json': { schema: Type.Ref('VerificationCode') },
              'image/svg+xml': { schema: Type.String() },
              'image/png': { schema: Type.String({ format: 'binary' }) },
            },
          },
          404: Problem,
          ...authErrors(),
        },
      },
    },
    async (request, reply) => {
      const got = await codes.currentCode(request.params.id, request.user.org)
      const format = request.query.format ?? 'json'
      if (format === 'svg') return reply.type('image/svg+xml').send(await qrSvg(urlOf(got.code)))
      if (format === 'png') return reply.type('image/png').send(await qrPng(urlOf(got.code)))
      return reply.type('application/json').send(await codeAnswer(request.params.id, got))
    },
  )

  app.post(
    '/v1/certificates/:id/verification-code',
    {
      onRequest: app.auth(['issuer']),
      schema: {
        tags: ['certificates'],
        operationId: 'rotateVerificationCode',
        summary: 'Rotate a verification code: a new one, and the old one answers 404 from now on (its issuer)',
        description: 'For a paper copy lost or a code published by mistake. The change is an audit event (certificate.verification-code). Another organisation\'s certificate is 404 CERTIFICATE_NOT_FOUND.',
        security: [{ bearer: [] }],
        params: CertificateIdParams,
        response: { 201: Type.Ref('VerificationCode'), 404: Problem, ...authErrors() },
      },
    },
    async (request, reply) => {
      const { user } = request
      const got = await codes.rotate(request.params.id, { sub: user.sub, org: user.org, requestId: request.id, clientRequestId: request.clientRequestId })
      return reply.code(201).send(await codeAnswer(request.params.id, got))
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

/** The result, the checks and the status: no holder, no receipt naming one. */
function publicAnswer(o: VerifyOutcome) {
  return {
    result: o.result,
    resultText: maskIdNumbersIn(o.resultText),
    checks: o.checks.map(({ check, outcome, reason, detail }) => ({ check, outcome, ...(reason ? { reason } : {}), ...(detail ? { detail: maskIdNumbersIn(detail) } : {}) })),
    ...(o.record ? { status: o.record.status as 'valid', statusChangedAt: o.record.statusChangedAt.toISOString() } : {}),
    ...(o.certificate ? { certificate: o.certificate } : {}),
    ...(o.document ? { document: { code: o.document.code, resultText: o.document.resultText, sm3: o.document.sm3 } } : {}),
  }
}
