import t from 'tap'
import { HOLDER_ID, HOLDER_NAME } from '../helpers/certs.js'
import { newVerificationCode } from '../../src/public/codes.js'
import { scanFixture } from '../public/fixture.js'

t.test('GET /v/{code}: a script-free page, 中文 first, English on request', async (t) => {
  const f = await scanFixture(t)
  const cert = await f.issue({ name: '欧阳小明' })
  const res = await f.app.inject({ method: 'GET', url: `/v/${cert.code}` })
  t.equal(res.statusCode, 200)
  t.match(res.headers['content-type'], /^text\/html; charset=utf-8/)
  t.equal(res.headers['cache-control'], 'no-store')
  const csp = String(res.headers['content-security-policy'])
  t.match(csp, /default-src 'none'/)
  t.notMatch(csp, /script-src|unsafe-inline|unsafe-eval/, 'no script of any kind, no inline allowance')
  t.match(res.body, /^<!DOCTYPE html>\n<html lang="zh-CN">/)
  t.notMatch(res.body, /<script|\son[a-z]+=/i, 'no script, no event handler')
  t.match(res.body, '证照真实，当前有效')
  t.match(res.body, '欧**明')
  t.match(res.body, '测试许可证')
  t.match(res.body, '测试发证机关')
  t.match(res.body, '2025-05-22 至 2035-05-21')
  t.notMatch(res.body, HOLDER_ID, 'no ID number')
  t.notMatch(res.body, '欧阳小明', 'no full name')
  t.notMatch(res.body, HOLDER_NAME)
  t.notMatch(res.body, cert.id, 'no identifier')

  const en = await f.app.inject({ method: 'GET', url: `/v/${cert.code}?lang=en` })
  t.match(en.body, /<html lang="en">/)
  t.match(en.body, 'Genuine and valid')
  t.match(en.body, '2025-05-22 to 2035-05-21')
  t.match(en.body, 'href="?lang=zh"', 'a way back to 中文')
  t.match(res.body, 'href="?lang=en"', 'the English switch')
  t.equal((await f.app.inject({ method: 'GET', url: `/v/${cert.code}?lang=xx` })).statusCode, 200, 'an unknown language is the page in 中文')
})

t.test('an unknown code: a 404 page in the same style that says nothing', async (t) => {
  const f = await scanFixture(t)
  await f.issue()
  for (const code of [newVerificationCode(), 'x', HOLDER_ID]) {
    const res = await f.app.inject({ method: 'GET', url: `/v/${encodeURIComponent(code)}` })
    t.equal(res.statusCode, 404)
    t.match(res.headers['content-type'], /^text\/html/)
    t.match(res.body, '未找到该核验码')
    t.notMatch(res.body, HOLDER_ID)
    t.notMatch(res.body, /测试许可证|测试发证机关/)
  }
})
