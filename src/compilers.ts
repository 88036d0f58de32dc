import { AjvCompiler } from '@fastify/ajv-compiler'
import { SerializerSelector } from '@fastify/fast-json-stringify-compiler'
import type { FastifyServerOptions } from 'fastify'

type Factories = NonNullable<NonNullable<FastifyServerOptions['schemaController']>['compilersFactory']>
type SerializerFactory = NonNullable<Factories['buildSerializer']>

/**
 * Route schemas compiled once per process, where Fastify compiles them again for every app it
 * builds: its default factories are made per instance. Each app of the test suite (hundreds of
 * them, one per test) spent about 0.6 s of CPU in Ajv and fast-json-stringify on the same schema
 * objects. A service process builds one app, so for it nothing changes.
 *
 * - Validators: one @fastify/ajv-compiler pool for the process. It keeps one Ajv per set of
 *   shared schemas and Ajv options (Fastify's own key), and Ajv keeps each schema object it has
 *   compiled, so the same route schema object gives the same validator function.
 * - Serializers: fast-json-stringify's output depends only on the response schema, the shared
 *   schemas and the serializer options, so a function is reused when all three read the same
 *   as JSON. A schema that differs in any part is compiled afresh.
 */
const validatorPool = AjvCompiler()
const serializerSelector = SerializerSelector()
const serializers = new Map<string, (data: unknown) => string>()

const buildSerializer: SerializerFactory = (externalSchemas, serializerOptions) => {
  const compile = serializerSelector(externalSchemas, serializerOptions)
  const shared = JSON.stringify([externalSchemas, serializerOptions ?? null])
  return (route) => {
    const key = `${shared}${JSON.stringify(route.schema)}`
    let serialize = serializers.get(key)
    if (!serialize) {
      serialize = compile(route)
      serializers.set(key, serialize)
    }
    return serialize
  }
}

export const compilersFactory: Factories = { buildValidator: validatorPool, buildSerializer }
