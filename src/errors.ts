import { randomUUID } from 'node:crypto'
import type { Duplex } from 'node:stream'
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { isDatabaseUnavailable } from './db/errors.js'
import { jsonErrorPosition } from './jsonPosition.js'
import { maskedPath, maskPersonalData } from './logging.js'

/**
 * The closed set of error codes. Clients switch on `code`; titles and details may change,
 * codes may not. Add a code here (and to the table below) before using it anywhere.
 */
export const ERRORS = {
  VALIDATION_FAILED: { status: 400, title: 'The request does not match the schema' },
  INVALID_JSON: { status: 400, title: 'The request body is not valid JSON' },
  INVALID_TEXT: { status: 400, title: 'The request carries text that cannot be stored (a NUL character or an unpaired surrogate)' },
  INVALID_URL: { status: 400, title: 'The request URL is not valid (bad percent-encoding or a path that names no resource)' },
  MALFORMED_REQUEST: { status: 400, title: 'The request is not well-formed HTTP' },
  INVALID_TYPE_CODE: { status: 400, title: 'The certificate type code is not valid' },
  INVALID_ISSUER_CODE: { status: 400, title: 'The issuer code is not a valid unified social credit code' },
  INVALID_CERTIFICATE_ID: { status: 400, title: 'The e-certificate identifier is not valid' },
  INVALID_ORG_CODE: { status: 400, title: 'The organisation code is not a valid unified social credit code' },
  PURPOSE_REQUIRED: { status: 400, title: 'A reader must state the purpose (matter code and reason)' },
  AUTH_REQUIRED: { status: 401, title: 'A bearer token is required' },
  INVALID_TOKEN: { status: 401, title: 'The bearer token is not valid' },
  TOKEN_EXPIRED: { status: 401, title: 'The bearer token has expired' },
  FORBIDDEN: { status: 403, title: 'The caller lacks the role this operation needs' },
  TYPE_NOT_GRANTED: { status: 403, title: 'The caller\'s organisation is not granted this certificate type for this matter' },
  ROUTE_NOT_FOUND: { status: 404, title: 'No such route' },
  TYPE_NOT_FOUND: { status: 404, title: 'No such certificate type' },
  ISSUER_NOT_FOUND: { status: 404, title: 'No such issuer' },
  KEY_NOT_FOUND: { status: 404, title: 'No such signing key for this issuer' },
  CERTIFICATE_NOT_FOUND: { status: 404, title: 'No such certificate' },
  DOCUMENT_NOT_FOUND: { status: 404, title: 'This certificate carries no document' },
  VERIFICATION_CODE_NOT_FOUND: { status: 404, title: 'No certificate has this verification code (unknown, or replaced by a new one)' },
  PRESENTATION_NOT_FOUND: { status: 404, title: 'No presentation has this token' },
  CHECKPOINT_NOT_FOUND: { status: 404, title: 'The log never signed a checkpoint of this size' },
  LEAF_NOT_FOUND: { status: 404, title: 'No leaf of the log has this hash' },
  ORG_NOT_FOUND: { status: 404, title: 'No grants are configured for this organisation' },
  METHOD_NOT_ALLOWED: { status: 405, title: 'Method not allowed on this route' },
  REQUEST_TIMEOUT: { status: 408, title: 'The request was not received in time' },
  CERTIFICATE_NOT_IN_FORCE: { status: 409, title: 'Only a certificate in force can be shown: this one is revoked, suspended, superseded, expired or not yet valid' },
  CERTIFICATE_CONFLICT: { status: 409, title: 'A different certificate is stored under this identifier' },
  LOG_RANGE_INVALID: { status: 422, title: 'The tree sizes or leaf index do not fit the log (index < size ≤ current size; from ≤ to)' },
  LOG_ENTRY_MISMATCH: { status: 409, title: 'The event stored at this leaf is missing or no longer matches the tree: the database was altered' },
  VERSION_NOT_NEWER: { status: 409, title: 'A newer or equal version of this certificate is stored' },
  STATUS_CHANGE_NOT_ALLOWED: { status: 409, title: 'This status change is not allowed' },
  PRESENTATION_USED: { status: 410, title: 'This presentation was used already: each can be seen once' },
  PRESENTATION_EXPIRED: { status: 410, title: 'This presentation has expired: the holder can show the certificate again' },
  PAYLOAD_TOO_LARGE: { status: 413, title: 'The request body is larger than allowed' },
  URI_TOO_LONG: { status: 414, title: 'The request URL or one of its path segments is too long' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, title: 'Unsupported content type' },
  INVALID_TYPE_DEFINITION: { status: 422, title: 'The certificate type definition is not valid' },
  INVALID_ISSUER_DEFINITION: { status: 422, title: 'The issuer definition is not valid' },
  INVALID_CERTIFICATE: { status: 422, title: 'The certificate is not valid' },
  DOCUMENT_METADATA_INVALID: { status: 422, title: 'The sealed OFD file\'s GB/T 36903 metadata is missing or malformed' },
  INVALID_HOLDER_ID: { status: 422, title: 'The holder ID is not valid for its ID type' },
  INVALID_GRANT: { status: 422, title: 'The grant is not valid' },
  RATE_LIMITED: { status: 429, title: 'Too many requests' },
  HEADERS_TOO_LARGE: { status: 431, title: 'The request headers are larger than allowed' },
  INTERNAL_ERROR: { status: 500, title: 'Internal server error' },
  NOT_READY: { status: 503, title: 'The service is not ready' },
  DATABASE_UNAVAILABLE: { status: 503, title: 'The database is unreachable or too slow; retry shortly' },
  ACCESS_LOG_UNAVAILABLE: { status: 503, title: 'The access could not be logged, so no data is returned' },
} as const satisfies Record<string, { status: number; title: string }>

