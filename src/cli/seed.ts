import type { Command } from 'commander'
import { seedExampleCatalogue } from '../types/seed.js'
import { describeMigrations, migrate, withDatabase } from './migrate.js'
import { printJson, type CliIo } from './io.js'

export function registerSeedCommand(program: Command, io: CliIo): void {
  program
    .command('seed')
    .description('apply pending migrations, then load the example catalogue of certificate types')
    .option('--json', 'print the result as JSON')
    .addHelpText(
      'after',
      `
Types that exist already are left as they are, so seeding again is harmless.
Reads the same environment as the service (DATABASE_URL or DATA_DIR).

Examples:
  $ zhengzhao seed
  $ DATA_DIR=./data zhengzhao seed --json`,
    )
    .action(async (opts: { json?: boolean }) => {
      const result = await withDatabase(io, async (database) => {
        const migrations = await migrate(database)
        const catalogue = await seedExampleCatalogue(database.db)
        return { ...catalogue, migrations }
      })
      if (opts.json) return printJson(io, result)
      io.stdout(`${describeMigrations(result.migrations)}\nExample catalogue: ${result.created} type(s) created, ${result.unchanged} unchanged.\n`)
    })
}
