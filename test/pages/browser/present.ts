import { join } from 'node:path'
import type { Browser } from 'puppeteer-core'
import type { Test } from 'tap'
import { PNG } from 'pngjs'
import { HOLDER_ID } from '../../helpers/certs.js'
import { presentFixture } from '../../present/fixture.js'
import { jsQR, browserSession, served, mainText, noHorizontalScroll, shoot, SHOTS } from '../../helpers/browser.js'

// The presentation page (a code shown from a phone) in a real browser; test/pages/browser.test.ts runs it, with the other pages, in one chromium.
export async function browserTests(t: Test, browser: Browser): Promise<void> {
  const { f, base } = await served((env) => presentFixture(t, env))
  const { context, phone } = await browserSession(t, browser)

  const text = mainText

  await t.test("the holder's QR code works once, and says so the second time", async (t) => {
    const cert = await f.issue({ name: '张小三' })
    const made = await f.present(cert.id)
    // The holder's phone shows the PNG; the clerk's camera reads it.
    const image = PNG.sync.read(Buffer.from(made.qr.png, 'base64'))
    const decoded = jsQR(new Uint8ClampedArray(image.data), image.width, image.height)
    t.equal(decoded?.data, made.url, 'the QR code decodes to the presentation URL')
    t.match(made.url, `${base}/s/`)

    const { page, console } = await phone()
    const res = await page.goto(decoded!.data)
    t.equal(res?.status(), 200)
    const body = await text(page)
    t.match(body, '证照真实，当前有效')
    t.match(body, '持证人主动出示，仅可查看一次')
    t.match(body, '张小三', 'the name in full')
    t.match(body, '**************002X')
    t.match(body, /证照名称\s*测试许可证/)
    t.match(body, /发证机关\s*测试发证机关/)
    t.match(body, /有效期\s*2025-05-22 至 2035-05-21/)
    t.match(body, /level\s*2/, 'the type\'s own fields')
    t.notMatch(await page.content(), HOLDER_ID, 'no ID number anywhere in the HTML')
    t.notMatch(body, 'Genuine and valid', 'the English rendering is hidden')
    t.ok(await noHorizontalScroll(page), 'no horizontal scroll at 390 px')
    t.equal(await page.$eval('html', (h) => h.lang), 'zh-CN')
    t.equal(await page.evaluate('getComputedStyle(document.body).backgroundColor'), 'rgb(244, 245, 247)', 'the stylesheet applied under the CSP')
    t.same(console.filter((m) => /Content Security Policy/i.test(m)), [], 'no CSP violation')
    await shoot(page, 'present', ['phone'])

    // The language switch stays on the page: the one-time link is not opened again.
    await page.click('.primary nav a')
    t.match(await text(page), 'Genuine and valid', 'English without JavaScript and without a second use')
    t.match(await text(page), /Holder\s*张小三/)
    t.notMatch(await text(page), '证照真实，当前有效')
    t.ok(await noHorizontalScroll(page))
    await shoot(page, 'present-en', ['phone'])
    await page.click('.alt nav a')
    t.match(await text(page), '证照真实，当前有效', 'and back to 中文')

    const { page: again } = await phone()
    const second = await again.goto(made.url)
    t.equal(second?.status(), 410)
    const refused = await text(again)
    t.match(refused, '该亮证码已被使用')
    t.notMatch(refused, /张小三|测试许可证|测试发证机关|002X/, 'nothing about the certificate')
    t.ok(await noHorizontalScroll(again))
    await shoot(again, 'present-used')

    const log = await f.app.inject({ method: 'GET', url: '/v1/me/access-log', headers: await f.holderAuth() })
    const uses = (log.json().items as { presentation?: boolean; certificateIds: string[] }[]).filter((e) => e.presentation && e.certificateIds.includes(cert.id))
    t.equal(uses.length, 1, "the holder's log shows the one use")
  })

  const shots = SHOTS
  if (shots) {
    await t.test('screenshots at desktop width', async (t) => {
      const cert = await f.issue({ name: '张小三' })
      const made = await f.present(cert.id)
      const page = await context.newPage()
      t.teardown(() => page.close().catch(() => {}))
      await page.setViewport({ width: 1280, height: 800 })
      await page.setJavaScriptEnabled(false)
      t.equal((await page.goto(made.url))?.status(), 200)
      await page.screenshot({ path: join(shots, 'present-desktop.png'), fullPage: true })
      await page.click('.primary nav a')
      await page.screenshot({ path: join(shots, 'present-en-desktop.png'), fullPage: true })
    })
  }
}
