import t from 'tap'
import jsqr from 'jsqr'
import { PNG } from 'pngjs'
import { HOLDER_ID, HOLDER_NAME, OTHER_HOLDER_ID } from '../helpers/certs.js'
import { bearer, randomCreditCode } from '../helpers/app.js'
import { scanFixture } from './fixture.js'
import { maskName, newVerificationCode } from '../../src/public/codes.js'
import { maskedPath } from '../../src/logging.js'

// jsqr is CommonJS whose types declare an ES default export: the module itself is the function.
const jsQR = jsqr as unknown as typeof jsqr.default

t.test('names are masked: first and last kept for three or more, the first for two', async (t) => {
  t.equal(maskName('张三丰'), '张*丰')
  t.equal(maskName('欧阳小明'), '欧**明')
  t.equal(maskName('张三'), '张*')
  t.equal(maskName('张'), '*')
  t.equal(maskName('𠮷野家'), '𠮷*家', 'a character outside the BMP is not split')
})

t.test('codes: 160 random bits as 32 base32 characters, unlinkable to anything', async (t) => {
  const codes = Array.from({ length: 10_000 }, newVerificationCode)
  t.ok(codes.every((c) => /^[A-Z2-7]{32}$/.test(c)), 'every code is 32 characters of A-Z 2-7')
  t.equal(new Set(codes).size, codes.length, 'no two alike')
  // Every one of the 32 symbols at every position, about equally often: no fixed or derived part.
  const counts = new Map<string, number>()
  for (const c of codes) for (const ch of c.slice(0, 31)) counts.set(ch, (counts.get(ch) ?? 0) + 1)
  t.equal(counts.size, 32)
  const expected = (codes.length * 31) / 32
  t.ok([...counts.values()].every((n) => Math.abs(n - expected) < expected * 0.1), 'symbols uniformly spread')
})

t.test('scan-to-verify, JSON form', async (t) => {
  const f = await scanFixture(t)
  const cert = await f.issue()
  t.match(cert.code, /^[A-Z2-7]{32}$/)
  t.equal(cert.url, `https://zz.example.gov.cn/v/${cert.code}`, 'the URL is PUBLIC_BASE_URL/v/{code}')
  t.notMatch(cert.code, cert.id.replace(/\./g, '').slice(0, 8), 'not derived from the identifier')

  const res = await f.app.inject({ method: 'GET', url: `/v1/public/verification/${cert.code}` })
  t.equal(res.statusCode, 200, res.body)
  t.equal(res.headers['cache-control'], 'no-store')
  const body = res.json()
  t.match(body, { result: 0, status: 'valid', typeName: '测试许可证', issuerName: '测试发证机关', validFrom: '2025-05-22', validUntil: '2035-05-21', holderName: '李*明' })
  t.notMatch(res.body, HOLDER_ID, 'no ID number')
  t.notMatch(res.body, HOLDER_NAME, 'no full name')
  t.notMatch(res.body, cert.id, 'no identifier')
  t.notMatch(res.body, '"level"', 'no data fields')

  t.test('lower case (typed from paper) answers the same', async (t) => {
    const lower = await f.app.inject({ method: 'GET', url: `/v1/public/verification/${cert.code.toLowerCase()}` })
    t.equal(lower.json().result, 0)
  })

  t.test('unknown and malformed codes are 404 and say nothing', async (t) => {
    for (const code of [newVerificationCode(), 'abc', cert.code.slice(0, 31), `${cert.code}A`, HOLDER_ID]) {
      const res = await f.app.inject({ method: 'GET', url: `/v1/public/verification/${code}` })
      t.equal(res.statusCode, 404, code)
      t.equal(res.json().code, 'VERIFICATION_CODE_NOT_FOUND')
      t.notMatch(res.body, HOLDER_NAME.slice(0, 1))
    }
  })

  t.test('a code is never logged nor echoed: logs and problems keep the route only', async (t) => {
    t.equal(maskedPath(`/v/${cert.code}?lang=en`), '/v/***')
    t.equal(maskedPath(`/v1/public/verification/${cert.code}`), '/v1/public/verification/***')
    const unknown = newVerificationCode()
    const res = await f.app.inject({ method: 'GET', url: `/v1/public/verification/${unknown}` })
    t.equal(res.json().instance, '/v1/public/verification/***')
    t.notMatch(res.body, unknown)
  })

})

t.test('every scan is an access event the holder sees', async (t) => {
  const f = await scanFixture(t)
  const cert = await f.issue()
  const other = await f.issue({ holderId: OTHER_HOLDER_ID })
  t.equal((await f.app.inject({ method: 'GET', url: `/v1/public/verification/${cert.code}` })).statusCode, 200)
  t.equal((await f.app.inject({ method: 'GET', url: `/v/${cert.code}` })).statusCode, 200)
  const log = await f.app.inject({ method: 'GET', url: '/v1/me/access-log', headers: await f.holderAuth() })
  t.equal(log.statusCode, 200, log.body)
  const scans = (log.json().items as { kind: string; certificateIds: string[]; organisation: { code: string | null }; log: { opening: { details: unknown } } | null }[]).filter((i) => i.kind === 'access.verify')
  t.equal(scans.length, 2, 'both views, the page and the JSON form')
  for (const s of scans) {
    t.same(s.certificateIds, [cert.id])
    t.equal(s.organisation.code, null, 'an anonymous verifier: no organisation')
    t.match(s.log?.opening.details, { purpose: 'scan', via: 'code' })
  }
  const theirs = await f.app.inject({ method: 'GET', url: '/v1/me/access-log', headers: await f.holderAuth(OTHER_HOLDER_ID) })
  t.notOk((theirs.json().items as { certificateIds: string[] }[]).some((i) => i.certificateIds.includes(cert.id)), "not in another holder's log")
  t.ok(other.code !== cert.code)
})

