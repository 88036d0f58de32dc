import { readFileSync } from 'node:fs'
import t from 'tap'
import { generateOpenApi, OPENAPI_FILE } from '../src/openapi.js'
import { buildTestApp } from './helpers/app.js'

t.test('the committed openapi.yaml is what the routes produce', async (t) => {
  const generated = await generateOpenApi()
  t.equal(readFileSync(OPENAPI_FILE, 'utf8'), generated, 'run `npm run openapi` and commit openapi.yaml')
  for (const path of ['/healthz', '/readyz', '/v1/types', '/v1/types/{typeCode}']) t.match(generated, `${path}:`)
})

t.test('the service serves the spec and readable docs', async (t) => {
  const app = await buildTestApp(t, { DATABASE_URL: undefined })
  const spec = await app.inject({ method: 'GET', url: '/openapi.json' })
  t.equal(spec.statusCode, 200)
  t.equal(spec.json().openapi, '3.1.0')
  t.ok(spec.json().paths['/v1/types/{typeCode}'].put)
  const docs = await app.inject({ method: 'GET', url: '/docs/' })
  t.equal(docs.statusCode, 200)
  t.match(docs.headers['content-type'], /text\/html/)
})
