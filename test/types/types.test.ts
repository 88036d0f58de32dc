import t from 'tap'
import { sql } from 'drizzle-orm'
import { openTestDatabase } from '../helpers/database.js'
import { runMigrations } from '../../src/db/migrate.js'
import { EXAMPLE_CATALOGUE } from '../../src/types/catalogue.js'
import { seedExampleCatalogue } from '../../src/types/seed.js'
import { auditEvents } from '../../src/db/schema.js'
import { eq } from 'drizzle-orm'
import { ADMIN_ORG, bearer, buildTestApp, randomCreditCode, randomTypeCode, testConfig } from '../helpers/app.js'
import { buildApp } from '../../src/app.js'

const definition = (issuer: string) => ({
  name: '测试证照',
  holderIdTypes: ['111'],
  issuers: [issuer],
  dataSchema: { type: 'object', required: ['level'], properties: { level: { type: 'integer', minimum: 1 } }, additionalProperties: false },
})

t.test('catalogue of certificate types', async (t) => {
  const database = await openTestDatabase({ url: process.env.DATABASE_URL })
  t.teardown(() => database.close())
  const app = await buildTestApp(t, {}, { database })
  const admin = await bearer(['admin'])
  const reader = await bearer(['reader'], { org: '9144030071526726XG' })

  t.test('PUT creates (201), GET reads it back, PUT again with changes updates (200)', async (t) => {
    const typeCode = randomTypeCode()
    const issuer = randomCreditCode()
    const created = await app.inject({ method: 'PUT', url: `/v1/types/${typeCode}`, headers: admin, payload: definition(issuer) })
    t.equal(created.statusCode, 201)
    t.match(created.json(), { typeCode, name: '测试证照', holderIdTypes: ['111'], issuers: [issuer] })
    const read = await app.inject({ method: 'GET', url: `/v1/types/${typeCode}`, headers: reader })
    t.equal(read.statusCode, 200)
    t.same(read.json().dataSchema, definition(issuer).dataSchema)

    const same = await app.inject({ method: 'PUT', url: `/v1/types/${typeCode}`, headers: admin, payload: definition(issuer) })
    t.equal(same.statusCode, 200, 'unchanged')
    const updated = await app.inject({ method: 'PUT', url: `/v1/types/${typeCode}`, headers: admin, payload: { ...definition(issuer), name: '新名称' } })
    t.equal(updated.statusCode, 200)
    t.equal(updated.json().name, '新名称')
    t.equal(updated.json().createdAt, created.json().createdAt)

    const events = await database.db.select().from(auditEvents).where(eq(auditEvents.subject, typeCode))
    t.same(events.map((e) => e.kind).sort(), ['type.created', 'type.updated'], 'one event per change, none for the repeat')
    t.equal(events[0]!.actorOrg, ADMIN_ORG)
  })

  t.test('GET lists types; any authenticated caller may read', async (t) => {
    const typeCode = randomTypeCode()
    await app.inject({ method: 'PUT', url: `/v1/types/${typeCode}`, headers: admin, payload: definition(randomCreditCode()) })
    const list = await app.inject({ method: 'GET', url: '/v1/types', headers: await bearer(['holder'], { idType: '111', id: '11010519491231002X' }) })
    t.equal(list.statusCode, 200)
    t.ok(list.json().items.some((i: { typeCode: string }) => i.typeCode === typeCode))
    t.equal((await app.inject({ method: 'GET', url: '/v1/types' })).statusCode, 401)
  })

  t.test('unknown type: 404 TYPE_NOT_FOUND', async (t) => {
    const res = await app.inject({ method: 'GET', url: `/v1/types/${randomTypeCode()}`, headers: reader })
    t.equal(res.statusCode, 404)
    t.equal(res.json().code, 'TYPE_NOT_FOUND')
  })

  t.test('only admins write', async (t) => {
    const res = await app.inject({ method: 'PUT', url: `/v1/types/${randomTypeCode()}`, headers: reader, payload: definition(randomCreditCode()) })
    t.equal(res.statusCode, 403)
  })

  t.test('an invalid definition is 422 listing every problem, and stores nothing', async (t) => {
    const typeCode = randomTypeCode()
    const res = await app.inject({
      method: 'PUT',
      url: `/v1/types/${typeCode}`,
      headers: admin,
      payload: { name: 'x', holderIdTypes: ['111', '999'], issuers: ['91110000MA01234568'], dataSchema: { type: 'object', properties: { a: { type: 'strnig' } } } },
    })
    t.equal(res.statusCode, 422)
    const body = res.json()
    t.equal(body.code, 'INVALID_TYPE_DEFINITION')
    const found = body.errors.map((e: { code: string; pointer: string }) => `${e.code} ${e.pointer}`)
    t.ok(found.includes('UNKNOWN_HOLDER_ID_TYPE /body/holderIdTypes/1'), found.join('; '))
    t.ok(found.includes('INVALID_ISSUER_CODE /body/issuers/0'), found.join('; '))
    t.ok(found.some((f: string) => f.startsWith('INVALID_DATA_SCHEMA /body/dataSchema')), found.join('; '))
    t.equal((await app.inject({ method: 'GET', url: `/v1/types/${typeCode}`, headers: admin })).statusCode, 404)
  })

  t.test('data schemas: not an object schema, unknown keyword, unresolvable $ref', async (t) => {
    for (const dataSchema of [{ type: 'string' }, { type: 'object', colour: 'blue' }, { type: 'object', properties: { a: { $ref: 'https://example.com/x.json' } } }]) {
      const res = await app.inject({ method: 'PUT', url: `/v1/types/${randomTypeCode()}`, headers: admin, payload: { ...definition(randomCreditCode()), dataSchema } })
      t.equal(res.statusCode, 422, JSON.stringify(dataSchema))
      t.equal(res.json().errors[0].code, 'INVALID_DATA_SCHEMA')
    }
  })

  t.test('a named credit-code exception is allowed, others are not', async (t) => {
    const pilot = '91110000MA01234568' // fails the check character
    const strict = await app.inject({ method: 'PUT', url: `/v1/types/${randomTypeCode()}`, headers: admin, payload: definition(pilot) })
    t.equal(strict.statusCode, 422)
    const lenientApp = await buildApp(await testConfig({ CREDIT_CODE_EXCEPTIONS: pilot }), { database, migrate: false })
    t.teardown(() => lenientApp.close())
    const ok = await lenientApp.inject({ method: 'PUT', url: `/v1/types/${randomTypeCode()}`, headers: admin, payload: definition(pilot) })
    t.equal(ok.statusCode, 201)
  })
})

