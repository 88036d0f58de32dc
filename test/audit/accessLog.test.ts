import t from 'tap'
import { createAccessLog, type AccessEvent } from '../../src/audit/accessLog.js'
import type { TransparencyLog } from '../../src/log/integrator.js'
import type { NewEvent } from '../../src/log/store.js'

/**
 * A stand-in for the Merkle log's write-and-append (one statement per call, src/log/store.ts
 * appendNew): records each call's rows and fails a call that holds a row marked 'bad'. These
 * tests are about the grouping.
 */
function fakeLog() {
  const statements: NewEvent[][] = []
  let nextId = 0
  const tlog = {
    append: async (events: NewEvent[]) => {
      await new Promise((r) => setTimeout(r, 5))
      if (events.some((e) => e.requestId === 'bad')) throw new Error('constraint violated')
      statements.push(events)
      const checkpoint = { size: nextId + events.length, root: Buffer.alloc(32), note: '' }
      return { ids: events.map(() => ++nextId), leaves: [], checkpoint, pendingSeen: false }
    },
  } as unknown as TransparencyLog
  return { tlog, statements }
}

const event = (requestId: string): AccessEvent => ({ kind: 'access.lookup', actorSub: 's', actorOrg: 'o', requestId, details: {} })

t.test('events recorded together are committed together, each caller after its own row', async (t) => {
  const { tlog, statements } = fakeLog()
  const log = createAccessLog(tlog)
  await Promise.all(Array.from({ length: 50 }, (_, i) => log.record(event(`r${i}`))))
  t.equal(statements.flat().length, 50, 'every event written')
  t.equal(statements.length, 1, 'recorded in one turn of the event loop: one statement')
})

t.test('events recorded before the loop turns join the first; later ones wait for the next group', async (t) => {
  const { tlog, statements } = fakeLog()
  // Told when a group's statement starts (fakeLog's takes 5 ms).
  const append = tlog.append.bind(tlog)
  let started!: () => void
  const firstStarted = new Promise<void>((resolve) => (started = resolve))
  tlog.append = (events) => {
    started()
    return append(events)
  }
  const log = createAccessLog(tlog)
  const recorded: Promise<unknown>[] = []
  // The first event, then two more from work that runs before the event loop turns (promise
  // continuations, as the other requests whose rows came back in the same poll phase): one group.
  recorded.push(log.record(event('a')))
  await Promise.resolve()
  recorded.push(log.record(event('b')))
  queueMicrotask(() => recorded.push(log.record(event('c'))))
  // Recorded while that group's statement runs: the next group.
  await firstStarted
  recorded.push(log.record(event('d')))
  await Promise.all(recorded)
  t.same(statements.map((s) => s.map((e) => e.requestId)), [['a', 'b', 'c'], ['d']])
})

t.test('a bad row fails alone; its neighbours are retried and committed', async (t) => {
  const { tlog, statements } = fakeLog()
  const log = createAccessLog(tlog)
  const first = log.record(event('first'))
  const results = await Promise.allSettled([first, log.record(event('a')), log.record(event('bad')), log.record(event('b'))])
  t.same(results.map((r) => r.status), ['fulfilled', 'fulfilled', 'rejected', 'fulfilled'])
  t.equal((results[2] as PromiseRejectedResult).reason.code, 'ACCESS_LOG_UNAVAILABLE')
  t.same(statements.flat().map((r) => (r as unknown as { requestId: string }).requestId).sort(), ['a', 'b', 'first'])
})
