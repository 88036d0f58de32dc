// GB 32100-2015 unified social credit code (统一社会信用代码): 17 characters + 1 check character.

// The standard's alphabet leaves out I, O, S, V and Z; a character's value is its index here.
export const CREDIT_CODE_ALPHABET = '0123456789ABCDEFGHJKLMNPQRTUWXY'
// 3^i mod 31: all non-zero modulo the prime 31, so every single substitution changes the sum.
const WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28] as const
// Each character's value by its UTF-16 code unit (-1: not in the alphabet). A table, not a regular
// expression and indexOf: an identifier at ingest checks two credit codes, thousands per second.
const VALUE = new Int8Array(128).fill(-1)
for (let i = 0; i < CREDIT_CODE_ALPHABET.length; i++) VALUE[CREDIT_CODE_ALPHABET.charCodeAt(i)] = i
const valueOf = (code: number): number => (code < 128 ? VALUE[code]! : -1)

/** True if every character of `s` is in the credit-code alphabet. */
function inAlphabet(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (valueOf(s.charCodeAt(i)) < 0) return false
  return true
}

export type CreditCodeProblem = 'LENGTH' | 'CHARSET' | 'CHECK_CHAR'

/** `expected`: for `CHECK_CHAR`, the right check character. */
export type CreditCodeResult = { ok: true; value: string } | { ok: false; problem: CreditCodeProblem; expected?: string }

/**
 * Computes the GB 32100 MOD 31 check character for the first 17 characters of a credit code.
 * @throws TypeError if `first17` is not 17 characters of the credit-code alphabet.
 */
export function creditCodeCheckChar(first17: string): string {
  if (first17.length !== 17 || !inAlphabet(first17)) {
    throw new TypeError('expected 17 characters of the credit-code alphabet')
  }
  return checkCharOf(first17)
}

/** The check character of the first 17 characters of `s`, all known to be in the alphabet. */
function checkCharOf(s: string): string {
  let sum = 0
  for (let i = 0; i < 17; i++) sum += valueOf(s.charCodeAt(i)) * WEIGHTS[i]!
  return CREDIT_CODE_ALPHABET[(31 - (sum % 31)) % 31]!
}

/**
 * Parses a unified social credit code, reporting the first problem found: a character outside
 * the alphabet (lower case and whitespace included, as the standard uses upper case only)
 * → `CHARSET`; length other than 18 → `LENGTH`; wrong check character → `CHECK_CHAR`.
 */
export function parseCreditCode(input: string): CreditCodeResult {
  if (!inAlphabet(input)) return { ok: false, problem: 'CHARSET' }
  if (input.length !== 18) return { ok: false, problem: 'LENGTH' }
  const expected = checkCharOf(input)
  if (expected !== input[17]) return { ok: false, problem: 'CHECK_CHAR', expected }
  return { ok: true, value: input }
}

/**
 * True if `input` is a valid credit code. A code listed in `exceptions` (an operator's named
 * early-pilot codes) is also accepted when its only fault is the check character; it must
 * still be 18 characters of the alphabet. There is deliberately no blanket switch.
 */
export function isValidCreditCode(input: string, exceptions?: ReadonlySet<string>): boolean {
  const result = parseCreditCode(input)
  if (result.ok) return true
  return result.problem === 'CHECK_CHAR' && exceptions !== undefined && exceptions.has(input)
}
