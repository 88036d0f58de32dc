import { execFileSync, spawnSync } from 'node:child_process'
import { createPublicKey, generateKeyPairSync, X509Certificate, type KeyObject } from 'node:crypto'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import forge from 'node-forge'
import { calculateJwkThumbprint, compactVerify, decodeProtectedHeader, exportJWK } from 'jose'
import { DEV_P12_PASSWORD, generateDevPki, issuerCertFile, issuerP12File } from '../../src/crypto/devCa.js'
import { CERT_JWS_TYP, loadSigningKey, signCertificate, type CertSigningAlgorithm } from '../../src/crypto/jws.js'
import { useFixtureRsaKeys } from '../helpers/rsaKeys.js'

// The development PKIs here take their RSA keys from the test fixture (test/helpers/rsaKeys.ts).
useFixtureRsaKeys()

const PAYLOAD = { id: '1.2.156.3005.2.11100000000013338W032.11330105002500287C.2025000001.001.1', holder: { idType: '111', id: '11010519491231002X', name: '张三' }, n: 1 }

const keys = {
  p256: generateKeyPairSync('ec', { namedCurve: 'P-256' }),
  ed25519: generateKeyPairSync('ed25519'),
  rsa: generateKeyPairSync('rsa', { modulusLength: 2048 }),
}
const thumbprint = async (publicKey: KeyObject) => calculateJwkThumbprint(await exportJWK(publicKey), 'sha256')
const publicOf = (key: KeyObject) => createPublicKey(key)

t.test('signs a compact JWS with alg by key type, kid the thumbprint, typ, and the payload as JSON', async (t) => {
  const cases: [keyof typeof keys, CertSigningAlgorithm][] = [
    ['p256', 'ES256'],
    ['ed25519', 'EdDSA'],
    ['rsa', 'RS256'],
  ]
  for (const [name, alg] of cases) {
    const { privateKey, publicKey } = keys[name]
    const jws = await signCertificate(PAYLOAD, privateKey)
    t.match(jws, /^[\w-]+\.[\w-]+\.[\w-]+$/, `${name}: compact serialization`)
    t.same(decodeProtectedHeader(jws), { alg, kid: await thumbprint(publicKey), typ: CERT_JWS_TYP }, `${name}: exactly alg, kid, typ`)
    const { payload, protectedHeader } = await compactVerify(jws, publicKey, { algorithms: [alg] })
    t.equal(protectedHeader.alg, alg)
    t.equal(Buffer.from(payload).toString('utf8'), JSON.stringify(PAYLOAD), `${name}: the payload is the UTF-8 JSON`)
    await t.rejects(compactVerify(jws, keys.p256.publicKey === publicKey ? keys.ed25519.publicKey : keys.p256.publicKey), `${name}: not with another key`)
  }
  t.equal(CERT_JWS_TYP, 'zhengzhao-cert+jws')
})

t.test('RSA may sign PS256 when asked', async (t) => {
  const jws = await signCertificate(PAYLOAD, keys.rsa.privateKey, { alg: 'PS256' })
  t.equal(decodeProtectedHeader(jws).alg, 'PS256')
  await compactVerify(jws, keys.rsa.publicKey, { algorithms: ['PS256'] })
  await t.rejects(compactVerify(jws, keys.rsa.publicKey, { algorithms: ['RS256'] }))
})

t.test('refuses keys and algorithms outside the allow-list', async (t) => {
  const small = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey
  await t.rejects(signCertificate(PAYLOAD, small), { code: 'ERR_KEY_TOO_SMALL' })
  await t.rejects(signCertificate(PAYLOAD, generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey), { code: 'ERR_KEY_UNSUPPORTED' })
  await t.rejects(signCertificate(PAYLOAD, generateKeyPairSync('ed448').privateKey), { code: 'ERR_KEY_UNSUPPORTED' })
  await t.rejects(signCertificate(PAYLOAD, keys.ed25519.privateKey, { alg: 'ES256' }), { code: 'ERR_ALG_MISMATCH' })
  await t.rejects(signCertificate(PAYLOAD, keys.p256.privateKey, { alg: 'RS256' }), { code: 'ERR_ALG_MISMATCH' })
  await t.rejects(signCertificate(PAYLOAD, keys.rsa.privateKey, { alg: 'EdDSA' }), { code: 'ERR_ALG_MISMATCH' })
  await t.rejects(signCertificate(PAYLOAD, keys.p256.publicKey), { code: 'ERR_KEY_NOT_PRIVATE' })
  await t.rejects(signCertificate(undefined, keys.p256.privateKey), { code: 'ERR_PAYLOAD_INVALID' })
  await t.rejects(signCertificate({ n: 1n }, keys.p256.privateKey), { code: 'ERR_PAYLOAD_INVALID' })
})

t.test('loadSigningKey reads PKCS#8, PKCS#1 and SEC1 PEM, and encrypted PEM with its password', async (t) => {
  const pems: [string, KeyObject, string][] = [
    ['PKCS#8 P-256', keys.p256.privateKey, keys.p256.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()],
    ['SEC1 P-256', keys.p256.privateKey, keys.p256.privateKey.export({ type: 'sec1', format: 'pem' }).toString()],
    ['PKCS#1 RSA', keys.rsa.privateKey, keys.rsa.privateKey.export({ type: 'pkcs1', format: 'pem' }).toString()],
    ['PKCS#8 Ed25519', keys.ed25519.privateKey, keys.ed25519.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()],
  ]
  for (const [what, original, pem] of pems) {
    const key = loadSigningKey({ keyPem: pem })
    t.equal(key.type, 'private', what)
    t.equal(await thumbprint(publicOf(key)), await thumbprint(publicOf(original)), `${what}: the same key`)
  }
  const encrypted = keys.p256.privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'secret' }).toString()
  t.equal(await thumbprint(publicOf(loadSigningKey({ keyPem: encrypted, password: 'secret' }))), await thumbprint(keys.p256.publicKey))
  t.throws(() => loadSigningKey({ keyPem: encrypted }), { code: 'ERR_KEY_PASSWORD' })
  t.throws(() => loadSigningKey({ keyPem: encrypted, password: 'wrong' }), { code: 'ERR_KEY_PASSWORD' })
  t.throws(() => loadSigningKey({ keyPem: keys.p256.publicKey.export({ type: 'spki', format: 'pem' }).toString() }), { code: 'ERR_KEY_NOT_PRIVATE' })
  t.throws(() => loadSigningKey({ keyPem: '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n' }), { code: 'ERR_KEY_UNREADABLE' })
  t.throws(() => loadSigningKey({}), TypeError)
})

