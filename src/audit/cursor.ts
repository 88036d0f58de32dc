import { AppError } from '../errors.js'

/** A position in a newest-first listing: the last row's time and id. */
export interface Cursor {
  /** RFC 3339 in UTC with microseconds, as PostgreSQL keeps it (a Date would drop them). */
  at: string
  id: number
}

// Opaque to clients so the keyset can change without breaking them. It carries no filter, so a
// cursor (even a forged one) only moves a caller within rows its own filters and token allow.
export function encodeCursor(cursor: Cursor): string {
  return Buffer.from(`${cursor.at}|${cursor.id}`, 'utf8').toString('base64url')
}

const SHAPE = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z)\|([1-9]\d{0,15})$/

// Date.parse rolls 31 February over to March; PostgreSQL would refuse it with a 500. Round-trip instead.
// A cursor is forgeable, so it is held to the same years as any instant the API takes (1900–9999):
// year 0000 parses in JavaScript but not in PostgreSQL.
function isRealInstant(at: string): boolean {
  const ms = Date.parse(at)
  if (Number.isNaN(ms)) return false
  const year = new Date(ms).getUTCFullYear()
  return year >= 1900 && year <= 9999 && new Date(ms).toISOString().slice(0, 23) === at.slice(0, 23)
}

/** The cursor in `text`, or 400 VALIDATION_FAILED pointing at where it came from. */
export function decodeCursor(text: string, pointer: string): Cursor {
  const match = SHAPE.exec(Buffer.from(text, 'base64url').toString('utf8'))
  if (!match || !isRealInstant(match[1]!) || !Number.isSafeInteger(Number(match[2]))) {
    throw new AppError('VALIDATION_FAILED', 'The cursor is not one this API returned', {
      errors: [{ pointer, code: 'cursor', message: 'is not a cursor this API returned' }],
    })
  }
  return { at: match[1]!, id: Number(match[2]) }
}
