import type { JSONWebKeySet, ProtectedHeaderParameters } from 'jose'
import type { ReceiptClaims } from '../audit/receipts.js'
import { maskIdNumbersIn } from '../ids/index.js'
import { RECEIPT_TYP } from '../crypto/serviceKeys.js'
import { ServiceJwsError, verifyServiceJws } from './serviceJws.js'

export type VerifiedReceipt = { header: ProtectedHeaderParameters; claims: ReceiptClaims & { iss: string; iat: number } }

/** The JWS in a receipt file: the bare JWS, or a saved API answer carrying a "receipt" string. */
export function receiptJwsOf(text: string): string {
  const trimmed = text.replace(/^\uFEFF/, '').trim()
  if (!trimmed.startsWith('{')) return trimmed
  try {
    const receipt = (JSON.parse(trimmed) as { receipt?: unknown }).receipt
    if (typeof receipt === 'string') return receipt
  } catch {
    // reported below
  }
  throw new ServiceJwsError('JWS_MALFORMED', 'the file is neither a compact JWS nor JSON with a "receipt" string')
}

/**
 * Verifies a receipt (typ zhengzhao-receipt+jws) against the service's JWKS and returns its claims.
 * @throws ServiceJwsError saying why it does not verify.
 */
export async function verifyReceipt(text: string, jwks: JSONWebKeySet): Promise<VerifiedReceipt> {
  const { header, payload } = await verifyServiceJws(receiptJwsOf(text), jwks, RECEIPT_TYP)
  const claims = payload as VerifiedReceipt['claims']
  if (typeof claims !== 'object' || claims === null || claims.iss !== 'zhengzhao' || typeof claims.iat !== 'number') {
    throw new ServiceJwsError('JWS_MALFORMED', 'the payload is not a Zhengzhao receipt')
  }
  return { header, claims }
}

/** The claims for people, one per line. The holder appears only as its blind index. */
export function describeReceipt(r: VerifiedReceipt): string {
  const c = r.claims
  const lines = [
    `VALID receipt: signature verified with the JWKS (kid ${r.header.kid ?? '?'}, ${r.header.alg}).`,
    `  kind:        ${c.kind}`,
    `  issued:      ${new Date(c.iat * 1000).toISOString()} by ${c.iss}`,
    `  requester:   ${c.requester?.org ?? '?'} / ${c.requester?.sub ?? '?'}`,
    `  request id:  ${c.requestId}`,
  ]
  if (c.result !== undefined) lines.push(`  result:      ${c.result}`)
  // The reason is free text a reader typed: mask anything shaped like an ID number.
  if (c.purpose) lines.push(`  purpose:     ${c.purpose.matterCode}: ${maskIdNumbersIn(c.purpose.reason)}`)
  if (c.holderRef) lines.push(`  holder ref:  ${c.holderRef} (keyed blind index)`)
  lines.push(`  certificates (${c.certificates?.length ?? 0}):`)
  for (const cert of c.certificates ?? []) lines.push(`    ${cert.id}  sha256 ${cert.sha256}`)
  return `${lines.join('\n')}\n`
}
