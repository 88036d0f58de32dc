import { createHash, createPublicKey } from 'node:crypto'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, join } from 'node:path'
import { commandLine, runScript, type ShellRun } from './shell.js'

export type TestKeyType = 'p256' | 'ed25519' | 'rsa2048' | 'rsa1024' | 'p384' | 'sm2'

export interface IssuedCert {
  certPem: string
  /** The leaf, then the intermediate(s) that issued it, if any. */
  chainPem: string
  /** PKCS#8 PEM. */
  privateKeyPem: string
  /** RFC 7638 SHA-256 thumbprint of the public key. */
  kid: string
  /** The JWS algorithm the service would accept for this key, if any. */
  alg: 'ES256' | 'EdDSA' | 'RS256' | 'SM2' | undefined
  keyType: TestKeyType
}

export interface IssueOptions {
  /** Default p256. */
  keyType?: TestKeyType
  /** basicConstraints CA:TRUE (keyUsage stays as given). */
  ca?: boolean
  /** basicConstraints pathlen, with `ca`. */
  pathLen?: number
  /** openssl syntax; default 'critical,digitalSignature,nonRepudiation'; 'none' omits the extension. */
  keyUsage?: string
  /** Validity from now; default 365. */
  days?: number
  /** Valid from 30 days ago until yesterday. */
  expired?: boolean
  /** Valid from tomorrow. */
  notYetValid?: boolean
  /** Signed by the PKI's intermediate CA (made on first use) instead of the root. */
  viaIntermediate?: boolean
  /** Signed by this certificate's key instead (its chain is appended): for broken intermediates. */
  issuedBy?: IssuedCert
  /** Goes into `-subj /CN=…`, so no '/' in it. */
  subjectCN?: string
  /**
   * When the signer's key is SM2: the distinguishing ID it signs the certificate with (default
   * 1234567812345678; '' leaves it to OpenSSL 3.0's default, the empty ID).
   */
  signerDistId?: string
}

export const SM2_DIST_ID = 'distid:1234567812345678'

export interface TestPki {
  dir: string
  /** The root CA certificate. */
  anchorsPem: string
  root: IssuedCert
  issue(opts?: IssueOptions): IssuedCert
}

const DAY = 86_400_000
const tempDirs: string[] = []
const roots = new WeakSet<IssuedCert>()
process.once('exit', () => tempDirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })))

// `openssl ca` (not `x509 -req`) because OpenSSL 3.0 can only set an explicit start date there.
const config = (dir: string) => `
[ req ]
distinguished_name = dn
[ dn ]
[ ca ]
default_ca = test_ca
[ test_ca ]
database = ${dir}/index.txt
new_certs_dir = ${dir}/issued
default_md = default
policy = any_name
unique_subject = no
rand_serial = yes
copy_extensions = none
email_in_dn = no
[ any_name ]
commonName = supplied
`

const NEW_KEY: Record<TestKeyType, string[]> = {
  p256: ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'],
  p384: ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-384'],
  ed25519: ['-newkey', 'ed25519'],
  rsa2048: ['-newkey', 'rsa:2048'],
  rsa1024: ['-newkey', 'rsa:1024'],
  // OpenSSL 3.0 signs the request with an empty ID unless told; the CA checks it with the same.
  sm2: ['-newkey', 'sm2', '-sm3', '-sigopt', SM2_DIST_ID],
}
const ALG: Record<TestKeyType, IssuedCert['alg']> = { p256: 'ES256', ed25519: 'EdDSA', rsa2048: 'RS256', rsa1024: undefined, p384: undefined, sm2: 'SM2' }

/** RFC 7638 by hand (sync), so the helper does not reuse the code under test. */
function thumbprint(privateKeyPem: string): string {
  if (createPublicKey(privateKeyPem).asymmetricKeyType === undefined) {
    // SM2 (node:crypto cannot export it as a JWK): the SPKI ends with the 64 bytes x ‖ y.
    const spki = createPublicKey(privateKeyPem).export({ type: 'spki', format: 'der' })
    const xy = spki.subarray(spki.length - 64)
    const members = { crv: 'SM2', kty: 'EC', x: xy.subarray(0, 32).toString('base64url'), y: xy.subarray(32).toString('base64url') }
    return createHash('sha256').update(JSON.stringify(members)).digest('base64url')
  }
  const jwk = createPublicKey(privateKeyPem).export({ format: 'jwk' })
  const members = jwk.kty === 'RSA' ? { e: jwk.e, kty: jwk.kty, n: jwk.n } : jwk.kty === 'EC' ? { crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y } : { crv: jwk.crv, kty: jwk.kty, x: jwk.x }
  return createHash('sha256').update(JSON.stringify(members)).digest('base64url')
}

// openssl ca takes YYYYMMDDHHMMSSZ.
const asn1Time = (ms: number) => new Date(ms).toISOString().replace(/[-:T]/g, '').replace(/\.\d{3}/, '')

function validity(opts: IssueOptions): [number, number] {
  const now = Date.now()
  if (opts.expired) return [now - 30 * DAY, now - DAY]
  if (opts.notYetValid) return [now + DAY, now + 30 * DAY]
  return [now - 3_600_000, now + (opts.days ?? 365) * DAY]
}

