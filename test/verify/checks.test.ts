import { X509Certificate } from 'node:crypto'
import t from 'tap'
import { createCertificateVerifier } from '../../src/verify/certificate.js'
import { checkList, fail, pass, type CheckResult } from '../../src/verify/checkList.js'
import { resultOf } from '../../src/verify/result.js'
import type { TrustKey, TrustSource } from '../../src/verify/trust.js'
import { payloadFor, signJws } from '../helpers/certs.js'
import { createTestPki, type IssuedCert } from '../helpers/pki.js'
import { randomCreditCode, randomTypeCode } from '../helpers/app.js'

const HOUR = 3_600_000

t.test('result codes from checks (the table in result.ts)', async (t) => {
  const all = (...changes: CheckResult[]) => checkList([...checkList([]).map((c) => pass(c.check)), ...changes])
  t.equal(resultOf(all()).result, 0)
  t.equal(resultOf(all(fail('validityPeriod', 'NOT_YET_IN_FORCE', 'x'))).result, 1)
  t.equal(resultOf(all(fail('status', 'SUSPENDED', 'suspended'))).result, 2)
  t.equal(resultOf(all(fail('status', 'REVOKED', 'revoked'))).result, 3)
  t.equal(resultOf(all(fail('status', 'SUPERSEDED', 'superseded'))).result, 3)
  t.equal(resultOf(all(fail('validityPeriod', 'EXPIRED', 'expired'))).result, 3)
  t.equal(resultOf(all(fail('keyWindow', 'KEY_COMPROMISED', 'x'))).result, 3)
  t.equal(resultOf(all(fail('trustChain', 'NOT_TRUSTED', 'x'))).result, 3)
  t.equal(resultOf(all(fail('format', 'JWS_MALFORMED', 'x'))).result, 4)
  t.equal(resultOf(all(fail('matchesRecord', 'NO_RECORD', 'x'))).result, 5)
  t.equal(resultOf(all(fail('matchesRecord', 'RECORD_MISMATCH', 'x'))).result, 6)
  t.equal(resultOf(all(fail('signature', 'SIGNATURE_INVALID', 'x'))).result, 6)
  // Precedence: a forgery is inconsistent even when nothing is stored; revoked outranks expired, expired outranks suspended.
  t.equal(resultOf(all(fail('signature', 'SIGNATURE_INVALID', 'x'), fail('matchesRecord', 'NO_RECORD', 'x'))).result, 6)
  t.match(resultOf(all(fail('status', 'REVOKED', 'revoked'), fail('validityPeriod', 'EXPIRED', 'expired'))).resultText, /revoked/)
  t.equal(resultOf(all(fail('status', 'SUSPENDED', 'suspended'), fail('validityPeriod', 'EXPIRED', 'expired'))).result, 3)
  t.equal(resultOf(all(fail('status', 'SUSPENDED', 'suspended'), fail('validityPeriod', 'NOT_YET_IN_FORCE', 'x'))).result, 2)
})

t.test('the offline checks, with trust given as data', async (t) => {
  const pki = createTestPki()
  const key = pki.issue({ keyType: 'ed25519' })
  const issuerCode = randomCreditCode()
  const typeCode = randomTypeCode()
  const now = new Date()
  const trustKey = (k: IssuedCert, o: Partial<TrustKey> = {}): TrustKey => {
    const cert = new X509Certificate(k.certPem)
    const publicKeyPem = cert.publicKey.export({ type: 'spki', format: 'pem' }).toString()
    return { kid: k.kid, algorithms: [k.alg!], publicKeyPem, chainPem: k.chainPem, activeFrom: new Date(now.getTime() - HOUR), notBefore: new Date(cert.validFrom), notAfter: new Date(cert.validTo), ...o }
  }
  const trust = (keys: TrustKey[], anchors = [new X509Certificate(pki.anchorsPem)]): TrustSource => ({
    anchors,
    creditCodeExceptions: new Set(),
    issuer: async (code) => (code === issuerCode ? { code, typeCodes: [typeCode], keys } : undefined),
    type: async (code) => (code === typeCode ? { typeCode, holderIdTypes: ['111'], issuers: [issuerCode] } : undefined),
  })
  const jws = await signJws(payloadFor({ typeCode, issuerCode }), key.privateKeyPem, { alg: 'EdDSA', kid: key.kid })
  const failures = async (source: TrustSource, at = now) =>
    (await createCertificateVerifier(source).verify(jws, { at, now }, 65536)).checks.filter((c) => c.outcome === 'fail').map((c) => `${c.check}:${c.reason}`)

  t.same(await failures(trust([trustKey(key)])), [], 'all pass')
  const otherPki = createTestPki()
  t.same(await failures(trust([trustKey(key)], [new X509Certificate(otherPki.anchorsPem)])), ['trustChain:NOT_TRUSTED'])
  const retired = trustKey(key, { retiredAt: new Date(now.getTime() - 60_000) })
  t.same(await failures(trust([retired])), ['keyWindow:KEY_RETIRED'], 'retired by now')
  t.same(await failures(trust([retired]), new Date(now.getTime() - 120_000)), [], 'but fine at an instant before retirement')
  t.same(await failures(trust([trustKey(key, { compromisedAt: now })])), ['keyWindow:KEY_COMPROMISED'])
  t.same(await failures(trust([trustKey(key, { algorithms: ['ES256'] })])), ['registeredKey:ALG_KEY_MISMATCH'])
  const stranger = pki.issue({ keyType: 'ed25519' })
  t.same(await failures(trust([trustKey(stranger, { kid: key.kid })])), ['registeredKey:KEY_MISMATCH'], 'a public key must match its kid')
  t.same(await failures(trust([trustKey(stranger)])), ['registeredKey:KID_UNKNOWN'])
})
