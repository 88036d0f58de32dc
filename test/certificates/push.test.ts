import { createHmac, generateKeyPairSync } from 'node:crypto'
import { eq } from 'drizzle-orm'
import t, { type Test } from 'tap'
import { auditEvents } from '../../src/db/schema.js'
import { formatCertId } from '../../src/ids/index.js'
import { bearer, randomCreditCode, randomTypeCode } from '../helpers/app.js'
import { issuanceFixture, HOLDER_ID, signJws, type IssuanceFixture } from '../helpers/certs.js'

interface Problem {
  code: string
  pointer: string
}

t.test('pushing one certificate', async (t) => {
  const f = await issuanceFixture(t)
  const push = (certificate: string, headers = f.issuerAuth) => f.app.inject({ method: 'POST', url: '/v1/certificates', headers, payload: { certificate } })
  /** Pushes and expects a 422 naming `code` (at `pointer` when given), with nothing stored. */
  const rejects = async (t: Test, certificate: string, code: string, pointer?: string, headers = f.issuerAuth) => {
    const res = await push(certificate, headers)
    t.equal(res.statusCode, 422, res.body)
    const body = res.json()
    t.equal(body.code, 'INVALID_CERTIFICATE')
    const match = (body.errors as Problem[]).find((e) => e.code === code)
    t.ok(match, `${code} among ${(body.errors as Problem[]).map((e) => e.code).join(', ')}`)
    if (pointer && match) t.equal(match.pointer, pointer)
    t.notMatch(res.body, HOLDER_ID, 'the holder ID is never echoed')
    return body.errors as Problem[]
  }

  t.test('201 when stored, 200 for the same bytes again', async (t) => {
    const jws = await f.sign(f.payload())
    const first = await push(jws)
    t.equal(first.statusCode, 201, first.body)
    t.match(first.json(), { typeCode: f.typeCode, issuerCode: f.issuerCode, version: 1, status: 'valid' })
    const again = await push(jws)
    t.equal(again.statusCode, 200)
    t.same(again.json(), first.json())
  })

  t.test('the same bytes with one character changed are rejected', async (t) => {
    const jws = await f.sign(f.payload())
    const [h, p, s] = jws.split('.') as [string, string, string]
    const flipped = s[10] === 'A' ? 'B' : 'A'
    await rejects(t, `${h}.${p}.${s.slice(0, 10)}${flipped}${s.slice(11)}`, 'SIGNATURE_INVALID')
    // A changed payload character: the signature no longer covers it.
    const payload = JSON.parse(Buffer.from(p, 'base64url').toString())
    payload.data.level = 3
    await rejects(t, `${h}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.${s}`, 'SIGNATURE_INVALID')
  })

  t.test('the header', async (t) => {
    await rejects(t, 'not a jws', 'JWS_MALFORMED', '/certificate')
    await rejects(t, 'e30.e30.', 'JWS_MALFORMED')
    await rejects(t, await f.sign(f.payload(), { typ: 'JWT' }), 'TYP_INVALID', '/certificate/header/typ')
    await rejects(t, await f.sign(f.payload(), { kid: undefined }), 'KID_MISSING', '/certificate/header/kid')
    const input = `${Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'zhengzhao-cert+jws', kid: f.key.kid })).toString('base64url')}.${Buffer.from(JSON.stringify(f.payload())).toString('base64url')}`
    await rejects(t, `${input}.${createHmac('sha256', f.key.certPem).update(input).digest('base64url')}`, 'ALG_NOT_ALLOWED', '/certificate/header/alg')
    await rejects(t, await f.sign(f.payload(), { kid: 'not-registered' }), 'KID_UNKNOWN', '/certificate/header/kid')
    const ed = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()
    await rejects(t, await signJws(f.payload(), ed, { alg: 'EdDSA', kid: f.key.kid }), 'ALG_KEY_MISMATCH', '/certificate/header/alg')
  })

  t.test('size', async (t) => {
    const big = f.payload()
    big.data = { level: 1, note: 'x'.repeat(70 * 1024) }
    await rejects(t, await f.sign(big), 'JWS_TOO_LARGE')
  })

  t.test('the payload', async (t) => {
    const missing = f.payload() as Partial<ReturnType<IssuanceFixture['payload']>>
    delete missing.number
    await rejects(t, await f.sign(missing), 'PAYLOAD_INVALID', '/certificate/payload/number')
    await rejects(t, await f.sign({ ...f.payload(), extra: true }), 'PAYLOAD_INVALID', '/certificate/payload/extra')
    await rejects(t, await f.sign({ ...f.payload(), issuedOn: '2025-02-30' }), 'PAYLOAD_INVALID', '/certificate/payload/issuedOn')
    const p = f.payload()
    await rejects(t, await f.sign({ ...p, id: p.id.slice(0, -1) + (p.id.endsWith('0') ? '1' : '0') }), 'CERT_ID_INVALID', '/certificate/payload/id')
    const otherType = formatCertId({ typeCode: randomTypeCode(), issuerCode: f.issuerCode, serial: 'S1', version: 1 })
    await rejects(t, await f.sign({ ...f.payload(), id: otherType }), 'CERT_ID_TYPE_MISMATCH', '/certificate/payload/id')
    const otherIssuer = formatCertId({ typeCode: f.typeCode, issuerCode: randomCreditCode(), serial: 'S1', version: 1 })
    await rejects(t, await f.sign({ ...f.payload(), id: otherIssuer }), 'CERT_ID_ISSUER_MISMATCH', '/certificate/payload/id')
  })

  t.test('the holder', async (t) => {
    await rejects(t, await f.sign(f.payload({ holderId: '110105194912310021' })), 'HOLDER_ID_INVALID', '/certificate/payload/holder/id')
    await rejects(t, await f.sign(f.payload({ holderId: '110105194902300022' })), 'HOLDER_ID_INVALID', '/certificate/payload/holder/id')
    await rejects(t, await f.sign(f.payload({ idType: '001', holderId: '91370406L24894136J' })), 'HOLDER_ID_TYPE_NOT_ALLOWED', '/certificate/payload/holder/idType')
    await rejects(t, await f.sign(f.payload({ idType: '999' })), 'HOLDER_ID_TYPE_UNKNOWN', '/certificate/payload/holder/idType')
    // Lower-case x is a valid ID number: accepted, and found under the upper-case form.
    const lower = await f.app.inject({ method: 'POST', url: '/v1/certificates', headers: f.issuerAuth, payload: { certificate: await f.sign(f.payload({ holderId: HOLDER_ID.toLowerCase() })) } })
    t.equal(lower.statusCode, 201)
  })

  t.test('the dates', async (t) => {
    await rejects(t, await f.sign({ ...f.payload(), issuedOn: '2999-01-01', validFrom: '2999-01-01', validUntil: '2999-12-31' }), 'ISSUED_IN_FUTURE', '/certificate/payload/issuedOn')
    await rejects(t, await f.sign({ ...f.payload(), validFrom: '2030-01-01', validUntil: '2029-01-01' }), 'DATES_INCONSISTENT', '/certificate/payload/validUntil')
    const longTerm = { ...f.payload() } as Record<string, unknown>
    delete longTerm.validUntil
    const res = await push(await f.sign(longTerm))
    t.equal(res.statusCode, 201, 'validUntil absent = long-term')
  })

  t.test('the type and the data', async (t) => {
    await rejects(t, await f.sign({ ...f.payload(), data: { level: 0 } }), 'DATA_INVALID', '/certificate/payload/data/level')
    await rejects(t, await f.sign({ ...f.payload(), data: {} }), 'DATA_INVALID', '/certificate/payload/data/level')
    const unknown = randomTypeCode()
    const p = f.payload({ typeCode: unknown })
    await rejects(t, await f.sign(p), 'TYPE_UNKNOWN', '/certificate/payload/typeCode')
    // A type in the catalogue that does not list this issuer.
    const foreign = randomTypeCode()
    await f.app.inject({ method: 'PUT', url: `/v1/types/${foreign}`, headers: f.adminAuth, payload: { name: 'x', holderIdTypes: ['111'], issuers: [randomCreditCode()], dataSchema: { type: 'object' } } })
    const errors = await rejects(t, await f.sign(f.payload({ typeCode: foreign })), 'ISSUER_NOT_ALLOWED_FOR_TYPE')
    t.ok(errors.length >= 2, 'both the catalogue and the registration refuse it')
  })

  t.test('the caller and the issuer', async (t) => {
    const other = await bearer(['issuer'], { org: randomCreditCode() })
    await rejects(t, await f.sign(f.payload()), 'ISSUER_NOT_CALLER', '/certificate/payload/issuer/code', other)
    const unregistered = randomCreditCode()
    const p = { ...f.payload(), issuer: { code: unregistered, name: 'x' }, id: formatCertId({ typeCode: f.typeCode, issuerCode: unregistered, serial: 'S9', version: 1 }) }
    await rejects(t, await f.sign(p), 'ISSUER_UNKNOWN', undefined, await bearer(['issuer'], { org: unregistered }))
    const reader = await push(await f.sign(f.payload()), await bearer(['reader'], { org: f.issuerCode }))
    t.equal(reader.statusCode, 403, 'only issuers push')
  })

  t.test('every problem is listed at once', async (t) => {
    const errors = await rejects(t, await f.sign({ ...f.payload({ holderId: '110105194912310021' }), data: { level: 0 }, validFrom: '2030-01-01', validUntil: '2029-01-01' }, { typ: 'JWT' }), 'HOLDER_ID_INVALID')
    const codes = errors.map((e) => e.code)
    for (const code of ['TYP_INVALID', 'DATA_INVALID', 'DATES_INCONSISTENT']) t.ok(codes.includes(code), code)
  })
})

