import { Type } from '@sinclair/typebox'
import { AppError } from '../errors.js'
import { eventBodyOf, leafOf } from './leaf.js'
import { hashLeaf } from './merkle.js'
import type { EntryRow, LogStore, StoredCheckpoint } from './store.js'

/**
 * What proves one event is in the log: the leaf (and the salt that opens its commitments), its
 * inclusion proof against a signed checkpoint, and that checkpoint. Receipts, the holder's access
 * log and the public proof routes all build it here.
 */
export interface EventProof {
  leafIndex: number
  /** base64 of the leaf's canonical bytes. */
  leaf: string
  salt: string
  treeSize: number
  /** base64 hashes, leaf to root (RFC 9162 §2.1.3). */
  inclusionProof: string[]
  /** The signed checkpoint (C2SP signed note) of `treeSize`. */
  checkpoint: string
}

export const EventProofSchema = Type.Object(
  {
    leafIndex: Type.Integer(),
    leaf: Type.String({ description: 'base64 of the leaf bytes (RFC 8785 JSON: v, at, kind, org, actor, holder, event)' }),
    salt: Type.String({ description: 'base64 of the salt that opens the leaf\'s commitments' }),
    treeSize: Type.Integer(),
    inclusionProof: Type.Array(Type.String(), { description: 'base64 hashes, leaf to root (RFC 9162 §2.1.3)' }),
    checkpoint: Type.String({ description: 'the signed checkpoint (C2SP signed note) of treeSize, whose root the proof reaches' }),
  },
  { $id: 'EventProof', description: 'proof that this answer\'s access event is in the Merkle log: `zhengzhao log verify --receipt` checks it offline against the JWKS' },
)

const b64 = (b: Buffer): string => b.toString('base64')

/**
 * The entry at `index`, checked against the tree before anything is proved from it: an event
 * deleted or rewritten in the database is reported, never proved.
 */
export async function checkedEntry(store: LogStore, index: number): Promise<EntryRow> {
  const [entry] = await store.entries(index, index + 1)
  const stored = await store.leafHashAt(index)
  if (!entry || !stored || !hashLeaf(leafOf(entry, entry.salt)).equals(stored)) throw new AppError('LOG_ENTRY_MISMATCH', `The event at leaf ${index} is missing or altered`)
  return entry
}

/** The proof of an event already appended, against `checkpoint` (which must cover it). */
export async function proofOfEntry(store: LogStore, entry: EntryRow, checkpoint: StoredCheckpoint): Promise<EventProof> {
  const leaf = leafOf(entry, entry.salt)
  const proof = await store.inclusionProof(entry.leafIndex, checkpoint.size)
  return { leafIndex: entry.leafIndex, leaf: b64(leaf), salt: b64(entry.salt), treeSize: checkpoint.size, inclusionProof: proof.map(b64), checkpoint: checkpoint.note }
}

/** The opening of an entry's commitments, for whoever may see them. */
export function openingOf(entry: EntryRow) {
  return { at: entry.at, kind: entry.kind, org: entry.actorOrg, sub: entry.actorSub, holderRef: entry.holderRef, ...eventBodyOf(entry) }
}
