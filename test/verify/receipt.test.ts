import { execFileSync } from 'node:child_process'
import { createHash, createPublicKey } from 'node:crypto'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { and, eq, sql } from 'drizzle-orm'
import { compactVerify, createLocalJWKSet, type JSONWebKeySet } from 'jose'
import { auditEvents } from '../../src/db/schema.js'
import { bearer, randomCreditCode } from '../helpers/app.js'
import { issuanceFixture, HOLDER_ID, HOLDER_NAME } from '../helpers/certs.js'

t.test('a verification is logged, and its receipt verifies with the JWKS alone', async (t) => {
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
  const { receipt, result } = res.json() as { receipt: string; result: number }
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

  t.test('with jose and /.well-known/jwks.json', async (t) => {
    const { payload, protectedHeader } = await compactVerify(receipt, createLocalJWKSet(jwks))
    t.equal(protectedHeader.typ, 'zhengzhao-receipt+jws')
    const claims = JSON.parse(Buffer.from(payload).toString())
    t.match(claims, { iss: 'zhengzhao', kind: 'verify', result: 0, requester: { org, sub: 'clerk-3' }, requestId: res.headers['x-request-id'] })
    t.same(claims.certificates, [{ id: p.id, sha256: createHash('sha256').update(jws).digest('hex') }])
    t.notOk(JSON.stringify(claims).includes(HOLDER_ID))
    const [h, , s] = receipt.split('.') as [string, string, string]
    const altered = Buffer.from(JSON.stringify({ ...claims, result: 3 })).toString('base64url')
    await t.rejects(compactVerify(`${h}.${altered}.${s}`, createLocalJWKSet(jwks)), 'an altered receipt does not verify')
  })

  t.test('with the openssl command line alone', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'zz-receipt-'))
    const jwk = jwks.keys[0]!
    t.equal(jwk.kty, 'OKP')
    t.equal(jwk.crv, 'Ed25519')
    writeFileSync(join(dir, 'pub.pem'), createPublicKey({ key: jwk as never, format: 'jwk' }).export({ type: 'spki', format: 'pem' }))
    const [h, b, s] = receipt.split('.') as [string, string, string]
    // JWS signing input: ASCII(BASE64URL(header) || '.' || BASE64URL(payload)); Ed25519 signs it raw.
    writeFileSync(join(dir, 'input'), `${h}.${b}`)
    writeFileSync(join(dir, 'sig'), Buffer.from(s, 'base64url'))
    const opensslVerify = (input: string) =>
      execFileSync('openssl', ['pkeyutl', '-verify', '-pubin', '-inkey', join(dir, 'pub.pem'), '-rawin', '-in', join(dir, input), '-sigfile', join(dir, 'sig')], { stdio: 'pipe' }).toString()
    t.match(opensslVerify('input'), /Signature Verified Successfully/)
    writeFileSync(join(dir, 'altered'), `${h}.${b.slice(0, -2)}AA`)
    t.throws(() => opensslVerify('altered'), 'openssl refuses an altered receipt')
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
