import { Ajv2020 } from 'ajv/dist/2020.js'
import type { ErrorObject, KeywordDefinition, ValidateFunction } from 'ajv'
import addFormats from 'ajv-formats'
import type { FieldProblem } from '../errors.js'
import { nestingDepth, textProblems } from '../schemas.js'

/** Deepest a signed payload may nest (its `data` a few levels less): deeper cannot be served back. */
export const PAYLOAD_MAX_DEPTH = 32
/** Deepest and largest a type's data schema may be: ajv compiles schemas recursively. */
export const DATA_SCHEMA_MAX_DEPTH = 32
export const DATA_SCHEMA_MAX_BYTES = 64 * 1024

// JSON Schema 2020-12, strict: an unknown keyword is a mistake in a government catalogue, not
// something to ignore silently. Remote $refs cannot resolve, so a schema is self-contained.
export function createAjv(): Ajv2020 {
  const ajv = new Ajv2020({ strict: true, allErrors: true, validateFormats: true })
  addFormats.default(ajv)
  ajv.addKeyword(storableText)
  return ajv
}

/**
 * `storableText: true` on a schema: the instance, at any depth and in member names too, holds no
 * NUL and no lone surrogate (PostgreSQL stores neither), and nests at most PAYLOAD_MAX_DEPTH levels.
 * Signed payloads use it: they arrive inside a JWS, past the request's own text check.
 */
const storableText: KeywordDefinition = {
  keyword: 'storableText',
  schemaType: 'boolean',
  errors: true,
  validate: function validate(enabled: boolean, data: unknown, _schema?: unknown, ctx?: { instancePath: string }): boolean {
    if (!enabled) return true
    const at = ctx?.instancePath ?? ''
    const errors: Partial<ErrorObject>[] = textProblems(data, at).map((p) => ({ keyword: 'storableText', instancePath: p.pointer, params: {}, message: p.message }))
    if (nestingDepth(data, PAYLOAD_MAX_DEPTH) > PAYLOAD_MAX_DEPTH) errors.push({ keyword: 'storableText', instancePath: at, params: {}, message: `nests deeper than ${PAYLOAD_MAX_DEPTH} levels` })
    ;(validate as { errors?: Partial<ErrorObject>[] }).errors = errors
    return errors.length === 0
  },
}

const metaAjv = createAjv()

/** Every problem that keeps `schema` from being a type's data schema; empty when it is fine. */
export function checkDataSchema(schema: unknown, pointer = '/body/dataSchema'): FieldProblem[] {
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) {
    return [{ pointer, code: 'INVALID_DATA_SCHEMA', message: 'must be a JSON Schema object' }]
  }
  // Size first: ajv walks a schema recursively, so a deep one would overflow the stack (a 500).
  const depth = nestingDepth(schema, DATA_SCHEMA_MAX_DEPTH)
  if (depth > DATA_SCHEMA_MAX_DEPTH) return [{ pointer, code: 'DATA_SCHEMA_TOO_DEEP', message: `nests deeper than ${DATA_SCHEMA_MAX_DEPTH} levels` }]
  const bytes = Buffer.byteLength(JSON.stringify(schema))
  if (bytes > DATA_SCHEMA_MAX_BYTES) return [{ pointer, code: 'DATA_SCHEMA_TOO_LARGE', message: `${bytes} bytes as JSON; at most ${DATA_SCHEMA_MAX_BYTES}` }]
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
