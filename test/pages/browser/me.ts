import type { Browser } from 'puppeteer-core'
import type { Test } from 'tap'
import { PNG } from 'pngjs'
import { bearer, randomCreditCode, tokenFor } from '../../helpers/app.js'
import { HOLDER_ID, HOLDER_NAME } from '../../helpers/certs.js'
import { scanFixture } from '../../public/fixture.js'
import { jsQR, browserSession, served, mainText, noHorizontalScroll, shoot } from '../../helpers/browser.js'

// The holder's page (/me) in a real browser; test/pages/browser.test.ts runs it, with the other pages, in one chromium.
export async function browserTests(t: Test, browser: Browser): Promise<void> {
  const { f, base } = await served((env) => scanFixture(t, env))
  const { phone } = await browserSession(t, browser)

  const cert = await f.issue({ name: HOLDER_NAME })
  const reader = randomCreditCode()
  await f.app.inject({ method: 'PUT', url: `/v1/grants/${reader}`, headers: f.adminAuth, payload: { name: '杭州市住房公积金管理中心', grants: [{ typeCode: f.typeCode }] } })
  const token = await tokenFor(['holder'], { idType: '111', id: HOLDER_ID, sub: 'citizen-002X' })

  const text = mainText
  const cspViolations = (console: string[]) => console.filter((m) => /Content Security Policy/i.test(m))

  await t.test('sign in through the form, and the page lists the lookup a reader made a moment before', async (t) => {
    const { page, console } = await phone()
    await page.goto(`${base}/me`)
    t.equal(new URL(page.url()).pathname, '/me/sign-in', 'no session: to the sign-in page')
    t.match(await text(page), '请先登录')
    t.ok(await noHorizontalScroll(page))
    await shoot(page, 'me-sign-in')

    // The reader looks this holder up just before the holder opens the page.
    const lookup = await f.app.inject({
      method: 'POST',
      url: '/v1/lookup',
      headers: await bearer(['reader'], { org: reader, sub: 'clerk-0417' }),
      payload: { holder: { idType: '111', id: HOLDER_ID }, purpose: { matterCode: 'GJJ-TQ-01', reason: '办理住房公积金提取' } },
    })
    t.equal(lookup.statusCode, 200, "the reader's lookup")

    await page.type('#token', token)
    await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')])
    t.equal(new URL(page.url()).pathname, '/me', 'signed in: the page')
    const body = await text(page)
    t.match(body, HOLDER_NAME)
    t.match(body, '测试许可证')
    t.match(body, /杭州市住房公积金管理中心 查询了您的证照\s*\d{4}-\d{2}-\d{2} \d{2}:\d{2} \(北京时间\) · 事项 GJJ-TQ-01 · 事由：办理住房公积金提取/)
    t.notMatch(await page.content(), HOLDER_ID, 'no ID number in the page')
    t.ok(await noHorizontalScroll(page), 'no horizontal scroll at 390 px')
    t.equal(await page.evaluate('getComputedStyle(document.querySelector(".card")).backgroundColor'), 'rgb(255, 255, 255)', 'the stylesheet applied under the CSP')
    t.same(cspViolations(console), [], 'no CSP violation')

    const qr = PNG.sync.read(Buffer.from(await (await page.$('.qr svg'))!.screenshot({ type: 'png' })))
    t.equal(jsQR(new Uint8ClampedArray(qr.data), qr.width, qr.height)?.data, `${base}/v/${cert.code}`, "the page's QR code decodes to the certificate's verification URL")
    await page.evaluate('window.scrollTo(0, 0)')
    await shoot(page, 'me')

    // 出示: the one-time QR code, big, for the clerk to scan.
    await Promise.all([page.waitForNavigation(), page.click('.card form button')])
    t.match(await text(page), /请办事人员扫描此二维码\s*有效至 \d{2}:\d{2}:\d{2}（北京时间），只能使用一次/)
    const big = PNG.sync.read(Buffer.from(await (await page.$('.qr-big svg'))!.screenshot({ type: 'png' })))
    t.match(jsQR(new Uint8ClampedArray(big.data), big.width, big.height)?.data, new RegExp(`^${base}/s/[A-Za-z0-9_-]{32}$`), 'the presentation QR decodes to its one-time URL')
    t.ok(await noHorizontalScroll(page))
    t.same(cspViolations(console), [])
    await shoot(page, 'me-present')
    await Promise.all([page.waitForNavigation(), page.click('main > p > a')])
    t.equal(new URL(page.url()).pathname, '/me', 'done: back to the page')

    await page.click('header nav a')
    await page.waitForSelector('html[lang="en"]')
    t.match(await text(page), /Hangzhou|杭州市住房公积金管理中心 looked up your certificates/)
    t.ok(await noHorizontalScroll(page))
    await shoot(page, 'me-en')

    await Promise.all([page.waitForNavigation(), page.click('.who button')])
    t.equal(new URL(page.url()).pathname, '/me/sign-out')
    t.match(await text(page), 'You have signed out.', 'signed out through the form: the same-origin check let it through')
    await page.goto(`${base}/me`)
    t.equal(new URL(page.url()).pathname, '/me/sign-in', 'and the session is gone')
    t.same(cspViolations(console), [])
  })
}
