import { randomBytes } from 'node:crypto'
import { sql } from 'drizzle-orm'
import { rawStatement, rowsOf, type Db } from '../db/client.js'
import { isDataError, isUniqueViolation } from '../db/errors.js'
import { insertFirstVersions, type FirstVersionRow } from '../certificates/firstVersions.js'
import { leafOf, type LoggedEvent } from './leaf.js'
import { append, consistencyRanges, EMPTY_ROOT, foldRange, frontier, hashLeaf, inclusionRanges, rangeNodes, type NodeId, type Range } from './merkle.js'
import { signCheckpoint, type NoteSigner } from './note.js'

/**
 * The Merkle log in PostgreSQL. Storage is a table of complete subtrees (log_nodes), not C2SP
 * tiles: every proof is one query of at most 2·log2(n) rows by primary key, an append is one
 * multi-row insert of about two rows per event, and nothing is ever rewritten — tiles would store
 * 256 times fewer rows but rewrite a partial tile on every append, and they are a format for
 * serving static files, which this service does not do. A tile endpoint can be derived from these
 * rows later without a migration.
 *
 * Appends never fork the tree across processes: each writes the next nodes and checkpoint in one
 * statement, and the primary keys admit only one writer of a given size (the loser reads again
 * and retries). Each append takes whatever events are committed and not yet in the tree and
 * signs one checkpoint, kept for ever.
 */

// Most events one append takes; more wait for the next (which starts at once).
const MAX_APPEND = 5000

export interface StoredCheckpoint {
  size: number
  root: Buffer
  note: string
}

export interface EntryRow extends LoggedEvent {
  id: number
  leafIndex: number
  salt: Buffer
}

const EMPTY: StoredCheckpoint = { size: 0, root: EMPTY_ROOT, note: '' }

const eventColumns = sql`e.id, to_char(e.at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as at_text, e.kind, e.actor_org, e.actor_sub, e.request_id,
  e.client_request_id, e.subject, e.holder_ref, e.certificate_ids, e.details, e.leaf_index::text as leaf_index, e.salt`

interface EventSqlRow {
  id: number | string
  at_text: string
  kind: string
  actor_org: string | null
  actor_sub: string | null
  request_id: string | null
  client_request_id: string | null
  subject: string | null
  holder_ref: string | null
  certificate_ids: string[] | null
  details: unknown
  leaf_index: string | null
  salt: Uint8Array | null
}

function toEvent(r: EventSqlRow): LoggedEvent & { id: number } {
  return {
    id: Number(r.id),
    at: r.at_text,
    kind: r.kind,
    actorOrg: r.actor_org,
    actorSub: r.actor_sub,
    requestId: r.request_id,
    clientRequestId: r.client_request_id,
    subject: r.subject,
    holderRef: r.holder_ref,
    certificateIds: r.certificate_ids,
    // postgres.js hands jsonb back parsed, PGlite too; a string would be a driver quirk.
    details: typeof r.details === 'string' ? JSON.parse(r.details) : r.details,
  }
}

function toEntry(r: EventSqlRow): EntryRow {
  return { ...toEvent(r), leafIndex: Number(r.leaf_index), salt: Buffer.from(r.salt ?? []) }
}

type Queryable = Pick<Db, 'execute'>

async function nodeHashes(db: Queryable, ids: readonly NodeId[]): Promise<Map<string, Buffer>> {
  const found = new Map<string, Buffer>()
  if (ids.length === 0) return found
  // A row list, not a join with unnest: the planner then reads each node through the primary key
  // instead of hashing the whole table (measured: a seq scan of log_nodes per proof otherwise).
  const wanted = sql.join(
    ids.map((i) => sql`(${i.level}::int, ${String(i.index)}::bigint)`),
    sql`, `,
  )
  const rows = await rowsOf<{ level: number; index: string; hash: Uint8Array }>(db, sql`select n.level, n.index::text as index, n.hash from log_nodes n where (n.level, n.index) in (${wanted})`)
  for (const r of rows) found.set(`${r.level}:${r.index}`, Buffer.from(r.hash))
  return found
}

