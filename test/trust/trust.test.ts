import { generateKeyPairSync } from 'node:crypto'
import t from 'tap'
import { CompactSign, compactVerify, createLocalJWKSet, exportJWK, type JSONWebKeySet } from 'jose'
import { readTrustBundle } from '../../src/trust/bundleReader.js'
import type { TrustBundlePayload } from '../../src/trust/bundle.js'
import { bearer } from '../helpers/app.js'
import { issuanceFixture } from '../helpers/certs.js'

t.test('the JWKS and the trust bundle', async (t) => {
  const f = await issuanceFixture(t)
  const second = f.pki.issue({ keyType: 'ed25519' })
  const added = await f.app.inject({ method: 'POST', url: `/v1/issuers/${f.issuerCode}/keys`, headers: f.adminAuth, payload: { certificate: second.chainPem } })
  t.equal(added.statusCode, 201, added.body)
  const compromisedAt = '2026-01-01T00:00:00.000Z'
  await f.app.inject({ method: 'POST', url: `/v1/issuers/${f.issuerCode}/keys/${second.kid}/revoke`, headers: f.adminAuth, payload: { reason: 'compromised', at: compromisedAt } })

  const jwksRes = await f.app.inject({ method: 'GET', url: '/.well-known/jwks.json' })
  const jwks = jwksRes.json() as JSONWebKeySet
  const bundleRes = await f.app.inject({ method: 'GET', url: '/v1/trust-bundle', headers: await bearer(['reader']) })

  t.test('the JWKS needs no token and holds public keys only', async (t) => {
    t.equal(jwksRes.statusCode, 200)
    t.ok(jwks.keys.length >= 1)
    for (const k of jwks.keys) {
      t.match(k, { kty: 'OKP', crv: 'Ed25519', kid: /.+/, alg: 'EdDSA', use: 'sig', x: /.+/ })
      t.notOk('d' in k, 'no private part')
    }
  })

  t.test('the bundle needs a token', async (t) => {
    t.equal((await f.app.inject({ method: 'GET', url: '/v1/trust-bundle' })).statusCode, 401)
  })

  t.test('the bundle verifies against the JWKS and holds what an offline verifier needs', async (t) => {
    t.equal(bundleRes.statusCode, 200, bundleRes.body)
    const { bundle } = bundleRes.json() as { bundle: string }
    const { protectedHeader, payload } = await compactVerify(bundle, createLocalJWKSet(jwks))
    t.equal(protectedHeader.typ, 'zhengzhao-trust-bundle+jws')
    const claims = JSON.parse(Buffer.from(payload).toString()) as TrustBundlePayload
    t.equal(claims.iss, 'zhengzhao')
    t.ok(Math.abs(claims.iat - Date.now() / 1000) < 60)
    t.same(claims.anchors.map((a) => a.trim()), [f.pki.anchorsPem.trim()])
    const issuer = claims.issuers.find((i) => i.code === f.issuerCode)
    t.match(issuer, { name: '测试发证机关', typeCodes: [f.typeCode] })
    const key = issuer?.keys.find((k) => k.kid === f.key.kid)
    t.match(key, { algorithms: ['ES256'], publicKeyPem: /BEGIN PUBLIC KEY/, chainPem: /BEGIN CERTIFICATE/, activeFrom: /Z$/, notBefore: /Z$/, notAfter: /Z$/ })
    t.notOk(key && 'compromisedAt' in key)
    t.match(issuer?.keys.find((k) => k.kid === second.kid), { algorithms: ['EdDSA'], compromisedAt }, 'a compromised key stays in, with its instant')
    t.match(claims.types.find((ty) => ty.typeCode === f.typeCode), { name: '测试许可证', holderIdTypes: ['111'], issuers: [f.issuerCode] })

    const read = await readTrustBundle(bundleRes.body, jwks)
    t.equal(read.verified, true)
    t.equal(read.kid, jwks.keys[0]!.kid)
  })

  t.test('a bundle signed by any other key is refused', async (t) => {
    const { bundle } = bundleRes.json() as { bundle: string }
    const payload = JSON.parse(Buffer.from(bundle.split('.')[1]!, 'base64url').toString()) as TrustBundlePayload
    const { privateKey, publicKey } = generateKeyPairSync('ed25519')
    const forged = await new CompactSign(Buffer.from(JSON.stringify(payload))).setProtectedHeader({ alg: 'EdDSA', kid: jwks.keys[0]!.kid!, typ: 'zhengzhao-trust-bundle+jws' }).sign(privateKey)
    await t.rejects(readTrustBundle(forged, jwks), { code: 'SIGNATURE_INVALID' })
    const otherJwks = { keys: [{ ...(await exportJWK(publicKey)), kid: 'other', alg: 'EdDSA' }] }
    await t.rejects(readTrustBundle(bundle, otherJwks), { code: 'KEY_UNKNOWN' })
    const receiptTyp = await new CompactSign(Buffer.from('{}')).setProtectedHeader({ alg: 'EdDSA', kid: 'other', typ: 'zhengzhao-receipt+jws' }).sign(privateKey)
    await t.rejects(readTrustBundle(receiptTyp, otherJwks), { code: 'TYP_INVALID' })
    const unverified = await readTrustBundle(forged, undefined)
    t.equal(unverified.verified, false, 'without a JWKS it is read, and marked unverified')
  })
})