export type ErrorCode = keyof typeof ERRORS

/** One failing field: a JSON pointer into the request and a stable reason. */
export interface FieldProblem {
  pointer: string
  code: string
  message: string
}

/** An error the handler renders as problem+json with a stable code. */
export class AppError extends Error {
  readonly code: ErrorCode
  readonly status: number
  readonly errors: FieldProblem[] | undefined
  readonly headers: Record<string, string> | undefined

  constructor(code: ErrorCode, detail?: string, opts: { errors?: FieldProblem[]; headers?: Record<string, string> } = {}) {
    super(detail ?? ERRORS[code].title)
    this.code = code
    this.status = ERRORS[code].status
    this.errors = opts.errors
    this.headers = opts.headers
  }
}

export interface Problem {
  type: string
  title: string
  status: number
  detail: string
  code: ErrorCode
  instance: string
  requestId: string
  errors?: FieldProblem[]
}

export function problemType(code: ErrorCode): string {
  // Relative (RFC 9457 §3.1.1): it resolves on the service that answered, to a page naming the code (src/problems/).
  return `/problems/${code.toLowerCase().replaceAll('_', '-')}`
}

export function sendProblem(request: FastifyRequest, reply: FastifyReply, err: AppError): FastifyReply {
  const body: Problem = {
    type: problemType(err.code),
    title: ERRORS[err.code].title,
    status: err.status,
    // Details may echo client input: never let an ID number through.
    detail: maskPersonalData(err.message),
    code: err.code,
    // The path is client input too (an unknown route, an identifier): masked like the detail.
    instance: maskedPath(request.url),
    requestId: request.id,
  }
  // A pointer names client-chosen member names too (an unknown property, a bad key): masked as well.
  if (err.errors) body.errors = err.errors.map((e) => ({ ...e, pointer: maskPersonalData(e.pointer), message: maskPersonalData(e.message) }))
  if (err.headers) reply.headers(err.headers)
  return reply.code(err.status).type('application/problem+json').send(body)
}

