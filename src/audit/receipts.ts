import { Type, type Static } from '@sinclair/typebox'
import { eventBodyOf } from '../log/leaf.js'
import { EventProofSchema, proofOfEntry, type EventProof } from '../log/proofs.js'
import type { AppendedLeaf, LogStore, StoredCheckpoint } from '../log/store.js'
import { AppError } from '../errors.js'

/**
 * A receipt is the proof that the answer's access event is in the Merkle log: the event as
 * recorded (who asked, why, what came back with each certificate's SHA-256, for verifications
 * the result), the salt that opens the leaf's commitments, the leaf, its inclusion proof and the
 * signed checkpoint that holds it. One signature per append covers every answer of that group,
 * where each answer used to carry a JWS of its own; anyone with the JWKS checks it offline
 * (`zhengzhao verify --receipt`), and anyone can later check the same leaf against a newer
 * checkpoint (`zhengzhao log verify --receipt`). The holder appears only inside the leaf, as a
 * salted commitment to their blind index.
 */
export const ReceiptSchema = Type.Object(
  {
    ...EventProofSchema.properties,
    event: Type.Object(
      {
        sub: Type.Union([Type.String(), Type.Null()], { description: "the requester's subject as recorded" }),
        request: Type.Union([Type.String(), Type.Null()], { description: "the service's request id" }),
        clientRequest: Type.Union([Type.String(), Type.Null()], { description: 'the x-request-id the client sent, if kept' }),
        subject: Type.Union([Type.String(), Type.Null()]),
        certificates: Type.Array(Type.String(), { description: 'the certificates concerned' }),
        details: Type.Object({}, { additionalProperties: true, description: 'purpose, outcome, `returned` (each certificate with the SHA-256 of what was served), `result` for a verification' }),
      },
      { description: "the opening of the leaf's actor and event commitments" },
    ),
  },
  { $id: 'Receipt', description: 'proof that this access is in the Merkle log (docs/log.md): verify offline with `zhengzhao verify --receipt FILE --jwks jwks.json`' },
)
export type Receipt = Static<typeof ReceiptSchema>

/** The receipt of a just-recorded access event, against the checkpoint that took it in. */
export async function receiptFor(store: LogStore, recorded: { eventId: number; checkpoint: StoredCheckpoint; leaf?: AppendedLeaf | undefined }): Promise<Receipt> {
  // Appended by this process: the append computed the proof while it held the new nodes.
  if (recorded.leaf) {
    const { entry, leaf, proof, checkpoint } = recorded.leaf
    return {
      leafIndex: entry.leafIndex,
      leaf: leaf.toString('base64'),
      salt: entry.salt.toString('base64'),
      treeSize: checkpoint.size,
      inclusionProof: proof.map((h) => h.toString('base64')),
      checkpoint: checkpoint.note,
      event: { sub: entry.actorSub, ...eventBodyOf(entry) } as Receipt['event'],
    }
  }
  const [entry] = await store.eventsById([recorded.eventId])
  if (!entry || entry.leafIndex >= recorded.checkpoint.size) throw new AppError('ACCESS_LOG_UNAVAILABLE')
  const proof: EventProof = await proofOfEntry(store, entry, recorded.checkpoint)
  return { ...proof, event: { sub: entry.actorSub, ...eventBodyOf(entry) } as Receipt['event'] }
}

/** The `returned` detail: each certificate served, with the SHA-256 of its stored form (and the SM3 of a file served). */
export type Returned = { id: string; sha256: string; documentSm3?: string }[]
