import { execFileSync, spawnSync } from 'node:child_process'
import { createPrivateKey, createPublicKey, generateKeyPairSync, X509Certificate, type KeyObject } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import forge from 'node-forge'
import { parseDataProtectionKeys } from '../../src/crypto/dataProtection.js'
import {
  DEV_CA_CERT_FILE,
  DEV_CA_PRIVATE_KEY_FILE,
  DEV_CA_SM2_CERT_FILE,
  DEV_CA_SM2_PRIVATE_KEY_FILE,
  DEV_DATA_PROTECTION_FILE,
  DEV_P12_PASSWORD,
  DEV_TRUST_ANCHORS_FILE,
  generateDevPki,
  isSecretPkiFile,
  issuerCertFile,
  issuerP12File,
  issuerPrivateKeyFile,
  setRsaKeySource,
} from '../../src/crypto/devCa.js'

const ISSUERS = [
  { code: '11330105002500287C', name: '杭州市西湖区市场监督管理局' },
  { code: '12330100MB0123456R', name: '杭州示例大学' },
]
const [WESTLAKE] = ISSUERS as [(typeof ISSUERS)[number]]

// This file tests the development PKI as `zhengzhao keys` makes it, keys generated: not the
// fixture keys other test files (and an earlier file in the same shard) have it take.
setRsaKeySource(undefined)
const pki = await generateDevPki(ISSUERS)
const text = (name: string) => pki.files[name] as string
const root = new X509Certificate(text(DEV_CA_CERT_FILE))
const leaf = new X509Certificate(text(issuerCertFile(WESTLAKE.code)))
const forgeExt = (pem: string, name: string) => forge.pki.certificateFromPem(pem).getExtension(name) as Record<string, unknown> | undefined
const years = (cert: X509Certificate) => (Date.parse(cert.validTo) - Date.parse(cert.validFrom)) / (365.25 * 24 * 3600_000)
const spkiOf = (key: KeyObject) => (key.type === 'private' ? createPublicKey(key) : key).export({ type: 'spki', format: 'der' })

t.test('writes every file, and only the expected ones', async (t) => {
  // The SM2 root is written even when no issuer signs with SM2.
  const expected = [DEV_CA_CERT_FILE, DEV_CA_PRIVATE_KEY_FILE, DEV_CA_SM2_CERT_FILE, DEV_CA_SM2_PRIVATE_KEY_FILE, DEV_TRUST_ANCHORS_FILE, DEV_DATA_PROTECTION_FILE]
  for (const { code } of ISSUERS) expected.push(issuerCertFile(code), issuerPrivateKeyFile(code), issuerP12File(code))
  t.same(Object.keys(pki.files).sort(), expected.sort())
  t.ok(Buffer.isBuffer(pki.files[issuerP12File(WESTLAKE.code)]), '.p12 is binary')
  t.equal(text(DEV_TRUST_ANCHORS_FILE), text(DEV_CA_CERT_FILE) + text(DEV_CA_SM2_CERT_FILE), 'the trust bundle is both roots, RSA first')
  t.same(Object.keys(pki.files).filter(isSecretPkiFile).sort(), expected.filter((f) => /private|p12|data-protection/.test(f)).sort())
})

t.test('the root is a self-signed CA for certificate signing only', async (t) => {
  t.ok(root.ca, 'CA:true')
  t.equal(root.subject, 'CN=Zhengzhao Development Root CA\nO=Zhengzhao (development only)')
  t.equal(root.issuer, root.subject)
  t.ok(root.verify(root.publicKey), 'self-signed')
  t.match(forgeExt(text(DEV_CA_CERT_FILE), 'basicConstraints'), { cA: true, critical: true })
  t.match(forgeExt(text(DEV_CA_CERT_FILE), 'keyUsage'), { keyCertSign: true, cRLSign: true, digitalSignature: false, critical: true })
  t.ok(forgeExt(text(DEV_CA_CERT_FILE), 'subjectKeyIdentifier'))
  t.equal(root.publicKey.asymmetricKeyDetails?.modulusLength, 2048)
  t.ok(Math.abs(years(root) - 10) < 0.01, '10 years')
  t.same(spkiOf(createPrivateKey(text(DEV_CA_PRIVATE_KEY_FILE))), spkiOf(root.publicKey), 'the private key is the root key')
  t.match(text(DEV_CA_PRIVATE_KEY_FILE), /^-----BEGIN PRIVATE KEY-----/, 'PKCS#8')
})

