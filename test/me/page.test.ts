import t from 'tap'
import { bearer, randomCreditCode, randomTypeCode, tokenFor } from '../helpers/app.js'
import { HOLDER_ID, HOLDER_NAME, OTHER_HOLDER_ID } from '../helpers/certs.js'
import { scanFixture } from '../public/fixture.js'
import { myPage, signInPage } from '../../src/pages/me.js'

// One app for the file: behind a trusted proxy, so a request says whether it came over HTTPS.
const f = await scanFixture(t, { TRUST_PROXY: 'true', PUBLIC_BASE_URL: 'https://zz.example.gov.cn' })
const app = f.app
const holderToken = (opts: Parameters<typeof tokenFor>[1] = {}) => tokenFor(['holder'], { idType: '111', id: HOLDER_ID, sub: 'citizen-002X', ...opts })
// What a browser sends with a form from this service's own page.
const FROM_OUR_PAGE = { 'sec-fetch-site': 'same-origin', origin: 'null' }

async function signIn(token: string, headers: Record<string, string> = FROM_OUR_PAGE) {
  return app.inject({ method: 'POST', url: '/me/sign-in', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, payload: new URLSearchParams({ token }).toString() })
}
function cookieOf(res: { headers: Record<string, unknown> }): string {
  const set = res.headers['set-cookie']
  return String(Array.isArray(set) ? set[0] : set ?? '')
}
const session = (setCookie: string) => ({ cookie: setCookie.split(';')[0]! })

const reader = randomCreditCode()
await app.inject({ method: 'PUT', url: `/v1/grants/${reader}`, headers: f.adminAuth, payload: { name: '某区行政审批局', grants: [{ typeCode: f.typeCode }] } })
const readerAuth = await bearer(['reader'], { org: reader, sub: 'clerk-8731' })
const lookup = (typeCodes?: string[]) =>
  app.inject({ method: 'POST', url: '/v1/lookup', headers: readerAuth, payload: { holder: { idType: '111', id: HOLDER_ID }, ...(typeCodes ? { typeCodes } : {}), purpose: { matterCode: 'M-0417', reason: '办理住房公积金提取' } } })

t.test('sign-in page: a form with a label, no script, the pages\' CSP', async (t) => {
  const res = await app.inject({ method: 'GET', url: '/me/sign-in' })
  t.equal(res.statusCode, 200)
  t.match(res.headers['content-security-policy'], "default-src 'none'")
  t.equal(res.headers['cache-control'], 'no-store')
  t.notMatch(res.body, /<script|\son[a-z]+=/i)
  t.match(res.body, '<label for="token">持证人令牌</label><textarea id="token" name="token"')
  t.match(res.body, '<form method="post" action="/me/sign-in">')
  t.match((await app.inject({ method: 'GET', url: '/me/sign-in?lang=en' })).body, 'Holder token')
})