async function rangeHashes(db: Queryable, ranges: readonly Range[]): Promise<Buffer[]> {
  const pieces = ranges.map(rangeNodes)
  const hashes = await nodeHashes(db, pieces.flat())
  return pieces.map((ids) =>
    foldRange(
      ids.map((id) => {
        const h = hashes.get(`${id.level}:${id.index}`)
        if (!h) throw new Error(`the log is missing node ${id.level}:${id.index}`)
        return h
      }),
    ),
  )
}

async function latestIn(db: Queryable): Promise<StoredCheckpoint> {
  const [row] = await rowsOf<{ size: string; root: Uint8Array; note: string }>(db, sql`select c.size::text as size, c.root, c.note from log_checkpoints c order by c.size desc limit 1`)
  return row ? { size: Number(row.size), root: Buffer.from(row.root), note: row.note } : EMPTY
}

/** An event appended by this process, with its inclusion proof against the checkpoint that took it in. */
export interface AppendedLeaf {
  entry: EntryRow
  /** The leaf's bytes (leafOf of the entry), as hashed into the tree: a receipt shows them without computing them again. */
  leaf: Buffer
  proof: Buffer[]
  checkpoint: StoredCheckpoint
}

/** An event placed by an append of pending events: no caller reads a proof there, so none is made. */
export type PlacedLeaf = Omit<AppendedLeaf, 'proof'>

export interface AppendResult {
  checkpoint: StoredCheckpoint
  /** By event id. */
  appended: Map<number, PlacedLeaf>
  full: boolean
}

/**
 * Each wanted new leaf's inclusion proof against the new size, computed while the append still holds
 * the new nodes: only older complete subtrees missing from memory are read, in one query, so an
 * answer's receipt costs no query of its own.
 */
async function proofsOfNewLeaves(tx: Queryable, first: number, size: number, known: Map<string, Buffer>, wanted: readonly boolean[]): Promise<Buffer[][]> {
  // A leaf nobody will show a proof for (a push's) gets none: an empty plan.
  const plans = Array.from({ length: size - first }, (_, k) => (wanted[k] ? inclusionRanges(first + k, size).map(rangeNodes) : []))
  const missing = new Map<string, NodeId>()
  for (const plan of plans) for (const ids of plan) for (const id of ids) if (!known.has(`${id.level}:${id.index}`)) missing.set(`${id.level}:${id.index}`, id)
  for (const [key, hash] of await nodeHashes(tx, [...missing.values()])) known.set(key, hash)
  // Ranges recur from leaf to leaf (the right edge, the older subtrees): fold each one once.
  const folded = new Map<string, Buffer>()
  return plans.map((plan) =>
    plan.map((ids) => {
      const key = ids.map((id) => `${id.level}:${id.index}`).join(',')
      let hash = folded.get(key)
      if (!hash) {
        hash = foldRange(
          ids.map((id) => {
            const h = known.get(`${id.level}:${id.index}`)
            if (!h) throw new Error(`the log is missing node ${id.level}:${id.index}`)
            return h
          }),
        )
        folded.set(key, hash)
      }
      return hash
    }),
  )
}

export interface LogStoreOptions {
  origin: string
  signers: readonly NoteSigner[]
  /**
   * Tests only (test/log/race.test.ts): awaited by an append of pending events between its read
   * of the tree and its read of the pending events, where another process's append can land.
   */
  betweenReads?: () => Promise<void>
}

/** An event to write and append at once (src/audit/accessLog.ts): its row, without time or place. */
export type NewEvent = Omit<LoggedEvent, 'at'>

/** What this process knows of the tree after its own last append: enough to grow it without a read. */
interface TreeState {
  checkpoint: StoredCheckpoint
  /** The hashes of frontier(checkpoint.size), in order. */
  edge: Buffer[]
}

export interface NewEventsResult {
  /** The events' row ids, in the order given. */
  ids: number[]
  leaves: AppendedLeaf[]
  checkpoint: StoredCheckpoint
  /** Events committed before this append were still waiting outside the tree (another path's, or a crashed process's). */
  pendingSeen: boolean
}

