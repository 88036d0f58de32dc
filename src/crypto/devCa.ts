import { generateKeyPair, randomBytes, sign, type KeyObject } from 'node:crypto'
import { promisify } from 'node:util'
import forge from 'node-forge'
import { makeSm2Certificate, type Sm2CertSubject } from './devCaSm2.js'
import { generateSm2KeyPair, type Sm2KeyPair } from './sm2Keys.js'

/** The development root CA: its certificate and private key. */
export const DEV_CA_CERT_FILE = 'dev-ca.cert.pem'
export const DEV_CA_PRIVATE_KEY_FILE = 'dev-ca.private.pem'
/** The development SM2 root CA (国密): its certificate (SM2-with-SM3) and private key. */
export const DEV_CA_SM2_CERT_FILE = 'dev-ca-sm2.cert.pem'
export const DEV_CA_SM2_PRIVATE_KEY_FILE = 'dev-ca-sm2.private.pem'
/** Both roots (RSA, then SM2), as the bundle the service's TRUST_ANCHORS points at. */
export const DEV_TRUST_ANCHORS_FILE = 'trust-anchors.pem'
/** Blind-index and encryption-at-rest keys: what DATA_PROTECTION_KEYS points at. */
export const DEV_DATA_PROTECTION_FILE = 'data-protection.json'
/** The password of every development issuer's .p12 (public, like the keys themselves). */
export const DEV_P12_PASSWORD = 'zhengzhao-dev'

export const issuerCertFile = (code: string): string => `issuer-${code}.cert.pem`
export const issuerPrivateKeyFile = (code: string): string => `issuer-${code}.private.pem`
export const issuerP12File = (code: string): string => `issuer-${code}.p12`

/** An example issuer; `keyType` 'sm2' gets an SM2 key under the SM2 root, else RSA under the RSA root. */
export interface DevIssuer {
  code: string
  name: string
  keyType?: 'rsa' | 'sm2'
}

export interface DevPki {
  /** File name → contents, ready to write; the .p12 files are binary. */
  files: Record<string, string | Buffer>
}

const ROOT_CN = 'Zhengzhao Development Root CA'
const ROOT_O = 'Zhengzhao (development only)'
const SM2_ROOT: Sm2CertSubject = { commonName: 'Zhengzhao Development SM2 Root CA', organizationName: ROOT_O }
const RSA_BITS = 2048
const ROOT_YEARS = 10
const ISSUER_YEARS = 3
const KEY_BYTES = 32
// Backdated a little so a certificate made now is valid on a machine whose clock is slightly behind.
const CLOCK_SKEW_MS = 5 * 60_000

const generateRsa = promisify(generateKeyPair)

/** Where the development PKI's RSA private keys come from: each call, a new 2048-bit key. */
export type RsaKeySource = () => Promise<KeyObject>

/**
 * RSA keys come from node:crypto, not forge: forge's generator is only fast when it happens to
 * delegate to node:crypto, and the async native one runs the keys in parallel on the thread pool.
 * About 0.25 s of CPU a key.
 */
export const generateRsaKey: RsaKeySource = async () => (await generateRsa('rsa', { modulusLength: RSA_BITS, publicExponent: 0x10001 })).privateKey
let rsaKeySource = generateRsaKey

/**
 * Makes the development PKI take its RSA keys from `source` instead of generating them
 * (undefined: generate again). For the test suite, which makes a development PKI about fifteen
 * times a run (test/helpers/rsaKeys.ts); a key of any other size or exponent is refused.
 */
export function setRsaKeySource(source: RsaKeySource | undefined): void {
  rsaKeySource = source ?? generateRsaKey
}

async function rsaKeyPair(): Promise<{ node: KeyObject; forge: forge.pki.rsa.KeyPair }> {
  const privateKey = await rsaKeySource()
  const details = privateKey.asymmetricKeyDetails
  if (privateKey.type !== 'private' || privateKey.asymmetricKeyType !== 'rsa' || details?.modulusLength !== RSA_BITS || details.publicExponent !== 0x10001n) {
    throw new Error(`the development PKI needs RSA-${RSA_BITS} private keys with exponent 65537`)
  }
  const priv = forge.pki.privateKeyFromPem(privateKey.export({ type: 'pkcs1', format: 'pem' }).toString()) as forge.pki.rsa.PrivateKey
  return { node: privateKey, forge: { privateKey: priv, publicKey: forge.pki.setRsaPublicKey(priv.n, priv.e) } }
}

