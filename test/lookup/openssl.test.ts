import { execFileSync } from 'node:child_process'
import { createPublicKey } from 'node:crypto'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { bearer, randomCreditCode } from '../helpers/app.js'
import { issuanceFixture } from '../helpers/certs.js'
import { opensslVerifiesCheckpoint } from '../helpers/receipts.js'

/** Verifies an Ed25519 compact JWS with the openssl CLI alone, given the public key PEM. */
function opensslVerifies(jws: string, publicKeyPem: string): boolean {
  const dir = mkdtempSync(join(tmpdir(), 'zz-openssl-verify-'))
  const [h, p, s] = jws.split('.') as [string, string, string]
  writeFileSync(join(dir, 'pub.pem'), publicKeyPem)
  writeFileSync(join(dir, 'input'), `${h}.${p}`)
  writeFileSync(join(dir, 'sig'), Buffer.from(s, 'base64url'))
  try {
    const out = execFileSync('openssl', ['pkeyutl', '-verify', '-pubin', '-inkey', join(dir, 'pub.pem'), '-rawin', '-in', join(dir, 'input'), '-sigfile', join(dir, 'sig')], { stdio: 'pipe' })
    return out.toString().includes('Signature Verified Successfully')
  } catch {
    return false
  }
}

t.test("a looked-up certificate and its receipt's checkpoint verify with openssl alone", async (t) => {
  const f = await issuanceFixture(t)
  const key = f.pki.issue({ keyType: 'ed25519' })
  t.equal((await f.app.inject({ method: 'POST', url: `/v1/issuers/${f.issuerCode}/keys`, headers: f.adminAuth, payload: { certificate: key.chainPem } })).statusCode, 201)
  const payload = f.payload()
  t.equal((await f.app.inject({ method: 'POST', url: '/v1/certificates', headers: f.issuerAuth, payload: { certificate: await f.sign(payload, {}, key) } })).statusCode, 201)
  const reader = randomCreditCode()
  await f.app.inject({ method: 'PUT', url: `/v1/grants/${reader}`, headers: f.adminAuth, payload: { name: '审批局', grants: [{ typeCode: f.typeCode }] } })
  const res = await f.app.inject({
    method: 'POST',
    url: '/v1/lookup',
    headers: await bearer(['reader'], { org: reader }),
    payload: { holder: { idType: payload.holder.idType, id: payload.holder.id }, typeCodes: [f.typeCode], purpose: { matterCode: 'M1', reason: '核验' } },
  })
  t.equal(res.statusCode, 200)
  const { items, receipt } = res.json()
  const jws = items.find((i: { id: string }) => i.id === payload.id).jws as string

  // The issuer's public key, as the trust bundle publishes it.
  const bundle = (await f.app.inject({ method: 'GET', url: '/v1/trust-bundle', headers: f.adminAuth })).json().bundle as string
  const bundlePayload = JSON.parse(Buffer.from(bundle.split('.')[1]!, 'base64url').toString())
  const issuerKey = bundlePayload.issuers.find((i: { code: string }) => i.code === f.issuerCode).keys.find((k: { kid: string }) => k.kid === key.kid)
  t.ok(opensslVerifies(jws, issuerKey.publicKeyPem), 'the certificate verifies with openssl')
  t.notOk(opensslVerifies(jws.slice(0, -3) + (jws.endsWith('AAA') ? 'BBB' : 'AAA'), issuerKey.publicKeyPem), 'and an altered one does not')

  // The service's public key, from the JWKS, as PEM.
  const jwk = (await f.app.inject({ method: 'GET', url: '/.well-known/jwks.json' })).json().keys[0]
  const servicePem = createPublicKey({ key: jwk, format: 'jwk' }).export({ type: 'spki', format: 'pem' }).toString()
  t.ok(opensslVerifiesCheckpoint(receipt.checkpoint, servicePem), "the receipt's checkpoint verifies with openssl")
  t.notOk(opensslVerifiesCheckpoint(receipt.checkpoint, servicePem, (text) => text.replace(/\n(\d+)\n/, (_, n) => `\n${Number(n) + 1}\n`)), 'and one with another tree size does not')
})
