import t from 'tap'
import { buildTestApp, logCapture, testEnv } from '../helpers/app.js'
import { HOLDER_NAME } from '../helpers/certs.js'
import { ConfigError, loadConfig } from '../../src/config.js'
import { maskedPath } from '../../src/logging.js'
import { newPresentationToken } from '../../src/present/tokens.js'
import { presentFixture } from './fixture.js'

t.test('a presentation expires after PRESENTATION_TTL seconds', async (t) => {
  const f = await presentFixture(t, { PRESENTATION_TTL: '1' })
  const cert = await f.issue()
  const first = await f.present(cert.id)
  const second = await f.present(cert.id)
  t.ok(Date.parse(first.expiresAt) - Date.now() <= 1000)
  await new Promise((r) => setTimeout(r, 1200))
  const res = await f.app.inject({ method: 'POST', url: `/v1/public/presentations/${first.token}` })
  t.equal(res.statusCode, 410)
  t.equal(res.json().code, 'PRESENTATION_EXPIRED')
  const page = await f.app.inject({ method: 'GET', url: `/s/${second.token}` })
  t.equal(page.statusCode, 410)
  t.match(page.body, '该亮证码已过期')
  t.notMatch(page.body, HOLDER_NAME)
})

t.test('a token is never in a log line', async (t) => {
  const logs = logCapture()
  const app = await buildTestApp(t, { LOG_LEVEL: 'info' }, { logStream: logs.stream })
  const token = newPresentationToken()
  t.equal((await app.inject({ method: 'GET', url: `/s/${token}?lang=en` })).statusCode, 404)
  t.equal((await app.inject({ method: 'POST', url: `/v1/public/presentations/${token}` })).statusCode, 404)
  t.match(logs.text(), '/s/***')
  t.match(logs.text(), '/v1/public/presentations/***')
  t.notMatch(logs.text(), token)
  t.equal(maskedPath(`/s/${token}`), '/s/***')
})

t.test('presentations are rate-limited per client like the other anonymous routes', async (t) => {
  const f = await presentFixture(t, { RATE_LIMIT_MAX: '30' })
  const statuses: number[] = []
  for (let i = 0; i < 4; i++) statuses.push((await f.app.inject({ method: 'POST', url: `/v1/public/presentations/${newPresentationToken()}` })).statusCode)
  t.same(statuses, [404, 404, 404, 429], 'a tenth of RATE_LIMIT_MAX (3)')
  const pages: number[] = []
  for (let i = 0; i < 4; i++) pages.push((await f.app.inject({ method: 'GET', url: `/s/${newPresentationToken()}` })).statusCode)
  t.same(pages, [404, 404, 404, 429], 'the page counts on its own')
})

t.test('PRESENTATION_TTL: at most 300 seconds, refused above at start', async (t) => {
  t.equal((await loadConfig(testEnv())).presentationTtlSeconds, 300)
  t.equal((await loadConfig(testEnv({ PRESENTATION_TTL: '60' }))).presentationTtlSeconds, 60)
  for (const bad of ['301', '600', '0', '5m']) {
    const err = await loadConfig(testEnv({ PRESENTATION_TTL: bad })).then(() => undefined, (e: unknown) => e)
    t.ok(err instanceof ConfigError && err.problems.some((p) => p.startsWith('PRESENTATION_TTL must be an integer from 1 to 300')), `${bad} is refused, named`)
  }
})
