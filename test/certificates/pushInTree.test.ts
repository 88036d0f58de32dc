import { randomBytes } from 'node:crypto'
import { sql } from 'drizzle-orm'
import t from 'tap'
import type { FirstVersionRow } from '../../src/certificates/firstVersions.js'
import { rowsOf } from '../../src/db/client.js'
import { formatCertId } from '../../src/ids/index.js'
import { leafOf } from '../../src/log/leaf.js'
import { hashLeaf, verifyInclusion } from '../../src/log/merkle.js'
import type { NewEvent, NewEventsResult } from '../../src/log/store.js'
import { issuanceFixture, randomSerial } from '../helpers/certs.js'

// A push of a first version without a file is stored by the Merkle log's own statement: the
// certificate, its `certificate.issued` event with its leaf, and the signed checkpoint, in one
// statement (src/certificates/repository.ts storeOne, src/log/store.ts appendIssued). These
// tests watch the log's two entry points, and check what the database holds afterwards.

type Log = { append: (...a: never[]) => unknown; integrate: (...a: never[]) => unknown }

/** Counts the calls of the app's log (the routes and the answer hook call it through the same object). */
function watch(t: { teardown(fn: () => void): void }, log: Log) {
  const calls = { append: [] as { events: NewEvent[]; certificates: FirstVersionRow[] }[], integrate: 0 }
  const { append, integrate } = log
  log.append = ((events: NewEvent[], certificates: FirstVersionRow[] = []) => {
    calls.append.push({ events, certificates })
    return (append as (e: NewEvent[], c: FirstVersionRow[]) => unknown).call(log, events, certificates)
  }) as never
  log.integrate = (() => {
    calls.integrate++
    return (integrate as () => unknown).call(log)
  }) as never
  t.teardown(() => Object.assign(log, { append, integrate }))
  return calls
}

interface EventRow {
  id: string
  leaf_index: string | null
  at: string
  request_id: string | null
}

