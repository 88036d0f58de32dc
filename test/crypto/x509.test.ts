import { createPrivateKey, createPublicKey, sign, X509Certificate } from 'node:crypto'
import t from 'tap'
import { AsnConvert, OctetString } from '@peculiar/asn1-schema'
import { Certificate, Extension, KeyUsage, KeyUsageFlags, id_ce_keyUsage } from '@peculiar/asn1-x509'
import { calculateJwkThumbprint, type JWK } from 'jose'
import { checkSigningCertificate, parseTrustAnchors, splitPem, type CertificateProblemCode } from '../../src/crypto/x509.js'
import { createExpiredRootPki, createTestPki, type IssuedCert, type TestKeyType } from '../helpers/pki.js'

const pki = createTestPki()
const anchors = parseTrustAnchors(pki.anchorsPem)
const CA = { ca: true, keyUsage: 'critical,keyCertSign,cRLSign' }

/** The sorted problem codes, or [] when the certificate is accepted. */
async function codes(chainPem: string, trusted = anchors, now?: Date): Promise<CertificateProblemCode[]> {
  const result = await checkSigningCertificate(chainPem, trusted, now)
  return result.ok ? [] : result.problems.map((p) => p.code).sort()
}

t.test('accepts P-256, Ed25519 and RSA-2048 leaves, directly under the root and via an intermediate', async (t) => {
  const cases: [TestKeyType, string[]][] = [
    ['p256', ['ES256']],
    ['ed25519', ['EdDSA']],
    ['rsa2048', ['RS256', 'PS256']],
  ]
  for (const [keyType, algorithms] of cases) {
    for (const viaIntermediate of [false, true]) {
      t.test(`${keyType}${viaIntermediate ? ' via an intermediate' : ''}`, async (t) => {
        const issued = pki.issue({ keyType, viaIntermediate })
        const result = await checkSigningCertificate(issued.chainPem, anchors)
        if (!result.ok) return t.fail(JSON.stringify(result.problems))
        const leaf = new X509Certificate(issued.certPem)
        const jwk = createPublicKey(issued.privateKeyPem).export({ format: 'jwk' }) as JWK
        t.equal(result.value.kid, await calculateJwkThumbprint(jwk, 'sha256'), 'kid is the RFC 7638 thumbprint')
        t.equal(result.value.kid, issued.kid)
        t.same(result.value.algorithms, algorithms)
        t.equal(result.value.publicKeyPem, createPublicKey(issued.privateKeyPem).export({ type: 'spki', format: 'pem' }))
        t.equal(result.value.fingerprint256, leaf.fingerprint256)
        t.equal(result.value.serialNumber, leaf.serialNumber)
        t.equal(result.value.subject, leaf.subject)
        t.equal(result.value.issuer, leaf.issuer)
        t.equal(result.value.notAfter.getTime(), new Date(leaf.validTo).getTime())
        t.equal(result.value.notBefore.getTime(), new Date(leaf.validFrom).getTime())
        t.equal(splitPem(result.value.certificatePem).length, 1)
        t.equal(new X509Certificate(result.value.certificatePem).fingerprint256, leaf.fingerprint256)
        t.equal(splitPem(result.value.chainPem).length, viaIntermediate ? 2 : 1)
      })
    }
  }
})

t.test('accepts a chain under an RSA root, with intermediates in any order, with the root included, or without keyUsage', async (t) => {
  const rsaPki = createTestPki({ rootKeyType: 'rsa2048' })
  t.same(await codes(rsaPki.issue({ viaIntermediate: true }).chainPem, parseTrustAnchors(rsaPki.anchorsPem)), [])
  const upper = pki.issue(CA)
  const lower = pki.issue({ ...CA, issuedBy: upper })
  const leaf = pki.issue({ issuedBy: lower })
  t.same(await codes(leaf.certPem + upper.certPem + lower.certPem), [], 'intermediates reversed')
  t.same(await codes(leaf.chainPem + pki.anchorsPem), [], 'root appended')
  t.same(await codes(pki.issue({ keyUsage: 'none' }).chainPem), [], 'no keyUsage extension')
  t.same(await codes(pki.issue({ keyUsage: 'digitalSignature' }).chainPem), [], 'digitalSignature alone')
})

t.test('accepts a leaf under any of several anchors', async (t) => {
  const other = createTestPki()
  const both = parseTrustAnchors(pki.anchorsPem + other.anchorsPem)
  t.equal(both.length, 2)
  t.same(await codes(other.issue().chainPem, both), [])
  t.same(await codes(pki.issue().chainPem, both), [])
})

