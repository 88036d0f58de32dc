import type { Browser } from 'puppeteer-core'
import type { Test } from 'tap'
import { PNG } from 'pngjs'
import { HOLDER_ID } from '../../helpers/certs.js'
import { newVerificationCode } from '../../../src/public/codes.js'
import { scanFixture } from '../../public/fixture.js'
import { jsQR, browserSession, served, mainText, noHorizontalScroll, shoot } from '../../helpers/browser.js'

// The scan page (a printed QR code, /v/{code}) in a real browser; test/pages/browser.test.ts runs it, with the other pages, in one chromium.
export async function browserTests(t: Test, browser: Browser): Promise<void> {
  const { f, base } = await served((env) => scanFixture(t, env))
  const { phone } = await browserSession(t, browser)

  const valid = await f.issue({ name: '张小三' })
  const revoked = await f.issue()
  await f.revoke(revoked.id)

  const text = mainText

  await t.test('a printed QR code, scanned, leads to the page that tells the truth', async (t) => {
    const svg = await f.app.inject({ method: 'GET', url: `/v1/certificates/${valid.id}/verification-code?format=svg`, headers: f.issuerAuth })
    const { page } = await phone()
    await page.setContent(`<body style="margin:0;background:#fff"><img id="qr" width="300" height="300" src="data:image/svg+xml;base64,${Buffer.from(svg.body).toString('base64')}"></body>`)
    const shot = PNG.sync.read(Buffer.from(await (await page.$('#qr'))!.screenshot({ type: 'png' })))
    const decoded = jsQR(new Uint8ClampedArray(shot.data), shot.width, shot.height)
    t.equal(decoded?.data, `${base}/v/${valid.code}`, 'the rendered SVG decodes to the verification URL')
    const res = await page.goto(decoded!.data)
    t.equal(res?.status(), 200)
    t.match(await text(page), '证照真实，当前有效')
  })

  await t.test('a valid certificate at phone width, JavaScript off', async (t) => {
    const { page, console } = await phone()
    const res = await page.goto(`${base}/v/${valid.code}`)
    t.equal(res?.status(), 200)
    const body = await text(page)
    t.match(body, '证照真实，当前有效')
    t.match(body, '张*三')
    t.match(body, '测试许可证')
    t.match(body, /当前状态\s*有效，自 \d{4}-\d{2}-\d{2} \d{2}:\d{2} \(北京时间\)/)
    t.notMatch(await page.content(), HOLDER_ID)
    t.notMatch(body, '张小三')
    t.ok(await noHorizontalScroll(page), 'no horizontal scroll at 390 px')
    t.equal(await page.$eval('html', (h) => h.lang), 'zh-CN')
    t.equal(await page.evaluate('getComputedStyle(document.body).backgroundColor'), 'rgb(244, 245, 247)', 'the stylesheet applied under the CSP')
    t.same(console.filter((m) => /Content Security Policy/i.test(m)), [], 'no CSP violation')
    await shoot(page, 'verify-valid')

    await page.click('nav a')
    await page.waitForSelector('html[lang="en"]')
    t.match(await text(page), 'Genuine and valid', 'the English switch works without JavaScript')
    t.match(await text(page), /Current status\s*valid, since/)
    t.ok(await noHorizontalScroll(page))
    await shoot(page, 'verify-valid-en')
    await page.click('nav a')
    await page.waitForSelector('html[lang="zh-CN"]')
    t.match(await text(page), '证照真实，当前有效', 'and back to 中文')
  })

  await t.test('a revoked certificate says revoked, and since when', async (t) => {
    const { page } = await phone()
    const res = await page.goto(`${base}/v/${revoked.code}`)
    t.equal(res?.status(), 200)
    const body = await text(page)
    t.match(body, '证照真实，已经失效')
    t.match(body, '已被发证机关撤销')
    t.match(body, /当前状态\s*撤销，自 \d{4}-\d{2}-\d{2} \d{2}:\d{2} \(北京时间\)/)
    t.ok(await noHorizontalScroll(page))
    await shoot(page, 'verify-revoked')
  })

  await t.test('an unknown code: the 404 page, nothing about any certificate', async (t) => {
    const { page } = await phone()
    const res = await page.goto(`${base}/v/${newVerificationCode()}`)
    t.equal(res?.status(), 404)
    const body = await text(page)
    t.match(body, '未找到该核验码')
    t.notMatch(body, /测试许可证|测试发证机关|\*/)
    t.ok(await noHorizontalScroll(page))
    await shoot(page, 'verify-unknown')
  })
}
