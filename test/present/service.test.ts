import { randomUUID } from 'node:crypto'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import jsqr from 'jsqr'
import { PNG } from 'pngjs'
import { and, eq } from 'drizzle-orm'
import { holderIndex } from '../../src/crypto/dataProtection.js'
import { auditEvents, presentations } from '../../src/db/schema.js'
import { createPresentationService } from '../../src/present/service.js'
import { tokenSha256 } from '../../src/present/tokens.js'
import { testConfig } from '../helpers/app.js'
import { HOLDER_ID, OTHER_HOLDER_ID, writeDataProtectionKeys } from '../helpers/certs.js'
import { scanFixture } from '../public/fixture.js'

// jsqr is CommonJS whose types declare an ES default export: the module itself is the function.
const jsQR = jsqr as unknown as typeof jsqr.default

t.test('the service the /me page calls: a URL, its expiry and QR codes; only the hash is stored', async (t) => {
  // The app's and the service's config share one set of data-protection keys (one blind index).
  const env = { PRESENTATION_TTL: '120', DATA_PROTECTION_KEYS: writeDataProtectionKeys(mkdtempSync(join(tmpdir(), 'zz-present-'))) }
  const f = await scanFixture(t, env)
  const cert = await f.issue()
  const config = await testConfig({ ...env, PUBLIC_BASE_URL: 'https://zz.example.gov.cn' })
  const holderRef = holderIndex(config.dataProtection, '111', HOLDER_ID)
  const service = createPresentationService(f.database.db, config, f.app.transparencyLog)

  const before = Date.now()
  // The suite may share one PostgreSQL: rows are found by this test's own token and request id.
  const requestId = `req-${randomUUID()}`
  const made = await service.create({ holderRef, certificateId: cert.id, requestId, actorSub: 'h:test' })
  const token = /^https:\/\/zz\.example\.gov\.cn\/s\/([A-Za-z0-9_-]{32})$/.exec(made.url)?.[1]
  t.ok(token, `the URL is PUBLIC_BASE_URL/s/{32 base64url characters}: ${made.url}`)
  const ttl = Date.parse(made.expiresAt) - before
  t.ok(ttl > 110_000 && ttl <= 125_000, `expires PRESENTATION_TTL seconds from now (${ttl} ms)`)
  t.match(made.qrSvg, /^<svg[^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/)
  const image = PNG.sync.read(made.qrPng)
  t.equal(jsQR(new Uint8ClampedArray(image.data), image.width, image.height)?.data, made.url, 'the PNG decodes to the URL')

  const [row] = await f.database.db.select().from(presentations).where(eq(presentations.tokenSha256, tokenSha256(token!)))
  t.ok(row, 'the row is found by the SHA-256 of the token')
  t.notMatch(JSON.stringify(row), token!, 'and not the token')
  t.match(row, { certificateId: cert.id, holderRef, usedAt: null, usedBy: null })
  const [event] = await f.database.db.select().from(auditEvents).where(and(eq(auditEvents.kind, 'presentation.created'), eq(auditEvents.requestId, requestId)))
  t.match(event, { subject: cert.id, holderRef, actorSub: 'h:test', actorOrg: null, requestId }, 'making one is an audit event')
  t.notMatch(JSON.stringify(event), token!, 'which does not hold the token either')
  t.not(event?.leafIndex, null, 'appended to the Merkle log before the presentation is handed out')

  const second = await service.create({ holderRef, certificateId: cert.id, requestId: 'req-2' })
  t.not(second.url, made.url, 'each presentation has its own token')

  t.test("another holder's certificate, or none, is CERTIFICATE_NOT_FOUND", async (t) => {
    const otherRef = holderIndex(config.dataProtection, '111', OTHER_HOLDER_ID)
    t.not(otherRef, holderRef)
    await t.rejects(service.create({ holderRef: otherRef, certificateId: cert.id, requestId: 'r' }), { code: 'CERTIFICATE_NOT_FOUND' })
    await t.rejects(service.create({ holderRef, certificateId: `${cert.id.slice(0, -5)}9.001.0`, requestId: 'r' }), { code: 'CERTIFICATE_NOT_FOUND' })
  })

  t.test('a revoked certificate cannot be shown: CERTIFICATE_NOT_IN_FORCE', async (t) => {
    await f.revoke(cert.id)
    await t.rejects(service.create({ holderRef, certificateId: cert.id, requestId: 'r' }), { code: 'CERTIFICATE_NOT_IN_FORCE', message: /revoked/ })
  })
})