t.test('the example catalogue seeds once and validates', async (t) => {
  const database = await openTestDatabase()
  t.teardown(() => database.close())
  await runMigrations(database)
  t.same(await seedExampleCatalogue(database.db), { created: EXAMPLE_CATALOGUE.length, unchanged: 0 })
  t.same(await seedExampleCatalogue(database.db), { created: 0, unchanged: EXAMPLE_CATALOGUE.length })
  const rows = await database.db.execute(sql`select type_code from certificate_types order by type_code`)
  t.equal((rows as unknown as { rows?: unknown[] }).rows?.length ?? (rows as unknown as unknown[]).length, EXAMPLE_CATALOGUE.length)
  const names = EXAMPLE_CATALOGUE.map((c) => c.definition.name)
  t.same(names.sort(), ['不动产权证书', '营业执照', '学位证书', '结婚证'].sort())
})

t.test('a fresh development start loads the example catalogue', async (t) => {
  const app = await buildTestApp(t, { SEED_EXAMPLES: 'true', DATABASE_URL: undefined })
  const res = await app.inject({ method: 'GET', url: '/v1/types', headers: await bearer(['reader']) })
  t.equal(res.statusCode, 200)
  for (const { typeCode } of EXAMPLE_CATALOGUE) t.ok(res.json().items.some((i: { typeCode: string }) => i.typeCode === typeCode), typeCode)
})
