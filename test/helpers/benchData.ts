import { readFileSync } from 'node:fs'
import type { RunReport } from '../../bench/report.js'

/**
 * A real PostgreSQL run's data, as docs/benchmarks.md carries it: the first section's run on
 * PostgreSQL. Sections are ordered by database name, so the first one in the file may be a PGlite
 * run, whose labels the report tests do not expect.
 */
export function committedPostgresRun(): RunReport {
  const committed = readFileSync(new URL('../../docs/benchmarks.md', import.meta.url), 'utf8')
  for (const [, data] of committed.matchAll(/<!-- bench-data (\S+) -->/g)) {
    const run = JSON.parse(Buffer.from(data!, 'base64').toString('utf8')) as RunReport
    if (run.database === 'postgres') return run
  }
  throw new Error('docs/benchmarks.md carries no PostgreSQL run')
}
