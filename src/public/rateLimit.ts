import type { Config } from '../config.js'

/**
 * Anonymous callers get a tenth of the API's per-client limit (at least one request a window).
 * A code is 160 random bits, so the limit is not what keeps codes secret: it keeps one client from
 * loading the service through routes that need no token.
 */
export function publicRateLimit(config: Pick<Config, 'rateLimit'>) {
  return { max: Math.max(1, Math.ceil(config.rateLimit.max / 10)), timeWindow: config.rateLimit.windowMs }
}
