import { createHash, randomBytes } from 'node:crypto'

/*
 * Verification codes (扫码核验): 160 random bits from the CSPRNG, written as 32 characters of
 * RFC 4648 base32 (A-Z 2-7), so a code on paper can be typed back without case or 0/O confusion.
 * Nothing in a code comes from the holder, the identifier or a counter: one code says nothing
 * about any other, and guessing one means guessing 160 bits.
 */

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'
export const CODE_BYTES = 20
export const CODE_LENGTH = 32
export const CODE_PATTERN = '^[A-Za-z2-7]{32}$'
const CODE_RE = new RegExp(CODE_PATTERN)

function base32(bytes: Uint8Array): string {
  let out = ''
  let bits = 0
  let value = 0
  for (const byte of bytes) {
    value = (value << 8) | byte
    bits += 8
    while (bits >= 5) {
      out += ALPHABET[(value >>> (bits - 5)) & 31]
      bits -= 5
    }
  }
  if (bits > 0) out += ALPHABET[(value << (5 - bits)) & 31]
  return out
}

/** A fresh code. */
export function newVerificationCode(): string {
  return base32(randomBytes(CODE_BYTES))
}

/** The code as stored and compared: upper case (a code typed from paper may be lower case). Undefined if not code-shaped. */
export function normaliseCode(text: string): string | undefined {
  return CODE_RE.test(text) ? text.toUpperCase() : undefined
}

/** What the database keeps to find a code: hex SHA-256 of its normalised text. */
export function codeSha256(code: string): string {
  return createHash('sha256').update(code, 'utf8').digest('hex')
}

/**
 * A holder's name as a scan shows it: the first and last character kept for three or more
 * (张*三, 欧阳**明), the first alone for two (张*), nothing for one. Characters are code points,
 * so a name outside the BMP is not split in half.
 */
export function maskName(name: string): string {
  const chars = Array.from(name.trim())
  if (chars.length <= 1) return '*'
  if (chars.length === 2) return `${chars[0]}*`
  return `${chars[0]}${'*'.repeat(chars.length - 2)}${chars[chars.length - 1]}`
}
