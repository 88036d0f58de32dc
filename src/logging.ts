import { pino, destination, type Logger, type DestinationStream } from 'pino'
import type { FastifyRequest } from 'fastify'
import { maskIdNumbersIn } from './ids/index.js'

/** Masks every national ID number in a text: `110105********002X`. */
export const maskPersonalData = maskIdNumbersIn

/**
 * The path of a URL without its query, with ID numbers masked, also when they were
 * percent-encoded (`%31%31%30…` is the same ID number to anyone who decodes it), and
 * verification codes replaced by `***`.
 */
export function maskedPath(url: string): string {
  // A verification code is a bearer secret (it shows a holder's masked name and status): logs
  // and problem details keep the route, never the code.
  // A presentation token (亮证) is one too, for its few minutes: the whole certificate.
  const path = (url.split('?')[0] || '/').replace(/^(\/v\/|\/v1\/public\/verification\/|\/s\/|\/v1\/public\/presentations\/)[^/]+/, '$1***')
  let decoded = path
  try {
    decoded = decodeURIComponent(path)
  } catch {
    // Not valid percent-encoding: mask what is there.
  }
  return maskIdNumbersIn(decoded) === decoded ? maskIdNumbersIn(path) : maskIdNumbersIn(decoded)
}

// Headers worth logging; everything else (authorization, cookies, custom headers that may carry
// personal data) stays out of the log.
const LOGGED_HEADERS = ['user-agent', 'content-type', 'content-length', 'x-request-id', 'x-forwarded-for'] as const

// Personal fields wherever they appear in a logged object. Bodies are never logged, but a
// developer's `log.info({ holder })` must not leak either.
const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  'authorization',
  'holder',
  'idNumber',
  'name',
  'body',
  '*.holder',
  '*.idNumber',
  '*.id_number',
  '*.name',
  '*.body',
  '*.authorization',
]

export function createLogger(level: string, stream?: DestinationStream): Logger {
  return pino(
    {
      level,
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      serializers: {
        req: (req: FastifyRequest) => ({
          method: req.method,
          // Routes carry no personal data by design, but a caller may still put an ID number in a
          // path (an unknown route, a mistyped identifier); the query string is dropped anyway.
          url: maskedPath(req.url),
          remoteAddress: req.ip,
          headers: pickHeaders(req.headers),
        }),
        res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
      },
      hooks: {
        // Last line of defence: mask ID numbers in any string message.
        logMethod(args, method) {
          const masked = args.map((a) => (typeof a === 'string' ? maskPersonalData(a) : a)) as Parameters<typeof method>
          method.apply(this, masked)
        },
      },
    },
    stream ?? destination(1),
  )
}

function pickHeaders(headers: FastifyRequest['headers']): Record<string, string> {
  const out: Record<string, string> = {}
  for (const name of LOGGED_HEADERS) {
    const value = headers[name]
    if (typeof value === 'string') out[name] = maskPersonalData(value)
  }
  return out
}