/** A fresh random 16-byte salt per event, drawn in one call for the whole append (one call each cost more than the leaves' hashing). */
function saltsFor(n: number): Buffer[] {
  const bytes = randomBytes(16 * n)
  return Array.from({ length: n }, (_, i) => bytes.subarray(16 * i, 16 * (i + 1)))
}

/** The microsecond text form the log reads `at` in (to_char … 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'). */
export function atText(date: Date): string {
  return date.toISOString().replace(/Z$/, '000Z')
}

/**
 * The certificates given to appendNew were not all stored (a series or an identifier is there
 * already, or the database refused a value): nothing of that statement was written. The caller
 * stores them the careful way, which tells an unchanged push from a conflict.
 */
export class IssuanceNotStored extends Error {
  readonly code = 'ISSUANCE_NOT_STORED'
  constructor(cause: unknown) {
    super('the certificates were not stored with their events: nothing was written', { cause })
  }
}

/** An append that found one of its pending events already placed (see appendOnce): retried. */
function isPlacementShort(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === '22012' || (err as { cause?: { code?: unknown } } | null)?.cause?.code === '22012'
}

/**
 * The log's hot statements, their text built once (src/db/client.ts rawStatement): an append
 * runs one of them per group of answers.
 */
function logStatements(db: Db) {
  const newNodes = (v: Record<'levels' | 'indexes' | 'hashes', unknown>) =>
    sql`insert into log_nodes (level, index, hash)
        select level, index, decode(hash_b64, 'base64') from unnest(${v.levels}::int[], ${v.indexes}::bigint[], ${v.hashes}::text[]) as t(level, index, hash_b64)`
  const newEvents = (rows: unknown) =>
    sql`insert into audit_events (at, kind, actor_sub, actor_org, request_id, client_request_id, holder_ref, certificate_ids, subject, details, leaf_index, salt)
        select (e->>'at')::timestamptz, e->>'kind', e->>'actorSub', e->>'actorOrg', e->>'requestId', e->>'clientRequestId', e->>'holderRef',
          case when jsonb_typeof(e->'certificateIds') = 'array' then array(select jsonb_array_elements_text(e->'certificateIds')) end,
          e->>'subject', e->'details', (e->>'leafIndex')::bigint, decode(e->>'salt', 'base64')
        from jsonb_array_elements(${rows}::jsonb) as t(e)
        returning id, leaf_index`
  const newCheckpoint = (v: Record<'size' | 'root' | 'note', unknown>) => sql`insert into log_checkpoints (size, root, note) values (${v.size}::bigint, decode(${v.root}, 'base64'), ${v.note})`
  const answer = sql`select ins.id, ins.leaf_index::text as leaf_index, exists (select 1 from audit_events p where p.leaf_index is null) as pending from ins`
  return {
    /** New events written with their places, the new nodes and the checkpoint (appendNewOnce). */
    appendNew: rawStatement(
      db,
      ['rows', 'levels', 'indexes', 'hashes', 'size', 'root', 'note'],
      (v) => sql`with ins as (${newEvents(v.rows)}), nodes as (${newNodes(v)}), cp as (${newCheckpoint(v)}) ${answer}`,
    ),
    /**
     * The same, and first versions of certificates stored with their issuance events
     * (src/certificates/firstVersions.ts). Every certificate must be stored, else nothing is: a
     * division by zero undoes the whole statement, and the caller stores them another way.
     */
    appendIssued: rawStatement(
      db,
      ['rows', 'certificates', 'certificateCount', 'at', 'levels', 'indexes', 'hashes', 'size', 'root', 'note'],
      (v) => sql`with stored as (${insertFirstVersions(v.certificates, v.at)}), ins as (${newEvents(v.rows)}), nodes as (${newNodes(v)}), cp as (
        insert into log_checkpoints (size, root, note)
        select ${v.size}::bigint, decode(${v.root}, 'base64'), ${v.note}
        from (select count(*) as n from stored) s
        where 1 / (case when s.n = ${v.certificateCount}::int then 1 else 0 end) = 1
      ) ${answer}`,
    ),
    /** Committed events not yet in the tree, oldest first (appendOnce). */
    pending: rawStatement(db, [], () => sql`select ${eventColumns} from audit_events e where e.leaf_index is null order by e.id limit ${sql.raw(String(MAX_APPEND))}`),
    /**
     * Pending events placed, with the new nodes and the checkpoint, only while the tree is the one
     * read: a checkpoint of the size read must be the latest (none at all for an empty tree), else
     * nothing is written and another appender won the race (appendOnce).
     */
    place: rawStatement(
      db,
      ['levels', 'indexes', 'hashes', 'ids', 'leafIndexes', 'salts', 'size', 'root', 'note', 'count'],
      (v) => sql`with nodes as (
        ${newNodes(v)}
      ), placed as (
        update audit_events e set leaf_index = t.leaf_index, salt = decode(t.salt, 'base64')
        from unnest(${v.ids}::bigint[], ${v.leafIndexes}::bigint[], ${v.salts}::text[]) as t(id, leaf_index, salt)
        where e.id = t.id and e.leaf_index is null
        returning e.id
      )
      -- Every leaf must have its event: if any pending event was placed meanwhile, divide by
      -- zero, which undoes the whole statement (the caller reads the tree again and retries).
      insert into log_checkpoints (size, root, note)
      select ${v.size}::bigint, decode(${v.root}, 'base64'), ${v.note}
      from (select count(*) as n from placed) p
      where 1 / (case when p.n = ${v.count}::int then 1 else 0 end) = 1`,
    ),
  }
}