t.test('each issuer certificate is a signing leaf issued by the root', async (t) => {
  for (const { code, name } of ISSUERS) {
    const pem = text(issuerCertFile(code))
    const cert = new X509Certificate(pem)
    t.notOk(cert.ca, `${code}: CA:false`)
    t.equal(cert.subject, `CN=${name}\nO=${name}\nserialNumber=${code}`)
    t.ok(cert.checkIssued(root), 'issued by the root')
    t.ok(cert.verify(root.publicKey), 'signature verifies with the root key')
    t.match(forgeExt(pem, 'basicConstraints'), { cA: false })
    t.match(forgeExt(pem, 'keyUsage'), { digitalSignature: true, nonRepudiation: true, keyCertSign: false, critical: true })
    t.equal(forge.pki.certificateFromPem(pem).siginfo.algorithmOid, forge.pki.oids.sha256WithRSAEncryption, 'SHA-256')
    t.equal(cert.publicKey.asymmetricKeyDetails?.modulusLength, 2048)
    t.ok(Math.abs(years(cert) - 3) < 0.01, '3 years')
    t.ok(Date.parse(cert.validFrom) <= Date.now(), 'valid now')
    t.same(spkiOf(createPrivateKey(text(issuerPrivateKeyFile(code)))), spkiOf(cert.publicKey), 'private key matches')
    t.match(text(issuerPrivateKeyFile(code)), /^-----BEGIN PRIVATE KEY-----/, 'PKCS#8')
  }
  const other = await generateDevPki([WESTLAKE])
  t.notOk(leaf.checkIssued(new X509Certificate(other.files[DEV_CA_CERT_FILE] as string)), 'another PKI has another root')
  t.notOk(leaf.verify(new X509Certificate(other.files[DEV_CA_CERT_FILE] as string).publicKey))
  t.not(other.files[issuerPrivateKeyFile(WESTLAKE.code)], text(issuerPrivateKeyFile(WESTLAKE.code)), 'fresh keys every time')
})

const openP12 = (der: Buffer, password: string) => forge.pkcs12.pkcs12FromAsn1(forge.asn1.fromDer(forge.util.createBuffer(der.toString('binary'))), false, password)

t.test('the .p12 opens with the password, and holds the key, its certificate and the root', async (t) => {
  const der = pki.files[issuerP12File(WESTLAKE.code)] as Buffer
  const p12 = openP12(der, DEV_P12_PASSWORD)
  const keyBags = p12.getBags({ bagType: forge.pki.oids.pkcs8ShroudedKeyBag! })[forge.pki.oids.pkcs8ShroudedKeyBag!] ?? []
  t.equal(keyBags.length, 1, 'one encrypted key')
  const key = createPrivateKey(forge.pki.privateKeyToPem(keyBags[0]!.key!))
  t.same(spkiOf(key), spkiOf(leaf.publicKey), 'the issuer key')
  t.same(keyBags[0]!.attributes.friendlyName, [WESTLAKE.code], 'friendlyName is the code')
  const certs = (p12.getBags({ bagType: forge.pki.oids.certBag! })[forge.pki.oids.certBag!] ?? []).map((b) => forge.pki.certificateToPem(b.cert!))
  t.same(certs.map((c) => new X509Certificate(c).fingerprint256), [leaf.fingerprint256, root.fingerprint256])

  t.throws(() => openP12(der, 'wrong-password'), /password/i)
  t.throws(() => openP12(der, ''), /password/i, 'not without the password')
})

const hasOpenssl = spawnSync('openssl', ['version']).status === 0

