// The log of the ladder's middle rung (`npm run bench -- --ladder`, bench/unlogged.ts): it keeps
// nothing. Every append answers at once, against the latest real checkpoint, with placeholder
// leaves of the real lengths (a leaf as long as the latest one, a proof as long as one into that
// tree), so the answer and its receipt have the shape and about the size of the service's. No
// event is written, hashed into the tree or covered by a new signed checkpoint: what the service
// costs above a service built on this log is the guarantee.
import type { Config } from '../src/config.js'
import type { Db } from '../src/db/client.js'
import { noteSignersOf, type TransparencyLog } from '../src/log/integrator.js'
import { leafOf } from '../src/log/leaf.js'
import { HASH_SIZE } from '../src/log/merkle.js'
import { createLogStore, type NewEvent, type NewEventsResult } from '../src/log/store.js'

export async function unloggedLog(config: Pick<Config, 'logOrigin' | 'serviceKeys'>, db: Db): Promise<TransparencyLog> {
  const store = createLogStore(db, { origin: config.logOrigin, signers: noteSignersOf(config.serviceKeys) })
  const checkpoint = await store.latest()
  if (checkpoint.size === 0) throw new Error('the log is empty: load the data set through the service first')
  const [last] = await store.entries(checkpoint.size - 1, checkpoint.size)
  const leaf = Buffer.alloc(last ? leafOf(last, last.salt).length : 400, 0x2a)
  const proof = Array.from({ length: Math.ceil(Math.log2(checkpoint.size)) }, () => Buffer.alloc(HASH_SIZE))
  const salt = Buffer.alloc(16)
  const at = new Date().toISOString()
  const answer = (events: NewEvent[]): NewEventsResult => ({
    ids: events.map(() => 0),
    leaves: events.map((e) => ({ entry: { ...e, at, id: 0, leafIndex: checkpoint.size - 1, salt }, leaf, proof, checkpoint })),
    checkpoint,
    pendingSeen: false,
  })
  return {
    store,
    origin: config.logOrigin,
    integrate: async () => ({ checkpoint }),
    async append(events, certificates) {
      if (certificates?.length) throw new Error('the unlogged rung stores no certificate')
      return answer(events)
    },
  }
}