function extensions(opts: IssueOptions): string {
  const pathLen = opts.ca && opts.pathLen !== undefined ? `,pathlen:${opts.pathLen}` : ''
  const lines = [`basicConstraints = critical,CA:${opts.ca ? 'TRUE' : 'FALSE'}${pathLen}`, 'subjectKeyIdentifier = hash', 'authorityKeyIdentifier = keyid:always']
  const keyUsage = opts.keyUsage ?? 'critical,digitalSignature,nonRepudiation'
  if (keyUsage !== 'none') lines.push(`keyUsage = ${keyUsage}`)
  return `[ ext ]\n${lines.join('\n')}\n`
}

/**
 * Runs openssl commands one after the other, in the helper shell (test/helpers/shell.ts), and
 * returns what the run printed. Stops at the first command that fails.
 */
export function opensslRun(...commands: string[][]): ShellRun {
  return runScript(commands.map((args) => commandLine(['openssl', ...args])).join(' && '))
}

/** opensslRun, throwing with openssl's message when a command fails. */
export function openssl(...commands: string[][]): void {
  const run = opensslRun(...commands)
  if (run.status !== 0) throw new Error(`openssl ${commands.map((c) => c[0]).join(', ')} failed: ${run.stderr}`)
}

/** Makes a key and a certificate for it; without `signer` the certificate is self-signed. */
function makeCert(dir: string, n: number, opts: IssueOptions, signer: IssuedCert | undefined): IssuedCert {
  const f = (name: string) => join(dir, `${n}.${name}`)
  const cfg = join(dir, 'openssl.cnf')
  const subject = `/CN=${opts.subjectCN ?? `Zhengzhao test ${n}`}`
  const request = ['req', '-new', ...NEW_KEY[opts.keyType ?? 'p256'], '-noenc', '-keyout', f('key.pem'), '-out', f('csr.pem'), '-subj', subject, '-config', cfg]
  writeFileSync(f('ext.cnf'), extensions(opts))
  if (signer) {
    writeFileSync(f('ca.pem'), signer.certPem)
    writeFileSync(f('ca.key'), signer.privateKeyPem)
  }
  const [from, until] = validity(opts)
  const signWith = signer ? ['-cert', f('ca.pem'), '-keyfile', f('ca.key')] : ['-selfsign', '-keyfile', f('key.pem')]
  const signerKeyType = signer ? signer.keyType : (opts.keyType ?? 'p256')
  const distId = opts.signerDistId ?? '1234567812345678'
  const sm2Signing = signerKeyType === 'sm2' ? ['-md', 'sm3', ...(distId === '' ? [] : ['-sigopt', `distid:${distId}`])] : []
  const sm2Request = opts.keyType === 'sm2' ? ['-vfyopt', SM2_DIST_ID] : []
  openssl(request, ['ca', '-batch', '-notext', '-config', cfg, ...signWith, ...sm2Signing, ...sm2Request, '-in', f('csr.pem'), '-out', f('cert.pem'), '-startdate', asn1Time(from), '-enddate', asn1Time(until), '-extfile', f('ext.cnf'), '-extensions', 'ext'])
  const certPem = readFileSync(f('cert.pem'), 'utf8')
  const privateKeyPem = readFileSync(f('key.pem'), 'utf8')
  // A root is never sent in a chain; any other signer is, with whatever chain it has itself.
  const chainPem = signer && !roots.has(signer) ? certPem + signer.chainPem : certPem
  return { certPem, chainPem, privateKeyPem, kid: thumbprint(privateKeyPem), alg: ALG[opts.keyType ?? 'p256'], keyType: opts.keyType ?? 'p256' }
}

/** A new test PKI: a root CA (P-256 by default) and, on first use, an intermediate under it. */
export function createTestPki(opts: { rootKeyType?: 'p256' | 'rsa2048' | 'sm2'; rootExpired?: boolean } = {}): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'zz-pki-'))
  tempDirs.push(dir)
  mkdirSync(join(dir, 'issued'))
  writeFileSync(join(dir, 'index.txt'), '')
  writeFileSync(join(dir, 'openssl.cnf'), config(dir))
  let n = 0
  const root = makeCert(dir, n++, { keyType: opts.rootKeyType ?? 'p256', ca: true, keyUsage: 'critical,keyCertSign,cRLSign', days: 3650, expired: opts.rootExpired, subjectCN: `Zhengzhao test root ${basename(dir)}` }, undefined)
  roots.add(root)
  let intermediate: IssuedCert | undefined
  const issue = (o: IssueOptions = {}): IssuedCert => {
    if (o.viaIntermediate && !o.issuedBy) {
      intermediate ??= makeCert(dir, n++, { keyType: root.keyType === 'sm2' ? 'sm2' : 'p256', ca: true, keyUsage: 'critical,keyCertSign,cRLSign', days: 1825, subjectCN: `Zhengzhao test intermediate ${basename(dir)}` }, root)
      return makeCert(dir, n++, o, intermediate)
    }
    return makeCert(dir, n++, o, o.issuedBy ?? root)
  }
  return { dir, anchorsPem: root.certPem, root, issue }
}

/** A PKI whose root expired yesterday: leaves it issues are themselves in their validity period. */
export function createExpiredRootPki(): TestPki {
  return createTestPki({ rootExpired: true })
}