t.test('sign-in sets the cookie with the right attributes, and /me opens with it', async (t) => {
  const res = await signIn(await holderToken())
  t.equal(res.statusCode, 303, res.body)
  t.equal(res.headers.location, '/me')
  const cookie = cookieOf(res)
  t.match(cookie, /^zhengzhao-holder=ey[\w-]+\.[\w-]+\.[\w-]+; Max-Age=(\d+); Path=\/; HttpOnly; SameSite=Strict$/, 'plain HTTP: no __Host- prefix, no Secure')
  const maxAge = Number(/Max-Age=(\d+)/.exec(cookie)![1])
  t.ok(maxAge > 3500 && maxAge <= 3600, `Max-Age ${maxAge} is the token's remaining life`)
  const me = await app.inject({ method: 'GET', url: '/me', headers: session(cookie) })
  t.equal(me.statusCode, 200)
  t.match(me.headers['content-type'], /^text\/html/)

  const https = await signIn(await holderToken({ ttlSeconds: 120 }), { ...FROM_OUR_PAGE, 'x-forwarded-proto': 'https', origin: 'https://zz.example.gov.cn' })
  t.equal(https.statusCode, 303, https.body)
  const secure = cookieOf(https)
  t.match(secure, /^__Host-zhengzhao-holder=ey[\w.-]+; Max-Age=(\d+); Path=\/; HttpOnly; Secure; SameSite=Strict$/, 'HTTPS: __Host-, Secure')
  t.ok(Number(/Max-Age=(\d+)/.exec(secure)![1]) <= 120, 'never longer than the token')
  t.equal((await app.inject({ method: 'GET', url: '/me', headers: { ...session(secure), 'x-forwarded-proto': 'https' } })).statusCode, 200)
  const planted = await app.inject({ method: 'GET', url: '/me', headers: { ...session(cookie), 'x-forwarded-proto': 'https' } })
  t.equal(planted.statusCode, 303, 'over HTTPS a cookie without the __Host- prefix is not a session')

  const en = await app.inject({ method: 'POST', url: '/me/sign-in', headers: { 'content-type': 'application/x-www-form-urlencoded', ...FROM_OUR_PAGE }, payload: `lang=en&token=${await holderToken()}` })
  t.equal(en.headers.location, '/me?lang=en', 'the language carries on')
})