t.test('refuses keys outside the allow-list', async (t) => {
  t.same(await codes(pki.issue({ keyType: 'rsa1024' }).chainPem), ['KEY_NOT_ALLOWED'])
  t.same(await codes(pki.issue({ keyType: 'p384' }).chainPem), ['KEY_NOT_ALLOWED'])
})

t.test('refuses a CA certificate as leaf', async (t) => {
  t.same(await codes(pki.issue({ ca: true }).chainPem), ['CA_CERTIFICATE'])
  t.same(await codes(pki.issue(CA).chainPem), ['CA_CERTIFICATE', 'NO_DIGITAL_SIGNATURE'])
})

t.test('refuses a keyUsage without digitalSignature', async (t) => {
  t.same(await codes(pki.issue({ keyUsage: 'critical,nonRepudiation' }).chainPem), ['NO_DIGITAL_SIGNATURE'])
  t.same(await codes(pki.issue({ keyUsage: 'critical,keyEncipherment' }).chainPem), ['NO_DIGITAL_SIGNATURE'])
})

t.test('refuses a leaf outside its validity period', async (t) => {
  t.same(await codes(pki.issue({ expired: true }).chainPem), ['EXPIRED'])
  t.same(await codes(pki.issue({ notYetValid: true }).chainPem), ['NOT_YET_VALID'])
  const valid = pki.issue({ days: 10 })
  t.same(await codes(valid.chainPem, anchors, new Date(Date.now() + 20 * 86_400_000)), ['EXPIRED'], 'judged at the given time')
  t.same(await codes(pki.issue({ notYetValid: true }).chainPem, anchors, new Date(Date.now() + 2 * 86_400_000)), [], 'judged at the given time')
})

t.test('reports every problem, not only the first', async (t) => {
  t.same(await codes(pki.issue({ keyType: 'rsa1024', expired: true, keyUsage: 'critical,nonRepudiation' }).chainPem), ['EXPIRED', 'KEY_NOT_ALLOWED', 'NO_DIGITAL_SIGNATURE'])
  t.same(await codes(createTestPki().issue({ keyType: 'p384' }).chainPem), ['KEY_NOT_ALLOWED', 'NOT_TRUSTED'])
})

t.test('refuses a leaf that does not chain to an anchor', async (t) => {
  const stranger = createTestPki()
  t.same(await codes(stranger.issue().chainPem), ['NOT_TRUSTED'], 'issued by another CA')
  t.same(await codes(stranger.issue({ viaIntermediate: true }).chainPem), ['NOT_TRUSTED'], 'via another CA’s intermediate')
  t.same(await codes(pki.issue({ viaIntermediate: true }).certPem), ['NOT_TRUSTED'], 'intermediate missing')
  t.same(await codes(pki.issue().chainPem, parseTrustAnchors(stranger.anchorsPem)), ['NOT_TRUSTED'], 'other anchors configured')
  t.same(await codes(stranger.anchorsPem), ['CA_CERTIFICATE', 'NOT_TRUSTED', 'NO_DIGITAL_SIGNATURE'], 'a self-signed root of its own')
  const issued = pki.issue()
  const body = splitPem(issued.certPem)[0]!
  const at = body.length - 60 // inside the signature
  const tampered = body.slice(0, at) + (body[at] === 'A' ? 'B' : 'A') + body.slice(at + 1)
  t.same(await codes(tampered), ['NOT_TRUSTED'], 'signature changed')
})

t.test('refuses an expired trust anchor', async (t) => {
  const expired = createExpiredRootPki()
  const result = await checkSigningCertificate(expired.issue().chainPem, parseTrustAnchors(expired.anchorsPem))
  t.same(result.ok ? [] : result.problems.map((p) => p.code), ['NOT_TRUSTED'])
})

t.test('refuses an intermediate that may not issue certificates', async (t) => {
  const under = (issuer: IssuedCert) => codes(pki.issue({ issuedBy: issuer }).chainPem)
  t.same(await under(pki.issue()), ['CHAIN_INVALID'], 'not a CA')
  t.same(await under(pki.issue({ keyUsage: 'critical,digitalSignature,keyCertSign' })), ['CHAIN_INVALID'], 'not a CA, even with keyCertSign')
  t.same(await under(pki.issue({ ca: true, keyUsage: 'critical,digitalSignature' })), ['CHAIN_INVALID'], 'a CA without keyCertSign')
  t.same(await under(pki.issue({ ...CA, expired: true })), ['CHAIN_INVALID'], 'an expired CA')
  t.same(await under(pki.issue({ ...CA, notYetValid: true })), ['CHAIN_INVALID'], 'a CA not yet valid')
  const capped = pki.issue({ ...CA, pathLen: 0 })
  t.same(await under(pki.issue({ ...CA, issuedBy: capped })), ['CHAIN_INVALID'], 'beyond a pathlen:0 CA')
})

