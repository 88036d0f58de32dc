import { Ajv2020 } from 'ajv/dist/2020.js'
import type { ValidateFunction } from 'ajv'
import addFormats from 'ajv-formats'
import type { FieldProblem } from '../errors.js'

// JSON Schema 2020-12, strict: an unknown keyword is a mistake in a government catalogue, not
// something to ignore silently. Remote $refs cannot resolve, so a schema is self-contained.
export function createAjv(): Ajv2020 {
  const ajv = new Ajv2020({ strict: true, allErrors: true, validateFormats: true })
  addFormats.default(ajv)
  return ajv
}

const metaAjv = createAjv()

/** Every problem that keeps `schema` from being a type's data schema; empty when it is fine. */
export function checkDataSchema(schema: unknown, pointer = '/body/dataSchema'): FieldProblem[] {
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) {
    return [{ pointer, code: 'INVALID_DATA_SCHEMA', message: 'must be a JSON Schema object' }]
  }
  if ((schema as { type?: unknown }).type !== 'object') {
    return [{ pointer: `${pointer}/type`, code: 'INVALID_DATA_SCHEMA', message: 'a data schema must describe an object ("type": "object")' }]
  }
  if (!metaAjv.validateSchema(schema)) {
    return (metaAjv.errors ?? []).map((e) => ({ pointer: `${pointer}${e.instancePath}`, code: 'INVALID_DATA_SCHEMA', message: e.message ?? 'is not valid' }))
  }
  try {
    // Compiling catches what the meta-schema cannot: strict-mode violations, unresolvable $refs.
    createAjv().compile(schema)
  } catch (err) {
    return [{ pointer, code: 'INVALID_DATA_SCHEMA', message: (err as Error).message.slice(0, 300) }]
  }
  return []
}

const compiled = new Map<string, { updatedAt: string; validate: ValidateFunction }>()
const dataAjv = createAjv()

/** The compiled validator of a type's data schema, recompiled only when the type changes. */
export function dataValidatorFor(type: { typeCode: string; updatedAt: string; dataSchema: object }): ValidateFunction {
  const cached = compiled.get(type.typeCode)
  if (cached && cached.updatedAt === type.updatedAt) return cached.validate
  if (cached) dataAjv.removeSchema(cached.validate.schema as object)
  const validate = dataAjv.compile(type.dataSchema)
  compiled.set(type.typeCode, { updatedAt: type.updatedAt, validate })
  return validate
}
