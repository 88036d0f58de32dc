import t from 'tap'
import { bearer, READER_ORG } from '../helpers/app.js'
import { HOLDER_ID, HOLDER_NAME, OTHER_HOLDER_ID } from '../helpers/certs.js'
import { newPresentationToken } from '../../src/present/tokens.js'
import { presentFixture } from './fixture.js'

// One app for the file (each test its own certificates): building one is most of a test's time.
const f = await presentFixture(t)

interface Entry { kind: string; certificateIds: string[]; organisation: { code: string | null }; presentation?: boolean; log: { opening: { details: Record<string, unknown> } } | null }

t.test('the holder shows a certificate; the first use sees all of it, the second nothing', async (t) => {
  const cert = await f.issue()
  const res = await f.app.inject({ method: 'POST', url: `/v1/me/certificates/${cert.id}/presentations`, headers: await f.holderAuth() })
  t.equal(res.statusCode, 201, res.body)
  t.equal(res.headers['cache-control'], 'no-store')
  const made = res.json()
  t.match(made.url, /^https:\/\/zz\.example\.gov\.cn\/s\/[A-Za-z0-9_-]{32}$/, 'PUBLIC_BASE_URL/s/{token}')
  const token = (made.url as string).slice(-32)
  t.same(Object.keys(made).sort(), ['expiresAt', 'qr', 'url'])
  t.equal(res.body.split(token).length - 1, 1, 'the token appears once in the answer: in the url')
  t.ok(Date.parse(made.expiresAt) - Date.now() <= 300_000 && Date.parse(made.expiresAt) - Date.now() > 280_000, 'valid five minutes by default')

  const used = await f.app.inject({ method: 'POST', url: `/v1/public/presentations/${token}` })
  t.equal(used.statusCode, 200, used.body)
  t.equal(used.headers['cache-control'], 'no-store')
  const view = used.json()
  t.match(view, {
    result: 0,
    status: 'valid',
    certificate: { id: cert.id, name: '测试许可证', holder: { idType: '111', id: '**************002X', name: HOLDER_NAME }, issuer: { name: '测试发证机关' }, validUntil: '2035-05-21', data: { level: 2 } },
    presentation: { seenBy: null },
  })
  t.notMatch(used.body, HOLDER_ID, 'the ID number keeps its last four characters only')

  const again = await f.app.inject({ method: 'POST', url: `/v1/public/presentations/${token}` })
  t.equal(again.statusCode, 410)
  t.equal(again.json().code, 'PRESENTATION_USED')
  t.notMatch(again.body, HOLDER_NAME, 'a refusal says nothing of the certificate')
  t.notMatch(again.body, cert.id)
  t.notMatch(again.body, token, 'nor echoes the token')
  t.equal(again.json().instance, '/v1/public/presentations/***')

  for (const unknown of [newPresentationToken(), 'abc', `${token}A`, HOLDER_ID]) {
    const res = await f.app.inject({ method: 'POST', url: `/v1/public/presentations/${unknown}` })
    t.equal(res.statusCode, 404, unknown)
    t.equal(res.json().code, 'PRESENTATION_NOT_FOUND')
  }
})

t.test('the page: the whole certificate once, then "already used"; HEAD does not use it', async (t) => {
  const cert = await f.issue({ name: '张小三' })
  const { token } = await f.present(cert.id)
  const head = await f.app.inject({ method: 'HEAD', url: `/s/${token}` })
  t.equal(head.statusCode, 200, 'a HEAD answers the status')
  const page = await f.app.inject({ method: 'GET', url: `/s/${token}` })
  t.equal(page.statusCode, 200, 'and leaves it unused')
  t.match(page.headers['content-type'], 'text/html')
  t.match(page.headers['content-security-policy'], /default-src 'none'/)
  t.notMatch(page.headers['content-security-policy'], /script-src|unsafe/)
  t.equal(page.headers['cache-control'], 'no-store')
  t.match(page.body, '<html lang="zh-CN">')
  t.match(page.body, '证照真实，当前有效')
  t.match(page.body, '张小三', 'the name in full: the holder chose to show it')
  t.match(page.body, '**************002X')
  t.notMatch(page.body, HOLDER_ID, 'no ID number anywhere in the HTML')
  t.notMatch(page.body, token, 'nor the token')
  t.match(page.body, /<div class="alt" id="en" lang="en">[\s\S]*Genuine and valid/, 'the English rendering is in the page, for the switch')
  t.notMatch(page.body, /<script/)

  const second = await f.app.inject({ method: 'GET', url: `/s/${token}?lang=en` })
  t.equal(second.statusCode, 410)
  t.match(second.body, 'This presentation has already been used')
  t.notMatch(second.body, /张小三|测试许可证|测试发证机关|002X/, 'nothing about the certificate')
  t.equal((await f.app.inject({ method: 'HEAD', url: `/s/${token}` })).statusCode, 410)
  const unknown = await f.app.inject({ method: 'GET', url: `/s/${newPresentationToken()}` })
  t.equal(unknown.statusCode, 404)
  t.match(unknown.body, '未找到该亮证码')
})