t.test('revoked: the code still answers, saying revoked and since when', async (t) => {
  const f = await scanFixture(t)
  const cert = await f.issue()
  await f.revoke(cert.id)
  const res = await f.app.inject({ method: 'GET', url: `/v1/public/verification/${cert.code}` })
  t.equal(res.statusCode, 200)
  const body = res.json()
  t.match(body, { result: 3, reason: 'revoked', status: 'revoked' })
  t.ok(Date.now() - Date.parse(body.statusChangedAt) < 60_000, 'since the revocation')
  const page = await f.app.inject({ method: 'GET', url: `/v/${cert.code}` })
  t.match(page.body, '已被发证机关撤销')
  t.match(page.body, /当前状态<\/dt><dd[^>]*>撤销，自 <time/)
})

t.test('the issuer rotates a code: the old one answers 404, the new one the certificate', async (t) => {
  const f = await scanFixture(t)
  const cert = await f.issue()
  const again = await f.app.inject({ method: 'GET', url: `/v1/certificates/${cert.id}/verification-code`, headers: f.issuerAuth })
  t.equal(again.json().code, cert.code, 'the issuer can fetch the same code again to print it')
  const rotated = await f.app.inject({ method: 'POST', url: `/v1/certificates/${cert.id}/verification-code`, headers: f.issuerAuth })
  t.equal(rotated.statusCode, 201, rotated.body)
  const fresh = rotated.json().code as string
  t.not(fresh, cert.code)
  t.equal((await f.app.inject({ method: 'GET', url: `/v1/public/verification/${cert.code}` })).statusCode, 404, 'the old code is void')
  t.equal((await f.app.inject({ method: 'GET', url: `/v1/public/verification/${fresh}` })).json().result, 0)
  const events = await f.app.inject({ method: 'GET', url: `/v1/audit/events?certificateId=${encodeURIComponent(cert.id)}`, headers: await bearer(['auditor']) })
  t.ok((events.json().items as { kind: string }[]).some((e) => e.kind === 'certificate.verification-code'), 'the rotation is an audit event')
})

t.test('codes and QR images are for the issuing organisation only', async (t) => {
  const f = await scanFixture(t)
  const cert = await f.issue()
  const url = `/v1/certificates/${cert.id}/verification-code`
  t.equal((await f.app.inject({ method: 'GET', url })).statusCode, 401)
  const otherIssuer = await bearer(['issuer'], { org: randomCreditCode() })
  for (const method of ['GET', 'POST'] as const) {
    const res = await f.app.inject({ method, url, headers: otherIssuer })
    t.equal(res.statusCode, 404, method)
    t.equal(res.json().code, 'CERTIFICATE_NOT_FOUND')
  }
  t.equal((await f.app.inject({ method: 'GET', url, headers: await bearer(['reader']) })).statusCode, 403)

  const svg = await f.app.inject({ method: 'GET', url: `${url}?format=svg`, headers: f.issuerAuth })
  t.equal(svg.statusCode, 200)
  t.match(svg.headers['content-type'], /^image\/svg\+xml/)
  t.match(svg.body, /^<svg[^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/)
  const png = await f.app.inject({ method: 'GET', url: `${url}?format=png`, headers: f.issuerAuth })
  t.equal(png.statusCode, 200)
  t.equal(png.headers['content-type'], 'image/png')
  const image = PNG.sync.read(png.rawPayload)
  const decoded = jsQR(new Uint8ClampedArray(image.data), image.width, image.height)
  t.equal(decoded?.data, cert.url, 'the PNG decodes to the verification URL')
  t.equal((await f.app.inject({ method: 'GET', url: `${url}?format=gif`, headers: f.issuerAuth })).statusCode, 400)
})

t.test('scans are rate-limited per client, tighter than the API', async (t) => {
  const f = await scanFixture(t, { RATE_LIMIT_MAX: '30' })
  const cert = await f.issue()
  const statuses: number[] = []
  for (let i = 0; i < 4; i++) statuses.push((await f.app.inject({ method: 'GET', url: `/v1/public/verification/${cert.code}` })).statusCode)
  t.same(statuses, [200, 200, 200, 429], 'a tenth of RATE_LIMIT_MAX (3)')
  const limited = await f.app.inject({ method: 'GET', url: `/v/${cert.code}` })
  t.equal(limited.statusCode, 200, 'the page counts on its own')
  const verify = async () => f.app.inject({ method: 'POST', url: '/v1/public/verify', payload: { code: cert.code } })
  for (let i = 0; i < 3; i++) await verify()
  const res = await verify()
  t.equal(res.statusCode, 429)
  t.equal(res.json().code, 'RATE_LIMITED')
  const other = await f.app.inject({ method: 'GET', url: `/v1/public/verification/${cert.code}`, remoteAddress: '192.0.2.7' })
  t.equal(other.statusCode, 200, 'another client is not limited')
})
