import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { AppError } from '../errors.js'
import { authErrors, Problem } from '../schemas.js'
import type { TransparencyLog } from './integrator.js'
import { leafOf } from './leaf.js'
import { checkedEntry, openingOf } from './proofs.js'
import type { StoredCheckpoint } from './store.js'

const Count = Type.String({ pattern: '^(0|[1-9][0-9]{0,14})$', description: 'a decimal integer' })
const B64Hash = Type.String({ description: 'base64 SHA-256' })
const MAX_ENTRIES = 1000

const CheckpointQuery = Type.Object({ size: Type.Optional({ ...Count, description: 'a past tree size; absent: the latest' }) }, { additionalProperties: false })
const InclusionQuery = Type.Object(
  {
    index: Type.Optional({ ...Count, description: 'the leaf index' }),
    leafHash: Type.Optional(Type.String({ pattern: '^[0-9a-f]{64}$', description: 'or the leaf hash, hex SHA-256(0x00 ‖ leaf)' })),
    size: Type.Optional({ ...Count, description: 'the tree size to prove against; absent: the latest' }),
  },
  { additionalProperties: false },
)
const ConsistencyQuery = Type.Object(
  { from: { ...Count, description: 'the older tree size (≥ 1)' }, to: Type.Optional({ ...Count, description: 'the newer tree size; absent: the latest' }) },
  { additionalProperties: false },
)
const EntriesQuery = Type.Object(
  { start: { ...Count, description: 'first leaf index' }, end: Type.Optional({ ...Count, description: `exclusive; at most ${MAX_ENTRIES} entries` }) },
  { additionalProperties: false },
)

const InclusionProof = Type.Object(
  { leafIndex: Type.Integer(), treeSize: Type.Integer(), leafHash: B64Hash, proof: Type.Array(B64Hash), checkpoint: Type.String({ description: 'the signed checkpoint of treeSize' }) },
  { $id: 'InclusionProof' },
)
const ConsistencyProof = Type.Object(
  { from: Type.Integer(), to: Type.Integer(), proof: Type.Array(B64Hash), checkpoint: Type.String({ description: 'the signed checkpoint of `to`' }) },
  { $id: 'ConsistencyProof' },
)
const LogEntry = Type.Object(
  {
    leafIndex: Type.Integer(),
    leaf: Type.String({ description: 'base64 of the leaf bytes (RFC 8785 JSON)' }),
    salt: Type.String({ description: 'base64 of the salt that opens the commitments' }),
    treeLeafHash: Type.Union([B64Hash, Type.Null()], { description: "the tree's own hash of this leaf, as appended (SHA-256(0x00 ‖ leaf) when the event is intact)" }),
    event: Type.Object({}, { additionalProperties: true, description: 'the opening: at, kind, org, sub, holderRef, request, clientRequest, subject, certificates, details' }),
  },
  { $id: 'LogEntry' },
)

const size = (text: string | undefined): number | undefined => (text === undefined ? undefined : Number(text))

/**
 * The Merkle log's routes. Checkpoints and proofs are hashes only, so they are public: holders,
 * auditors and witnesses check the log without an account. The entries (who did what) are for
 * auditors.
 */