t.test('ten scans at once: exactly one sees the certificate', async (t) => {
  const cert = await f.issue()
  const { token } = await f.present(cert.id)
  const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? f.app.inject({ method: 'GET', url: `/s/${token}` }) : f.app.inject({ method: 'POST', url: `/v1/public/presentations/${token}` }))))
  t.same(answers.map((a) => a.statusCode).sort(), [200, 410, 410, 410, 410, 410, 410, 410, 410, 410])
  const log = await f.app.inject({ method: 'GET', url: '/v1/me/access-log', headers: await f.holderAuth() })
  t.equal((log.json().items as Entry[]).filter((e) => e.presentation && e.certificateIds.includes(cert.id)).length, 1, 'one use in the holder\'s log')
})

t.test('only the holder, only their own certificate, only in force', async (t) => {
  const cert = await f.issue()
  const url = `/v1/me/certificates/${cert.id}/presentations`
  t.equal((await f.app.inject({ method: 'POST', url })).statusCode, 401)
  const reader = await f.app.inject({ method: 'POST', url, headers: await bearer(['reader']) })
  t.equal(reader.statusCode, 403)
  t.equal(reader.json().code, 'FORBIDDEN')
  const other = await f.app.inject({ method: 'POST', url, headers: await f.holderAuth(OTHER_HOLDER_ID) })
  t.equal(other.statusCode, 404, "another holder's certificate is not theirs to learn of")
  t.equal(other.json().code, 'CERTIFICATE_NOT_FOUND')
  const none = await f.app.inject({ method: 'POST', url: `/v1/me/certificates/${encodeURIComponent(cert.id.replace(/\.\d{3}\.(.)$/, '.999.$1'))}/presentations`, headers: await f.holderAuth() })
  t.equal(none.statusCode, 404, none.body)
  const pending = await f.present(cert.id)
  await f.revoke(cert.id)
  const revoked = await f.app.inject({ method: 'POST', url, headers: await f.holderAuth() })
  t.equal(revoked.statusCode, 409)
  t.equal(revoked.json().code, 'CERTIFICATE_NOT_IN_FORCE')
  t.match(revoked.json().detail, 'revoked')
  // Made before the revocation: its one use tells the truth.
  const late = await f.app.inject({ method: 'POST', url: `/v1/public/presentations/${pending.token}` })
  t.match(late.json(), { result: 3, reason: 'revoked', status: 'revoked' })
})

t.test("each use is in the holder's access log: shown by them, seen by an organisation or anonymous", async (t) => {
  const cert = await f.issue()
  const anonymous = await f.present(cert.id)
  const byReader = await f.present(cert.id)
  t.equal((await f.app.inject({ method: 'GET', url: `/s/${anonymous.token}` })).statusCode, 200)
  const badToken = await f.app.inject({ method: 'POST', url: `/v1/public/presentations/${byReader.token}`, headers: { authorization: 'Bearer nonsense' } })
  t.equal(badToken.statusCode, 401, 'a bad reader token is refused')
  const notReader = await f.app.inject({ method: 'POST', url: `/v1/public/presentations/${byReader.token}`, headers: await f.holderAuth() })
  t.equal(notReader.statusCode, 403, 'a token other than a reader\'s too')
  const seen = await f.app.inject({ method: 'POST', url: `/v1/public/presentations/${byReader.token}`, headers: await bearer(['reader'], { org: READER_ORG, sub: 'clerk-7' }) })
  t.equal(seen.statusCode, 200, 'and neither used the presentation')
  t.equal(seen.json().presentation.seenBy, READER_ORG)

  const log = await f.app.inject({ method: 'GET', url: '/v1/me/access-log', headers: await f.holderAuth() })
  const uses = (log.json().items as Entry[]).filter((e) => e.presentation && e.certificateIds.includes(cert.id))
  t.equal(uses.length, 2)
  t.same(uses.map((e) => e.organisation.code), [READER_ORG, null], 'newest first: the reader, then the anonymous page')
  for (const e of uses) {
    t.equal(e.kind, 'access.read')
    t.same(e.certificateIds, [cert.id])
    t.match(e.log?.opening.details, { purpose: 'presentation', presentation: true })
  }
  const theirs = await f.app.inject({ method: 'GET', url: '/v1/me/access-log', headers: await f.holderAuth(OTHER_HOLDER_ID) })
  t.notOk((theirs.json().items as Entry[]).some((e) => e.certificateIds.includes(cert.id)), "not in another holder's log")
  const events = await f.app.inject({ method: 'GET', url: `/v1/audit/events?certificateId=${encodeURIComponent(cert.id)}`, headers: await bearer(['auditor']) })
  t.equal((events.json().items as { kind: string }[]).filter((e) => e.kind === 'presentation.created').length, 2, 'making each was an audit event')
})

