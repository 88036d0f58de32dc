import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { issuanceFixture } from '../helpers/certs.js'

const b64url = (data: string | Buffer) => Buffer.from(data).toString('base64url')

/** A JWS assembled by hand and signed by the openssl command-line tool: no code of ours signs. */
function opensslJws(payload: unknown, header: Record<string, unknown>, privateKeyPem: string, ed25519: boolean): string {
  const dir = mkdtempSync(join(tmpdir(), 'zz-openssl-'))
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(payload))}`
  writeFileSync(join(dir, 'input'), input)
  writeFileSync(join(dir, 'key.pem'), privateKeyPem)
  const args = ed25519
    ? ['pkeyutl', '-sign', '-inkey', join(dir, 'key.pem'), '-rawin', '-in', join(dir, 'input'), '-out', join(dir, 'sig')]
    : ['dgst', '-sha256', '-sign', join(dir, 'key.pem'), '-out', join(dir, 'sig'), join(dir, 'input')]
  execFileSync('openssl', args)
  return `${input}.${b64url(readFileSync(join(dir, 'sig')))}`
}

t.test('certificates signed outside this code base, with openssl keys and certificates', async (t) => {
  const f = await issuanceFixture(t)
  for (const [keyType, alg] of [['rsa2048', 'RS256'], ['ed25519', 'EdDSA']] as const) {
    t.test(alg, async (t) => {
      const key = f.pki.issue({ keyType, viaIntermediate: true })
      const added = await f.app.inject({ method: 'POST', url: `/v1/issuers/${f.issuerCode}/keys`, headers: f.adminAuth, payload: { certificate: key.chainPem } })
      t.equal(added.statusCode, 201, added.body)
      const jws = opensslJws(f.payload(), { alg, kid: key.kid, typ: 'zhengzhao-cert+jws' }, key.privateKeyPem, keyType === 'ed25519')
      const push = (certificate: string) => f.app.inject({ method: 'POST', url: '/v1/certificates', headers: f.issuerAuth, payload: { certificate } })
      const accepted = await push(jws)
      t.equal(accepted.statusCode, 201, accepted.body)
      // One character changed anywhere in the signed input or the signature: rejected.
      for (const at of [5, jws.indexOf('.') + 20, jws.length - 5]) {
        const c = jws[at] === 'A' ? 'B' : 'A'
        const tampered = jws.slice(0, at) + c + jws.slice(at + 1)
        const res = await push(tampered)
        t.equal(res.statusCode, 422, `changed at ${at}`)
      }
    })
  }
})
