import { existsSync, mkdirSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'
import t from 'tap'
import jsqr from 'jsqr'
import { PNG } from 'pngjs'
import type { Browser, Page } from 'puppeteer-core'
import { HOLDER_ID } from '../helpers/certs.js'
import { presentFixture } from '../present/fixture.js'

// Debian's chromium, driven by puppeteer-core (which downloads no browser); see browser.test.ts.
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
// jsqr is CommonJS whose types declare an ES default export: the module itself is the function.
const jsQR = jsqr as unknown as typeof jsqr.default
// ZHENGZHAO_SCREENSHOTS=docs/screenshots writes the page at phone and desktop width.
const SHOTS = process.env.ZHENGZHAO_SCREENSHOTS

if (!existsSync(CHROMIUM)) {
  if (process.env.ZHENGZHAO_REQUIRE_BROWSER) t.fail(`${CHROMIUM} is missing: .ci/run installs chromium, and CI must not skip the browser tests`)
  else t.plan(0, `browser tests skipped: ${CHROMIUM} is missing (apt-get install chromium, or set CHROMIUM_PATH)`)
} else {
  await browserTests()
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
    server.on('error', reject)
  })
}

async function browserTests() {
  const port = await freePort()
  const base = `http://127.0.0.1:${port}`
  const f = await presentFixture(t, { PUBLIC_BASE_URL: base })
  await f.app.listen({ port, host: '127.0.0.1' })
  const { default: puppeteer } = await import('puppeteer-core')
  const browser: Browser = await puppeteer.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--lang=zh-CN'] })
  t.teardown(() => browser.close())

  /** A phone (390×844) with JavaScript off, collecting every console message (CSP violations land there). */
  async function phone(): Promise<{ page: Page; console: string[] }> {
    const page = await browser.newPage()
    await page.setViewport({ width: 390, height: 844, isMobile: true, hasTouch: true })
    await page.setJavaScriptEnabled(false)
    const console: string[] = []
    page.on('console', (m) => console.push(m.text()))
    t.teardown(() => page.close().catch(() => {}))
    return { page, console }
  }
  const text = (page: Page) => page.$eval('main', (m) => (m as unknown as { innerText: string }).innerText)
  const noHorizontalScroll = (page: Page) => page.evaluate('document.documentElement.scrollWidth <= document.documentElement.clientWidth')
  // Changing a page's viewport to a desktop one reloads it, which would use a presentation again:
  // a used page is shot at both widths, a presentation at phone width here and on a desktop below.
  async function shoot(page: Page, name: string, widths: ('phone' | 'desktop')[] = ['phone', 'desktop']) {
    if (!SHOTS) return
    mkdirSync(SHOTS, { recursive: true })
    if (widths.includes('phone')) await page.screenshot({ path: join(SHOTS, `${name}-phone.png`), fullPage: true })
    if (!widths.includes('desktop')) return
    await page.setViewport({ width: 1280, height: 800 })
    await page.screenshot({ path: join(SHOTS, `${name}-desktop.png`), fullPage: true })
    await page.setViewport({ width: 390, height: 844, isMobile: true, hasTouch: true })
  }

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

  if (SHOTS) {
    await t.test('screenshots at desktop width', async (t) => {
      const cert = await f.issue({ name: '张小三' })
      const made = await f.present(cert.id)
      const page = await browser.newPage()
      t.teardown(() => page.close().catch(() => {}))
      await page.setViewport({ width: 1280, height: 800 })
      await page.setJavaScriptEnabled(false)
      t.equal((await page.goto(made.url))?.status(), 200)
      await page.screenshot({ path: join(SHOTS, 'present-desktop.png'), fullPage: true })
      await page.click('.primary nav a')
      await page.screenshot({ path: join(SHOTS, 'present-en-desktop.png'), fullPage: true })
    })
  }
}