/** Maps anything thrown (ours, Fastify's, a plugin's) onto the closed set. */
export function toAppError(err: FastifyError | AppError | Error, request?: FastifyRequest): AppError {
  if (err instanceof AppError) return err
  // An outage, a timeout or a server shutting down: the same request may succeed in a moment.
  if (isDatabaseUnavailable(err)) return new AppError('DATABASE_UNAVAILABLE', undefined, { headers: { 'retry-after': '1' } })
  const fe = err as FastifyError
  if (fe.validation) {
    const where = fe.validationContext ?? 'body'
    const input = request ? (request as unknown as Record<string, unknown>)[where] : undefined
    const errors = oneBranchOfAnyOf(fe.validation, input).map((v) => ({
      pointer: `/${where}${v.instancePath}${missingProperty(v.params)}`,
      code: String(v.keyword),
      message: v.message ?? 'is invalid',
    }))
    return new AppError('VALIDATION_FAILED', `${errors.length} field(s) failed validation`, { errors })
  }
  switch (fe.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return invalidJson(err)
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new AppError('INVALID_JSON', 'The body is empty: send a JSON object, or no Content-Type: application/json')
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new AppError('PAYLOAD_TOO_LARGE')
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE': {
      const sent = request?.headers['content-type']
      const what = typeof sent === 'string' && sent !== '' ? `Content-Type: ${sent.slice(0, 100)}` : 'no Content-Type'
      return new AppError('UNSUPPORTED_MEDIA_TYPE', `Send the body as JSON with Content-Type: application/json; this request sent ${what}`)
    }
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new AppError('UNSUPPORTED_MEDIA_TYPE')
    case 'FST_ERR_BAD_URL':
      return new AppError('INVALID_URL', 'The URL is not valid percent-encoded UTF-8')
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return new AppError('URI_TOO_LONG')
  }
  if (fe.statusCode === 429) return new AppError('RATE_LIMITED', 'Rate limit exceeded, retry later')
  if (fe.statusCode === 400 && err instanceof SyntaxError) return invalidJson(err)
  // Any other client error a plugin raises keeps its status under one of our codes, never a 500.
  const byStatus = CLIENT_ERRORS[fe.statusCode ?? (err as { status?: number }).status ?? 500]
  return new AppError(byStatus ?? 'INTERNAL_ERROR')
}

/** INVALID_JSON naming where the body stops being JSON (the parser's own message quotes the text there, maybe an ID number). */
function invalidJson(err: Error): AppError {
  const at = (err as Error & { jsonPosition?: { line: number; column: number } }).jsonPosition
  if (at) return new AppError('INVALID_JSON', `The request body is not valid JSON at line ${at.line}, column ${at.column}`)
  return new AppError('INVALID_JSON', 'The request body is not valid JSON, or names __proto__ or constructor.prototype, which are refused')
}

const CLIENT_ERRORS: Partial<Record<number, ErrorCode>> = {
  400: 'MALFORMED_REQUEST',
  401: 'AUTH_REQUIRED',
  403: 'FORBIDDEN',
  404: 'ROUTE_NOT_FOUND',
  405: 'METHOD_NOT_ALLOWED',
  408: 'REQUEST_TIMEOUT',
  413: 'PAYLOAD_TOO_LARGE',
  414: 'URI_TOO_LONG',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  429: 'RATE_LIMITED',
  431: 'HEADERS_TOO_LARGE',
}

/** Errors Fastify raises before routing (bad percent-encoding, an over-long path segment). */
export function frameworkErrors(err: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  request.log.info({ code: err.code }, 'request rejected before routing')
  // No hook runs for these, so the request id the problem names is set here.
  reply.header('x-request-id', request.id)
  void sendProblem(request, reply, toAppError(err))
}

