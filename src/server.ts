import closeWithGrace from 'close-with-grace'
import { buildApp } from './app.js'
import { ConfigError, loadConfig } from './config.js'
import { DataDirLockedError } from './db/lock.js'

const DEV_KEYS_BANNER = `
!!! ============================================================================ !!!
!!!  DEVELOPMENT KEYS: tokens are verified with the public keys in keys.example/, !!!
!!!  whose private halves are published in the repository. Anyone can mint an    !!!
!!!  admin token. Never expose this instance; set AUTH_KEYS for real use.        !!!
!!! ============================================================================ !!!
`

async function start(): Promise<void> {
  let config
  try {
    config = await loadConfig()
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`)
      process.exit(2)
    }
    throw err
  }
  let app
  try {
    app = await buildApp(config)
  } catch (err) {
    // Another process has the embedded database open: an environment error, not a crash.
    if (err instanceof DataDirLockedError) {
      process.stderr.write(`zhengzhao: cannot start: ${err.message}\n`)
      process.exit(2)
    }
    throw err
  }
  if (config.usingExampleKeys) {
    process.stderr.write(DEV_KEYS_BANNER)
    app.log.warn({ keyFiles: config.auth.keyFiles }, 'running on the development keys from keys.example/: not for production')
  }
  if (config.database.url) app.log.info('database: PostgreSQL (DATABASE_URL)')
  else app.log.warn({ dataDir: config.database.dataDir }, 'database: embedded PGlite; set DATABASE_URL to use a PostgreSQL server')

  closeWithGrace({ delay: 10_000 }, async ({ signal, err }) => {
    if (err) app.log.error({ err }, 'closing after an uncaught error')
    else app.log.info({ signal }, 'closing')
    await app.close()
  })
  await app.listen({ host: config.host, port: config.port })
}

await start()