/** Names as UTF8String (issuer names are Chinese); serialNumber is a PrintableString in X.520. */
function subject(attrs: Record<string, string>): forge.pki.CertificateField[] {
  const { UTF8, PRINTABLESTRING } = forge.asn1.Type
  // The typings declare valueTagClass as a class, but forge reads it as the universal type.
  const tag = (name: string) => (name === 'serialNumber' ? PRINTABLESTRING : UTF8) as unknown as forge.asn1.Class
  return Object.entries(attrs).map(([name, value]) => ({ name, value, valueTagClass: tag(name) }))
}

/** A positive 128-bit serial number, hex (the top bit cleared so DER keeps it positive). */
function randomSerial(): string {
  const bytes = randomBytes(16)
  bytes[0] = bytes[0]! & 0x7f
  return bytes.toString('hex')
}

function period(years: number): { notBefore: Date; notAfter: Date } {
  const notBefore = new Date(Date.now() - CLOCK_SKEW_MS)
  const notAfter = new Date(notBefore)
  notAfter.setUTCFullYear(notAfter.getUTCFullYear() + years)
  return { notBefore, notAfter }
}

function validity(cert: forge.pki.Certificate, years: number): void {
  const { notBefore, notAfter } = period(years)
  cert.validity.notBefore = notBefore
  cert.validity.notAfter = notAfter
}

// forge exports it (cert.sign uses it); its typings do not declare it.
interface ForgeTbs {
  getTBSCertificate(cert: forge.pki.Certificate): forge.asn1.Asn1
}

/**
 * Signs `cert` with SHA-256 and RSA as forge's cert.sign does (the same algorithm identifiers and
 * TBSCertificate), the signature itself by node:crypto: forge's RSA arithmetic is JavaScript,
 * about 0.2 s of CPU a signature.
 */
function signCertificate(cert: forge.pki.Certificate, key: KeyObject): void {
  const oid = forge.pki.oids.sha256WithRSAEncryption!
  cert.md = forge.md.sha256.create()
  cert.signatureOid = oid
  cert.siginfo.algorithmOid = oid
  cert.tbsCertificate = (forge.pki as unknown as ForgeTbs).getTBSCertificate(cert)
  const tbs = Buffer.from(forge.asn1.toDer(cert.tbsCertificate).getBytes(), 'binary')
  cert.signature = sign('sha256', tbs, key).toString('binary')
}

function makeRoot(keys: forge.pki.rsa.KeyPair, key: KeyObject): forge.pki.Certificate {
  const cert = forge.pki.createCertificate()
  cert.publicKey = keys.publicKey
  cert.serialNumber = randomSerial()
  validity(cert, ROOT_YEARS)
  cert.setSubject(subject({ commonName: ROOT_CN, organizationName: ROOT_O }))
  cert.setIssuer(cert.subject.attributes)
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ])
  signCertificate(cert, key)
  return cert
}

function makeIssuerCert(issuer: { code: string; name: string }, keys: forge.pki.rsa.KeyPair, root: forge.pki.Certificate, rootKey: KeyObject): forge.pki.Certificate {
  const cert = forge.pki.createCertificate()
  cert.publicKey = keys.publicKey
  cert.serialNumber = randomSerial()
  validity(cert, ISSUER_YEARS)
  cert.setSubject(subject({ commonName: issuer.name, organizationName: issuer.name, serialNumber: issuer.code }))
  cert.setIssuer(root.subject.attributes)
  cert.setExtensions([
    { name: 'basicConstraints', cA: false },
    // A document-signing key: signatures and non-repudiation, never certificate signing.
    { name: 'keyUsage', digitalSignature: true, nonRepudiation: true, critical: true },
    { name: 'subjectKeyIdentifier' },
    { name: 'authorityKeyIdentifier', keyIdentifier: root.generateSubjectKeyIdentifier().getBytes() },
  ])
  signCertificate(cert, rootKey)
  return cert
}

