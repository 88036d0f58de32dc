import t from 'tap'
import { sql } from 'drizzle-orm'
import { rowsOf } from '../../src/db/client.js'
import { bearer, randomCreditCode } from '../helpers/app.js'
import { issuanceFixture, HOLDER_ID } from '../helpers/certs.js'

// Class 11 of issue 14: the audit trail's order and its identifiers.

t.test('30 concurrent status changes: the history is served in the order they happened', async (t) => {
  const f = await issuanceFixture(t)
  const p = f.payload()
  const pushed = await f.app.inject({ method: 'POST', url: '/v1/certificates', headers: f.issuerAuth, payload: { certificate: await f.sign(p) } })
  t.equal(pushed.statusCode, 201)
  const answers = await Promise.all(
    Array.from({ length: 30 }, (_, i) =>
      f.app.inject({ method: 'POST', url: `/v1/certificates/${p.id}/status`, headers: f.issuerAuth, payload: { status: i % 2 === 0 ? 'suspended' : 'valid', reason: `change ${i}` } }),
    ),
  )
  t.ok(answers.every((r) => r.statusCode === 200), 'every change answered 200')
  const read = await f.app.inject({ method: 'GET', url: `/v1/certificates/${p.id}`, headers: f.issuerAuth })
  const history = read.json().history as { at: string; from: string; to: string; reason: string }[]
  t.ok(history.length >= 2, `${history.length} changes recorded`)
  t.equal(history[0]!.from, 'valid')
  for (let i = 1; i < history.length; i++) {
    t.equal(history[i]!.from, history[i - 1]!.to, `change ${i} starts where change ${i - 1} ended`)
    t.ok(Date.parse(history[i]!.at) >= Date.parse(history[i - 1]!.at), `change ${i} is not stamped before change ${i - 1}`)
  }
  t.equal(history.at(-1)!.to, read.json().certificate.status, 'the last change is the current status')

  // At full precision in the database: the stamps rise strictly with the sequence.
  const rows = await rowsOf<{ ok: boolean }>(
    f.database.db,
    sql`select bool_and(at > prev_at) as ok from (select at, lag(at) over (order by id) as prev_at from certificate_status_history where certificate_id = ${p.id}) s where prev_at is not null`,
  )
  t.equal(rows[0]!.ok, true, 'history.at strictly increases with id')
  const events = await rowsOf<{ ok: boolean }>(
    f.database.db,
    sql`select bool_and(at > prev_at) as ok from (select at, lag(at) over (order by id) as prev_at from audit_events where kind = 'certificate.status' and subject = ${p.id}) s where prev_at is not null`,
  )
  t.equal(events[0]!.ok, true, 'the status events too')
})

