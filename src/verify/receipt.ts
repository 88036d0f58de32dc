import type { JSONWebKeySet, ProtectedHeaderParameters } from 'jose'
import { maskIdNumbersIn } from '../ids/index.js'
import { RECEIPT_TYP } from '../crypto/serviceKeys.js'
import { actorCommitment, eventCommitment, parseLeaf, type EventBody, type Leaf } from '../log/leaf.js'
import { hashLeaf, verifyInclusion } from '../log/merkle.js'
import { noteVerifiersFromJwks, verifyCheckpoint, type Checkpoint } from '../log/note.js'
import type { EventProof } from '../log/proofs.js'
import { ServiceJwsError, verifyServiceJws } from './serviceJws.js'

/**
 * Offline verification of a receipt (`zhengzhao verify --receipt`). Today's receipts are proofs
 * in the Merkle log (src/audit/receipts.ts): the checkpoint's signature is checked with the
 * JWKS, the leaf is opened with the salt and the event as recorded, and the inclusion proof must
 * reach the checkpoint's root. Receipts issued before the log — compact JWS, typ
 * zhengzhao-receipt+jws — still verify by their signature.
 */

export type ReceiptFailure = 'RECEIPT_MALFORMED' | 'CHECKPOINT_INVALID' | 'LEAF_MALFORMED' | 'OPENING_MISMATCH' | 'NOT_INCLUDED'

export class ReceiptError extends Error {
  constructor(
    readonly code: ReceiptFailure | ServiceJwsError['code'],
    message: string,
  ) {
    super(message)
  }
}

interface ProofReceipt extends EventProof {
  event: EventBody & { sub: string | null }
}

export type VerifiedReceipt =
  | { form: 'proof'; checkpoint: Checkpoint; signedBy: string[]; leafIndex: number; leaf: Leaf; event: ProofReceipt['event'] }
  | { form: 'jws'; header: ProtectedHeaderParameters; claims: Record<string, unknown> & { iss: string; iat: number } }

const b64 = (s: string): Buffer => Buffer.from(s, 'base64')

/** The receipt in a file: a saved API answer's `receipt` (object, or a JWS string), a bare receipt object, or a bare JWS. */
function receiptIn(text: string): ProofReceipt | string {
  const trimmed = text.replace(/^\uFEFF/, '').trim()
  if (!trimmed.startsWith('{')) return trimmed
  let json: unknown
  try {
    json = JSON.parse(trimmed)
  } catch {
    throw new ReceiptError('RECEIPT_MALFORMED', 'the file is neither a compact JWS nor JSON')
  }
  const r = ((json as { receipt?: unknown }).receipt ?? json) as Partial<ProofReceipt> | string
  if (typeof r === 'string') return r
  const ok =
    r && Number.isSafeInteger(r.leafIndex) && Number.isSafeInteger(r.treeSize) && typeof r.leaf === 'string' && typeof r.salt === 'string' &&
    typeof r.checkpoint === 'string' && Array.isArray(r.inclusionProof) && r.inclusionProof.every((p) => typeof p === 'string') && r.event && typeof r.event === 'object'
  if (!ok) throw new ReceiptError('RECEIPT_MALFORMED', 'the JSON holds no receipt (leafIndex, leaf, salt, treeSize, inclusionProof, checkpoint, event)')
  return r as ProofReceipt
}

