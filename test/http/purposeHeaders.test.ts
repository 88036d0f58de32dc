import { request } from 'node:http'
import t from 'tap'
import { sql } from 'drizzle-orm'
import { bearer, randomCreditCode } from '../helpers/app.js'
import { issuanceFixture } from '../helpers/certs.js'

const REASON = '婚姻核验'
const MOJIBAKE = Buffer.from(REASON, 'utf8').toString('latin1') // what Node hands over for raw UTF-8 bytes

/** A GET over a real socket, so the header travels as raw bytes through Node's HTTP parser. */
function rawGet(url: string, headers: Record<string, string>): Promise<{ status: number; body: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers }, (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (c: string) => (text += c))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as Record<string, unknown> }))
    })
    req.on('error', reject)
    req.end()
  })
}

t.test('purpose headers: raw UTF-8 is refused with how to encode it, never stored garbled; percent-encoded is stored as sent', async (t) => {
  const f = await issuanceFixture(t)
  const readerOrg = randomCreditCode()
  const grant = await f.app.inject({ method: 'PUT', url: `/v1/grants/${readerOrg}`, headers: f.adminAuth, payload: { name: '某区民政局', grants: [{ typeCode: f.typeCode }] } })
  t.equal(grant.statusCode, 201, grant.body)
  const payload = f.payload()
  const pushed = await f.app.inject({ method: 'POST', url: '/v1/certificates', headers: f.issuerAuth, payload: { certificate: await f.sign(payload) } })
  t.equal(pushed.statusCode, 201, pushed.body)
  const readerAuth = await bearer(['reader'], { org: readerOrg, sub: 'clerk-1' })
  const base = await f.app.listen({ port: 0, host: '127.0.0.1' })
  const url = `${base}/v1/certificates/${payload.id}`

  // Raw UTF-8 bytes: Node's client sends a Latin-1 string's code points as bytes, which is exactly the UTF-8 of REASON.
  const raw = await rawGet(url, { ...readerAuth, 'x-purpose-matter-code': 'M-1', 'x-purpose-reason': MOJIBAKE })
  t.equal(raw.status, 400)
  t.equal(raw.body.code, 'PURPOSE_REQUIRED')
  t.match(raw.body.detail, /raw non-ASCII bytes.*percent-encode its UTF-8/)
  t.match(raw.body.detail, /x-purpose-matter-code .*x-purpose-reason .*encodeURIComponent/)
  t.match(raw.body.errors, [{ pointer: '/headers/x-purpose-reason', code: 'NOT_PERCENT_ENCODED' }])
  // The same through inject, where a header may arrive as real Unicode.
  const unicode = await f.app.inject({ method: 'GET', url: `/v1/certificates/${payload.id}`, headers: { ...readerAuth, 'x-purpose-matter-code': 'M-1', 'x-purpose-reason': REASON } })
  t.equal(unicode.statusCode, 400)
  t.equal(unicode.json().code, 'PURPOSE_REQUIRED')

  const encoded = await rawGet(url, { ...readerAuth, 'x-purpose-matter-code': 'M-1', 'x-purpose-reason': encodeURIComponent(REASON) })
  t.equal(encoded.status, 200)
  const rows = await f.database.db.execute(sql`select details::text as d from audit_events where kind like 'access.%'`)
  const text = ((Array.isArray(rows) ? rows : (rows as { rows: unknown[] }).rows) as { d: string }[]).map((r) => r.d).join('\n')
  t.match(text, REASON, 'the accountability log holds the reason as sent')
  t.notOk(text.includes(MOJIBAKE), 'never the Latin-1 reading of its bytes')

  const missing = await f.app.inject({ method: 'GET', url: `/v1/certificates/${payload.id}`, headers: { ...readerAuth, 'x-purpose-reason': 'x' } })
  t.equal(missing.statusCode, 400)
  t.equal(missing.json().code, 'PURPOSE_REQUIRED')
  t.match(missing.json().detail, /^Missing x-purpose-matter-code\. A reader states the purpose in two headers: x-purpose-matter-code .* and x-purpose-reason .*percent-encoded UTF-8/)
  const neither = await f.app.inject({ method: 'GET', url: `/v1/certificates/${payload.id}`, headers: readerAuth })
  t.match(neither.json().detail, /^Missing x-purpose-matter-code and x-purpose-reason\./)
  const percent = await f.app.inject({ method: 'GET', url: `/v1/certificates/${payload.id}`, headers: { ...readerAuth, 'x-purpose-matter-code': 'M-1', 'x-purpose-reason': '100%' } })
  t.equal(percent.json().code, 'PURPOSE_REQUIRED')
  t.match(percent.json().detail, /write a literal % as %25/)
})