t.test('follows paths of up to six certificates, leaf and anchor included', async (t) => {
  const ladder: IssuedCert[] = []
  for (let i = 0; i < 5; i++) ladder.push(pki.issue({ ...CA, ...(ladder[i - 1] ? { issuedBy: ladder[i - 1] } : {}) }))
  t.same(await codes(pki.issue({ issuedBy: ladder[3] }).chainPem), [], 'four intermediates')
  t.same(await codes(pki.issue({ issuedBy: ladder[4] }).chainPem), ['NOT_TRUSTED'], 'five intermediates')
  t.same(await codes(pki.issue({ issuedBy: ladder[4] }).chainPem + pki.anchorsPem), ['CHAIN_INVALID'], 'more than six certificates given')
})

/** Adds a second keyUsage allowing digitalSignature and re-signs with the root's key. */
function withDuplicateKeyUsage(certPem: string): string {
  const cert = AsnConvert.parse(new X509Certificate(certPem).raw, Certificate)
  const keyUsage = AsnConvert.serialize(new KeyUsage(KeyUsageFlags.digitalSignature))
  cert.tbsCertificate.extensions?.push(new Extension({ extnID: id_ce_keyUsage, critical: true, extnValue: new OctetString(keyUsage) }))
  delete cert.tbsCertificateRaw
  cert.signatureValue = new Uint8Array(sign('sha256', Buffer.from(AsnConvert.serialize(cert.tbsCertificate)), createPrivateKey(pki.root.privateKeyPem))).buffer
  return new X509Certificate(Buffer.from(AsnConvert.serialize(cert))).toString()
}

t.test('refuses a certificate with a duplicated extension', async (t) => {
  const certPem = pki.issue({ keyUsage: 'critical,nonRepudiation' }).certPem
  t.same(await codes(certPem), ['NO_DIGITAL_SIGNATURE'], 'the original')
  t.same(await codes(withDuplicateKeyUsage(certPem)), ['PEM_INVALID'])
})

t.test('refuses what is not a certificate chain', async (t) => {
  const truncated = (pem: string) => `${pem.slice(0, pem.length / 2)}\n-----END CERTIFICATE-----\n`
  const leaf = pki.issue()
  const garbage = ['', 'hello', '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n', truncated(leaf.certPem), leaf.chainPem + leaf.privateKeyPem]
  for (const pem of garbage) t.same(await codes(pem), ['PEM_INVALID'], JSON.stringify(pem.slice(0, 40)))
  t.same(await codes(leaf.chainPem + '\n-----BEGIN CERTIFICATE-----\n!!\n-----END CERTIFICATE-----\n'), ['PEM_INVALID'], 'a bad intermediate')
})

t.test('parseTrustAnchors refuses an empty bundle, garbage and certificates that are not CAs', async (t) => {
  t.throws(() => parseTrustAnchors(''))
  t.throws(() => parseTrustAnchors('not a certificate'))
  t.throws(() => parseTrustAnchors('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n'))
  t.throws(() => parseTrustAnchors(pki.anchorsPem + pki.issue().certPem), 'a leaf after a root')
  t.throws(() => parseTrustAnchors(pki.issue({ keyUsage: 'critical,digitalSignature,keyCertSign' }).certPem), 'not a CA')
  t.throws(() => parseTrustAnchors(pki.issue({ ca: true, keyUsage: 'critical,digitalSignature' }).certPem), 'a CA without keyCertSign')
  t.equal(parseTrustAnchors(pki.anchorsPem)[0]?.fingerprint256, new X509Certificate(pki.anchorsPem).fingerprint256)
})

t.test('splitPem returns the CERTIFICATE blocks in order', async (t) => {
  const a = pki.issue()
  const b = pki.issue({ viaIntermediate: true })
  const blocks = splitPem(`junk\n${a.certPem}\n${a.privateKeyPem}${b.chainPem}`)
  t.equal(blocks.length, 3)
  t.same(blocks.map((block) => new X509Certificate(block).fingerprint256), [a.certPem, ...splitPem(b.chainPem)].map((pem) => new X509Certificate(pem).fingerprint256))
  t.same(splitPem('nothing here'), [])
})
