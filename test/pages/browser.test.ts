import { existsSync, mkdirSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'
import t from 'tap'
import jsqr from 'jsqr'
import { PNG } from 'pngjs'
import type { Browser, Page } from 'puppeteer-core'
import { HOLDER_ID } from '../helpers/certs.js'
import { newVerificationCode } from '../../src/public/codes.js'
import { scanFixture } from '../public/fixture.js'

// Debian's chromium, driven by puppeteer-core (which downloads no browser). CI installs it
// (.ci/run, which sets ZHENGZHAO_REQUIRE_BROWSER); elsewhere these tests are skipped, saying which binary is missing.
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
// jsqr is CommonJS whose types declare an ES default export: the module itself is the function.
const jsQR = jsqr as unknown as typeof jsqr.default
// ZHENGZHAO_SCREENSHOTS=docs/screenshots writes each page at phone and desktop width.
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
  const f = await scanFixture(t, { PUBLIC_BASE_URL: base })
  await f.app.listen({ port, host: '127.0.0.1' })
  const { default: puppeteer } = await import('puppeteer-core')
  const browser: Browser = await puppeteer.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--lang=zh-CN'] })
  t.teardown(() => browser.close())

  const valid = await f.issue({ name: '张小三' })
  const revoked = await f.issue()
  await f.revoke(revoked.id)

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
  async function shoot(page: Page, name: string) {
    if (!SHOTS) return
    mkdirSync(SHOTS, { recursive: true })
    await page.screenshot({ path: join(SHOTS, `${name}-phone.png`), fullPage: true })
    await page.setViewport({ width: 1280, height: 800 })
    await page.screenshot({ path: join(SHOTS, `${name}-desktop.png`), fullPage: true })
    await page.setViewport({ width: 390, height: 844, isMobile: true, hasTouch: true })
  }

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
