import { execFile } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { promisify } from 'node:util'
import { Ajv2020 } from 'ajv/dist/2020.js'
import t from 'tap'
import { ERRORS } from '../src/errors.js'
import { generateOpenApi, OPENAPI_FILE } from '../src/openapi.js'
import { buildTestApp, READER_ORG, tokenFor } from './helpers/app.js'
import { openTestDatabase } from './helpers/database.js'

interface Media { schema?: Record<string, unknown>; example?: unknown }
interface Operation {
  operationId?: string
  security?: unknown[]
  requestBody?: { content: Record<string, Media> }
  responses: Record<string, { description?: string; content?: Record<string, Media> }>
}
// One app for the whole file; its document is the committed openapi.yaml (the first test checks).
const app = await buildTestApp(t)
const spec = structuredClone(app.swagger()) as unknown as { paths: Record<string, Record<string, Operation>>; components: { schemas: Record<string, unknown> }; servers?: unknown[] }
const operations = Object.entries(spec.paths).flatMap(([path, item]) => Object.entries(item).map(([method, op]) => ({ where: `${method.toUpperCase()} ${path}`, op })))

t.test('the committed openapi.yaml is what the routes produce', async (t) => {
  // On a test database: a new in-memory one would run initdb first, seconds of CPU.
  const database = await openTestDatabase()
  t.teardown(() => database.close())
  const generated = await generateOpenApi(database)
  t.equal(readFileSync(OPENAPI_FILE, 'utf8'), generated, 'run `npm run openapi` and commit openapi.yaml')
  for (const path of ['/healthz', '/readyz', '/v1/types', '/v1/types/{typeCode}']) t.match(generated, `${path}:`)
})