t.test('a PKCS#12 round trip: the development .p12 signs certificates its certificate verifies', async (t) => {
  const code = '11330105002500287C'
  const pki = await generateDevPki([{ code, name: '杭州市西湖区市场监督管理局' }])
  const p12 = pki.files[issuerP12File(code)] as Buffer
  const cert = new X509Certificate(pki.files[issuerCertFile(code)] as string)
  const key = loadSigningKey({ p12, password: DEV_P12_PASSWORD })
  const jws = await signCertificate(PAYLOAD, key)
  t.same(decodeProtectedHeader(jws), { alg: 'RS256', kid: await thumbprint(cert.publicKey), typ: CERT_JWS_TYP })
  await compactVerify(jws, cert.publicKey, { algorithms: ['RS256'] })

  t.throws(() => loadSigningKey({ p12, password: 'wrong' }), { code: 'ERR_KEY_PASSWORD', message: /wrong password/ })
  t.throws(() => loadSigningKey({ p12 }), { code: 'ERR_KEY_PASSWORD' }, 'no password')
  t.throws(() => loadSigningKey({ p12: Buffer.from('not a pkcs12 file') }), { code: 'ERR_P12_MALFORMED' })
  const certOnly = forge.pkcs12.toPkcs12Asn1(null, forge.pki.certificateFromPem(cert.toString()), 'pw')
  t.throws(() => loadSigningKey({ p12: Buffer.from(forge.asn1.toDer(certOnly).getBytes(), 'binary'), password: 'pw' }), { code: 'ERR_P12_NO_KEY' })
})

/** A minimal PFX (no MAC, no certificate) around any PKCS#8 key: forge itself only writes RSA keys. */
function p12AroundPkcs8(key: KeyObject, password: string): Buffer {
  const { asn1, pki } = forge
  const der = key.export({ type: 'pkcs8', format: 'der' })
  const encrypted = pki.encryptPrivateKeyInfo(asn1.fromDer(forge.util.createBuffer(der.toString('binary'))), password, { algorithm: 'aes256' })
  const seq = (items: forge.asn1.Asn1[]) => asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, items)
  const oid = (o: string) => asn1.create(asn1.Class.UNIVERSAL, asn1.Type.OID, false, asn1.oidToDer(o).getBytes())
  const explicit = (item: forge.asn1.Asn1) => asn1.create(asn1.Class.CONTEXT_SPECIFIC, 0, true, [item])
  const data = (item: forge.asn1.Asn1) => seq([oid(pki.oids.data!), explicit(asn1.create(asn1.Class.UNIVERSAL, asn1.Type.OCTETSTRING, false, asn1.toDer(item).getBytes()))])
  const safeContents = seq([seq([oid(pki.oids.pkcs8ShroudedKeyBag!), explicit(encrypted)])])
  const pfx = seq([asn1.create(asn1.Class.UNIVERSAL, asn1.Type.INTEGER, false, asn1.integerToDer(3).getBytes()), data(seq([data(safeContents)]))])
  return Buffer.from(asn1.toDer(pfx).getBytes(), 'binary')
}

t.test('a .p12 holding a P-256 or Ed25519 key loads through its PrivateKeyInfo', async (t) => {
  for (const [name, pair, alg] of [
    ['P-256', keys.p256, 'ES256'],
    ['Ed25519', keys.ed25519, 'EdDSA'],
  ] as const) {
    const key = loadSigningKey({ p12: p12AroundPkcs8(pair.privateKey, 'pw'), password: 'pw' })
    t.equal(await thumbprint(publicOf(key)), await thumbprint(pair.publicKey), `${name}: the same key`)
    await compactVerify(await signCertificate(PAYLOAD, key), pair.publicKey, { algorithms: [alg] })
  }
})

const hasOpenssl = spawnSync('openssl', ['version']).status === 0

t.test('a .p12 written by OpenSSL with a P-256 key', { skip: hasOpenssl ? false : 'openssl not installed' }, async (t) => {
  const dir = t.testdir()
  const keyFile = join(dir, 'key.pem')
  writeFileSync(keyFile, keys.p256.privateKey.export({ type: 'pkcs8', format: 'pem' }))
  execFileSync('openssl', ['req', '-new', '-x509', '-key', keyFile, '-subj', '/CN=test', '-days', '1', '-out', join(dir, 'cert.pem')])
  execFileSync('openssl', ['pkcs12', '-export', '-inkey', keyFile, '-in', join(dir, 'cert.pem'), '-passout', 'pass:pw', '-out', join(dir, 'key.p12')])
  const p12 = readFileSync(join(dir, 'key.p12'))
  t.equal(await thumbprint(publicOf(loadSigningKey({ p12, password: 'pw' }))), await thumbprint(keys.p256.publicKey))
  t.throws(() => loadSigningKey({ p12, password: 'nope' }), { code: 'ERR_KEY_PASSWORD' })
})
