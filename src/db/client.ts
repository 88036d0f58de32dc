import { mkdirSync } from 'node:fs'
import { PGlite } from '@electric-sql/pglite'
import postgres from 'postgres'
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite'
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js'
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core'
import type { SQL } from 'drizzle-orm'
import * as schema from './schema.js'

export type Db = PgDatabase<PgQueryResultHKT, typeof schema>

/**
 * Rows of a raw statement on either driver: postgres.js answers an array of rows, PGlite a
 * result object holding them. Column names come back as written in the SQL (snake_case).
 */
export async function rowsOf<T>(db: Pick<Db, 'execute'>, query: SQL): Promise<T[]> {
  const result = (await db.execute(query)) as unknown as T[] | { rows: T[] }
  return Array.isArray(result) ? result : result.rows
}

/** Raw SQL on one dedicated connection: what migrations and advisory locks need. */
export interface SqlSession {
  query<T = Record<string, unknown>>(text: string, params?: unknown[]): Promise<T[]>
  release(): Promise<void>
}

export interface Database {
  kind: 'pglite' | 'postgres'
  db: Db
  /** Resolves when the database answers a trivial query within `timeoutMs`. */
  ping(timeoutMs?: number): Promise<void>
  /** A dedicated connection, released by the caller. */
  session(): Promise<SqlSession>
  close(): Promise<void>
}

export interface DatabaseOptions {
  /** `postgres://…`: a PostgreSQL server. Absent: embedded PGlite. */
  url?: string | undefined
  /** PGlite data folder; absent means in memory (tests). */
  dataDir?: string | undefined
  /** postgres pool size. */
  poolSize?: number
}

export async function openDatabase(opts: DatabaseOptions): Promise<Database> {
  return opts.url ? openPostgres(opts.url, opts.poolSize ?? 10) : openPglite(opts.dataDir)
}

async function openPglite(dataDir: string | undefined): Promise<Database> {
  if (dataDir && !dataDir.startsWith('memory://')) mkdirSync(dataDir, { recursive: true })
  const pg = new PGlite(dataDir)
  await pg.waitReady
  const db = drizzlePglite(pg, { schema }) as unknown as Db
  let sessionTail = Promise.resolve()
  return {
    kind: 'pglite',
    db,
    ping: (timeoutMs = 2000) => withTimeout(pg.query('select 1').then(() => undefined), timeoutMs),
    // PGlite is one connection: sessions take turns on it, so one session's BEGIN…COMMIT and
    // advisory lock are not interleaved with another's.
    session: async () => {
      const previous = sessionTail
      let release!: () => void
      sessionTail = new Promise<void>((resolve) => (release = resolve))
      await previous
      return {
        query: async <T>(text: string, params?: unknown[]) =>
          params ? ((await pg.query(text, params)).rows as T[]) : (((await pg.exec(text)).at(-1)?.rows ?? []) as T[]),
        release: async () => release(),
      }
    },
    close: () => pg.close(),
  }
}

async function openPostgres(url: string, max: number): Promise<Database> {
  const sql = postgres(url, {
    max,
    connect_timeout: 5,
    onnotice: () => {},
    // Keep the driver quiet: connection errors surface through queries and /readyz.
    connection: { application_name: 'zhengzhao' },
  })
  const db = drizzlePostgres(sql, { schema }) as unknown as Db
  return {
    kind: 'postgres',
    db,
    ping: (timeoutMs = 2000) => withTimeout(sql`select 1`.then(() => undefined), timeoutMs),
    session: async () => {
      const reserved = await sql.reserve()
      return {
        query: async <T>(text: string, params?: unknown[]) =>
          (await reserved.unsafe(text, (params ?? []) as postgres.ParameterOrJSON<never>[])) as unknown as T[],
        release: async () => reserved.release(),
      }
    },
    close: () => sql.end({ timeout: 5 }),
  }
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`database did not answer within ${ms} ms`)), ms)
  })
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer))
}
