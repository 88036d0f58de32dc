import { RECEIPT_TYP, signServiceJws, type ServiceKeys } from '../crypto/serviceKeys.js'

/** What a receipt proves: who asked, why, about whom (blind index), when, and what they got. */
export interface ReceiptClaims {
  kind: 'lookup' | 'read' | 'verify'
  requester: { org: string; sub: string }
  /** Keyed blind index of the holder, never the ID number. */
  holderRef?: string
  purpose?: { matterCode: string; reason: string }
  requestId: string
  /** Each returned certificate's identifier and the SHA-256 (hex) of its JWS (and the SM3 of a document served). */
  certificates: { id: string; sha256: string; documentSm3?: string }[]
  /** For verifications: the GB/T 36906 result code. */
  result?: number
}

/**
 * A receipt is a compact JWS (typ zhengzhao-receipt+jws) signed by the service key: anyone with
 * /.well-known/jwks.json, or openssl and the public key, can check it.
 */
export function signReceipt(keys: ServiceKeys, claims: ReceiptClaims, now = new Date()): Promise<string> {
  return signServiceJws(keys, { iss: 'zhengzhao', iat: Math.floor(now.getTime() / 1000), ...claims }, RECEIPT_TYP)
}
