import { existsSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import jsqr from 'jsqr'
import type { Browser, Page } from 'puppeteer-core'

import { freePort } from './net.js'

// The pages in a real browser: Debian's chromium, driven by puppeteer-core (which downloads no
// browser). CI installs it (.ci/run, which sets ZHENGZHAO_REQUIRE_BROWSER); elsewhere the browser
// tests are skipped, saying which binary is missing.
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
// jsqr is CommonJS whose types declare an ES default export: the module itself is the function.
export const jsQR = jsqr as unknown as typeof jsqr.default
// ZHENGZHAO_SCREENSHOTS=docs/screenshots writes each page at phone and desktop width.
export const SHOTS = process.env.ZHENGZHAO_SCREENSHOTS

interface TapLike {
  fail(message: string): void
  plan(n: number, comment?: string): void
  teardown(fn: () => unknown): void
}

/** Runs `tests` when chromium is here; without it, fails under CI and skips, naming the binary, elsewhere. */
export async function whenBrowser(t: TapLike, tests: () => Promise<void>): Promise<void> {
  if (existsSync(CHROMIUM)) return tests()
  if (process.env.ZHENGZHAO_REQUIRE_BROWSER) t.fail(`${CHROMIUM} is missing: .ci/run installs chromium, and CI must not skip the browser tests`)
  else t.plan(0, `browser tests skipped: ${CHROMIUM} is missing (apt-get install chromium, or set CHROMIUM_PATH)`)
}

/** A headless chromium, closed at teardown, and its phone (browserSession). */
export async function launchBrowser(t: TapLike) {
  const { default: puppeteer } = await import('puppeteer-core')
  const browser: Browser = await puppeteer.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--lang=zh-CN'] })
  t.teardown(() => browser.close())
  return { browser, ...(await browserSession(t, browser)) }
}

/**
 * A context of its own in `browser` (its own cookies and connections), closed at `t`'s teardown,
 * and its phone: a page at 390×844, JavaScript off, console kept (CSP violations land there).
 * Teardowns run last first, so a session made after its test's server closes before it: closing
 * the context closes the connections that would keep the server's close waiting.
 */
export async function browserSession(t: TapLike, browser: Browser) {
  const context = await browser.createBrowserContext()
  t.teardown(() => context.close())
  async function phone(): Promise<{ page: Page; console: string[] }> {
    const page = await context.newPage()
    await page.setViewport({ width: 390, height: 844, isMobile: true, hasTouch: true })
    await page.setJavaScriptEnabled(false)
    const console: string[] = []
    page.on('console', (m) => console.push(m.text()))
    t.teardown(() => page.close().catch(() => {}))
    return { page, console }
  }
  return { context, phone }
}

/**
 * The fixture `make` builds, its app listening on a free port of 127.0.0.1 that is also its
 * PUBLIC_BASE_URL (the address its pages and QR codes point at): a browser needs a real socket.
 */
export async function served<F extends { app: { listen(o: { port: number; host: string }): Promise<unknown> } }>(make: (env: Record<string, string>) => Promise<F>): Promise<{ f: F; base: string }> {
  const port = await freePort()
  const base = `http://127.0.0.1:${port}`
  const f = await make({ PUBLIC_BASE_URL: base })
  await f.app.listen({ port, host: '127.0.0.1' })
  return { f, base }
}

/** The text of a page's `main`. */
export const mainText = (page: Page): Promise<string> => page.$eval('main', (m) => (m as unknown as { innerText: string }).innerText)
export const noHorizontalScroll = (page: Page) => page.evaluate('document.documentElement.scrollWidth <= document.documentElement.clientWidth')

/**
 * With ZHENGZHAO_SCREENSHOTS set, the page at phone width and then at desktop width. Changing the
 * viewport reloads the page: a one-time page (a presentation) is shot at the widths given only.
 */
export async function shoot(page: Page, name: string, widths: ('phone' | 'desktop')[] = ['phone', 'desktop']): Promise<void> {
  if (!SHOTS) return
  mkdirSync(SHOTS, { recursive: true })
  if (widths.includes('phone')) await page.screenshot({ path: join(SHOTS, `${name}-phone.png`), fullPage: true })
  if (!widths.includes('desktop')) return
  await page.setViewport({ width: 1280, height: 800 })
  await page.screenshot({ path: join(SHOTS, `${name}-desktop.png`), fullPage: true })
  await page.setViewport({ width: 390, height: 844, isMobile: true, hasTouch: true })
}
