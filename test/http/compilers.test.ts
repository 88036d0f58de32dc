import t from 'tap'
import Fastify from 'fastify'
import { compilersFactory } from '../../src/compilers.js'

// Route schemas are compiled once per process (src/compilers.ts): apps share what is the same
// and never what differs.

const route = (schema: unknown, httpStatus = '200') => ({ schema, method: 'GET', url: '/x', httpStatus })
const AJV = { customOptions: { removeAdditional: false, allErrors: true, coerceTypes: false } }

t.test('one validator per schema object, per shared schemas and Ajv options', async (t) => {
  const schema = { type: 'object', properties: { a: { type: 'string' } }, required: ['a'], additionalProperties: false }
  const compile = (externals: Record<string, unknown>, options: typeof AJV) => compilersFactory.buildValidator!(externals as never, options as never)(route(schema) as never)
  const first = compile({}, AJV)
  t.equal(compile({}, AJV), first, 'a second app reuses the function')
  t.not(compile({ 'https://example.test/x': { $id: 'https://example.test/x', type: 'string' } }, AJV), first, 'other shared schemas: compiled afresh')
  t.not(compile({}, { customOptions: { ...AJV.customOptions, coerceTypes: true } } as never), first, 'other Ajv options: compiled afresh')
  t.equal((first as (v: unknown) => boolean)({ a: 'x' }), true)
  t.equal((first as (v: unknown) => boolean)({ a: 1 }), false)
})

t.test('one serializer per schema text, per shared schemas and options', async (t) => {
  const build = (schema: unknown, externals: Record<string, unknown> = {}) => compilersFactory.buildSerializer!(externals, {})(route(schema) as never)
  const one = { type: 'object', properties: { a: { type: 'string' } } }
  const first = build(one)
  t.equal(build({ ...one }), first, 'the same schema read afresh (another app) reuses the function')
  const other = build({ type: 'object', properties: { a: { type: 'string' }, b: { type: 'integer' } } })
  t.not(other, first, 'a schema that differs is compiled afresh')
  t.equal(first({ a: 'x', b: 2 }), '{"a":"x"}')
  t.equal(other({ a: 'x', b: 2 }), '{"a":"x","b":2}')
  const ref = { type: 'object', properties: { a: { $ref: 'urn:a' } } }
  const asString = build(ref, { 'urn:a': { $id: 'urn:a', type: 'string' } })
  const asInteger = build(ref, { 'urn:a': { $id: 'urn:a', type: 'integer' } })
  t.not(asInteger, asString, 'the same schema over other shared schemas is compiled afresh')
  t.equal(asString({ a: 7 }), '{"a":"7"}')
  t.equal(asInteger({ a: 7 }), '{"a":7}')
})

t.test('two apps with the same route and different shared schemas answer each by its own', async (t) => {
  const appWith = async (shared: unknown) => {
    const app = Fastify({ schemaController: { compilersFactory } })
    app.addSchema(shared)
    app.get('/x', { schema: { response: { 200: { type: 'object', properties: { v: { $ref: 'urn:v' } } } } } }, async () => ({ v: 5 }))
    t.teardown(() => app.close())
    return app
  }
  const text = await appWith({ $id: 'urn:v', type: 'string' })
  const number = await appWith({ $id: 'urn:v', type: 'integer' })
  t.equal((await text.inject('/x')).body, '{"v":"5"}')
  t.equal((await number.inject('/x')).body, '{"v":5}')
})
