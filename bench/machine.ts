// What the numbers were measured on.
import { readFileSync } from 'node:fs'
import { availableParallelism, release, totalmem } from 'node:os'
import postgres from 'postgres'

export interface Machine {
  cpus: number
  cpuModel: string
  memoryGiB: number
  kernel: string
  node: string
  database: string
}

function cpuModel(): string {
  try {
    return /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim() ?? 'unknown'
  } catch {
    return 'unknown'
  }
}

async function databaseVersion(url: string | undefined): Promise<string> {
  if (!url) {
    const pkg = JSON.parse(readFileSync(new URL('../node_modules/@electric-sql/pglite/package.json', import.meta.url), 'utf8')) as { version: string }
    return `PGlite ${pkg.version} (embedded, in the service's process)`
  }
  const sql = postgres(url, { max: 1, onnotice: () => {} })
  try {
    const [row] = await sql<{ v: string; sb: string; mwm: string }[]>`
      select current_setting('server_version') as v, current_setting('shared_buffers') as sb, current_setting('max_wal_size') as mwm`
    return `PostgreSQL ${row!.v} on 127.0.0.1 (shared_buffers ${row!.sb}, max_wal_size ${row!.mwm}, otherwise defaults)`
  } finally {
    await sql.end({ timeout: 5 })
  }
}

export async function describeMachine(databaseUrl: string | undefined): Promise<Machine> {
  return {
    cpus: availableParallelism(),
    cpuModel: cpuModel(),
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    kernel: `Linux ${release()}`,
    node: process.version,
    database: await databaseVersion(databaseUrl),
  }
}
