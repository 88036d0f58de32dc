import { createHash, createPublicKey } from 'node:crypto'
import t from 'tap'
import { and, eq, sql } from 'drizzle-orm'
import type { JSONWebKeySet } from 'jose'
import type { Receipt } from '../../src/audit/receipts.js'
import { verifyReceipt } from '../../src/verify/receipt.js'
import { opensslVerifiesCheckpoint } from '../helpers/receipts.js'
import { auditEvents } from '../../src/db/schema.js'
import { bearer, randomCreditCode } from '../helpers/app.js'
import { issuanceFixture, HOLDER_ID, HOLDER_NAME } from '../helpers/certs.js'

t.test('a verification is logged, and its receipt (a Merkle-log proof) verifies with the JWKS alone', async (t) => {
  const f = await issuanceFixture(t)
  const org = randomCreditCode()
  const auth = await bearer(['reader'], { org, sub: 'clerk-3' })
  const p = f.payload()
  const jws = await f.sign(p)
  await f.app.inject({ method: 'POST', url: '/v1/certificates', headers: f.issuerAuth, payload: { certificate: jws } })
  const res = await f.app.inject({
    method: 'POST',
    url: '/v1/verify',
    headers: { ...auth, 'x-request-id': 'verify-req-1' },
    payload: { typeCode: p.typeCode, number: p.number, holder: { idType: '111', id: HOLDER_ID } },
  })
  t.equal(res.statusCode, 200, res.body)
  const { receipt, result } = res.json() as { receipt: Receipt; result: number }
  t.equal(result, 0)

  t.test('the access event was written, without the ID number', async (t) => {
    // The service's own request id; the client's is kept apart (see test/privacy/requestIds.test.ts).
    const rows = await f.database.db.select().from(auditEvents).where(and(eq(auditEvents.requestId, res.headers['x-request-id'] as string), eq(auditEvents.kind, 'access.verify')))
    t.equal(rows.length, 1)
    const event = rows[0]!
    t.match(event, { actorOrg: org, actorSub: 'clerk-3', certificateIds: [p.id], details: { result: 0, by: 'fields' } })
    t.match(event.holderRef, /^[A-Za-z0-9_-]{43}$/, 'the holder as a blind index')
    const text = JSON.stringify(await f.database.db.select().from(auditEvents))
    t.notOk(text.includes(HOLDER_ID) || text.includes(HOLDER_NAME), 'no ID number or name in the log')
  })

  const jwksRes = await f.app.inject({ method: 'GET', url: '/.well-known/jwks.json' })
  const jwks = jwksRes.json() as JSONWebKeySet

  t.test('offline, with /.well-known/jwks.json alone', async (t) => {
    const verified = await verifyReceipt(res.body, jwks)
    if (verified.form !== 'proof') throw new Error('not a log proof')
    t.match(verified.leaf, { kind: 'access.verify', org })
    t.match(verified.event, { sub: 'clerk-3', request: res.headers['x-request-id'], clientRequest: 'verify-req-1', details: { result: 0, by: 'fields' } })
    t.same((verified.event.details as { returned: unknown }).returned, [{ id: p.id, sha256: createHash('sha256').update(jws).digest('hex') }])
    t.notOk(JSON.stringify(receipt).includes(HOLDER_ID))
    const altered = { ...receipt, event: { ...receipt.event, details: { ...receipt.event.details, result: 3 } } }
    await t.rejects(verifyReceipt(JSON.stringify(altered), jwks), { code: 'OPENING_MISMATCH' }, 'an altered result does not verify')
    const moved = { ...receipt, leafIndex: receipt.leafIndex + 1 }
    await t.rejects(verifyReceipt(JSON.stringify(moved), jwks), { code: 'NOT_INCLUDED' }, 'nor a leaf moved elsewhere in the tree')
    const otherKeys = { keys: [{ ...jwks.keys[0]!, x: Buffer.alloc(32, 7).toString('base64url') }] }
    await t.rejects(verifyReceipt(JSON.stringify(receipt), otherKeys as JSONWebKeySet), { code: 'CHECKPOINT_INVALID' }, 'nor one checked with another key')
  })

  t.test('the proof the append computed is the one the log serves', async (t) => {
    const served = await f.app.inject({ method: 'GET', url: `/v1/log/proof/inclusion?index=${receipt.leafIndex}&size=${receipt.treeSize}` })
    t.equal(served.statusCode, 200, served.body)
    t.same(served.json().proof, receipt.inclusionProof)
    t.equal(served.json().checkpoint, receipt.checkpoint)
  })

  t.test("the checkpoint's signature with the openssl command line alone", async (t) => {
    const jwk = jwks.keys[0]!
    t.equal(jwk.kty, 'OKP')
    t.equal(jwk.crv, 'Ed25519')
    const pem = createPublicKey({ key: jwk as never, format: 'jwk' }).export({ type: 'spki', format: 'pem' }).toString()
    t.ok(opensslVerifiesCheckpoint(receipt.checkpoint, pem))
    t.notOk(opensslVerifiesCheckpoint(receipt.checkpoint, pem, (text) => text.replace(/\n[A-Za-z0-9+/]{4}/, '\nAAAA')), 'openssl refuses an altered root')
  })
})

t.test('a verification that cannot be logged is 503, with no data', async (t) => {
  const f = await issuanceFixture(t, {}, { embedded: true })
  const p = f.payload()
  await f.app.inject({ method: 'POST', url: '/v1/certificates', headers: f.issuerAuth, payload: { certificate: await f.sign(p) } })
  // Make the database refuse access events, as a full disk or a lost connection would.
  await f.database.db.execute(sql`alter table audit_events add constraint refuse_access check (kind not like 'access.%')`)
  const res = await f.app.inject({ method: 'POST', url: '/v1/verify', headers: await bearer(['auditor']), payload: { id: p.id } })
  t.equal(res.statusCode, 503)
  t.equal(res.json().code, 'ACCESS_LOG_UNAVAILABLE')
  t.notMatch(res.body, /"result"|receipt|eyJ/, 'no result and no receipt')
})