function toP12(code: string, key: forge.pki.rsa.PrivateKey, chain: forge.pki.Certificate[]): Buffer {
  // AES-256 (PBES2, PBKDF2-HMAC-SHA-256) rather than forge's 3DES, and 2,048 iterations for the
  // key and the MAC: what OpenSSL 3's `pkcs12 -export` writes. forge iterates in JavaScript (10,000
  // took about 1 s of CPU a file), and the password of these development files is published.
  const options = { algorithm: 'aes256', prfAlgorithm: 'sha256', count: 2_048, friendlyName: code } as const
  const asn1 = forge.pkcs12.toPkcs12Asn1(key, chain, DEV_P12_PASSWORD, options)
  return Buffer.from(forge.asn1.toDer(asn1).getBytes(), 'binary')
}

function dataProtectionKeys(): string {
  const key = () => randomBytes(KEY_BYTES).toString('base64')
  const json = { blindIndexKey: key(), encryptionKeys: [{ id: 'dev-1', key: key() }], activeKeyId: 'dev-1' }
  return `${JSON.stringify(json, null, 2)}\n`
}

const pkcs8 = (key: KeyObject): string => key.export({ type: 'pkcs8', format: 'pem' }).toString()

/** The SM2 root and its issuers' certificates and keys (no .p12: forge cannot wrap an SM2 key). */
function sm2Pki(issuers: readonly DevIssuer[]): { rootPem: string; files: Record<string, string> } {
  const root = generateSm2KeyPair()
  const rootPem = makeSm2Certificate({ subject: SM2_ROOT, subjectKey: root, selfKey: root.key, ca: true, ...period(ROOT_YEARS) })
  const files: Record<string, string> = { [DEV_CA_SM2_CERT_FILE]: rootPem, [DEV_CA_SM2_PRIVATE_KEY_FILE]: root.privateKeyPem }
  for (const issuer of issuers) {
    const keys: Sm2KeyPair = generateSm2KeyPair()
    const subject = { commonName: issuer.name, organizationName: issuer.name, serialNumber: issuer.code }
    files[issuerCertFile(issuer.code)] = makeSm2Certificate({ subject, subjectKey: keys, issuer: { subject: SM2_ROOT, key: root.key, spki: root.spki }, ca: false, ...period(ISSUER_YEARS) })
    files[issuerPrivateKeyFile(issuer.code)] = keys.privateKeyPem
  }
  return { rootPem, files }
}

/**
 * A fresh development PKI: a self-signed RSA root and one RSA signing certificate per RSA
 * issuer (PEM key, PEM certificate, and a .p12 with key, certificate and root); a self-signed
 * SM2 root (SM2-with-SM3) and one SM2 signing certificate and PKCS#8 key per SM2 issuer; the
 * trust bundle with both roots; and the service's data-protection keys. Development only: every
 * key is meant to be published in keys.example/. Pure: the caller decides where the files go.
 */
export async function generateDevPki(issuers: readonly DevIssuer[]): Promise<DevPki> {
  const rsaIssuers = issuers.filter((i) => i.keyType !== 'sm2')
  const [rootKeys, ...issuerKeys] = await Promise.all([rsaKeyPair(), ...rsaIssuers.map(() => rsaKeyPair())])
  const root = makeRoot(rootKeys!.forge, rootKeys!.node)
  const rootPem = forge.pki.certificateToPem(root)
  const sm2 = sm2Pki(issuers.filter((i) => i.keyType === 'sm2'))
  const files: Record<string, string | Buffer> = {
    [DEV_CA_CERT_FILE]: rootPem,
    [DEV_CA_PRIVATE_KEY_FILE]: pkcs8(rootKeys!.node),
    [DEV_TRUST_ANCHORS_FILE]: rootPem + sm2.rootPem,
    [DEV_DATA_PROTECTION_FILE]: dataProtectionKeys(),
    ...sm2.files,
  }
  rsaIssuers.forEach((issuer, i) => {
    const keys = issuerKeys[i]!
    const cert = makeIssuerCert(issuer, keys.forge, root, rootKeys!.node)
    files[issuerCertFile(issuer.code)] = forge.pki.certificateToPem(cert)
    files[issuerPrivateKeyFile(issuer.code)] = pkcs8(keys.node)
    files[issuerP12File(issuer.code)] = toP12(issuer.code, keys.forge.privateKey, [cert, root])
  })
  return { files }
}

/** True for files of a PKI that hold secrets (written mode 0600): private keys, .p12, data-protection keys. */
export function isSecretPkiFile(name: string): boolean {
  return name.endsWith('.private.pem') || name.endsWith('.p12') || name === DEV_DATA_PROTECTION_FILE
}
