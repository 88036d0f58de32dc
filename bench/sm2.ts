// The SM2 (国密) variant of the bench (--sm2): the bench's issuer gets an SM2 signing key,
// certified by the development SM2 root with the openssl CLI (the reference, as the tests use
// it), and the service signs with an SM2 service key. Verification alone runs the same worker
// pool the service runs (src/crypto/sm2Pool.ts), with as many threads, on the same signatures.
import { execFileSync } from 'node:child_process'
import { createPrivateKey, createPublicKey } from 'node:crypto'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { EXAMPLE_KEYS_DIR } from '../src/config.js'
import { DEV_CA_SM2_CERT_FILE, DEV_CA_SM2_PRIVATE_KEY_FILE } from '../src/crypto/devCa.js'
import { verifyJwsSignature, verifySm2Jws } from '../src/crypto/jwsVerify.js'
import { keyThumbprint } from '../src/crypto/keys.js'
import { sm2PrivateKeyOf, sm2PublicKeyOf, sm2Sign } from '../src/crypto/sm2.js'
import { installSm2Pool } from '../src/crypto/sm2Pool.js'
import type { VerifyAloneResult } from './load.js'
import { CERT_TYP, ISSUER_CODE, type CertificateSigner } from './synthetic.js'

const DIST_ID = 'distid:1234567812345678'

export interface Sm2Material {
  /** The issuer's SM2 signing certificate, signed SM2-with-SM3 by the development SM2 root. */
  certificatePem: string
  privateKeyPem: string
  /** An SM2 PKCS#8 key for SERVICE_KEYS. */
  serviceKeyFile: string
}

function openssl(args: string[]): void {
  try {
    execFileSync('openssl', args, { stdio: 'pipe' })
  } catch (err) {
    throw new Error(`openssl ${args[0]} failed: ${String((err as { stderr?: Buffer }).stderr ?? err)}`)
  }
}

/** A fresh SM2 issuer key and certificate and an SM2 service key in `dir` (OpenSSL 3.0 needs the ID passed every time). */
export function makeSm2Material(dir: string): Sm2Material {
  const f = (name: string) => join(dir, name)
  openssl(['genpkey', '-algorithm', 'SM2', '-out', f('issuer.key.pem')])
  openssl(['req', '-new', '-key', f('issuer.key.pem'), '-sm3', '-sigopt', DIST_ID, '-subj', `/CN=Zhengzhao bench SM2 issuer/serialNumber=${ISSUER_CODE}`, '-out', f('issuer.csr.pem')])
  writeFileSync(f('ext.cnf'), 'basicConstraints = critical,CA:FALSE\nkeyUsage = critical,digitalSignature,nonRepudiation\nsubjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid:always\n')
  openssl([
    'x509', '-req', '-in', f('issuer.csr.pem'), '-CA', join(EXAMPLE_KEYS_DIR, DEV_CA_SM2_CERT_FILE), '-CAkey', join(EXAMPLE_KEYS_DIR, DEV_CA_SM2_PRIVATE_KEY_FILE),
    '-sm3', '-sigopt', DIST_ID, '-vfyopt', DIST_ID, '-set_serial', `0x${Date.now().toString(16)}`, '-days', '30', '-extfile', f('ext.cnf'), '-out', f('issuer.cert.pem'),
  ])
  openssl(['genpkey', '-algorithm', 'SM2', '-out', f('service-sm2.key.pem')])
  return { certificatePem: readFileSync(f('issuer.cert.pem'), 'utf8'), privateKeyPem: readFileSync(f('issuer.key.pem'), 'utf8'), serviceKeyFile: f('service-sm2.key.pem') }
}

/** Adds the SM2 certificate to the bench's issuer (POST /v1/issuers/{code}/keys): it chains to the development SM2 root. */
export async function registerSm2Key(url: string, adminToken: string, certificatePem: string): Promise<void> {
  const res = await fetch(`${url}/v1/issuers/${ISSUER_CODE}/keys`, {
    method: 'POST',
    headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ certificate: certificatePem }),
  })
  if (!res.ok) throw new Error(`POST issuer key: HTTP ${res.status}: ${await res.text()}`)
}

const b64url = (text: string) => Buffer.from(text, 'utf8').toString('base64url')

/** The SM2 signer: the profile of DESIGN.md §3 with the key parsed once (the header as jose writes it for the others). */
export async function createSm2Signer(privateKeyPem: string): Promise<CertificateSigner> {
  const privateKey = createPrivateKey(privateKeyPem)
  const key = sm2PrivateKeyOf(privateKey)
  if (!key) throw new Error('not an SM2 private key')
  const kid = await keyThumbprint(privateKey)
  const header = b64url(JSON.stringify({ alg: 'SM2', kid, typ: CERT_TYP }))
  return {
    alg: 'SM2',
    kid,
    publicKey: createPublicKey(privateKey),
    sign: async (payload) => {
      const input = `${header}.${b64url(JSON.stringify(payload))}`
      return `${input}.${sm2Sign(key, Buffer.from(input, 'ascii')).toString('base64url')}`
    },
  }
}

/** Runs `work(i)` for i in [0, n) with at most `concurrency` in flight (as load.ts's bulk load does). */
async function lanes(n: number, concurrency: number, work: (i: number) => Promise<void>): Promise<void> {
  let next = 0
  await Promise.all(Array.from({ length: Math.min(concurrency, n) }, async () => {
    while (next < n) await work(next++)
  }))
}

/**
 * Verifies `jws` as the service's batch route does with SM2: verifyJwsSignature through an SM2
 * pool of `threads` workers, `batchSize` at once (its Promise.all) times `concurrency` batches.
 */
export async function verifyAloneSm2(jws: readonly string[], publicKeyPem: string, kid: string, batchSize: number, concurrency: number, threads: number): Promise<VerifyAloneResult> {
  const installed = installSm2Pool(threads)
  try {
    // Start the workers and build their key tables first: the service's are warm by the bulk load's end too.
    await Promise.all(jws.slice(0, threads * 4).map((j) => verifyJwsSignature(j, 'SM2', publicKeyPem, kid)))
    let invalid = 0
    const started = performance.now()
    await lanes(Math.ceil(jws.length / batchSize), concurrency, async (b) => {
      const ok = await Promise.all(jws.slice(b * batchSize, (b + 1) * batchSize).map((j) => verifyJwsSignature(j, 'SM2', publicKeyPem, kid)))
      invalid += ok.filter((v) => !v).length
    })
    const seconds = (performance.now() - started) / 1000
    if (invalid > 0) throw new Error(`${invalid} SM2 signatures did not verify alone`)
    return { signatures: jws.length, seconds, perSecond: jws.length / seconds }
  } finally {
    await installed.close()
  }
}

/** SM2 verifications per second on this thread alone (one core), the key's table built first. */
export function sm2PerCore(jws: readonly string[], publicKeyPem: string, count = 2000): VerifyAloneResult {
  const key = sm2PublicKeyOf(createPublicKey(publicKeyPem))
  if (!key) throw new Error('not an SM2 public key')
  const sample = jws.slice(0, Math.min(count, jws.length))
  for (const j of sample.slice(0, 4)) verifySm2Jws(j, key)
  const started = performance.now()
  for (const j of sample) if (!verifySm2Jws(j, key)) throw new Error('an SM2 signature did not verify')
  const seconds = (performance.now() - started) / 1000
  return { signatures: sample.length, seconds, perSecond: sample.length / seconds }
}
