import { fork } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { packAppend, unpackAppend } from '../../src/cluster.js'
import { isDatabaseUnavailable } from '../../src/db/errors.js'
import { leafOf } from '../../src/log/leaf.js'
import type { NewEvent } from '../../src/log/store.js'
import { buildTestApp } from '../helpers/app.js'
import { openTestDatabase } from '../helpers/database.js'

// With WORKERS above 1 the primary appends every worker's events and answers in a packed form
// (src/cluster.ts packAppend): the worker rebuilds each entry from the event it sent. The rebuilt
// answer must be the append's own, through the same structured clone as the cluster's IPC.

const event = (i: number, details: Record<string, unknown>): NewEvent => ({
  kind: 'access.lookup',
  actorSub: `clerk-${i}`,
  actorOrg: '11100000000000000X',
  requestId: `req-${i}`,
  clientRequestId: i === 1 ? 'client-1' : null,
  holderRef: i === 2 ? null : `ref-${i}`,
  certificateIds: i === 0 ? null : ['B1', `B${i}`],
  subject: i === 2 ? `B${i}` : null,
  details,
})

/** `value` sent to a child process over the cluster's IPC ('advanced' serialisation) and back. */
async function throughIpc<T>(t: Test, value: T): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'zz-ipc-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const echo = join(dir, 'echo.cjs')
  writeFileSync(echo, "process.once('message', (m) => process.send(m, () => process.disconnect()))\n")
  // No flags: the child needs none of tap's loaders to echo a message.
  const child = fork(echo, { serialization: 'advanced', execArgv: [], stdio: 'ignore' })
  const back = new Promise<T>((resolve, reject) => {
    child.once('message', (m) => resolve(m as T))
    child.once('error', reject)
  })
  child.send(value as Parameters<typeof child.send>[0])
  return back
}

t.test("a packed append, cloned as the cluster's IPC clones it, unpacks to the append's own answer", async (t) => {
  const database = await openTestDatabase({ url: process.env.DATABASE_URL })
  t.teardown(() => database.close())
  const app = await buildTestApp(t, {}, { database })
  const events = [
    event(0, { purpose: { matterCode: 'M-0', reason: '核验 第0次' }, outcome: 'found', returned: [{ id: 'B1', sha256: 'ab'.repeat(32) }] }),
    // What JSON drops or changes: the leaf holds the details as the database returns them.
    event(1, { purpose: { matterCode: 'M-1', reason: 'emoji 🧾 and "quotes"' }, dropped: undefined, list: [1, undefined, 'x'], when: new Date('2026-12-01T00:00:00Z') }),
    event(2, {}),
  ]
  const direct = await app.transparencyLog.append(events)
  const packed = packAppend(direct)
  const cloned = await throughIpc(t, packed)
  const unpacked = unpackAppend(events, cloned)
  t.same(unpackAppend(events, { ...cloned, bytes: new Uint8Array(cloned.bytes) }), unpacked, 'bytes handed back as a plain Uint8Array unpack the same')

  t.same(unpacked.ids, direct.ids)
  t.equal(unpacked.pendingSeen, direct.pendingSeen)
  t.same({ ...unpacked.checkpoint, root: unpacked.checkpoint.root.toString('hex') }, { ...direct.checkpoint, root: direct.checkpoint.root.toString('hex') })
  t.ok(Buffer.isBuffer(unpacked.checkpoint.root), 'the root is a Buffer again')
  unpacked.leaves.forEach((l, i) => {
    const d = direct.leaves[i]!
    t.same({ ...l.entry, salt: l.entry.salt.toString('hex') }, { ...d.entry, salt: d.entry.salt.toString('hex') }, `event ${i}: the entry is the one the primary appended`)
    t.ok(Buffer.isBuffer(l.entry.salt) && Buffer.isBuffer(l.leaf) && l.proof.every((h) => Buffer.isBuffer(h)), `event ${i}: salt, leaf and proof are Buffers`)
    t.ok(l.leaf.equals(d.leaf), `event ${i}: the leaf`)
    t.same(l.proof.map((h) => h.toString('hex')), d.proof.map((h) => h.toString('hex')), `event ${i}: the proof`)
    t.ok(leafOf(l.entry, l.entry.salt).equals(l.leaf), `event ${i}: the rebuilt entry opens its leaf`)
    t.equal(l.checkpoint, unpacked.checkpoint, `event ${i}: one checkpoint for the append`)
  })
  t.same(unpacked.leaves[1]!.entry.details, { purpose: { matterCode: 'M-1', reason: 'emoji 🧾 and "quotes"' }, list: [1, null, 'x'], when: '2026-12-01T00:00:00.000Z' }, 'the details as JSON leaves them, as the database stores them')

  const refusal = (fn: () => unknown): unknown => {
    try {
      fn()
    } catch (err) {
      return err
    }
    return undefined
  }
  const otherEvents = refusal(() => unpackAppend(events.slice(1), cloned))
  t.match(otherEvents, { message: /answered for 3 events, 2 were sent/ }, 'an answer for other events is refused')
  t.ok(isDatabaseUnavailable(otherEvents), 'as an outage: 503, and the events, already in the log, are not sent again one by one')
  const leftOver = refusal(() => unpackAppend(events, { ...cloned, bytes: new Uint8Array([...cloned.bytes, 0]) }))
  t.match(leftOver, { message: /were read/ }, 'an answer with bytes left over is refused')
  t.ok(isDatabaseUnavailable(leftOver), 'as an outage too')
  const moved = { ...direct, leaves: direct.leaves.map((l, i) => (i === 2 ? { ...l, entry: { ...l.entry, leafIndex: l.entry.leafIndex + 1 } } : l)) }
  t.throws(() => packAppend(moved), { code: 'LOG_ANSWER_UNPACKABLE' }, 'an append whose places are not consecutive is not packed: the worker answers 503, never a wrong receipt')
  const other = { ...direct, leaves: direct.leaves.map((l, i) => (i === 0 ? { ...l, checkpoint: { ...l.checkpoint } } : l)) }
  t.throws(() => packAppend(other), { code: 'LOG_ANSWER_UNPACKABLE' }, 'nor one whose events are under different checkpoints')
})
