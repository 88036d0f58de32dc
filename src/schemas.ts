import { Type } from '@sinclair/typebox'

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
