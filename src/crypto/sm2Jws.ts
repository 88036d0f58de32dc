import { sm2Verify, type Sm2PublicKey } from './sm2.js'

// The SM2 JWS profile's checks, kept free of jose: the SM2 worker threads import this module
// alone, so each thread does not load (and hold) a JOSE library it never uses.

/** The base64url alphabet only (RFC 4648 §5), no padding. */
export const BASE64URL = /^[A-Za-z0-9_-]*$/

/** Strict base64url: the alphabet only, no padding, and the canonical encoding of its bytes. */
export function decodeBase64url(text: string): Buffer | undefined {
  if (!BASE64URL.test(text) || text.length % 4 === 1) return undefined
  const bytes = Buffer.from(text, 'base64url')
  return bytes.toString('base64url') === text ? bytes : undefined
}

/** An SM2 JWS: the compact form's signature over `header.payload`, 64 bytes r ‖ s. */
export function verifySm2Jws(jws: string, key: Sm2PublicKey): boolean {
  const parts = jws.split('.')
  if (parts.length !== 3) return false
  const signature = decodeBase64url(parts[2]!)
  if (!signature || signature.length !== 64) return false
  return sm2Verify(key, Buffer.from(`${parts[0]}.${parts[1]}`, 'ascii'), signature, 'raw')
}
