import t from 'tap'
import { sql } from 'drizzle-orm'
import { issuanceFixture, HOLDER_ID, HOLDER_NAME, OTHER_HOLDER_ID } from '../helpers/certs.js'

t.test('a database dump reveals no ID number and no name', async (t) => {
  const f = await issuanceFixture(t)
  const certs = [f.payload(), f.payload({ holderId: OTHER_HOLDER_ID }), f.payload({ holderId: HOLDER_ID.toLowerCase() })]
  const res = await f.app.inject({ method: 'POST', url: '/v1/certificates/batch', headers: f.issuerAuth, payload: { certificates: await Promise.all(certs.map((c) => f.sign(c))) } })
  t.equal(res.json().summary.created, 3)
  const one = await f.app.inject({ method: 'POST', url: '/v1/certificates', headers: f.issuerAuth, payload: { certificate: await f.sign(f.payload()) } })
  t.equal(one.statusCode, 201)
  await f.app.inject({ method: 'POST', url: `/v1/certificates/${certs[0]!.id}/status`, headers: f.issuerAuth, payload: { status: 'suspended', reason: 'check' } })

  // Read every row of every table as text, the way a dump would.
  const reader = f.database.db
  const tables = ['certificates', 'certificate_status_history', 'audit_events', 'issuers', 'issuer_keys', 'certificate_types']
  let dump = ''
  for (const table of tables) {
    const result = await reader.execute(sql.raw(`select t::text as row from ${table} t`))
    const rows = (Array.isArray(result) ? result : (result as { rows: unknown[] }).rows) as { row: string }[]
    dump += rows.map((r) => r.row).join('\n')
  }
  t.ok(dump.includes(certs[0]!.id), 'the dump has the certificates')
  for (const secret of [HOLDER_ID, HOLDER_ID.toLowerCase(), OTHER_HOLDER_ID, HOLDER_NAME, Buffer.from(HOLDER_NAME).toString('hex'), Buffer.from(HOLDER_ID).toString('base64url')]) {
    t.notOk(dump.includes(secret), `no ${secret.slice(0, 4)}… in the dump`)
  }
  // Nor inside the stored JWS bytes, which a plain dump would show as hex.
  t.notOk(dump.toLowerCase().includes(Buffer.from(HOLDER_ID).toString('hex')), 'no ID number in bytea columns')
})