/** Verifies a receipt against the service's JWKS; throws ReceiptError naming the failing step. */
export async function verifyReceipt(text: string, jwks: JSONWebKeySet): Promise<VerifiedReceipt> {
  const r = receiptIn(text)
  if (typeof r === 'string') {
    try {
      const { header, payload } = await verifyServiceJws(r, jwks, RECEIPT_TYP)
      const claims = payload as VerifiedReceipt & { iss: string; iat: number }
      if (typeof claims !== 'object' || claims === null || claims.iss !== 'zhengzhao' || typeof claims.iat !== 'number') throw new ReceiptError('RECEIPT_MALFORMED', 'the payload is not a Zhengzhao receipt')
      return { form: 'jws', header, claims: claims as unknown as Record<string, unknown> & { iss: string; iat: number } }
    } catch (err) {
      if (err instanceof ServiceJwsError) throw new ReceiptError(err.code, err.message)
      throw err
    }
  }
  // 1. The checkpoint is signed by a key the JWKS holds.
  const note = verifyCheckpoint(r.checkpoint, noteVerifiersFromJwks(jwks as { keys: never[] }))
  if (!note.ok) throw new ReceiptError('CHECKPOINT_INVALID', `the checkpoint does not verify: ${note.reason}: ${note.detail}`)
  if (note.checkpoint.size !== r.treeSize) throw new ReceiptError('CHECKPOINT_INVALID', `the checkpoint is of size ${note.checkpoint.size}, the proof of ${r.treeSize}`)
  // 2. The leaf is one of this log's, and the event as recorded opens its commitments.
  const leafBytes = b64(r.leaf)
  const leaf = parseLeaf(leafBytes)
  if (!leaf) throw new ReceiptError('LEAF_MALFORMED', 'the leaf is not canonical JSON of this log')
  const salt = b64(r.salt)
  const { sub, ...body } = r.event
  if (leaf.event !== eventCommitment(salt, body as EventBody)) throw new ReceiptError('OPENING_MISMATCH', 'the event does not open the leaf: it was changed')
  if ((sub === null) !== (leaf.actor === null) || (sub !== null && leaf.actor !== actorCommitment(salt, sub))) throw new ReceiptError('OPENING_MISMATCH', 'the requester does not open the leaf')
  // 3. The leaf is in the tree the checkpoint signs.
  const included = verifyInclusion(r.leafIndex, note.checkpoint.size, hashLeaf(leafBytes), r.inclusionProof.map(b64), note.checkpoint.root)
  if (!included.ok) throw new ReceiptError('NOT_INCLUDED', `the inclusion proof fails (${included.reason})`)
  return { form: 'proof', checkpoint: note.checkpoint, signedBy: note.signedBy, leafIndex: r.leafIndex, leaf, event: r.event }
}

/** For people, one per line. The holder appears only as the leaf's commitment. */
export function describeReceipt(v: VerifiedReceipt): string {
  if (v.form === 'jws') {
    const c = v.claims as { kind?: string; iat: number; iss: string; requester?: { org?: string; sub?: string }; requestId?: string; result?: number; purpose?: { matterCode: string; reason: string }; certificates?: { id: string; sha256: string }[] }
    const lines = [
      `VALID receipt (a signed receipt from before the log): signature verified with the JWKS (kid ${v.header.kid ?? '?'}, ${v.header.alg}).`,
      `  kind:        ${c.kind}`,
      `  issued:      ${new Date(c.iat * 1000).toISOString()} by ${c.iss}`,
      `  requester:   ${c.requester?.org ?? '?'} / ${c.requester?.sub ?? '?'}`,
      `  request id:  ${c.requestId}`,
    ]
    if (c.result !== undefined) lines.push(`  result:      ${c.result}`)
    if (c.purpose) lines.push(`  purpose:     ${c.purpose.matterCode}: ${maskIdNumbersIn(c.purpose.reason)}`)
    for (const cert of c.certificates ?? []) lines.push(`    ${cert.id}  sha256 ${cert.sha256}`)
    return `${lines.join('\n')}\n`
  }
  const d = v.event.details as { purpose?: { matterCode?: string; reason?: string } | null; result?: number; outcome?: string; returned?: { id: string; sha256: string; documentSm3?: string }[] }
  const lines = [
    `VALID receipt: leaf ${v.leafIndex} is in the log "${v.checkpoint.origin}" of size ${v.checkpoint.size}, checkpoint signed by ${v.signedBy.join(', ')}.`,
    `  kind:        ${v.leaf.kind}`,
    `  at:          ${v.leaf.at}`,
    `  requester:   ${v.leaf.org ?? '?'} / ${v.event.sub ?? '?'}`,
    `  request id:  ${v.event.request ?? '?'}`,
  ]
  if (d.result !== undefined) lines.push(`  result:      ${d.result}`)
  if (d.outcome !== undefined) lines.push(`  outcome:     ${d.outcome}`)
  // The reason is free text a reader typed: mask anything shaped like an ID number.
  if (d.purpose?.matterCode) lines.push(`  purpose:     ${d.purpose.matterCode}: ${maskIdNumbersIn(d.purpose.reason ?? '')}`)
  lines.push(`  holder:      ${v.leaf.holder === null ? 'none' : 'a salted commitment to the holder (opened by the holder alone)'}`)
  lines.push(`  certificates (${d.returned?.length ?? 0}):`)
  for (const cert of d.returned ?? []) lines.push(`    ${cert.id}  sha256 ${cert.sha256}${cert.documentSm3 ? `  document sm3 ${cert.documentSm3}` : ''}`)
  return `${lines.join('\n')}\n`
}