export const logRoutes: FastifyPluginAsyncTypebox<{ tlog: TransparencyLog }> = async (app, { tlog }) => {
  const { store } = tlog
  app.addSchema(InclusionProof)
  app.addSchema(ConsistencyProof)
  app.addSchema(LogEntry)

  async function checkpointOf(requested: number | undefined): Promise<StoredCheckpoint> {
    const latest = await store.latest()
    if (requested === undefined || requested === latest.size) {
      if (latest.size === 0) throw new AppError('CHECKPOINT_NOT_FOUND', 'The log is empty')
      return latest
    }
    const past = await store.checkpointAt(requested)
    if (!past) throw new AppError('CHECKPOINT_NOT_FOUND', `No checkpoint of size ${requested} was signed (the latest is ${latest.size})`)
    return past
  }

  app.get(
    '/v1/log/checkpoint',
    {
      schema: {
        tags: ['log'],
        operationId: 'getLogCheckpoint',
        summary: 'The signed checkpoint of the Merkle log, the latest or a past one (public)',
        description: 'A C2SP tlog-checkpoint as a signed note (text/plain): origin, tree size, base64 root, a blank line, one signature line per service key. Every checkpoint ever signed can be fetched again by its size.',
        security: [],
        querystring: CheckpointQuery,
        response: { 200: Type.String({ description: 'the signed note' }), 404: Problem, 422: Problem },
      },
    },
    async (request, reply) => {
      const checkpoint = await checkpointOf(size(request.query.size))
      reply.type('text/plain; charset=utf-8').header('cache-control', request.query.size ? 'public, max-age=31536000, immutable' : 'no-cache')
      return checkpoint.note
    },
  )

  app.get(
    '/v1/log/proof/inclusion',
    {
      schema: {
        tags: ['log'],
        operationId: 'getInclusionProof',
        summary: 'Proof that a leaf is in the tree of a given size (public)',
        description: 'By leaf index or leaf hash. A leaf whose event was deleted or altered in the database is answered 409 `LOG_ENTRY_MISMATCH`, never proved.',
        security: [],
        querystring: InclusionQuery,
        response: { 200: InclusionProof, 404: Problem, 409: Problem, 422: Problem },
      },
    },
    async (request) => {
      const { index, leafHash } = request.query
      if ((index === undefined) === (leafHash === undefined)) throw new AppError('VALIDATION_FAILED', 'Give exactly one of index and leafHash')
      const leafIndex = index !== undefined ? Number(index) : await store.indexOfLeafHash(Buffer.from(leafHash!, 'hex'))
      if (leafIndex === undefined) throw new AppError('LEAF_NOT_FOUND')
      const checkpoint = await checkpointOf(size(request.query.size))
      if (leafIndex >= checkpoint.size) throw new AppError('LOG_RANGE_INVALID', `Leaf ${leafIndex} is not in a tree of ${checkpoint.size}`)
      await checkedEntry(store, leafIndex)
      const proof = await store.inclusionProof(leafIndex, checkpoint.size)
      const stored = (await store.leafHashAt(leafIndex))!
      return { leafIndex, treeSize: checkpoint.size, leafHash: stored.toString('base64'), proof: proof.map((p) => p.toString('base64')), checkpoint: checkpoint.note }
    },
  )

  app.get(
    '/v1/log/proof/consistency',
    {
      schema: {
        tags: ['log'],
        operationId: 'getConsistencyProof',
        summary: 'Proof that the tree of one size extends the tree of a smaller one (public)',
        description: 'RFC 9162 §2.1.4: nothing was removed or changed between the two checkpoints.',
        security: [],
        querystring: ConsistencyQuery,
        response: { 200: ConsistencyProof, 404: Problem, 422: Problem },
      },
    },
    async (request) => {
      const from = Number(request.query.from)
      const checkpoint = await checkpointOf(size(request.query.to))
      if (from < 1 || from > checkpoint.size) throw new AppError('LOG_RANGE_INVALID', `A consistency proof runs from a size between 1 and ${checkpoint.size}`)
      const proof = await store.consistencyProof(from, checkpoint.size)
      return { from, to: checkpoint.size, proof: proof.map((p) => p.toString('base64')), checkpoint: checkpoint.note }
    },
  )

  app.get(
    '/v1/log/entries',
    {
      onRequest: app.auth(['auditor']),
      schema: {
        tags: ['log'],
        operationId: 'getLogEntries',
        summary: 'A range of the log\'s leaves with their openings (auditor)',
        description: `At most ${MAX_ENTRIES} per request. An auditor recomputes every leaf from its opening and salt, and the tree from the leaves, to check the database against a saved checkpoint (\`zhengzhao log verify --entries\`). A leaf whose event is gone is absent from the answer.`,
        security: [{ bearer: [] }],
        querystring: EntriesQuery,
        response: { 200: Type.Object({ items: Type.Array(Type.Ref(LogEntry)) }), 422: Problem, ...authErrors() },
      },
    },
    async (request) => {
      const start = Number(request.query.start)
      const end = request.query.end === undefined ? start + MAX_ENTRIES : Number(request.query.end)
      if (end <= start || end - start > MAX_ENTRIES) throw new AppError('LOG_RANGE_INVALID', `Ask for 1 to ${MAX_ENTRIES} entries (start < end)`)
      const [entries, treeHashes] = await Promise.all([store.entries(start, end), store.leafHashesIn(start, end)])
      return {
        items: entries.map((e) => ({
          leafIndex: e.leafIndex,
          leaf: leafOf(e, e.salt).toString('base64'),
          salt: e.salt.toString('base64'),
          treeLeafHash: treeHashes.get(e.leafIndex)?.toString('base64') ?? null,
          event: openingOf(e),
        })),
      }
    },
  )
}
