import type { Sql } from 'postgres'

/** The error a query fails with when it gets no answer in time: mapped to 503. */
export const QUERY_TIMEOUT = 'DATABASE_QUERY_TIMEOUT'

/**
 * The pool as drizzle uses it (`unsafe` for statements, `begin` for transactions), with every
 * statement and every wait for a transaction's connection bounded by `ms`.
 *
 * Why, on top of the server's statement_timeout and the socket watchdog: a query queued for a
 * connection waits for the pool, and in an outage the pool hands out one reconnection attempt
 * at a time, so the tenth request in line would wait ten connect timeouts. A statement inside a
 * transaction runs on that transaction's connection, which the watchdog guards; the whole
 * transaction is not bounded here, only its wait to start.
 */
export function boundedPool(sql: Sql, ms: number): Sql {
  return new Proxy(sql, {
    get(target, prop, receiver) {
      if (prop === 'unsafe') return (...args: Parameters<Sql['unsafe']>) => boundedQuery(target.unsafe(...preparedArgs(args)), ms)
      if (prop === 'begin') return (...args: unknown[]) => boundedBegin(target, args, ms)
      return Reflect.get(target, prop, receiver)
    },
  })
}

/**
 * Statements with at most this many parameters are prepared on the server, once per connection.
 * More parameters mean a statement whose text varies with its input (a list of values, a batch of
 * rows): preparing each variant would only fill every session with statements used once.
 */
export const PREPARE_MAX_PARAMETERS = 64

/**
 * drizzle asks the driver for an unnamed statement unless a query is given a name. For a statement
 * with parameters the driver then makes two round trips every time (Parse and Describe, to learn
 * the parameters' types, then Bind and Execute), and PostgreSQL parses and plans it again. A named
 * statement costs that once per connection; afterwards one round trip (Bind, Execute) runs the
 * plan PostgreSQL kept. The driver caches statements by their text and types, re-prepares one
 * after a schema change, and forgets them with their connection (max_lifetime).
 */
function preparedArgs(args: Parameters<Sql['unsafe']>): Parameters<Sql['unsafe']> {
  const [query, parameters, options] = args
  if ((parameters?.length ?? 0) > PREPARE_MAX_PARAMETERS || (options as { simple?: boolean } | undefined)?.simple) return args
  return [query, parameters, { ...options, prepare: true }]
}

/** A transaction's own connection, whose statements are prepared as the pool's are. */
function preparing(tx: Sql): Sql {
  return new Proxy(tx, {
    get(target, prop, receiver) {
      if (prop === 'unsafe') return (...args: Parameters<Sql['unsafe']>) => target.unsafe(...preparedArgs(args))
      return Reflect.get(target, prop, receiver)
    },
  })
}

type Query = ReturnType<Sql['unsafe']> & { state?: unknown }

/** The query, awaited with a deadline; its chainable modifiers (`values()`…) keep the deadline. */
function boundedQuery(query: Query, ms: number): Query {
  const wrapped: Query = new Proxy(query, {
    get(target, prop) {
      if (prop === 'then') {
        return (ok?: (v: unknown) => unknown, ko?: (e: unknown) => unknown) => deadline(target, ms, () => {
          // Still queued for a connection: take it out of the queue so it never runs late.
          if (!target.state) void target.cancel()
        }).then(ok, ko)
      }
      const value = Reflect.get(target, prop, target) as unknown
      if (typeof value !== 'function') return value
      return (...args: unknown[]) => {
        const result = (value as (...a: unknown[]) => unknown).apply(target, args)
        return result === target ? wrapped : result
      }
    },
  })
  return wrapped
}

function boundedBegin(sql: Sql, args: unknown[], ms: number): Promise<unknown> {
  const fn = args.at(-1) as (tx: unknown) => unknown
  let started = false
  let abandoned = false
  const guarded = (tx: unknown) => {
    // Too late: the caller was already told the database is unavailable; roll back.
    if (abandoned) throw timeoutError(ms)
    started = true
    return fn(preparing(tx as Sql))
  }
  const run = (sql.begin as (...a: unknown[]) => Promise<unknown>)(...args.slice(0, -1), guarded)
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      if (started) return
      abandoned = true
      reject(timeoutError(ms))
    }, ms)
    run.then(
      (v) => (clearTimeout(timer), resolve(v)),
      (e) => (clearTimeout(timer), reject(e)),
    )
  })
}

function deadline<T>(p: PromiseLike<T>, ms: number, onTimeout: () => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      onTimeout()
      reject(timeoutError(ms))
    }, ms)
    p.then(
      (v) => (clearTimeout(timer), resolve(v)),
      (e) => (clearTimeout(timer), reject(e)),
    )
  })
}

function timeoutError(ms: number): Error {
  return Object.assign(new Error(`the database did not answer within ${ms} ms`), { code: QUERY_TIMEOUT })
}
