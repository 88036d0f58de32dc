import { spawnSync } from 'node:child_process'
import { createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import {
  DEV_CA_CERT_FILE,
  DEV_CA_SM2_CERT_FILE,
  DEV_CA_SM2_PRIVATE_KEY_FILE,
  DEV_TRUST_ANCHORS_FILE,
  generateDevPki,
  isSecretPkiFile,
  issuerCertFile,
  issuerP12File,
  issuerPrivateKeyFile,
} from '../../src/crypto/devCa.js'
import { generateSm2KeyPair } from '../../src/crypto/sm2Keys.js'
import { checkSigningCertificate, parseTrustAnchors } from '../../src/crypto/x509.js'
import { opensslSm2Key } from '../helpers/sm2.js'
import { useFixtureRsaKeys } from '../helpers/rsaKeys.js'

// The development PKIs here take their RSA keys from the test fixture (test/helpers/rsaKeys.ts).
useFixtureRsaKeys()

// The development SM2 PKI of `zhengzhao keys`, judged by the openssl command line (the reference):
// what we build with @peculiar/asn1-x509 and sign with our SM2 code must be what openssl accepts.

const RSA_ISSUER = { code: '11330105002500287C', name: '杭州市西湖区市场监督管理局' }
const SM2_ISSUER = { code: '11330102MB2345678W', name: '杭州市上城区市场监督管理局', keyType: 'sm2' as const }
const DIST_ID = 'distid:1234567812345678'

const pki = await generateDevPki([RSA_ISSUER, SM2_ISSUER])
const text = (name: string) => pki.files[name] as string
const hasOpenssl = spawnSync('openssl', ['version']).status === 0
const skip = hasOpenssl ? false : 'openssl not installed'

/** Runs openssl in a folder holding `files`; returns its exit status and output. */
function openssl(args: string[], files: Record<string, string>): { ok: boolean; out: string } {
  const dir = mkdtempSync(join(tmpdir(), 'zz-sm2-devpki-'))
  try {
    for (const [name, contents] of Object.entries(files)) writeFileSync(join(dir, name), contents)
    const run = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' })
    return { ok: run.status === 0, out: `${run.stdout}${run.stderr}` }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

t.test('the SM2 issuer gets a certificate and a PEM key, no .p12; both roots are in the bundle', async (t) => {
  t.ok(text(issuerCertFile(SM2_ISSUER.code)) && text(issuerPrivateKeyFile(SM2_ISSUER.code)))
  t.notOk(issuerP12File(SM2_ISSUER.code) in pki.files, 'forge cannot wrap an SM2 key: no .p12')
  t.ok(issuerP12File(RSA_ISSUER.code) in pki.files, 'the RSA issuer keeps its .p12')
  t.ok(isSecretPkiFile(DEV_CA_SM2_PRIVATE_KEY_FILE) && isSecretPkiFile(issuerPrivateKeyFile(SM2_ISSUER.code)), 'SM2 private keys are written 0600')
  const anchors = parseTrustAnchors(text(DEV_TRUST_ANCHORS_FILE))
  t.same(
    anchors.map((c) => c.fingerprint256),
    [text(DEV_CA_CERT_FILE), text(DEV_CA_SM2_CERT_FILE)].map((pem) => new X509Certificate(pem).fingerprint256),
    'the service reads both roots as trust anchors',
  )
})

t.test('openssl reads the SM2 root as a self-signed SM2-with-SM3 CA', { skip }, async (t) => {
  const files = { 'root.pem': text(DEV_CA_SM2_CERT_FILE) }
  const shown = openssl(['x509', '-in', 'root.pem', '-noout', '-text'], files)
  t.ok(shown.ok, shown.out)
  t.match(shown.out, /Signature Algorithm: SM2-with-SM3/)
  t.match(shown.out, /ASN1 OID: SM2/)
  t.match(shown.out, /Basic Constraints: critical\s+CA:TRUE/)
  t.match(shown.out, /Key Usage: critical\s+Certificate Sign, CRL Sign/)
  t.match(shown.out, /Subject: CN = Zhengzhao Development SM2 Root CA, O = Zhengzhao \(development only\)/)
  const self = openssl(['verify', '-CAfile', 'root.pem', '-vfyopt', DIST_ID, 'root.pem'], files)
  t.ok(self.ok, `self-signature verifies with the ID: ${self.out}`)
})

t.test('openssl verifies the SM2 issuer certificate under the SM2 root, with the ID only', { skip }, async (t) => {
  const files = { 'root.pem': text(DEV_CA_SM2_CERT_FILE), 'rsa-root.pem': text(DEV_CA_CERT_FILE), 'issuer.pem': text(issuerCertFile(SM2_ISSUER.code)) }
  const verified = openssl(['verify', '-CAfile', 'root.pem', '-vfyopt', DIST_ID, 'issuer.pem'], files)
  t.ok(verified.ok, verified.out)
  t.match(verified.out, /issuer\.pem: OK/)
  // OpenSSL 3.0 checks with the empty ID unless told: a failure here proves the ID 1234567812345678 signed it.
  t.notOk(openssl(['verify', '-CAfile', 'root.pem', 'issuer.pem'], files).ok, 'not with the empty ID')
  t.notOk(openssl(['verify', '-CAfile', 'rsa-root.pem', '-vfyopt', DIST_ID, 'issuer.pem'], files).ok, 'not under the RSA root')
  const shown = openssl(['x509', '-in', 'issuer.pem', '-noout', '-text', '-nameopt', 'utf8'], files)
  t.match(shown.out, /Signature Algorithm: SM2-with-SM3/)
  t.match(shown.out, /ASN1 OID: SM2/)
  t.match(shown.out, /Basic Constraints: critical\s+CA:FALSE/)
  t.match(shown.out, /Key Usage: critical\s+Digital Signature, Non Repudiation/)
  t.match(shown.out, `Subject: CN=${SM2_ISSUER.name}, O=${SM2_ISSUER.name}, serialNumber=${SM2_ISSUER.code}`, 'names in UTF-8, the credit code as serialNumber')
  t.match(shown.out, 'Issuer: CN=Zhengzhao Development SM2 Root CA, O=Zhengzhao (development only)')
})

t.test('the SM2 private keys are PKCS#8 as openssl genpkey writes them, and match their certificates', { skip }, async (t) => {
  // PrivateKeyInfo { 0, {id-ecPublicKey, SM2}, OCTET STRING { ECPrivateKey { 1, d, [1] public } } } up to d.
  const prefix = (pem: string) => createPrivateKey(pem).export({ type: 'pkcs8', format: 'der' }).subarray(0, 36).toString('hex')
  const reference = prefix(opensslSm2Key().privateKeyPem)
  for (const [keyFile, certFile] of [
    [DEV_CA_SM2_PRIVATE_KEY_FILE, DEV_CA_SM2_CERT_FILE],
    [issuerPrivateKeyFile(SM2_ISSUER.code), issuerCertFile(SM2_ISSUER.code)],
  ] as const) {
    t.match(text(keyFile), /^-----BEGIN PRIVATE KEY-----\n/, `${keyFile}: PKCS#8 PEM`)
    t.equal(prefix(text(keyFile)), reference, `${keyFile}: the same DER layout as openssl genpkey -algorithm SM2`)
    t.equal(createPrivateKey(text(keyFile)).asymmetricKeyType, undefined, 'node:crypto reads it as an SM2 key')
    const fromKey = openssl(['pkey', '-in', 'key.pem', '-pubout'], { 'key.pem': text(keyFile) })
    t.ok(fromKey.ok, `openssl pkey reads ${keyFile}`)
    const fromCert = openssl(['x509', '-in', 'cert.pem', '-noout', '-pubkey'], { 'cert.pem': text(certFile) })
    t.equal(fromKey.out, fromCert.out, `${keyFile} is the key of ${certFile}`)
  }
})

t.test('the service accepts the SM2 issuer certificate against the bundle, and only with the SM2 root in it', async (t) => {
  const pem = text(issuerCertFile(SM2_ISSUER.code))
  const checked = await checkSigningCertificate(pem, parseTrustAnchors(text(DEV_TRUST_ANCHORS_FILE)))
  t.ok(checked.ok, checked.ok ? 'registered' : JSON.stringify(checked.problems))
  if (checked.ok) t.same(checked.value.algorithms, ['SM2'])
  const rsaOnly = await checkSigningCertificate(pem, parseTrustAnchors(text(DEV_CA_CERT_FILE)))
  t.match(rsaOnly, { ok: false, problems: [{ code: 'NOT_TRUSTED' }] })
  // One flipped bit in the signed part: the SM2 signature no longer holds.
  const der = Buffer.from(new X509Certificate(pem).raw)
  der[200] = der[200]! ^ 0x01
  const tampered = `-----BEGIN CERTIFICATE-----\n${der.toString('base64')}\n-----END CERTIFICATE-----\n`
  t.match(await checkSigningCertificate(tampered, parseTrustAnchors(text(DEV_TRUST_ANCHORS_FILE))), { ok: false })
})

t.test('generateSm2KeyPair: a fresh key each time, its SPKI what node:crypto derives', async (t) => {
  const a = generateSm2KeyPair()
  const b = generateSm2KeyPair()
  t.not(a.privateKeyPem, b.privateKeyPem)
  t.same(a.spki, createPublicKey(a.privateKey).export({ type: 'spki', format: 'der' }))
  t.ok(a.key.d >= 1n, 'a scalar in range')
})
