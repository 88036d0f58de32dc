import t from 'tap'
import { launchBrowser, whenBrowser } from '../helpers/browser.js'
import * as me from './browser/me.js'
import * as present from './browser/present.js'
import * as scan from './browser/scan.js'

// The pages in a real browser: Debian's chromium through puppeteer-core (test/helpers/browser.ts),
// skipped with a message when it is missing, never in CI. One process and one chromium for all
// of them: each page's tests (test/pages/browser/) get their own service, port and browser pages,
// closed when they end; a process and a chromium of their own cost each about 5 s of CPU more.
await whenBrowser(t, async () => {
  const { browser } = await launchBrowser(t)
  await t.test('the scan page', (t) => scan.browserTests(t, browser))
  await t.test("the holder's page", (t) => me.browserTests(t, browser))
  await t.test('the presentation page', (t) => present.browserTests(t, browser))
})
