// A rung of `npm run bench -- --ladder`, between the bare baseline and the service: the service
// itself (the same app, routes, token, grants, decryption, validation and serialisation, built
// by buildApp from the same compiled code), with one thing taken out: its Merkle log records
// nothing. An access event is neither written nor hashed into the tree nor covered by a signed
// checkpoint; the answer gets a receipt of the same shape and size, made of placeholder bytes
// (the latest real checkpoint's note, a proof as long as one into that tree, a leaf as long as
// the latest real one). What the service costs above this rung is the guarantee; what this rung
// costs above the bare baseline is an authenticated JSON API on this stack.
//
// Never a way to run the service: it starts only under the bench (ZHENGZHAO_BENCH_UNLOGGED=1),
// reads the database the service wrote and writes nothing to it (no migrations, no seed).
//
//   ZHENGZHAO_BENCH_UNLOGGED=1 PORT=3002 DATABASE_URL=… [UNLOGGED_FROM=/scratch/dist] node --import tsx bench/unlogged.ts
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import type { buildApp as BuildApp } from '../src/app.js'
import type { loadConfig as LoadConfig } from '../src/config.js'
import type { openDatabase as OpenDatabase } from '../src/db/client.js'
import { unloggedLog } from './unloggedLog.js'

if (process.env.ZHENGZHAO_BENCH_UNLOGGED !== '1') {
  process.stderr.write('bench/unlogged.ts answers lookups without logging them: it runs only under npm run bench -- --ladder\n')
  process.exit(2)
}

// The app from the compiled service (as the bench runs the service) when given, else from the
// TypeScript sources. The placeholder log itself is read once at start, so where it comes from
// does not matter.
const from = process.env.UNLOGGED_FROM ? pathToFileURL(join(process.env.UNLOGGED_FROM, '/')).href : new URL('../src/', import.meta.url).href
const load = async <T>(path: string): Promise<T> => (await import(new URL(path, from).href)) as T
const { buildApp } = await load<{ buildApp: typeof BuildApp }>('app.js')
const { loadConfig } = await load<{ loadConfig: typeof LoadConfig }>('config.js')
const { openDatabase } = await load<{ openDatabase: typeof OpenDatabase }>('db/client.js')

try {
  const config = await loadConfig()
  const database = await openDatabase(config.database)
  const log = await unloggedLog(config, database.db)
  const app = await buildApp(config, { database, migrate: false, transparencyLog: () => log })
  app.addHook('onClose', () => database.close())
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => void app.close().then(() => process.exit(0)))
  await app.listen({ host: config.host, port: config.port })
} catch (err) {
  process.stderr.write(`bench/unlogged.ts: ${(err as Error).stack ?? String(err)}\n`)
  process.exit(1)
}
