import { eq, inArray, sql } from 'drizzle-orm'
import t from 'tap'
import { PREPARE_MAX_PARAMETERS } from '../../src/db/bounded.js'
import { openDatabase, type Database } from '../../src/db/client.js'
import { runMigrations } from '../../src/db/migrate.js'
import { certificateTypes } from '../../src/db/schema.js'

// On PostgreSQL every statement with a handful of parameters is prepared on the server once per
// connection (src/db/bounded.ts): afterwards it runs in one round trip, without being parsed and
// planned again. Seen from the server: pg_prepared_statements of the pool's one connection.

const url = process.env.DATABASE_URL

async function preparedOf(database: Database, fragment: string): Promise<string[]> {
  const rows = (await database.db.execute(sql`select statement from pg_prepared_statements`)) as unknown as { statement: string }[]
  return rows.map((r) => r.statement).filter((s) => s.includes(fragment))
}

t.test('statements are prepared on the server, in and out of transactions, unless their text varies with their input', { skip: !url && 'needs DATABASE_URL (PostgreSQL)' }, async (t) => {
  const database = await openDatabase({ url, poolSize: 1 })
  t.teardown(() => database.close())
  await runMigrations(database)
  const { db } = database

  for (let i = 0; i < 3; i++) await db.select().from(certificateTypes).where(eq(certificateTypes.typeCode, `T${i}`))
  t.equal((await preparedOf(database, 'from "certificate_types" where "certificate_types"."type_code" = $1')).length, 1, 'one prepared statement, whatever the value')

  await db.transaction(async (tx) => {
    await tx.select({ n: sql<number>`count(*)` }).from(certificateTypes).where(eq(certificateTypes.name, 'inside a transaction'))
  })
  t.equal((await preparedOf(database, 'where "certificate_types"."name" = $1')).length, 1, "a transaction's statements too")

  const many = Array.from({ length: PREPARE_MAX_PARAMETERS + 1 }, (_, i) => `M${i}`)
  await db.select().from(certificateTypes).where(inArray(certificateTypes.typeCode, many))
  t.same(await preparedOf(database, `$${PREPARE_MAX_PARAMETERS + 1})`), [], `not one with more than ${PREPARE_MAX_PARAMETERS} parameters`)
  const few = many.slice(0, 3)
  await db.select().from(certificateTypes).where(inArray(certificateTypes.typeCode, few))
  t.equal((await preparedOf(database, 'in ($1, $2, $3)')).length, 1)
})