t.test('refused tokens: the sign-in page says why, and no cookie is set', async (t) => {
  const cases: [string, string, number, string, RegExp][] = [
    ['expired', await holderToken({ ttlSeconds: -120 }), 401, 'TOKEN_EXPIRED', /您的登录已过期/],
    ['wrong audience', await holderToken({ audience: 'another-service' }), 401, 'INVALID_TOKEN', /令牌无效[\s\S]*Token &quot;aud&quot; claim is not this service&#39;s audience/],
    ['wrong issuer', await holderToken({ issuer: 'someone-else' }), 401, 'INVALID_TOKEN', /&quot;iss&quot; claim/],
    ['not a token', 'not-a-token', 401, 'INVALID_TOKEN', /令牌无效/],
    ['a reader token', await tokenFor(['reader'], { org: reader }), 403, 'FORBIDDEN', /不是持证人令牌/],
  ]
  for (const [name, token, status, code, message] of cases) {
    const res = await signIn(token)
    t.equal(res.statusCode, status, name)
    t.match(res.body, `data-code="${code}"`, name)
    t.match(res.body, message, name)
    t.equal(res.headers['set-cookie'], undefined, `${name}: no cookie`)
    t.match(res.body, '<textarea id="token"', `${name}: the form again`)
  }
  const empty = await signIn('  ')
  t.equal(empty.statusCode, 200, 'no token: the form again')
  t.equal(empty.headers['set-cookie'], undefined)
})

t.test('/me without a session, or with an expired one, goes to sign-in saying why', async (t) => {
  const none = await app.inject({ method: 'GET', url: '/me' })
  t.equal(none.statusCode, 303)
  t.equal(none.headers.location, '/me/sign-in?reason=required')
  const expired = await app.inject({ method: 'GET', url: '/me?lang=en', headers: { cookie: `zhengzhao-holder=${await holderToken({ ttlSeconds: -120 })}` } })
  t.equal(expired.statusCode, 303)
  t.equal(expired.headers.location, '/me/sign-in?lang=en&reason=expired')
  t.match(cookieOf(expired), /^zhengzhao-holder=; Max-Age=0; Path=\/; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; SameSite=Strict$/, 'the dead cookie is cleared')
  const page = await app.inject({ method: 'GET', url: expired.headers.location as string })
  t.match(page.body, 'Your sign-in has expired: sign in again.')
  const notHolder = await app.inject({ method: 'GET', url: '/me', headers: { cookie: `zhengzhao-holder=${await tokenFor(['auditor'])}` } })
  t.equal(notHolder.headers.location, '/me/sign-in?reason=not-holder')
})

t.test("the API takes no cookie: only the pages' scope reads it", async (t) => {
  const res = await app.inject({ method: 'GET', url: '/v1/me/certificates', headers: { cookie: `zhengzhao-holder=${await holderToken()}` } })
  t.equal(res.statusCode, 401)
  t.equal(res.json().code, 'AUTH_REQUIRED')
})

t.test("the page: my certificates with QR codes, and who looked, newest first; no ID number", async (t) => {
  const mine = await f.issue({ name: HOLDER_NAME })
  const revoked = await f.issue()
  await f.revoke(revoked.id)
  await f.issue({ holderId: OTHER_HOLDER_ID, name: '王五' })
  t.equal((await lookup()).statusCode, 200)
  t.equal((await lookup([randomTypeCode()])).json().code, 'TYPE_NOT_GRANTED')
  t.equal((await app.inject({ method: 'GET', url: `/v/${mine.code}` })).statusCode, 200)

  // A signing-in proxy's bearer header works as the cookie does.
  const res = await app.inject({ method: 'GET', url: '/me', headers: { authorization: `Bearer ${await holderToken()}` } })
  t.equal(res.statusCode, 200)
  const html = res.body
  t.notMatch(html, HOLDER_ID, 'no ID number anywhere in the HTML')
  t.notMatch(html, OTHER_HOLDER_ID)
  t.notMatch(html, '王五', "nothing of another holder's")
  t.notMatch(html, /<script|\son[a-z]+=/i)
  t.match(html, `<strong>${HOLDER_NAME}</strong>`, "the holder's own name: it is their page")
  t.match(html, /<article class="card" data-certificate="[^"]+" data-status="valid">/)
  t.match(html, new RegExp(`data-certificate="${revoked.id.replaceAll('.', '\\.')}" data-status="revoked"`))
  t.match(html, '测试许可证')
  t.match(html, '测试发证机关')
  t.match(html, '2025-05-22 至 2035-05-21')
  t.match(html, /当前状态<\/dt><dd><span class="bad-text">撤销<\/span>，自 <time/)
  t.match(html, `<a href="https://zz.example.gov.cn/v/${mine.code}">打开核验页</a>`, 'the verification link of my own certificate')
  t.match(html, /<svg role="img" aria-label="核验二维码" xmlns="http:\/\/www.w3.org\/2000\/svg"/, 'an inline SVG QR code')

  const entries = [...html.matchAll(/<li class="[^"]*" data-kind="([^"]+)"(?: data-anonymous="(\w+)")?><p><strong>([^<]+)<\/strong>/g)].map((m) => [m[1], m[2], m[3]])
  t.same(entries.slice(0, 3), [
    ['access.verify', 'scan', '持有打印二维码的人扫码核验了您的证照'],
    ['access.denied', undefined, '某区行政审批局 的查询被拒绝'],
    ['access.lookup', undefined, '某区行政审批局 查询了您的证照'],
  ], 'newest first: the scan, the denial, the lookup')
  t.match(html, /class="denied" data-kind="access.denied"[\s\S]*?事项 M-0417 · 事由：办理住房公积金提取[\s\S]*?未获授权查询该类证照/)
  t.notMatch(html, 'clerk-8731', "no civil servant's user id")

  const api = await app.inject({ method: 'GET', url: '/v1/me/access-log?limit=1', headers: await f.holderAuth() })
  t.match(api.json().items[0], { kind: 'access.verify', anonymous: 'scan', organisation: { code: null, name: null }, matterCode: null }, 'the JSON entry says it was a scan')

  const en = await app.inject({ method: 'GET', url: '/me?lang=en', headers: { authorization: `Bearer ${await holderToken()}` } })
  t.match(en.body, '<html lang="en">')
  t.match(en.body, 'Scanned by someone holding the printed code')
  t.match(en.body, '某区行政审批局 looked up your certificates')
})

t.test('the access log pages with cursor links, each entry once', async (t) => {
  const cert = await f.issue()
  for (let i = 0; i < 22; i++) await app.inject({ method: 'GET', url: `/v/${cert.code}` })
  const auth = { authorization: `Bearer ${await holderToken()}` }
  const total = (await app.inject({ method: 'GET', url: '/v1/me/access-log?limit=200', headers: auth })).json().items.length
  const seen: string[] = []
  let url: string | undefined = '/me'
  let pages = 0
  while (url && pages < 10) {
    const res: { statusCode: number; body: string } = await app.inject({ method: 'GET', url, headers: auth })
    t.equal(res.statusCode, 200)
    const times = [...res.body.matchAll(/<li [^>]*><p><strong>[^<]+<\/strong><\/p><p class="meta"><time datetime="([^"]+)"/g)].map((m) => m[1]!)
    t.ok(times.length <= 20)
    seen.push(...times)
    if (pages > 0) t.match(res.body, '<a href="/me">最新记录</a>', 'a way back to the newest')
    url = /<a href="([^"]+)" rel="next">更早的记录<\/a>/.exec(res.body)?.[1]?.replaceAll('&amp;', '&')
    pages++
  }
  t.ok(pages >= 2, `${pages} pages`)
  t.equal(seen.length, total, 'every entry once')
  t.same([...seen].sort().reverse(), seen, 'newest first across pages')
  const bad = await app.inject({ method: 'GET', url: '/me?cursor=bm90LWEtY3Vyc29y', headers: auth })
  t.equal(bad.statusCode, 200, 'a mangled cursor is the newest page, not an error page')
})

