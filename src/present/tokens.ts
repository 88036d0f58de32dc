import { createHash, randomBytes } from 'node:crypto'

/*
 * A presentation token (亮证): 192 bits from the CSPRNG, as 32 characters of base64url. Nothing in
 * it comes from the holder, the certificate or a counter, and nothing signs it: what makes a token
 * good is its row (held by its SHA-256), which a use consumes. A signature would lengthen the QR
 * code and add nothing, since every use must reach that row anyway to be single.
 */

export const TOKEN_BYTES = 24
export const TOKEN_PATTERN = '^[A-Za-z0-9_-]{32}$'
const TOKEN_RE = new RegExp(TOKEN_PATTERN)

/** A fresh token. */
export function newPresentationToken(): string {
  return randomBytes(TOKEN_BYTES).toString('base64url')
}

/** Whether a text is token-shaped (anything else is answered as unknown without a query). */
export function isTokenShaped(text: string): boolean {
  return TOKEN_RE.test(text)
}

/** What the database keeps: hex SHA-256 of the token. A 192-bit random token needs no key. */
export function tokenSha256(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex')
}
