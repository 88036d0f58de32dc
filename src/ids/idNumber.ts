// GB 11643-1999 citizen ID number (公民身份号码): region(6) birth date(8) sequence(3) check(1).
import { chinaToday } from '../chinaDate.js'
import { isValidCreditCode } from './creditCode.js'

const WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2] as const
const CHECK_CHARS = '10X98765432'
const MIN_BIRTH_YEAR = 1800

export type IdNumberProblem = 'LENGTH' | 'CHARSET' | 'BIRTH_DATE' | 'CHECK_CHAR'

export type IdNumberResult =
  | { ok: true; value: string; region: string; birthDate: string; sex: 'male' | 'female' }
  /** `expected`: for `CHECK_CHAR`, the right check character (the only part of the number safe to show). */
  | { ok: false; problem: IdNumberProblem; expected?: string }

/**
 * Computes the ISO 7064 MOD 11-2 check character for the first 17 digits of an ID number.
 * @throws TypeError if `first17` is not exactly 17 ASCII digits.
 */
export function idNumberCheckChar(first17: string): string {
  if (!/^[0-9]{17}$/.test(first17)) throw new TypeError('expected 17 digits')
  let sum = 0
  for (let i = 0; i < 17; i++) sum += Number(first17[i]) * WEIGHTS[i]!
  return CHECK_CHARS[sum % 11]!
}

function isLeapYear(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return isLeapYear(year) ? 29 : 28
  return [4, 6, 9, 11].includes(month) ? 30 : 31
}

/** Returns `YYYY-MM-DD` for a real calendar date in [1800-01-01, today], or undefined. */
function birthDateOf(yyyymmdd: string, now: Date): string | undefined {
  const year = Number(yyyymmdd.slice(0, 4))
  const month = Number(yyyymmdd.slice(4, 6))
  const day = Number(yyyymmdd.slice(6, 8))
  if (year < MIN_BIRTH_YEAR || month < 1 || month > 12) return undefined
  if (day < 1 || day > daysInMonth(year, month)) return undefined
  const iso = `${yyyymmdd.slice(0, 4)}-${yyyymmdd.slice(4, 6)}-${yyyymmdd.slice(6, 8)}`
  // Fixed-width ISO dates compare correctly as strings.
  return iso <= chinaToday(now) ? iso : undefined
}

/**
 * Parses and validates an 18-character citizen ID number, reporting the first problem found.
 * Checks run in this order: characters outside `0-9`, `X`, `x` (whitespace included) → `CHARSET`;
 * length other than 18 → `LENGTH`; `X` anywhere but last → `CHARSET`; birth date not a real
 * date from 1800 up to today (China time) → `BIRTH_DATE`; wrong check character → `CHECK_CHAR`.
 * A lower-case `x` is accepted and normalised to `X` in `value`.
 */
export function parseIdNumber(input: string, now: Date = new Date()): IdNumberResult {
  if (!/^[0-9Xx]*$/.test(input)) return { ok: false, problem: 'CHARSET' }
  if (input.length !== 18) return { ok: false, problem: 'LENGTH' }
  const value = input.toUpperCase()
  if (!/^[0-9]{17}[0-9X]$/.test(value)) return { ok: false, problem: 'CHARSET' }
  const birthDate = birthDateOf(value.slice(6, 14), now)
  if (birthDate === undefined) return { ok: false, problem: 'BIRTH_DATE' }
  const expected = idNumberCheckChar(value.slice(0, 17))
  if (expected !== value[17]) return { ok: false, problem: 'CHECK_CHAR', expected }
  // The sequence's parity (its last digit) encodes sex: odd = male.
  const sex = Number(value[16]) % 2 === 1 ? 'male' : 'female'
  return { ok: true, value, region: value.slice(0, 6), birthDate, sex }
}

/** True if `input` is a valid citizen ID number as of now (see {@link parseIdNumber}). */
export function isValidIdNumber(input: string): boolean {
  return parseIdNumber(input).ok
}

/**
 * Masks an ID number for display or logs: `110105********002X`. Any string that is not 18
 * characters keeps at most its first 2 and last 2 characters, never more than half of it,
 * and a string of 4 or fewer characters is masked completely.
 */
export function maskIdNumber(id: string): string {
  const chars = Array.from(id)
  const n = chars.length
  if (n === 18) return `${chars.slice(0, 6).join('')}${'*'.repeat(8)}${chars.slice(14).join('')}`
  const keep = n <= 4 ? 0 : Math.min(2, Math.floor(n / 4))
  return chars.map((c, i) => (i < keep || i >= n - keep ? c : '*')).join('')
}

// Anything shaped like an ID number (17 digits, then a digit or X), not inside a longer token.
const ID_NUMBER_LIKE = /(?<![0-9A-Za-z])[0-9]{17}[0-9Xx](?![0-9A-Za-z])/g
// Characters 7-14 of an ID number are a birth date: a year 1800-2099, a month, a day up to 31.
// Loose on purpose (30 February still counts), so a mistyped ID number is masked too.
const BIRTH_DATE_LIKE = /^(18|19|20)\d\d(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])$/

/**
 * Whether an ID-number-shaped run may be someone's ID number. An all-digit unified social
 * credit code has the same shape; an operator needs to read a wrong one ("913301050025002871"
 * at /v1/grants/…), so a run is left readable when it cannot be an ID number: no birth date
 * where the date goes (its area and organisation code are there instead), or a valid credit
 * code that is no valid ID number. A credit code with letters never has the shape.
 */
function mayBeIdNumber(run: string): boolean {
  if (!BIRTH_DATE_LIKE.test(run.slice(6, 14))) return false
  return isValidIdNumber(run) || !isValidCreditCode(run.toUpperCase())
}

/** Masks every ID-number-shaped run in a text bound for a log, a terminal or an error message. */
export function maskIdNumbersIn(text: string): string {
  return text.replace(ID_NUMBER_LIKE, (id) => (mayBeIdNumber(id) ? maskIdNumber(id.toUpperCase()) : id))
}
