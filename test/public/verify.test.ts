import { createHash } from 'node:crypto'
import t from 'tap'
import { HOLDER_ID, HOLDER_NAME, issuanceFixture } from '../helpers/certs.js'
import { makeSealedOfd, makeTamperedOfd } from '../helpers/ofd.js'
import { newVerificationCode } from '../../src/public/codes.js'
import { scanFixture } from './fixture.js'

t.test('POST /v1/public/verify: no token, the result, the checks and the status, nothing personal', async (t) => {
  const f = await scanFixture(t)
  const cert = await f.issue()
  const payload = f.payload()
  const jws = await f.sign(payload)
  t.equal((await f.app.inject({ method: 'POST', url: '/v1/certificates', headers: f.issuerAuth, payload: { certificate: jws } })).statusCode, 201)
  const verify = (body: unknown) => f.app.inject({ method: 'POST', url: '/v1/public/verify', payload: body as object })

  const byJws = await verify({ certificate: jws })
  t.equal(byJws.statusCode, 200, byJws.body)
  t.match(byJws.json(), { result: 0, status: 'valid', certificate: { id: payload.id } })
  t.equal(byJws.json().checks.length, 11, 'every check')
  t.notMatch(byJws.body, HOLDER_ID, 'the presented holder ID is not echoed')
  t.notMatch(byJws.body, HOLDER_NAME)
  t.notOk('receipt' in byJws.json(), 'no receipt naming a holder')

  const byCode = await verify({ code: cert.code })
  t.match(byCode.json(), { result: 0, status: 'valid', certificate: { id: cert.id } })
  t.notMatch(byCode.body, HOLDER_ID)
  t.notMatch(byCode.body, HOLDER_NAME)

  const unknown = await verify({ code: newVerificationCode() })
  t.equal(unknown.statusCode, 200)
  t.match(unknown.json(), { result: 5 })
  t.notOk('status' in unknown.json())

  const forged = jws.slice(0, -4) + (jws.endsWith('AAAA') ? 'BBBB' : 'AAAA')
  t.match((await verify({ certificate: forged })).json(), { result: 6 })
  t.match((await verify({ certificate: 'not a jws' })).json(), { result: 4 })

  await f.revoke(cert.id)
  t.match((await verify({ code: cert.code })).json(), { result: 3, status: 'revoked' }, 'revoked through its code')

  for (const bad of [{}, { code: cert.code, certificate: jws }, { id: cert.id }, { typeCode: f.typeCode }]) {
    const res = await verify(bad)
    t.equal(res.statusCode, 400, JSON.stringify(bad))
    t.equal(res.json().code, 'VALIDATION_FAILED')
  }

  t.test('logged like every verification, with an anonymous actor, for the holder to see', async (t) => {
    const log = await f.app.inject({ method: 'GET', url: '/v1/me/access-log', headers: await f.holderAuth() })
    const items = log.json().items as { kind: string; organisation: { code: string | null }; log: { opening: { details: { purpose?: string; via?: string } } } | null }[]
    const publicOnes = items.filter((i) => i.log?.opening.details.purpose === 'public')
    t.ok(publicOnes.length >= 4, `${publicOnes.length} public verifications in the holder's log`)
    t.ok(publicOnes.every((i) => i.kind === 'access.verify' && i.organisation.code === null))
    t.same(new Set(publicOnes.map((i) => i.log?.opening.details.via)), new Set(['jws', 'code']))
  })
})

t.test('POST /v1/public/verify {document}: a presented sealed OFD file, no token', async (t) => {
  const f = await issuanceFixture(t, {}, { sm2: true })
  const sealer = f.pki.issue({ keyType: 'sm2', subjectCN: 'Zhengzhao test sealing key' })
  const maker = f.pki.issue({ keyType: 'sm2', subjectCN: 'Zhengzhao test seal maker' })
  t.equal((await f.app.inject({ method: 'POST', url: `/v1/issuers/${f.issuerCode}/keys`, headers: f.adminAuth, payload: { certificate: sealer.chainPem } })).statusCode, 201)
  const made = makeSealedOfd({ signer: sealer, maker })
  const payload = { ...f.payload(), document: { mediaType: 'application/ofd' as const, sm3: createHash('sm3').update(made.bytes).digest('hex'), size: made.bytes.length } }
  const push = await f.app.inject({ method: 'POST', url: '/v1/certificates', headers: f.issuerAuth, payload: { certificate: await f.sign(payload), document: made.bytes.toString('base64') } })
  t.equal(push.statusCode, 201, push.body.slice(0, 400))
  const verify = (bytes: Buffer) => f.app.inject({ method: 'POST', url: '/v1/public/verify', payload: { document: bytes.toString('base64') } })
  const good = await verify(made.bytes)
  t.equal(good.statusCode, 200)
  t.match(good.json(), { result: 0, status: 'valid', certificate: { id: payload.id }, document: { code: 0 } })
  t.notMatch(good.body, HOLDER_ID)
  t.notMatch(good.body, HOLDER_NAME)
  t.match((await verify(makeTamperedOfd('page-byte-changed', { signer: sealer, maker }).bytes)).json(), { result: 6, document: { code: 2 } })
  const bad = await f.app.inject({ method: 'POST', url: '/v1/public/verify', payload: { document: 'not base64!' } })
  t.equal(bad.statusCode, 400)
})