t.test('a push of a first version', async (t) => {
  const f = await issuanceFixture(t)
  const push = (certificate: string) => f.app.inject({ method: 'POST', url: '/v1/certificates', headers: f.issuerAuth, payload: { certificate } })
  const issued = (id: string) =>
    rowsOf<EventRow>(f.database.db, sql`select id::text as id, leaf_index::text as leaf_index, to_char(at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as at, request_id from audit_events where kind = 'certificate.issued' and subject = ${id}`)
  const stored = (id: string) => rowsOf<{ received_at: string; status_changed_at: string }>(f.database.db, sql`select to_char(received_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as received_at, to_char(status_changed_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as status_changed_at from certificates where id = ${id}`)

  t.test('is one append that carries the certificate, and its answer waits for nothing more', async (t) => {
    const calls = watch(t, f.app.transparencyLog as unknown as Log)
    const payload = f.payload()
    const res = await push(await f.sign(payload))
    t.equal(res.statusCode, 201, res.body)
    t.equal(calls.append.length, 1, 'one append')
    t.same(calls.append[0]!.certificates.map((c) => c.id), [payload.id], 'carrying the certificate')
    t.same(calls.append[0]!.events.map((e) => [e.kind, e.subject]), [['certificate.issued', payload.id]], 'and its issuance event')
    t.equal(calls.integrate, 0, 'no append of pending events after it: the event was never pending')

    const [event, ...more] = await issued(payload.id)
    t.equal(more.length, 0, 'one issuance event')
    t.not(event!.leaf_index, null, 'the event has its leaf')
    const [row] = await stored(payload.id)
    t.same(row, { received_at: event!.at, status_changed_at: event!.at }, 'the certificate is received at its event\'s time')
    t.equal(res.json().receivedAt, event!.at, 'and the answer says that time')

    const store = f.app.transparencyLog.store
    const [entry] = await store.eventsById([Number(event!.id)])
    t.ok((await store.latest()).size > Number(event!.leaf_index), 'a signed checkpoint covers it')
    t.same(await store.leafHashAt(Number(event!.leaf_index)), hashLeaf(leafOf(entry!, entry!.salt)), 'the stored event reproduces the leaf the tree holds')
  })

  t.test('pushed again, or with other bytes: the careful path answers, and nothing more is written', async (t) => {
    const payload = f.payload()
    const jws = await f.sign(payload)
    const first = await push(jws)
    t.equal(first.statusCode, 201, first.body)
    const calls = watch(t, f.app.transparencyLog as unknown as Log)
    const again = await push(jws)
    t.equal(again.statusCode, 200, again.body)
    t.same(again.json(), first.json(), 'unchanged: the stored record')
    t.equal(calls.append.length, 1, 'the log\'s statement was tried')
    const other = await push(await f.sign({ ...payload, number: `${payload.number}-B` }))
    t.equal(other.statusCode, 409, other.body)
    t.equal(other.json().code, 'CERTIFICATE_CONFLICT')
    t.equal((await issued(payload.id)).length, 1, 'still one issuance event')
    t.equal((await stored(payload.id)).length, 1, 'still one row')
  })

  t.test('pushes at once of the same new certificate: one is stored, the others are told it was', async (t) => {
    const jws = await f.sign(f.payload())
    const answers = await Promise.all(Array.from({ length: 6 }, () => push(jws)))
    t.same(answers.map((a) => a.statusCode).sort(), [200, 200, 200, 200, 200, 201])
    t.equal(new Set(answers.map((a) => a.json().receivedAt)).size, 1, 'the same record in every answer')
    t.equal((await issued(answers[0]!.json().id)).length, 1, 'one issuance event')
  })

  t.test('a batch of first versions is one append that carries them all; with one stored already, the bulk statement takes the rest', async (t) => {
    const batch = (certificates: string[]) => f.app.inject({ method: 'POST', url: '/v1/certificates/batch', headers: f.issuerAuth, payload: { certificates } })
    const payloads = Array.from({ length: 5 }, () => f.payload())
    const jws = await Promise.all(payloads.map((p) => f.sign(p)))
    const calls = watch(t, f.app.transparencyLog as unknown as Log)
    const first = await batch(jws.slice(0, 3))
    t.same(first.json().summary, { created: 3, unchanged: 0, rejected: 0 }, first.body)
    t.equal(calls.append.length, 1, 'one append')
    t.same(calls.append[0]!.certificates.map((c) => c.id), payloads.slice(0, 3).map((p) => p.id), 'carrying the three certificates')
    t.equal(calls.integrate, 0, 'and nothing pending after it')
    for (const p of payloads.slice(0, 3)) t.not((await issued(p.id))[0]?.leaf_index ?? null, null, `${p.id.slice(-8)}: its event in the tree`)

    // One of these is stored already: the log's statement stores none, the bulk statement the two new ones.
    const second = await batch(jws.slice(2))
    t.same(second.json().summary, { created: 2, unchanged: 1, rejected: 0 }, second.body)
    t.equal(calls.append.length, 2, 'the log\'s statement was tried')
    t.equal(calls.integrate, 1, 'the answer waited for the append of the bulk statement\'s events')
    for (const p of payloads) {
      const events = await issued(p.id)
      t.equal(events.length, 1, `${p.id.slice(-8)}: one issuance event`)
      t.not(events[0]?.leaf_index ?? null, null, `${p.id.slice(-8)}: in the tree`)
    }
  })

  t.test('one statement for several callers: a certificate that cannot be stored fails alone, and nothing of it is written', async (t) => {
    const log = f.app.transparencyLog
    const rowOf = (serial: string, over: Partial<FirstVersionRow> = {}): FirstVersionRow => {
      const id = formatCertId({ typeCode: f.typeCode, issuerCode: f.issuerCode, serial, version: 1 })
      return {
        id,
        series: `${f.typeCode}.${f.issuerCode}.${serial}`,
        version: 1,
        type_code: f.typeCode,
        issuer_code: f.issuerCode,
        number: `N-${serial}`,
        holder_id_type: '111',
        holder_index: randomBytes(32).toString('base64url'),
        issued_on: '2026-01-05',
        valid_from: '2026-01-05',
        valid_until: null,
        signing_kid: f.key.kid,
        jws_sha256: randomBytes(32).toString('hex'),
        key_id: 'test',
        jws_cipher: randomBytes(48).toString('base64'),
        ...over,
      }
    }
    const requestId = `req-${randomSerial()}`
    const eventOf = (row: FirstVersionRow): NewEvent => ({ kind: 'certificate.issued', subject: row.id, holderRef: row.holder_index, certificateIds: null, actorSub: 'test', actorOrg: f.issuerCode, requestId, clientRequestId: null, details: { typeCode: row.type_code, version: 1 } })
    const plain: NewEvent = { kind: 'test.read', subject: null, holderRef: null, certificateIds: null, actorSub: 'test', actorOrg: f.issuerCode, requestId, clientRequestId: null, details: {} }

    // A certificate already stored (pushed above), one new, and a date PostgreSQL refuses.
    const serial = randomSerial()
    t.equal((await push(await f.sign(f.payload({ serial })))).statusCode, 201)
    const taken = rowOf(serial)
    const fresh = rowOf(randomSerial())
    const refused = rowOf(randomSerial(), { valid_from: '2026-02-30' })
    // Called in one turn: the log's pump takes them into one statement first.
    const [a, b, c, d] = await Promise.allSettled([log.append([plain]), log.append([eventOf(taken)], [taken]), log.append([eventOf(fresh)], [fresh]), log.append([eventOf(refused)], [refused])])
    t.equal(a.status, 'fulfilled', 'the plain event is appended')
    t.equal(b.status, 'rejected', 'the certificate already stored is refused')
    t.equal((b as PromiseRejectedResult).reason?.code, 'ISSUANCE_NOT_STORED')
    // The plain event's proof is made with the statement (a lookup's receipt shows it); a push's is not.
    const plainLeaf = (a as PromiseFulfilledResult<NewEventsResult>).value.leaves[0]!
    t.ok(verifyInclusion(plainLeaf.entry.leafIndex, plainLeaf.checkpoint.size, hashLeaf(plainLeaf.leaf), plainLeaf.proof, plainLeaf.checkpoint.root).ok, 'the plain event comes back with a proof that verifies')
    t.same((c as PromiseFulfilledResult<NewEventsResult>).value.leaves[0]!.proof, [], 'the push\'s leaf comes back without one')
    t.equal(c.status, 'fulfilled', 'the new one is stored')
    t.equal(d.status, 'rejected', 'the refused date is refused')
    t.equal((d as PromiseRejectedResult).reason?.code, 'ISSUANCE_NOT_STORED')

    // A lookup's event and a push in ONE statement: the lookup's leaf still gets its proof.
    const together = rowOf(randomSerial())
    const [lookupLike, pushed] = await Promise.all([log.append([plain]), log.append([eventOf(together)], [together])])
    t.equal(lookupLike.checkpoint.size, pushed.checkpoint.size, 'one statement took both')
    const leaf = lookupLike.leaves[0]!
    t.ok(verifyInclusion(leaf.entry.leafIndex, leaf.checkpoint.size, hashLeaf(leaf.leaf), leaf.proof, leaf.checkpoint.root).ok, 'the event beside a push has a proof that verifies')
    t.same(pushed.leaves[0]!.proof, [], 'the push has none')

    const mine = await rowsOf<EventRow & { subject: string | null }>(f.database.db, sql`select id::text as id, leaf_index::text as leaf_index, subject, request_id, '' as at from audit_events where request_id = ${requestId}`)
    t.same(mine.map((e) => e.subject).sort(), [fresh.id, together.id, null, null].sort(), 'events written: the plain ones and the stored certificates\', no other')
    t.same(mine.filter((e) => e.leaf_index === null), [], 'both in the tree')
    t.equal((await stored(fresh.id)).length, 1, 'the new certificate is stored')
    t.equal((await stored(together.id)).length, 1, 'and the one pushed beside a plain event')
    t.equal((await stored(refused.id)).length, 0, 'the refused one is not')
  })
})
