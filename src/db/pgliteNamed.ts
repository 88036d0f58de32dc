import { parse, protocol, type PGlite, type QueryOptions, type Results } from '@electric-sql/pglite'

/**
 * Named prepared statements on PGlite. PGlite's `query` sends every statement as an unnamed one
 * (Parse, Describe, Bind, Describe, Execute, Sync), so PostgreSQL parses and plans it again each
 * time: 40 % of the lookup's select (docs/benchmarks.md, "PGlite: a lookup's statements"). Here a
 * statement seen a second time is parsed once under a name, with its parameter types and row
 * description kept, and from then on runs as Bind, Execute and Sync in one call into PGlite. A
 * point select measured in one process: 238-302 µs of CPU through `query`, 65-76 µs so.
 *
 * This does what PGlite's own `query` does around those messages: it holds the same locks
 * (`_runExclusiveTransaction` outside a transaction, `_runExclusiveQuery` always), serialises
 * parameters with the same serializers, reads rows with the same parsers, and syncs the file
 * system after a statement outside a transaction. Statements with a blob (COPY) or given
 * parameter types keep PGlite's path.
 */

/** How many statements get a name; more are run unnamed. Each costs PostgreSQL a cached plan. */
export const MAX_NAMED = 128
/** How many distinct texts are counted while waiting for their second use. */
const MAX_COUNTED = 2048
/** PostgreSQL's "cached plan must not change result type": the table changed under the name. */
const FEATURE_NOT_SUPPORTED = '0A000'

/** A message PGlite read back from PostgreSQL. */
type Message = { name: string; length: number }

interface Prepared {
  name: string
  paramTypes: number[]
  rowDescription: Message | undefined
}

type Serializer = (value: unknown) => string

export interface NamedStatements {
  /** What `pg.query` answers, for a statement outside a transaction. */
  query(text: string, params?: unknown[], options?: QueryOptions): Promise<Results>
  /** The same inside `tx`, a transaction of `pg.transaction` that holds PGlite's transaction lock. */
  queryIn(tx: { query: PGlite['query']; closed: boolean }, text: string, params?: unknown[], options?: QueryOptions): Promise<Results>
  /** How many statements have a name now (tests, benchmarks). */
  readonly size: number
}

/** The error as PGlite's `query` decorates it. */
function decorated(err: unknown, text: string, params: unknown[], options: QueryOptions | undefined): unknown {
  if (err && typeof err === 'object' && 'code' in err) Object.assign(err, { query: text, params, queryOptions: options })
  return err
}

export function namedStatements(pg: PGlite, max = MAX_NAMED): NamedStatements {
  const serialize = protocol.serialize
  const prepared = new Map<string, Prepared>()
  const counted = new Map<string, number>()
  const serializers = pg.serializers as Record<number, Serializer>
  let next = 0

  /** A name for `text` once it is used a second time, while there are names left. */
  function wanted(text: string): boolean {
    if (prepared.size >= max) return false
    const seen = counted.get(text)
    if (seen !== undefined) return true
    if (counted.size < MAX_COUNTED) counted.set(text, 1)
    return false
  }

  async function prepare(text: string): Promise<Prepared> {
    const name = `zz_named_${next++}`
    const messages = (await pg.execProtocolStream(Buffer.concat([serialize.parse({ name, text, types: [] }), serialize.describe({ type: 'S', name }), serialize.sync()]), {
      syncToFs: false,
    })) as Message[]
    const entry: Prepared = {
      name,
      paramTypes: parse.parseDescribeStatementResults(messages as Parameters<typeof parse.parseDescribeStatementResults>[0]),
      rowDescription: messages.find((m) => m.name === 'rowDescription'),
    }
    prepared.set(text, entry)
    counted.delete(text)
    return entry
  }

  async function forget(text: string, entry: Prepared): Promise<void> {
    prepared.delete(text)
    await pg.execProtocolStream(Buffer.concat([serialize.close({ type: 'S', name: entry.name }), serialize.sync()]), { syncToFs: false })
  }

  async function run(entry: Prepared, params: unknown[], options: QueryOptions | undefined): Promise<Results> {
    const own = options?.serializers as Record<number, Serializer> | undefined
    const values = params.map((value, i) => {
      if (value === null || value === undefined) return null
      const type = entry.paramTypes[i]!
      const serializer = own?.[type] ?? serializers[type]
      return serializer ? serializer(value) : String(value)
    })
    const messages = (await pg.execProtocolStream(Buffer.concat([serialize.bind({ statement: entry.name, values }), serialize.execute({}), serialize.sync()]), {
      syncToFs: false,
      ...(options?.onNotice ? { onNotice: options.onNotice } : {}),
    })) as Message[]
    if (!pg.isInTransaction()) await pg.syncToFs()
    const all = entry.rowDescription ? [entry.rowDescription, ...messages] : messages
    return parse.parseResults(all as Parameters<typeof parse.parseResults>[0], pg.parsers, options)[0]!
  }

  /** Runs `text` by name, preparing it first when needed; inside PGlite's query lock. */
  async function exclusive(text: string, params: unknown[], options: QueryOptions | undefined): Promise<Results> {
    let entry = prepared.get(text)
    try {
      entry ??= await prepare(text)
      return await run(entry, params, options)
    } catch (err) {
      // A table changed under a statement outside a transaction: name it again, once.
      if (entry && (err as { code?: string }).code === FEATURE_NOT_SUPPORTED && !pg.isInTransaction()) {
        await forget(text, entry)
        try {
          return await run(await prepare(text), params, options)
        } catch (again) {
          throw decorated(again, text, params, options)
        }
      }
      throw decorated(err, text, params, options)
    }
  }

  const byName = (options: QueryOptions | undefined) => !options?.blob && !options?.paramTypes

  return {
    async query(text, params = [], options) {
      if (!byName(options) || pg.closed || (!prepared.has(text) && !wanted(text))) return pg.query(text, params, options)
      return pg._runExclusiveTransaction(() => pg._runExclusiveQuery(() => exclusive(text, params, options)))
    },
    async queryIn(tx, text, params = [], options) {
      if (!byName(options) || tx.closed || pg.closed || (!prepared.has(text) && !wanted(text))) return tx.query(text, params, options)
      return pg._runExclusiveQuery(() => exclusive(text, params, options))
    },
    get size() {
      return prepared.size
    },
  }
}
