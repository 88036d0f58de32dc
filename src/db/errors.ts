import { QUERY_TIMEOUT } from './bounded.js'
import { NO_ANSWER } from './watchdog.js'

// The driver's own connection failures, the network's, and the watchdog's.
const CONNECTION_CODES = new Set([
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
  'CONNECT_TIMEOUT',
  NO_ANSWER,
  QUERY_TIMEOUT,
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
])

// SQLSTATEs that say "not now" rather than "not this": the same request may succeed later.
const UNAVAILABLE_STATES = new Set([
  '57014', // query_canceled: statement_timeout
  '55P03', // lock_not_available: lock_timeout
  '25P03', // idle_in_transaction_session_timeout
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now (starting up, recovering)
  '53300', // too_many_connections
])

/**
 * True when `err` (or an error it wraps: drizzle puts the driver's error in `cause`) means the
 * database is unreachable, shutting down or too slow: the caller gets 503, not 500.
 */
export function isDatabaseUnavailable(err: unknown): boolean {
  for (let e = err, depth = 0; e && typeof e === 'object' && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code
    if (typeof code !== 'string') continue
    if (CONNECTION_CODES.has(code) || UNAVAILABLE_STATES.has(code) || code.startsWith('08')) return true
  }
  return false
}

/** True when `err` (or the driver error drizzle wraps) is a unique-constraint violation. */
export function isUniqueViolation(err: unknown): boolean {
  for (let e = err, depth = 0; e && typeof e === 'object' && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if ((e as { code?: unknown }).code === '23505') return true
  }
  return false
}

/**
 * True when `err` (or the driver error drizzle wraps) says the database refused a value: SQLSTATE
 * class 22 (a data exception, a division by zero included) or 54 (a limit exceeded, such as an
 * index row too large).
 */
export function isDataError(err: unknown): boolean {
  for (let e = err, depth = 0; e && typeof e === 'object' && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code
    if (typeof code === 'string' && /^(22|54)[0-9A-Z]{3}$/.test(code)) return true
  }
  return false
}
