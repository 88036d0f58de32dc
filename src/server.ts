import closeWithGrace from 'close-with-grace'
import cluster from 'node:cluster'
import pino from 'pino'
import { buildApp } from './app.js'
import { remoteTransparencyLog, startPrimary } from './cluster.js'
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
  // WORKERS > 1 (PostgreSQL): this process starts the workers and appends the Merkle log for them.
  const worker = cluster.isWorker && process.env.ZHENGZHAO_WORKER === '1'
  if (!worker && config.workers > 1) {
    const log = pino({ level: config.logLevel })
    if (config.usingExampleKeys) {
      process.stderr.write(DEV_KEYS_BANNER)
      log.warn({ keyFiles: config.auth.keyFiles }, 'running on the development keys from keys.example/: not for production')
    }
    const primary = await startPrimary(config, log)
    closeWithGrace({ delay: 15_000 }, async ({ signal, err }) => {
      if (err) log.error({ err }, 'closing after an uncaught error')
      else log.info({ signal }, 'closing: stopping the workers')
      await primary.close()
    })
    return
  }
  let app
  try {
    app = await buildApp(config, worker ? { migrate: false, transparencyLog: (db) => remoteTransparencyLog(config, db) } : {})
  } catch (err) {
    // Another process has the embedded database open: an environment error, not a crash.
    if (err instanceof DataDirLockedError) {
      process.stderr.write(`zhengzhao: cannot start: ${err.message}\n`)
      process.exit(2)
    }
    throw err
  }
  // A worker whose primary is gone stops taking requests: nothing could be logged any more.
  if (worker) process.once('disconnect', () => void app.close().finally(() => process.exit(1)))
  if (config.usingExampleKeys && !worker) {
    process.stderr.write(DEV_KEYS_BANNER)
    app.log.warn({ keyFiles: config.auth.keyFiles }, 'running on the development keys from keys.example/: not for production')
  }
  if (config.database.url) app.log.info('database: PostgreSQL (DATABASE_URL)')
  // PGlite writes through to the operating system before a commit returns, so a killed process
  // loses nothing acknowledged; but its file system never asks the disk to flush (no fsync call
  // reaches the kernel, even with fsync=on: strace), so a power loss or an OS crash can.
  else app.log.warn({ dataDir: config.database.dataDir }, 'database: embedded PGlite, which survives a killed process but not a power loss or an operating-system crash (it never flushes to disk); set DATABASE_URL to use a PostgreSQL server')

  closeWithGrace({ delay: 10_000 }, async ({ signal, err }) => {
    if (err) app.log.error({ err }, 'closing after an uncaught error')
    else app.log.info({ signal }, 'closing')
    await app.close()
  })
  await app.listen({ host: config.host, port: config.port })
}

await start()