t.test('出示: a one-time QR code of a certificate in force, from a form on the page', async (t) => {
  const valid = await f.issue()
  const revoked = await f.issue()
  await f.revoke(revoked.id)
  const theirs = await f.issue({ holderId: OTHER_HOLDER_ID })
  const cookie = session(cookieOf(await signIn(await holderToken())))
  const page = (await app.inject({ method: 'GET', url: '/me', headers: cookie })).body
  const formFor = (id: string) => `<form method="post" action="/me/certificates/${encodeURIComponent(id)}/present">`
  t.match(page, formFor(valid.id), 'a 出示 button on a certificate in force')
  t.notMatch(page, formFor(revoked.id), 'none on a revoked one')
  const present = (id: string, headers: Record<string, string> = FROM_OUR_PAGE) =>
    app.inject({ method: 'POST', url: `/me/certificates/${encodeURIComponent(id)}/present`, headers: { ...cookie, 'content-type': 'application/x-www-form-urlencoded', ...headers }, payload: 'lang=zh' })
  const shown = await present(valid.id)
  t.equal(shown.statusCode, 200)
  t.match(shown.body, /<figure class="qr qr-big"><svg role="img" aria-label="请办事人员扫描此二维码"/)
  const expires = Date.parse(/<time datetime="([^"]+)" data-expires>/.exec(shown.body)![1]!)
  t.ok(expires > Date.now() && expires <= Date.now() + 300_000, 'expires within PRESENTATION_TTL')
  t.match(shown.body, '只能使用一次')
  t.match(shown.body, '<a href="/me">完成</a>')
  t.notMatch(shown.body, HOLDER_ID)
  t.notMatch(shown.body, /<script|\son[a-z]+=/i)
  t.equal(shown.headers['cache-control'], 'no-store')

  const notInForce = await present(revoked.id)
  t.equal(notInForce.statusCode, 409)
  t.match(notInForce.body, 'data-code="CERTIFICATE_NOT_IN_FORCE"')
  const notMine = await present(theirs.id)
  t.equal(notMine.statusCode, 404)
  t.match(notMine.body, 'data-code="CERTIFICATE_NOT_FOUND"')

  // This certificate's presentations: other tests on a shared server make theirs.
  const created = async () => (await app.inject({ method: 'GET', url: `/v1/audit/events?kind=presentation.created&certificateId=${encodeURIComponent(valid.id)}&limit=200`, headers: await bearer(['auditor']) })).json().items.length
  const before = await created()
  t.ok(before >= 1, 'the presentation made above is counted')
  const forged = await present(valid.id, { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' })
  t.equal(forged.statusCode, 403, 'a form from another site')
  t.equal(await created(), before, 'made no presentation')
  const noSession = await app.inject({ method: 'POST', url: `/me/certificates/${encodeURIComponent(valid.id)}/present`, headers: { 'content-type': 'application/x-www-form-urlencoded', ...FROM_OUR_PAGE }, payload: '' })
  t.equal(noSession.statusCode, 303)
  t.equal(noSession.headers.location, '/me/sign-in?reason=required')
})

t.test('a presentation seen by someone is worded "shown by you, seen by …"', async (t) => {
  const base = { at: '2031-03-01T08:04:00.000000Z', kind: 'access.verify', matterCode: null, reason: null, certificateIds: [], outcome: null, log: null, presentation: true as const }
  const html = myPage({ holderName: null, certificates: [], entries: [{ ...base, organisation: { code: reader, name: '某区行政审批局' } }, { ...base, organisation: { code: null, name: null } }], older: false, canPresent: true }, 'zh', '2031-03-01')
  t.match(html, '<strong>您出示，某区行政审批局查看</strong>')
  t.match(html, '<strong>您出示，扫描二维码的人查看</strong>')
  t.match(myPage({ holderName: null, certificates: [], entries: [{ ...base, organisation: { code: reader, name: '某区行政审批局' } }], older: false, canPresent: true }, 'en', '2031-03-01'), 'Shown by you, seen by 某区行政审批局')
})

t.test('CSRF: a form from another origin changes nothing', async (t) => {
  const cookie = cookieOf(await signIn(await holderToken()))
  const form = { 'content-type': 'application/x-www-form-urlencoded' }
  const attempts: [string, Record<string, string>][] = [
    ['another site', { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' }],
    ['a sibling subdomain (same site)', { origin: 'https://other.example.gov.cn', 'sec-fetch-site': 'same-site' }],
    ['an Origin alone, not ours', { origin: 'https://evil.example' }],
    ['nothing that says where it came from', {}],
  ]
  for (const [name, headers] of attempts) {
    const out = await app.inject({ method: 'POST', url: '/me/sign-out', headers: { ...form, ...session(cookie), ...headers }, payload: '' })
    t.equal(out.statusCode, 403, `sign-out: ${name}`)
    t.match(out.body, 'data-code="FORBIDDEN"')
    t.equal(out.headers['set-cookie'], undefined, `sign-out: ${name}: the cookie is kept`)
    const login = await signIn(await holderToken(), headers)
    t.equal(login.statusCode, 403, `sign-in: ${name}`)
    t.equal(login.headers['set-cookie'], undefined, `sign-in: ${name}: no cookie`)
  }
  const ok = await app.inject({ method: 'POST', url: '/me/sign-out', headers: { ...form, ...session(cookie), origin: 'https://zz.example.gov.cn' }, payload: 'lang=en' })
  t.equal(ok.statusCode, 200, 'our own origin')
  t.match(ok.body, 'You have signed out.')
  t.match(cookieOf(ok), /^zhengzhao-holder=; Max-Age=0;/, 'the cookie is cleared')
})

t.test('production: no paste form; the page says to sign in through the identity provider', async (t) => {
  // config.env production does not register POST /me/sign-in at all (src/pages/routes.ts).
  t.ok(app.hasRoute({ method: 'POST', url: '/me/sign-in' }), 'registered outside production')
  const page = signInPage('zh', { pasteForm: false, reason: 'expired' })
  t.notMatch(page, /<textarea|<form/)
  t.match(page, '统一身份认证')
  t.match(page, '您的登录已过期')
})