t.test('versions and identifiers', async (t) => {
  const f = await issuanceFixture(t)
  const push = async (certificate: string) => f.app.inject({ method: 'POST', url: '/v1/certificates', headers: f.issuerAuth, payload: { certificate } })
  const serial = 'V2025001'
  const v1 = await f.sign(f.payload({ serial, version: 1 }))
  t.equal((await push(v1)).statusCode, 201)
  const v1b = await f.sign({ ...f.payload({ serial, version: 1 }), data: { level: 7 } })
  const conflict = await push(v1b)
  t.equal(conflict.statusCode, 409)
  t.equal(conflict.json().code, 'CERTIFICATE_CONFLICT')

  const v2 = await f.sign(f.payload({ serial, version: 2 }))
  const second = await push(v2)
  t.equal(second.statusCode, 201)
  t.equal(second.json().version, 2)
  // The first version is superseded, with a history entry saying so.
  const status = await f.app.inject({ method: 'POST', url: `/v1/certificates/${f.payload({ serial, version: 1 }).id}/status`, headers: f.issuerAuth, payload: { status: 'revoked', reason: 'look at its history' } })
  t.equal(status.statusCode, 200)
  t.equal(status.json().history[0].to, 'superseded')
  t.equal(status.json().history[0].from, 'valid')

  t.equal((await push(v1)).statusCode, 200, 'the old bytes again: unchanged')
  const v3 = await f.sign(f.payload({ serial, version: 3 }))
  t.equal((await push(v3)).statusCode, 201)
  const late = await push(await f.sign({ ...f.payload({ serial, version: 2 }), data: { level: 9 } }))
  t.equal(late.statusCode, 409)
  t.equal(late.json().code, 'CERTIFICATE_CONFLICT', 'version 2 exists with other bytes')

  const skipped = 'V2025002'
  t.equal((await push(await f.sign(f.payload({ serial: skipped, version: 5 })))).statusCode, 201)
  const older = await push(await f.sign(f.payload({ serial: skipped, version: 4 })))
  t.equal(older.statusCode, 409)
  t.equal(older.json().code, 'VERSION_NOT_NEWER')
})

