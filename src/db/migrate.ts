import { fileURLToPath } from 'node:url'
import { readMigrationFiles, type MigrationMeta } from 'drizzle-orm/migrator'
import type { Database } from './client.js'

/** The drizzle-kit SQL files shipped with the code. */
export const MIGRATIONS_FOLDER = fileURLToPath(new URL('../../migrations', import.meta.url))

// One fixed key for pg_advisory_lock: every replica that starts at once queues on it, so only
// one applies migrations and the others find them applied.
const MIGRATION_LOCK_KEY = 7_104_411_302

// The bookkeeping table drizzle-kit and drizzle-orm's own migrator use, so the tools agree.
const JOURNAL = 'drizzle.__drizzle_migrations'

export function loadMigrations(folder = MIGRATIONS_FOLDER): MigrationMeta[] {
  return readMigrationFiles({ migrationsFolder: folder })
}

export interface MigrationResult {
  applied: string[]
  alreadyApplied: number
}

/**
 * Applies pending migrations under an advisory lock, each in its own transaction. drizzle's own
 * migrator reads the journal outside its transaction, so two replicas could both apply: this one
 * takes the lock first, on one dedicated connection.
 */
export async function runMigrations(database: Database, migrations = loadMigrations()): Promise<MigrationResult> {
  const s = await database.session()
  try {
    await s.query('select pg_advisory_lock($1)', [MIGRATION_LOCK_KEY])
    try {
      await s.query('create schema if not exists drizzle')
      await s.query(`create table if not exists ${JOURNAL} (id serial primary key, hash text not null, created_at bigint)`)
      const [last] = await s.query<{ created_at: string | null }>(`select max(created_at)::text as created_at from ${JOURNAL}`, [])
      const lastMillis = Number(last?.created_at ?? 0)
      const pending = migrations.filter((m) => m.folderMillis > lastMillis)
      const applied: string[] = []
      for (const m of pending) {
        await s.query('begin')
        try {
          for (const stmt of m.sql) if (stmt.trim()) await s.query(stmt)
          await s.query(`insert into ${JOURNAL} (hash, created_at) values ($1, $2)`, [m.hash, m.folderMillis])
          await s.query('commit')
        } catch (err) {
          await s.query('rollback')
          throw err
        }
        applied.push(m.hash.slice(0, 12))
      }
      return { applied, alreadyApplied: migrations.length - pending.length }
    } finally {
      await s.query('select pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY])
    }
  } finally {
    await s.release()
  }
}

/** True when every shipped migration is recorded as applied. */
export async function migrationsApplied(database: Database, migrations = loadMigrations()): Promise<boolean> {
  const latest = Math.max(0, ...migrations.map((m) => m.folderMillis))
  const s = await database.session()
  try {
    const [row] = await s.query<{ created_at: string | null; present: boolean }>(
      `select to_regclass('${JOURNAL}') is not null as present, null::text as created_at`,
      [],
    )
    if (!row?.present) return false
    const [last] = await s.query<{ created_at: string | null }>(`select max(created_at)::text as created_at from ${JOURNAL}`, [])
    return Number(last?.created_at ?? 0) >= latest
  } finally {
    await s.release()
  }
}
