import { readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { buildApp } from './app.js'
import { loadConfig } from './config.js'
import { openDatabase } from './db/client.js'

export const OPENAPI_FILE = fileURLToPath(new URL('../openapi.yaml', import.meta.url))

/** The OpenAPI document the route schemas describe, as YAML. Needs no database content. */
export async function generateOpenApi(): Promise<string> {
  const config = await loadConfig({ NODE_ENV: 'test', DATA_DIR: 'memory://', SEED_EXAMPLES: 'false', LOG_LEVEL: 'silent' })
  const database = await openDatabase({ dataDir: 'memory://' })
  const app = await buildApp(config, { database, migrate: false })
  try {
    await app.ready()
    return app.swagger({ yaml: true })
  } finally {
    await app.close()
    await database.close()
  }
}

// `npm run openapi` writes openapi.yaml; `--check` exits 1 when the committed file is stale.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const spec = await generateOpenApi()
  if (process.argv.includes('--check')) {
    const current = readFileSync(OPENAPI_FILE, 'utf8')
    if (current !== spec) {
      process.stderr.write('openapi.yaml is out of date: run `npm run openapi`\n')
      process.exit(1)
    }
  } else {
    writeFileSync(OPENAPI_FILE, spec)
    process.stdout.write(`wrote ${OPENAPI_FILE}\n`)
  }
}
