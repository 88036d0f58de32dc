import { hashLeaf, rootOf, verifyConsistency, verifyInclusion } from './merkle.js'
import { verifyCheckpoint, type Checkpoint, type NoteVerifier } from './note.js'
import { eventCommitment, holderCommitment, leafOf, parseLeaf, type EventBody } from './leaf.js'

/**
 * The checks a holder, an auditor or a witness runs against the log, as plain steps over what
 * the service answers (no HTTP here: src/cli/log.ts fetches, these decide). Each returns a
 * named outcome; nothing throws on bad input.
 */

export interface Step {
  check: string
  ok: boolean
  detail: string
}

const b64 = (s: unknown): Buffer => Buffer.from(typeof s === 'string' ? s : '', 'base64')

export function checkSignedCheckpoint(label: string, note: string, verifiers: readonly NoteVerifier[], origin?: string): { step: Step; checkpoint?: Checkpoint } {
  const v = verifyCheckpoint(note, verifiers, origin)
  if (!v.ok) return { step: { check: `${label} checkpoint`, ok: false, detail: `${v.reason}: ${v.detail}` } }
  return { step: { check: `${label} checkpoint`, ok: true, detail: `size ${v.checkpoint.size}, signed by ${v.signedBy.join(', ')}` }, checkpoint: v.checkpoint }
}

export function checkConsistency(older: Checkpoint, newer: Checkpoint, proof: readonly string[]): Step {
  const check = `consistency ${older.size} → ${newer.size}`
  if (older.origin !== newer.origin) return { check, ok: false, detail: `the origins differ ("${older.origin}" and "${newer.origin}")` }
  if (newer.size < older.size) return { check, ok: false, detail: 'the log shrank: entries were removed' }
  const r = verifyConsistency(older.size, newer.size, proof.map(b64), older.root, newer.root)
  return r.ok ? { check, ok: true, detail: 'nothing removed or changed in between' } : { check, ok: false, detail: `${r.reason}: the later tree does not extend the saved one` }
}

/** A saved proof of one event: a lookup or read answer's `log`, or a holder's access-log item's `log`. */
export interface SavedLeaf {
  leafIndex: number
  leaf: string
  salt?: string
  inclusionProof?: string[]
  treeSize?: number
  checkpoint?: string
  opening?: EventBody
}

/**
 * Finds the saved proof in a file's JSON: the object itself, its `log` member, or an answer's
 * `receipt` (whose `event` names the requester's user, so it is not taken as the opening).
 */
export function savedLeafOf(json: unknown): SavedLeaf | undefined {
  const saved = json as { log?: unknown; receipt?: unknown } | null
  const candidate = saved?.log ?? saved?.receipt ?? json
  const c = candidate as Partial<SavedLeaf>
  if (c && typeof c === 'object' && Number.isSafeInteger(c.leafIndex) && typeof c.leaf === 'string') return c as SavedLeaf
  return undefined
}

/** The leaf's own content: canonical, and when openings are given, they open its commitments. */
export function checkLeafOpening(saved: SavedLeaf, holderRef?: string): Step {
  const check = `leaf ${saved.leafIndex} content`
  const leaf = parseLeaf(b64(saved.leaf))
  if (!leaf) return { check, ok: false, detail: 'not a canonical leaf of this log' }
  if (saved.opening && saved.salt && eventCommitment(b64(saved.salt), saved.opening) !== leaf.event) return { check, ok: false, detail: 'the opening does not match the event commitment' }
  if (holderRef && saved.salt && leaf.holder !== holderCommitment(b64(saved.salt), holderRef)) return { check, ok: false, detail: 'the leaf is not about this holder' }
  return { check, ok: true, detail: `${leaf.kind} by ${leaf.org ?? 'nobody'} at ${leaf.at}` }
}

export function checkInclusion(saved: SavedLeaf, checkpoint: Checkpoint, proof: readonly string[], label: string): Step {
  const check = `inclusion of leaf ${saved.leafIndex} in ${label} (size ${checkpoint.size})`
  const r = verifyInclusion(saved.leafIndex, checkpoint.size, hashLeaf(b64(saved.leaf)), proof.map(b64), checkpoint.root)
  return r.ok ? { check, ok: true, detail: 'included' } : { check, ok: false, detail: `${r.reason}: the leaf is not in this tree` }
}

export interface AuditedEntry {
  leafIndex: number
  leaf: string
  salt: string
  treeLeafHash?: string | null
  event: { at: string; kind: string; org: string | null; sub: string | null; holderRef: string | null } & EventBody
}

/** An auditor's full check: every leaf present, each recomputed from its opening, their root the signed one. */
export function checkEntries(entries: readonly AuditedEntry[], checkpoint: Checkpoint): Step {
  const check = `entries 0…${checkpoint.size - 1}`
  const hashes: Buffer[] = []
  for (let i = 0; i < checkpoint.size; i++) {
    const e = entries[i]
    if (!e || e.leafIndex !== i) return { check, ok: false, detail: `leaf ${i} is missing: an event was deleted` }
    const ev = e.event
    const recomputed = leafOf(
      { at: ev.at, kind: ev.kind, actorOrg: ev.org, actorSub: ev.sub, requestId: ev.request, clientRequestId: ev.clientRequest, subject: ev.subject, holderRef: ev.holderRef, certificateIds: ev.certificates, details: ev.details },
      b64(e.salt),
    )
    const hash = hashLeaf(recomputed)
    if (recomputed.toString('base64') !== e.leaf || (e.treeLeafHash != null && !hash.equals(b64(e.treeLeafHash)))) return { check, ok: false, detail: `leaf ${i} does not match its event: the event was altered` }
    hashes.push(hash)
  }
  return rootOf(hashes).equals(checkpoint.root)
    ? { check, ok: true, detail: `${checkpoint.size} events recomputed; their root is the signed root` }
    : { check, ok: false, detail: 'the events do not hash to the signed root: events were altered, swapped or removed' }
}