// Node's HTTP parser answers these before Fastify sees a request.
const PARSER_ERRORS: Record<string, ErrorCode> = {
  HPE_HEADER_OVERFLOW: 'HEADERS_TOO_LARGE',
  ERR_HTTP_REQUEST_TIMEOUT: 'REQUEST_TIMEOUT',
  ERR_HTTP_REQUEST_HEADERS_TIMEOUT: 'REQUEST_TIMEOUT',
}

/**
 * The raw server's `clientError`: a request line or headers Node could not parse (431, 408, 400)
 * still gets a problem+json answer with a stable code, then the connection is closed. There is no
 * request yet, so no route and no request id of Fastify's: the problem carries a fresh one.
 */
export function clientErrorHandler(this: FastifyInstance, err: Error & { code?: string }, socket: Duplex): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return
  const code = PARSER_ERRORS[err.code ?? ''] ?? 'MALFORMED_REQUEST'
  const requestId = randomUUID()
  this.log.info({ code, parserCode: err.code, requestId }, 'client error')
  // Never write into a response that has already started on this connection.
  const inFlight = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage
  if (socket.writable && !inFlight?.headersSent) {
    const { status, title } = ERRORS[code]
    const body = JSON.stringify({ type: problemType(code), title, status, detail: title, code, instance: '/', requestId } satisfies Problem)
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Bad Request'}\r\nContent-Type: application/problem+json; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nx-request-id: ${requestId}\r\nConnection: close\r\n\r\n${body}`,
    )
  }
  socket.destroy()
}

const STATUS_TEXT: Record<number, string> = { 400: 'Bad Request', 408: 'Request Timeout', 431: 'Request Header Fields Too Large' }

/**
 * A path with a `.` or `..` segment (raw or percent-encoded, `/` or `\\` separated) names no
 * resource of ours; a static file server below would otherwise treat it as traversal (403, once 500).
 */
function hasDotSegment(url: string): boolean {
  const path = url.split('?')[0] ?? ''
  let decoded: string
  try {
    decoded = decodeURIComponent(path)
  } catch {
    return false
  }
  return decoded.split(/[\\/]/).some((segment) => segment === '.' || segment === '..')
}

type SchemaError = NonNullable<FastifyError['validation']>[number] & { schemaPath?: string }

function valueAt(input: unknown, pointer: string): unknown {
  let v = input
  for (const part of pointer.split('/').slice(1)) {
    const key = part.replaceAll('~1', '/').replaceAll('~0', '~')
    v = v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[key] : undefined
  }
  return v
}

/**
 * A body that matches none of an anyOf's forms gets every branch's errors from ajv (ten for
 * /v1/verify), which bury the one that matters. Keep the branch the body meant: the one that
 * claims most of its keys (a key is not claimed where the branch calls it an additional
 * property), then the one with fewest errors. When the body claims no form at all, one error
 * lists the forms by their required properties.
 */
function oneBranchOfAnyOf(all: SchemaError[], input: unknown): SchemaError[] {
  const anyOf = all.filter((e) => e.keyword === 'anyOf' && typeof e.schemaPath === 'string').sort((a, b) => a.schemaPath!.length - b.schemaPath!.length)[0]
  if (anyOf === undefined) return all
  const prefix = `${anyOf.schemaPath}/`
  const inside = (e: SchemaError) => e.schemaPath?.startsWith(prefix) === true
  const branches = new Map<string, SchemaError[]>()
  for (const e of all.filter(inside)) {
    const index = e.schemaPath!.slice(prefix.length).split('/')[0]!
    branches.set(index, [...(branches.get(index) ?? []), e])
  }
  const value = valueAt(input, anyOf.instancePath)
  const keys = value !== null && typeof value === 'object' && !Array.isArray(value) ? Object.keys(value) : []
  const claimed = (errors: SchemaError[]) =>
    keys.filter((k) => !errors.some((e) => e.keyword === 'additionalProperties' && e.instancePath === anyOf.instancePath && (e.params as { additionalProperty?: string }).additionalProperty === k)).length
  const ranked = [...branches.values()].map((errors) => ({ errors, claimed: claimed(errors) })).sort((a, b) => b.claimed - a.claimed || a.errors.length - b.errors.length)
  const outside = all.filter((e) => e !== anyOf && !inside(e))
  const best = ranked[0]
  if (best !== undefined && best.claimed > 0) return [...outside, ...oneBranchOfAnyOf(best.errors, input)]
  const forms = ranked
    .map(({ errors }) => errors.filter((e) => e.keyword === 'required' && e.instancePath === anyOf.instancePath).map((e) => (e.params as { missingProperty?: string }).missingProperty))
    .filter((required) => required.length > 0)
    .map((required) => `{${required.join(', ')}}`)
  const message = forms.length > 0 ? `must be one of the forms ${[...new Set(forms)].sort().join(', ')}` : (anyOf.message ?? 'matches none of the allowed forms')
  return [...outside, { ...anyOf, message }]
}

