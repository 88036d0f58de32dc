// The Merkle log under load: how many events the service appends per second while it answers
// lookups (each answer waits for its event to be in a signed checkpoint), and, on PostgreSQL,
// how fast the log alone takes a backlog (events written straight into audit_events, then one
// request that waits for all of them to be appended).
import postgres from 'postgres'

export interface LogFigures {
  /** Tree size before and after the lookup scenarios (sizeAfter − sizeBefore events appended during them). */
  sizeBefore: number
  sizeAfter: number
  /** Events appended while the lookup scenarios ran (warm-ups included), over their wall time. */
  lookupSeconds: number
  appendedPerSecond: number
  /**
   * PostgreSQL only: checkpoints signed while the lookup scenarios ran. Each is one group of
   * events (one statement, one signature, one commit), so events ÷ checkpoints is the mean group.
   */
  checkpoints?: number | undefined
  /** PostgreSQL only: a backlog of `count` events appended by one request, its wall time. */
  backlog?: { count: number; seconds: number; perSecond: number } | undefined
}

export async function treeSize(serviceUrl: string): Promise<number> {
  const res = await fetch(`${serviceUrl}/v1/log/checkpoint`)
  if (res.status === 404) return 0
  if (!res.ok) throw new Error(`GET /v1/log/checkpoint: HTTP ${res.status}`)
  const size = Number((await res.text()).split('\n')[1])
  if (!Number.isSafeInteger(size)) throw new Error('GET /v1/log/checkpoint: no tree size')
  return size
}

/** PostgreSQL: how many checkpoints the log has signed (one per append). */
export async function checkpointCount(databaseUrl: string): Promise<number> {
  const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} })
  try {
    const [row] = await sql<{ n: string }[]>`select count(*) as n from log_checkpoints`
    return Number(row!.n)
  } finally {
    await sql.end()
  }
}

/**
 * Writes `count` events straight into audit_events (as a replica's burst would leave them), then
 * times one request whose answer waits until every one of them is in the tree.
 */
export async function appendBacklog(databaseUrl: string, serviceUrl: string, count: number, request: () => Promise<Response>): Promise<LogFigures['backlog']> {
  const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} })
  try {
    await sql`insert into audit_events (kind, actor_org, actor_sub, request_id, details)
      select 'bench.backlog', 'BENCH', 'bench', 'bench-' || g, jsonb_build_object('n', g) from generate_series(1, ${count}::int) g`
  } finally {
    await sql.end()
  }
  const before = await treeSize(serviceUrl)
  const t = performance.now()
  const res = await request()
  const seconds = (performance.now() - t) / 1000
  if (!res.ok) throw new Error(`backlog request: HTTP ${res.status}: ${await res.text()}`)
  const after = await treeSize(serviceUrl)
  if (after - before < count) throw new Error(`the backlog was not appended: ${after - before} of ${count}`)
  return { count, seconds, perSecond: count / seconds }
}