export function createLogStore(db: Db, opts: LogStoreOptions) {
  let cached: TreeState | undefined
  const statements = logStatements(db)

  async function readState(): Promise<TreeState> {
    const checkpoint = await latestIn(db)
    const ids = frontier(checkpoint.size)
    const hashes = await nodeHashes(db, ids)
    return {
      checkpoint,
      edge: ids.map((id) => {
        const hash = hashes.get(`${id.level}:${id.index}`)
        if (!hash) throw new Error(`the log is missing node ${id.level}:${id.index}`)
        return hash
      }),
    }
  }

  /** The state after an append, from the nodes it knew: the new frontier is old frontier or new nodes. */
  function remember(checkpoint: StoredCheckpoint, known: Map<string, Buffer>): void {
    const edge = frontier(checkpoint.size).map((id) => known.get(`${id.level}:${id.index}`))
    cached = edge.every((h): h is Buffer => h !== undefined) ? { checkpoint, edge } : undefined
  }

  /**
   * Writes new events and appends them to the tree in ONE statement: the rows with their leaf
   * index and salt, the new nodes and the signed checkpoint, atomic by itself. The tree is grown
   * from what this process remembers of its last append, without reading it; when another process
   * has appended since, the primary keys refuse the whole statement (nothing is written), and it
   * reads the tree and tries again. One round trip per group in the steady state, where a write
   * and then an append took five.
   */
  async function appendNew(events: readonly NewEvent[], certificates: readonly FirstVersionRow[] = [], withProof: readonly boolean[] = events.map(() => true)): Promise<NewEventsResult> {
    for (let attempt = 0; ; attempt++) {
      const state = cached ?? (await readState())
      try {
        return await appendNewOnce(state, events, certificates, withProof)
      } catch (err) {
        cached = undefined
        if (certificates.length > 0 && isDataError(err)) throw new IssuanceNotStored(err)
        if (!isUniqueViolation(err) || attempt >= 20) throw err
      }
    }
  }

  async function appendNewOnce(state: TreeState, events: readonly NewEvent[], certificates: readonly FirstVersionRow[], withProof: readonly boolean[]): Promise<NewEventsResult> {
    const at = atText(new Date())
    const first = state.checkpoint.size
    const salts = saltsFor(events.length)
    // The details as the database will hand them back (jsonb from JSON text): the leaf is computed
    // from exactly what is stored, so every later reader recomputes the same leaf.
    const logged: LoggedEvent[] = events.map((e) => ({ ...e, at, details: JSON.parse(JSON.stringify(e.details ?? {})) as unknown }))
    const leaves = logged.map((e, i) => leafOf(e, salts[i]!))
    const grown = append(first, state.edge, leaves.map(hashLeaf))
    const note = signCheckpoint({ origin: opts.origin, size: grown.size, root: grown.root }, opts.signers)
    const rows = logged.map((e, i) => ({ ...e, leafIndex: String(first + i), salt: salts[i]!.toString('base64') }))
    const tree = {
      rows: JSON.stringify(rows),
      levels: grown.nodes.map((n) => n.level),
      indexes: grown.nodes.map((n) => String(n.index)),
      hashes: grown.nodes.map((n) => n.hash.toString('base64')),
      size: String(grown.size),
      root: grown.root.toString('base64'),
      note,
    }
    type Written = { id: string | number; leaf_index: string; pending: boolean }
    const written =
      certificates.length === 0
        ? await statements.appendNew<Written>(tree)
        : await statements.appendIssued<Written>({ ...tree, certificates: JSON.stringify(certificates), certificateCount: certificates.length, at })
    const idAt = new Map(written.map((r) => [Number(r.leaf_index), Number(r.id)]))
    const checkpoint = { size: grown.size, root: grown.root, note }
    const known = new Map<string, Buffer>(frontier(first).map((id, i) => [`${id.level}:${id.index}`, state.edge[i]!] as const))
    for (const n of grown.nodes) known.set(`${n.level}:${n.index}`, n.hash)
    remember(checkpoint, known)
    const proofs = await proofsOfNewLeaves(db, first, grown.size, known, withProof)
    const ids = logged.map((_, i) => idAt.get(first + i)!)
    return {
      ids,
      leaves: logged.map((e, i) => ({ entry: { ...e, id: ids[i]!, leafIndex: first + i, salt: salts[i]! }, leaf: leaves[i]!, proof: proofs[i]!, checkpoint })),
      checkpoint,
      pendingSeen: written.some((r) => r.pending),
    }
  }

  /**
   * One append: every committed event not yet in the tree, at most MAX_APPEND, in id order.
   * No transaction: the reads are plain statements and the write is ONE statement (nodes, the
   * events' positions, the checkpoint), atomic by itself. Two appenders that read the same tree
   * both try to write its next nodes and checkpoint; the primary keys let one through and fail the
   * other whole (unique violation), which reads again and retries. (A transaction held across a
   * connection cut made postgres.js write a ROLLBACK on a socket already gone.)
   */
  async function appendPending(): Promise<AppendResult> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await appendOnce()
      } catch (err) {
        cached = undefined
        if (!(isUniqueViolation(err) || isPlacementShort(err)) || attempt >= 20) throw err
      }
    }
  }

  async function appendOnce(): Promise<AppendResult> {
    // The tree first, then the pending events: read the other way round, another process could
    // place a pending event between the two reads, and this append would then give it a second
    // leaf that no event holds (a gap). In this order, an event another process places after
    // the tree was read is placed at the same size, so the two appends collide on its node.
    const remembered = cached
    const state = remembered ?? (await readState())
    await opts.betweenReads?.()
    const pending = (await statements.pending<EventSqlRow>({})).map(toEvent)
    // Nothing waiting: whoever appended the caller's events may be another process, so the
    // checkpoint that covers them is the latest stored, not the one this process remembers.
    if (pending.length === 0) return { checkpoint: await latestIn(db), appended: new Map(), full: false }
    const current = state.checkpoint
    const edge = frontier(current.size)
    const edgeHashes = new Map(edge.map((id, i) => [`${id.level}:${id.index}`, state.edge[i]!] as const))
    const salts = saltsFor(pending.length)
    const leaves = pending.map((e, i) => leafOf(e, salts[i]!))
    const grown = append(current.size, state.edge, leaves.map(hashLeaf))
    const note = signCheckpoint({ origin: opts.origin, size: grown.size, root: grown.root }, opts.signers)
    // Only while the tree is still the one read: a checkpoint of the size read must be the latest
    // (none at all for an empty tree), else nothing is written and another appender won the race.
    await statements.place({
      levels: grown.nodes.map((n) => n.level),
      indexes: grown.nodes.map((n) => String(n.index)),
      hashes: grown.nodes.map((n) => n.hash.toString('base64')),
      ids: pending.map((e) => String(e.id)),
      leafIndexes: pending.map((_, i) => String(current.size + i)),
      salts: salts.map((salt) => salt.toString('base64')),
      size: String(grown.size),
      root: grown.root.toString('base64'),
      note,
      count: pending.length,
    })
    const checkpoint = { size: grown.size, root: grown.root, note }
    const known = new Map<string, Buffer>([...edgeHashes, ...grown.nodes.map((n) => [`${n.level}:${n.index}`, n.hash] as const)])
    remember(checkpoint, known)
    const appended = new Map<number, PlacedLeaf>(pending.map((e, i) => [e.id, { entry: { ...e, leafIndex: current.size + i, salt: salts[i]! }, leaf: leaves[i]!, checkpoint }]))
    return { checkpoint, appended, full: pending.length === MAX_APPEND }
  }

  return {
    appendPending,
    appendNew,
    latest: () => latestIn(db),

    async checkpointAt(size: number): Promise<StoredCheckpoint | undefined> {
      if (size === 0) return undefined
      const [row] = await rowsOf<{ size: string; root: Uint8Array; note: string }>(db, sql`select size::text as size, root, note from log_checkpoints where size = ${String(size)}::bigint`)
      return row ? { size: Number(row.size), root: Buffer.from(row.root), note: row.note } : undefined
    },

    inclusionProof: (index: number, size: number): Promise<Buffer[]> => rangeHashes(db, inclusionRanges(index, size)),
    consistencyProof: (size1: number, size2: number): Promise<Buffer[]> => rangeHashes(db, consistencyRanges(size1, size2)),

    /** The tree's own hash of leaf `index` (what was appended), whatever the events table says now. */
    async leafHashAt(index: number): Promise<Buffer | undefined> {
      return (await nodeHashes(db, [{ level: 0, index }])).get(`0:${index}`)
    },

    /** The tree's own leaf hashes for [start, end), by index. */
    async leafHashesIn(start: number, end: number): Promise<Map<number, Buffer>> {
      const rows = await rowsOf<{ index: string; hash: Uint8Array }>(db, sql`select index::text as index, hash from log_nodes where level = 0 and index >= ${String(start)}::bigint and index < ${String(end)}::bigint`)
      return new Map(rows.map((r) => [Number(r.index), Buffer.from(r.hash)]))
    },

    /** The leaf index whose stored leaf hash is `hash`. */
    async indexOfLeafHash(hash: Buffer): Promise<number | undefined> {
      const [row] = await rowsOf<{ index: string }>(db, sql`select index::text as index from log_nodes where level = 0 and hash = decode(${hash.toString('base64')}, 'base64') limit 1`)
      return row ? Number(row.index) : undefined
    },

    /** The events at leaf indexes [start, end), in order (a missing one is simply absent). */
    async entries(start: number, end: number): Promise<EntryRow[]> {
      const rows = await rowsOf<EventSqlRow>(db, sql`select ${eventColumns} from audit_events e where e.leaf_index >= ${String(start)}::bigint and e.leaf_index < ${String(end)}::bigint order by e.leaf_index`)
      return rows.map(toEntry)
    },

    /** The events with these ids, with their leaf index once appended. */
    async eventsById(ids: readonly number[]): Promise<EntryRow[]> {
      if (ids.length === 0) return []
      const rows = await rowsOf<EventSqlRow>(db, sql`select ${eventColumns} from audit_events e where e.id = any(${sql.param(ids.map(String))}::bigint[]) and e.leaf_index is not null`)
      return rows.map(toEntry)
    },
  }
}

export type LogStore = ReturnType<typeof createLogStore>