t.test('OpenSSL reads the .p12 with the password and refuses it without', { skip: hasOpenssl ? false : 'openssl not installed' }, async (t) => {
  const file = join(t.testdir(), 'issuer.p12')
  writeFileSync(file, pki.files[issuerP12File(WESTLAKE.code)] as Buffer)
  const out = execFileSync('openssl', ['pkcs12', '-in', file, '-passin', `pass:${DEV_P12_PASSWORD}`, '-nodes'], { encoding: 'utf8' })
  t.match(out, /BEGIN PRIVATE KEY/)
  t.equal(out.match(/BEGIN CERTIFICATE/g)?.length, 2)
  t.not(spawnSync('openssl', ['pkcs12', '-in', file, '-passin', 'pass:nope', '-nodes']).status, 0)
  // OpenSSL 3's own defaults for `pkcs12 -export`: AES-256 with PBKDF2-HMAC-SHA-256, 2,048 iterations.
  const info = spawnSync('openssl', ['pkcs12', '-in', file, '-passin', `pass:${DEV_P12_PASSWORD}`, '-info', '-noout'], { encoding: 'utf8' })
  t.match(info.stderr + info.stdout, /Shrouded Keybag: PBES2, PBKDF2, AES-256-CBC, Iteration 2048, PRF hmacWithSHA256/)
  t.match(info.stderr + info.stdout, /MAC: sha1, Iteration 2048/)
})

t.test('data-protection keys: 32 random bytes each, in the format the service reads', async (t) => {
  const json = JSON.parse(text(DEV_DATA_PROTECTION_FILE)) as { blindIndexKey: string; encryptionKeys: { id: string; key: string }[]; activeKeyId: string }
  t.equal(Buffer.from(json.blindIndexKey, 'base64').length, 32)
  t.equal(json.encryptionKeys.length, 1)
  t.equal(json.encryptionKeys[0]!.id, 'dev-1')
  t.equal(Buffer.from(json.encryptionKeys[0]!.key, 'base64').length, 32)
  t.equal(json.activeKeyId, 'dev-1')
  t.not(json.blindIndexKey, json.encryptionKeys[0]!.key, 'distinct keys')
  const parsed = parseDataProtectionKeys(text(DEV_DATA_PROTECTION_FILE))
  t.equal(parsed.encryptionKeys.get('dev-1')?.length, 32)
})

t.test('an RSA key source: its keys are the ones used, a key of another size is refused, undefined generates again', async (t) => {
  t.teardown(() => setRsaKeySource(undefined))
  const supplied = Array.from({ length: 2 }, () => generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey)
  let calls = 0
  setRsaKeySource(async () => supplied[calls++]!)
  const made = await generateDevPki([WESTLAKE])
  t.equal(calls, 2, 'one key for the root, one for the issuer')
  const used = [DEV_CA_PRIVATE_KEY_FILE, issuerPrivateKeyFile(WESTLAKE.code)].map((name) => spkiOf(createPrivateKey(made.files[name] as string)))
  t.same(used.map((k) => k.toString('base64')).sort(), supplied.map((k) => spkiOf(k).toString('base64')).sort(), 'the root and the issuer hold the supplied keys')

  setRsaKeySource(async () => generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey)
  await t.rejects(generateDevPki([WESTLAKE]), /RSA-2048 private keys with exponent 65537/, 'RSA-1024 is refused')
  setRsaKeySource(async () => generateKeyPairSync('rsa', { modulusLength: 2048, publicExponent: 3 }).privateKey)
  await t.rejects(generateDevPki([WESTLAKE]), /exponent 65537/, 'exponent 3 is refused')

  setRsaKeySource(undefined)
  const generated = await generateDevPki([WESTLAKE])
  const fresh = spkiOf(createPrivateKey(generated.files[DEV_CA_PRIVATE_KEY_FILE] as string)).toString('base64')
  t.notOk(supplied.some((k) => spkiOf(k).toString('base64') === fresh), 'undefined: a generated key again')
})
