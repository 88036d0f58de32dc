import { Type } from '@sinclair/typebox'
import { AppError, type FieldProblem } from './errors.js'

/** RFC 9457 problem details, as every error response carries them. */
export const ProblemSchema = Type.Object(
  {
    type: Type.String(),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.String(),
    code: Type.String({ description: 'Stable error code; switch on this, not on the text' }),
    instance: Type.String(),
    requestId: Type.String(),
    errors: Type.Optional(
      Type.Array(Type.Object({ pointer: Type.String({ description: 'JSON pointer into the request' }), code: Type.String(), message: Type.String() })),
    ),
  },
  { $id: 'Problem', description: 'RFC 9457 problem details' },
)

/** A reference to the shared Problem component (added once with app.addSchema). */
export const Problem = Type.Ref(ProblemSchema)

/** The error responses every authenticated route can give. */
export function authErrors() {
  return { 400: Problem, 401: Problem, 403: Problem, 429: Problem, 500: Problem }
}

/** A 21-character certificate type code: the defining authority's credit code + 3 digits. */
export const TypeCodeSchema = Type.String({ pattern: '^[0-9A-HJ-NP-RTUWXY]{18}[0-9]{3}$', minLength: 21, maxLength: 21, examples: ['11100000000013338W032'] })

/** An 18-character unified social credit code (the check character is verified separately). */
export const CreditCodeSchema = Type.String({ pattern: '^[0-9A-HJ-NP-RTUWXY]{18}$', minLength: 18, maxLength: 18, examples: ['11330105002500287C'] })

/**
 * Calendar years the API accepts in dates and instants. PostgreSQL refuses year 0000 and offsets
 * past ±15:59; nothing this service records lies outside 1900–9999, so those are 400s, not 500s.
 */
const YEAR = '(?:19[0-9]{2}|[2-9][0-9]{3})'
// RFC 3339 offsets in real use: Z, or within ±14:00 (Kiribati, UTC+14, is the furthest).
const OFFSET = '(?:[Zz]|[+-](?:0[0-9]|1[0-3]):[0-5][0-9]|[+-]14:00)'

/** An RFC 3339 instant, years 1900–9999, offset within ±14:00, no leap second. */
export const InstantSchema = (description: string) =>
  Type.String({ format: 'date-time', pattern: `^${YEAR}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-5][0-9](?:\\.[0-9]{1,9})?${OFFSET}$`, description: `${description} (RFC 3339, years 1900–9999, offset within ±14:00)` })

/** A calendar date (YYYY-MM-DD), years 1900–9999. */
export const DatePattern = `^${YEAR}-[0-9]{2}-[0-9]{2}$`

// PostgreSQL stores neither NUL nor half of a surrogate pair (text and jsonb refuse them), and a
// lone surrogate is not Unicode at all: such text is refused where it enters, never half-stored.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/

/** Why `text` cannot be stored, or undefined when it can. */
export function unstorableText(text: string): string | undefined {
  if (text.includes('\u0000')) return 'contains a NUL character (U+0000)'
  if (LONE_SURROGATE.test(text)) return 'contains an unpaired surrogate (not Unicode text)'
  return undefined
}

const pointerToken = (key: string | number) => String(key).replaceAll('~', '~0').replaceAll('/', '~1')

/** Where a value sits: its parent's place and its key; the pointer is spelled only when needed. */
interface Place {
  parent: Place | undefined
  key: string | number
}

function pointerOf(root: string, place: Place | undefined): string {
  const tokens: string[] = []
  for (let p = place; p; p = p.parent) tokens.push(pointerToken(p.key))
  return tokens.length === 0 ? root : `${root}/${tokens.reverse().join('/')}`
}

/**
 * Every string (values and member names) in `value` that cannot be stored, as field problems.
 * Iterative and linear in the size of `value`, so no nesting depth can overflow the stack or cost
 * more than the parse did; stops after `max` problems.
 */
export function textProblems(value: unknown, pointer: string, max = 20): FieldProblem[] {
  if (allStorable(value)) return []
  const problems: FieldProblem[] = []
  const stack: [unknown, Place | undefined][] = [[value, undefined]]
  while (stack.length > 0 && problems.length < max) {
    const [v, place] = stack.pop()!
    if (typeof v === 'string') {
      const why = unstorableText(v)
      if (why) problems.push({ pointer: pointerOf(pointer, place), code: 'UNSTORABLE_TEXT', message: why })
    } else if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push([v[i], { parent: place, key: i }])
    } else if (typeof v === 'object' && v !== null) {
      for (const [k, item] of Object.entries(v)) {
        const at: Place = { parent: place, key: k }
        const why = unstorableText(k)
        if (why) problems.push({ pointer: pointerOf(pointer, at), code: 'UNSTORABLE_TEXT', message: `member name ${why}` })
        stack.push([item, at])
      }
    }
  }
  return problems
}

// The common case, checked without spelling any place: nothing to report.
function allStorable(value: unknown): boolean {
  const stack: unknown[] = [value]
  while (stack.length > 0) {
    const v = stack.pop()
    if (typeof v === 'string') {
      if (unstorableText(v)) return false
    } else if (Array.isArray(v)) {
      for (const item of v) stack.push(item)
    } else if (typeof v === 'object' && v !== null) {
      for (const [k, item] of Object.entries(v)) {
        if (unstorableText(k)) return false
        stack.push(item)
      }
    }
  }
  return true
}

/** How deep `value` nests (a scalar is 0), counted without recursion; stops counting past `limit`. */
export function nestingDepth(value: unknown, limit: number): number {
  let deepest = 0
  const stack: [unknown, number][] = [[value, 0]]
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!
    if (typeof v !== 'object' || v === null) continue
    if (depth + 1 > deepest) deepest = depth + 1
    if (deepest > limit) return deepest
    for (const item of Array.isArray(v) ? v : Object.values(v)) stack.push([item, depth + 1])
  }
  return deepest
}

const PARTS = ['params', 'querystring', 'body', 'headers'] as const

/**
 * The one text check at the boundary, run before any route's schema: every string a request
 * carries (path parameters, query, JSON body, headers) must be storable text, or the request is
 * 400 INVALID_TEXT with a pointer per bad string. Routes and repositories may then trust it.
 */
export async function refuseUnstorableText(request: { params: unknown; query: unknown; body: unknown; headers: unknown }): Promise<void> {
  const problems: FieldProblem[] = []
  for (const part of PARTS) {
    const value = part === 'querystring' ? request.query : request[part]
    if (value !== undefined && value !== null) problems.push(...textProblems(value, `/${part}`))
  }
  if (problems.length > 0) throw new AppError('INVALID_TEXT', `${problems.length} string(s) cannot be stored as text`, { errors: problems })
}