t.test('a client-chosen x-request-id is a correlation hint, never the audit identifier', async (t) => {
  const f = await issuanceFixture(t)
  const p = f.payload({ holderId: HOLDER_ID })
  await f.app.inject({ method: 'POST', url: '/v1/certificates', headers: f.issuerAuth, payload: { certificate: await f.sign(p) } })
  const [orgA, orgB] = [randomCreditCode(), randomCreditCode()]
  const lookupAs = async (org: string) =>
    f.app.inject({
      method: 'POST',
      url: '/v1/lookup',
      headers: { ...(await bearer(['reader'], { org, sub: 'clerk-1' })), 'x-request-id': 'shared-id-42' },
      payload: { holder: { idType: '111', id: HOLDER_ID }, purpose: { matterCode: 'M-1', reason: '核验' } },
    })
  const [a, b] = [await lookupAs(orgA), await lookupAs(orgB)]
  t.equal(a.statusCode, 200)
  for (const res of [a, b]) t.match(res.headers['x-request-id'], /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/, 'the service names the request itself')
  t.not(a.headers['x-request-id'], b.headers['x-request-id'])

  const rows = await rowsOf<{ actor_org: string; request_id: string; client_request_id: string }>(
    f.database.db,
    sql`select actor_org, request_id, client_request_id from audit_events where client_request_id = 'shared-id-42' order by id`,
  )
  t.same(
    rows.map((r) => [r.actor_org, r.request_id]),
    [
      [orgA, a.headers['x-request-id']],
      [orgB, b.headers['x-request-id']],
    ],
    'each event keeps the service id; the client id sits beside it with its organisation',
  )
  const receiptOf = (res: typeof a) => res.json().receipt.event as { request: string; clientRequest: string | null }
  t.equal(receiptOf(a).request, a.headers['x-request-id'], 'receipts name the service id')
  t.equal(receiptOf(a).clientRequest, 'shared-id-42', "and the client's beside it")

  t.test('auditors see both ids', async (t) => {
    const res = await f.app.inject({ method: 'GET', url: `/v1/audit/events?org=${orgA}`, headers: await bearer(['auditor'], { org: randomCreditCode() }) })
    t.equal(res.statusCode, 200, res.body)
    t.match(res.json().items, [{ kind: 'access.lookup', requestId: a.headers['x-request-id'], clientRequestId: 'shared-id-42', actor: { org: orgA } }])
  })

  t.test('status changes and admin events keep it too', async (t) => {
    const s = await f.app.inject({ method: 'POST', url: `/v1/certificates/${p.id}/status`, headers: { ...f.issuerAuth, 'x-request-id': 'issuer-ticket-7' }, payload: { status: 'suspended', reason: 'check' } })
    t.equal(s.statusCode, 200)
    const g = await f.app.inject({ method: 'PUT', url: `/v1/grants/${orgA}`, headers: { ...f.adminAuth, 'x-request-id': 'admin-ticket-8' }, payload: { name: '审批局', grants: [] } })
    t.equal(g.statusCode, 201)
    const kept = await rowsOf<{ kind: string; request_id: string; client_request_id: string }>(
      f.database.db,
      sql`select kind, request_id, client_request_id from audit_events where client_request_id in ('issuer-ticket-7', 'admin-ticket-8') order by id`,
    )
    t.same(kept.map((r) => [r.kind, r.client_request_id, r.request_id]), [
      ['certificate.status', 'issuer-ticket-7', s.headers['x-request-id']],
      ['grant.updated', 'admin-ticket-8', g.headers['x-request-id']],
    ])
    const history = await rowsOf<{ client_request_id: string }>(f.database.db, sql`select client_request_id from certificate_status_history where certificate_id = ${p.id}`)
    t.same(history.map((h) => h.client_request_id), ['issuer-ticket-7'])
  })

  t.test('pushes (one, a new version, a batch) and verifications keep it too', async (t) => {
    const one = f.payload()
    const pushed = await f.app.inject({ method: 'POST', url: '/v1/certificates', headers: { ...f.issuerAuth, 'x-request-id': 'push-ticket-1' }, payload: { certificate: await f.sign(one) } })
    t.equal(pushed.statusCode, 201)
    const v2 = f.payload({ serial: one.number, version: 2 })
    t.equal((await f.app.inject({ method: 'POST', url: '/v1/certificates', headers: { ...f.issuerAuth, 'x-request-id': 'push-ticket-2' }, payload: { certificate: await f.sign(v2) } })).statusCode, 201)
    const batch = await f.app.inject({ method: 'POST', url: '/v1/certificates/batch', headers: { ...f.issuerAuth, 'x-request-id': 'batch-ticket-3' }, payload: { certificates: [await f.sign(f.payload())] } })
    t.equal(batch.json().summary.created, 1)
    const verified = await f.app.inject({ method: 'POST', url: '/v1/verify', headers: { ...f.issuerAuth, 'x-request-id': 'verify-ticket-4' }, payload: { id: one.id } })
    t.equal(verified.statusCode, 200)
    const kept = await rowsOf<{ kind: string; client_request_id: string }>(
      f.database.db,
      sql`select kind, client_request_id from audit_events where client_request_id in ('push-ticket-1', 'push-ticket-2', 'batch-ticket-3', 'verify-ticket-4') order by id`,
    )
    t.same(kept.map((r) => [r.kind, r.client_request_id]), [
      ['certificate.issued', 'push-ticket-1'],
      ['certificate.issued', 'push-ticket-2'],
      ['certificate.superseded', 'push-ticket-2'],
      ['certificate.issued', 'batch-ticket-3'],
      ['access.verify', 'verify-ticket-4'],
    ])
    const superseded = await rowsOf<{ client_request_id: string }>(f.database.db, sql`select client_request_id from certificate_status_history where certificate_id = ${one.id}`)
    t.same(superseded.map((h) => h.client_request_id), ['push-ticket-2'])
  })
})