function missingProperty(params: Record<string, unknown> | undefined): string {
  const p = params?.missingProperty ?? params?.additionalProperty
  return typeof p === 'string' ? `/${p.replaceAll('~', '~0').replaceAll('/', '~1')}` : ''
}

/** Installs the one error handler and the not-found handler (404, or 405 with Allow). */
export function installErrorHandlers(app: FastifyInstance): void {
  const routes: { pattern: RegExp; method: string }[] = []
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method]
    const pattern = new RegExp(
      '^' + route.url.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/:[^/]+/g, '[^/]+').replace(/\*/g, '.*') + '/?$',
    )
    for (const method of methods) routes.push({ pattern, method })
  })

  app.addHook('onRequest', async (request) => {
    if (hasDotSegment(request.url)) throw new AppError('ROUTE_NOT_FOUND')
  })

  // Fastify's own JSON parser (same proto and constructor poisoning checks), which also notes
  // where a body stops being JSON, so INVALID_JSON can name the line and column.
  const parseJson = app.getDefaultJsonParser('error', 'error')
  app.removeContentTypeParser('application/json')
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    parseJson(request, body as string, (err: Error | null, value?: unknown) => {
      if (err !== null && (err as FastifyError).code === 'FST_ERR_CTP_INVALID_JSON_BODY') Object.assign(err, { jsonPosition: jsonErrorPosition(body as string) })
      done(err, value)
    })
  })

  app.setErrorHandler((err: FastifyError, request, reply) => {
    const appError = toAppError(err, request)
    if (appError.status >= 500) {
      // Log the cause for operators; the client only ever sees the generic title.
      // The stack repeats the message, which may quote the request's path or values.
      request.log.error({ err: { type: err.name, code: fe(err), message: maskPersonalData(err.message), stack: maskPersonalData(err.stack ?? '') } }, 'request failed')
    } else {
      request.log.info({ code: appError.code, status: appError.status }, 'request rejected')
    }
    return sendProblem(request, reply, appError)
  })

  // Unknown routes are answered in preParsing, after the onRequest hooks and before a byte of
  // the body is read: nobody can make the service buffer a body that no route will take.
  app.addHook('preParsing', async (request, reply) => {
    if (request.is404) notFound(request, reply)
  })
  app.setNotFoundHandler((request, reply) => notFound(request, reply))

  function notFound(request: FastifyRequest, reply: FastifyReply): FastifyReply {
    const path = request.url.split('?')[0] ?? '/'
    const allowed = [...new Set(routes.filter((r) => r.pattern.test(path)).map((r) => r.method))]
    if (allowed.length > 0) {
      return sendProblem(request, reply, new AppError('METHOD_NOT_ALLOWED', `Allowed: ${allowed.join(', ')}`, { headers: { allow: allowed.join(', ') } }))
    }
    return sendProblem(request, reply, new AppError('ROUTE_NOT_FOUND'))
  }
}

function fe(err: Error): string | undefined {
  return (err as FastifyError).code
}
