import type { Command } from 'commander'
import { ConfigError, loadConfig, type Config } from '../config.js'
import { openDatabase, type Database } from '../db/client.js'
import { runMigrations, type MigrationResult } from '../db/migrate.js'
import { CliError, EXIT_FAILED, printJson, usageError, type CliIo } from './io.js'

const CONNECT_TIMEOUT_MS = 10_000

export function registerMigrateCommand(program: Command, io: CliIo): void {
  program
    .command('migrate')
    .description('apply pending database migrations (the database the service is configured with)')
    .option('--json', 'print the result as JSON')
    .addHelpText(
      'after',
      `
Reads the same environment as the service: DATABASE_URL for PostgreSQL, otherwise the
embedded database in DATA_DIR (default ./data). Safe to run from several replicas at once.

Examples:
  $ zhengzhao migrate
  $ DATABASE_URL=postgres://zhengzhao@db:5432/zhengzhao zhengzhao migrate --json
  $ DATA_DIR=/var/lib/zhengzhao zhengzhao migrate`,
    )
    .action(async (opts: { json?: boolean }) => {
      const result = await withDatabase(io, (database) => migrate(database))
      if (opts.json) return printJson(io, result)
      io.stdout(`${describeMigrations(result)}\n`)
    })
}

export function describeMigrations(result: MigrationResult): string {
  return `Applied ${result.applied.length} migration(s); ${result.alreadyApplied} already applied.`
}

/** Runs pending migrations; a failing migration is the thing checked failing (exit 1). */
export async function migrate(database: Database): Promise<MigrationResult> {
  try {
    return await runMigrations(database)
  } catch (err) {
    throw new CliError(EXIT_FAILED, `migration failed: ${(err as Error).message}`)
  }
}

/**
 * Loads the configuration from the environment, opens the database it names and checks it
 * answers, runs `fn`, and closes the database whatever happens. Bad settings and an unreachable
 * database are environment errors (exit 2).
 */
export async function withDatabase<T>(io: CliIo, fn: (database: Database, config: Config) => Promise<T>): Promise<T> {
  let config: Config
  try {
    config = await loadConfig(io.env, io.cwd)
  } catch (err) {
    if (err instanceof ConfigError) throw usageError(err.message)
    throw err
  }
  const where = describeDatabase(config)
  let database: Database
  try {
    database = await openDatabase({ ...config.database, poolSize: 2 })
  } catch (err) {
    throw usageError(`cannot open the database (${where}): ${(err as Error).message}`)
  }
  try {
    await database.ping(CONNECT_TIMEOUT_MS).catch((err: Error) => {
      throw usageError(`cannot reach the database (${where}): ${err.message}`)
    })
    return await fn(database, config)
  } finally {
    await database.close().catch(() => {})
  }
}

/** Where the database is, without the password a DATABASE_URL may carry. */
function describeDatabase(config: Config): string {
  const { url, dataDir } = config.database
  if (!url) return `embedded PGlite in ${dataDir}`
  try {
    const u = new URL(url)
    return `PostgreSQL at ${u.hostname}${u.port ? `:${u.port}` : ''}${u.pathname}`
  } catch {
    return 'PostgreSQL (DATABASE_URL)'
  }
}
