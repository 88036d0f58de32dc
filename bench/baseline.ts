// The baseline of the lookup benchmark: a bare Fastify app, its own process, with one route that
// takes the body of POST /v1/lookup, computes the holder's blind index the same way (HMAC) and
// runs the same indexed point lookup as a prepared statement, returning the rows. No auth, no
// schema, no logging, no access event, no receipt, no decryption: the practical limit of an HTTP
// lookup on this stack.
//
//   PORT=3001 DATABASE_URL=postgres://… node --import tsx bench/baseline.ts
//   PORT=3001 DATA_DIR=/copy/of/pglite/folder node --import tsx bench/baseline.ts   (PGlite)
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import Fastify from 'fastify'
import postgres from 'postgres'
import { PGlite } from '@electric-sql/pglite'
import { EXAMPLE_KEYS_DIR } from '../src/config.js'
import { holderIndex, parseDataProtectionKeys } from '../src/crypto/dataProtection.js'

interface LookupBody {
  holder: { idType: string; id: string }
  typeCodes?: string[]
  purpose: { matterCode: string; reason: string }
}
type Row = Record<string, unknown> & { jws_cipher: Uint8Array }

// The certificate half of the service's lookup statement (granted_certificates_by_holder), same order.
const LOOKUP = 'select * from certificates where holder_index = $1 and type_code = any($2::text[]) order by type_code, issued_on, id'

const keys = parseDataProtectionKeys(readFileSync(process.env.DATA_PROTECTION_KEYS ?? join(EXAMPLE_KEYS_DIR, 'data-protection.json'), 'utf8'))
const defaultTypes = (process.env.BASELINE_TYPES ?? '11100000000013338W011').split(',')

async function openLookup(): Promise<{ find(ref: string, types: string[]): Promise<Row[]>; close(): Promise<void> }> {
  const url = process.env.DATABASE_URL
  if (url) {
    // Same pool size as the service; tagged templates are server-side prepared statements.
    const sql = postgres(url, { max: 10, onnotice: () => {}, connection: { application_name: 'zhengzhao-baseline' } })
    return {
      find: (ref, types) => sql<Row[]>`select * from certificates where holder_index = ${ref} and type_code = any(${types}::text[]) order by type_code, issued_on, id`,
      close: () => sql.end({ timeout: 5 }),
    }
  }
  const pg = new PGlite(process.env.DATA_DIR)
  await pg.waitReady
  return { find: async (ref, types) => (await pg.query<Row>(LOOKUP, [ref, types])).rows, close: () => pg.close() }
}

const lookup = await openLookup()
const app = Fastify({ logger: false })
app.get('/ready', async () => ({ ok: true }))
app.post<{ Body: LookupBody }>('/baseline', async (request) => {
  const { holder, typeCodes } = request.body
  const ref = holderIndex(keys, holder.idType, holder.id)
  const rows = await lookup.find(ref, typeCodes ?? defaultTypes)
  return { items: rows.map((r) => ({ ...r, jws_cipher: Buffer.from(r.jws_cipher).toString('base64') })) }
})
app.addHook('onClose', () => lookup.close())
for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => void app.close().then(() => process.exit(0)))
await app.listen({ host: '127.0.0.1', port: Number(process.env.PORT ?? 3001) })