t.test('concurrent new versions leave exactly one in force', async (t) => {
  const f = await issuanceFixture(t)
  const serial = 'C2025001'
  const jws = await Promise.all([1, 2, 3, 4].map((version) => f.sign(f.payload({ serial, version }))))
  const results = await Promise.all(jws.map((certificate) => f.app.inject({ method: 'POST', url: '/v1/certificates', headers: f.issuerAuth, payload: { certificate } })))
  t.ok(results.every((r) => [201, 409].includes(r.statusCode)), results.map((r) => r.statusCode).join())
  const statuses = await Promise.all(
    [1, 2, 3, 4].map(async (version) => {
      const res = await f.app.inject({ method: 'POST', url: `/v1/certificates/${f.payload({ serial, version }).id}/status`, headers: f.issuerAuth, payload: { status: 'valid', reason: 'probe' } })
      return res.statusCode === 200 ? (res.json().status as string) : 'absent'
    }),
  )
  t.equal(statuses.filter((s) => s === 'valid').length, 1, statuses.join())
  t.equal(statuses[3], 'valid', 'the highest version is the one in force')
})

t.test('the same first version pushed five times at once is stored once, with one event', async (t) => {
  const f = await issuanceFixture(t)
  const certificate = await f.sign(f.payload({ serial: 'D2025001' }))
  const results = await Promise.all(Array.from({ length: 5 }, () => f.app.inject({ method: 'POST', url: '/v1/certificates', headers: f.issuerAuth, payload: { certificate } })))
  t.same(results.map((r) => r.statusCode).sort(), [200, 200, 200, 200, 201], 'one created, four unchanged')
  t.equal(new Set(results.map((r) => r.json().receivedAt)).size, 1, 'all five answers describe the one stored row')
  const id = f.payload({ serial: 'D2025001' }).id
  const events = await f.database.db.select({ kind: auditEvents.kind }).from(auditEvents).where(eq(auditEvents.subject, id))
  t.same(events, [{ kind: 'certificate.issued' }], 'its event written once, with it')
})