t.test('redocly lint (recommended rules) finds no error and no warning', async (t) => {
  const cli = createRequire(import.meta.url).resolve('@redocly/cli/bin/cli.js')
  // Telemetry off: the suite sends nothing anywhere.
  const env = { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' }
  const { stdout } = await promisify(execFile)(process.execPath, [cli, 'lint', OPENAPI_FILE, '--format=json'], { env }).catch((err: { stdout: string }) => err)
  const report = JSON.parse(stdout) as { totals: { errors: number; warnings: number }; problems: { ruleId: string; message: string }[] }
  t.same(report.totals, { errors: 0, warnings: 0, ignored: 0 }, report.problems.map((p) => `${p.ruleId}: ${p.message}`).join('\n'))
})

t.test('every operation has an explicit, unique camelCase operationId and declares its security', async (t) => {
  t.ok(operations.length >= 25, `${operations.length} operations`)
  const seen = new Map<string, string>()
  for (const { where, op } of operations) {
    t.match(op.operationId, /^[a-z][A-Za-z0-9]+$/, `${where} has a camelCase operationId (set it in the route schema)`)
    t.notOk(seen.has(op.operationId!), `${where}: operationId ${op.operationId} is also ${seen.get(op.operationId!)}`)
    seen.set(op.operationId!, where)
    t.ok(Array.isArray(op.security), `${where} declares security ([] when public)`)
  }
  for (const publicRoute of ['GET /healthz', 'GET /readyz', 'GET /.well-known/jwks.json', 'GET /problems/{name}']) {
    t.same(operations.find((o) => o.where === publicRoute)?.op.security, [], `${publicRoute} is public`)
  }
  t.same(operations.find((o) => o.where === 'POST /v1/lookup')?.op.security, [{ bearer: [] }])
  t.same(spec.servers, [{ url: '/', description: 'the service that serves this document' }])
})

t.test('every response is described, and every error is application/problem+json', async (t) => {
  for (const { where, op } of operations) {
    t.ok(Object.keys(op.responses).some((s) => s.startsWith('4')), `${where} declares a 4xx`)
    for (const [status, response] of Object.entries(op.responses)) {
      t.ok(response.description && response.description !== 'Default Response', `${where} ${status} has a real description`)
      const problem = Object.entries(response.content ?? {}).find(([, m]) => m.schema?.$ref === '#/components/schemas/Problem')
      if (status.startsWith('4') || status.startsWith('5')) {
        if (problem) t.equal(problem[0], 'application/problem+json', `${where} ${status} is problem+json`)
      } else t.notOk(problem, `${where} ${status} is no problem`)
    }
    for (const [status, response] of Object.entries(op.responses)) t.notOk(response.content?.['application/json']?.schema?.$ref === '#/components/schemas/Problem', `${where} ${status}: no problem as application/json`)
  }
})

t.test('the /v1/lookup example is valid against its schema, and the service accepts it', async (t) => {
  const body = spec.paths['/v1/lookup']!.post!.requestBody!.content['application/json']!
  t.ok(body.example, 'the request body has an example ("Try it out" in /docs sends it)')
  t.match(body.example, { holder: { idType: '111', id: '11010519491231002X' } })
  const ajv = new Ajv2020({ strict: false, allErrors: true })
  ajv.addSchema({ $id: 'openapi', components: spec.components })
  const schema = JSON.parse(JSON.stringify(body.schema).replaceAll('"#/components/', '"openapi#/components/'))
  const validate = ajv.compile(schema)
  t.ok(validate(body.example), JSON.stringify(validate.errors))
  t.notOk(validate({ holder: { idType: '606', id: 'string' }, purpose: { matterCode: 'string', reason: 'string' }, extra: 1 }), 'and the schema refuses what was generated before')

  const res = await app.inject({ method: 'POST', url: '/v1/lookup', headers: { authorization: `Bearer ${await tokenFor(['reader'], { org: READER_ORG })}` }, payload: body.example as object })
  t.not(res.statusCode, 400, res.body)
  t.equal(res.json().code, 'TYPE_NOT_GRANTED', 'past validation: this reader is granted nothing')
})

t.test('a problem\'s type resolves to a page naming its code, status and title', async (t) => {
  const missing = await app.inject({ method: 'GET', url: '/v1/nothing-here' })
  t.equal(missing.headers['content-type'], 'application/problem+json; charset=utf-8')
  const { type, code } = missing.json() as { type: string; code: string }
  t.equal(type, '/problems/route-not-found')
  t.equal(code, 'ROUTE_NOT_FOUND')
  for (const [name, error] of Object.entries(ERRORS)) {
    const page = await app.inject({ method: 'GET', url: `/problems/${name.toLowerCase().replaceAll('_', '-')}` })
    t.equal(page.statusCode, 200, name)
    t.match(page.headers['content-type'], /^text\/html/)
    t.match(page.headers['content-security-policy'], "default-src 'none'")
    t.match(page.body, `<h1>${name}</h1>`)
    t.match(page.body, `HTTP status ${error.status}`)
    t.match(page.body, `<p>${error.title.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)}</p>`)
  }
  const unknown = await app.inject({ method: 'GET', url: '/problems/no-such-problem' })
  t.equal(unknown.statusCode, 404)
  t.equal(unknown.json().code, 'ROUTE_NOT_FOUND')
  t.equal((await app.inject({ method: 'GET', url: '/problems/%3Cscript%3E' })).statusCode, 400, 'only the slug alphabet')
})

t.test('the service serves the spec and readable docs', async (t) => {
  const spec = await app.inject({ method: 'GET', url: '/openapi.json' })
  t.equal(spec.statusCode, 200)
  t.equal(spec.json().openapi, '3.1.0')
  t.ok(spec.json().paths['/v1/types/{typeCode}'].put)
  t.equal(spec.json().paths['/v1/lookup'].post.responses['403'].content['application/problem+json'].schema.$ref, '#/components/schemas/Problem')
  const docs = await app.inject({ method: 'GET', url: '/docs/' })
  t.equal(docs.statusCode, 200)
  t.match(docs.headers['content-type'], /text\/html/)
})
