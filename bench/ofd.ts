// The sealed-OFD scenario of the bench (--ofd): certificates that carry their sealed OFD file,
// pushed one per request against the running service (each file's seals verified on the
// service's OFD worker threads), against verifying the same files alone on a pool of as many
// threads (src/ofd/pool.ts, the service's own), with the same number in flight. The files are
// made by test/helpers/ofd.ts's makeSealedOfd (its SM2 signatures by the openssl CLI), sealed
// with a signer and a seal maker certified by the development SM2 root, so the service trusts them.
import { execFileSync } from 'node:child_process'
import { createHash, createPublicKey, X509Certificate } from 'node:crypto'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { EXAMPLE_KEYS_DIR } from '../src/config.js'
import { DEV_CA_SM2_CERT_FILE, DEV_CA_SM2_PRIVATE_KEY_FILE } from '../src/crypto/devCa.js'
import { keyThumbprint } from '../src/crypto/keys.js'
import { createOfdPool } from '../src/ofd/pool.js'
import { verifyOfd } from '../src/ofd/verify.js'
import { makeSealedOfd } from '../test/helpers/ofd.js'
import type { IssuedCert } from '../test/helpers/pki.js'
import type { CpuShare } from './cpu.js'
import { certificatePayload, serialOf, type CertificateSigner } from './synthetic.js'

const DIST_ID = 'distid:1234567812345678'

export interface OfdFigures {
  threads: number
  files: number
  pages: number
  /** Mean size of a file, in bytes. */
  meanBytes: number
  /** Pushes in flight in the bulk load, and files in flight in verification alone. */
  concurrency: number
  /** Certificates with their file pushed through POST /v1/certificates. */
  bulk: { created: number; seconds: number; perSecond: number }
  bulkCpu?: CpuShare | undefined
  /** The same files through createOfdPool(threads). */
  alone: { seconds: number; perSecond: number }
  /** verifyOfd on the bench's own thread, one file after another: milliseconds per file on one core. */
  perCore: { files: number; msPerFile: number }
}

function openssl(args: string[]): void {
  try {
    execFileSync('openssl', args, { stdio: 'pipe' })
  } catch (err) {
    throw new Error(`openssl ${args[0]} failed: ${String((err as { stderr?: Buffer }).stderr ?? err)}`)
  }
}

/** An SM2 key and an end-entity certificate for it, issued by the development SM2 root. */
async function issueSm2(dir: string, name: string, cn: string): Promise<IssuedCert> {
  const f = (ext: string) => join(dir, `${name}.${ext}`)
  openssl(['genpkey', '-algorithm', 'SM2', '-out', f('key.pem')])
  openssl(['req', '-new', '-key', f('key.pem'), '-sm3', '-sigopt', DIST_ID, '-subj', `/CN=${cn}`, '-out', f('csr.pem')])
  writeFileSync(f('ext.cnf'), 'basicConstraints = critical,CA:FALSE\nkeyUsage = critical,digitalSignature,nonRepudiation\nsubjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid:always\n')
  openssl([
    'x509', '-req', '-in', f('csr.pem'), '-CA', join(EXAMPLE_KEYS_DIR, DEV_CA_SM2_CERT_FILE), '-CAkey', join(EXAMPLE_KEYS_DIR, DEV_CA_SM2_PRIVATE_KEY_FILE),
    '-sm3', '-sigopt', DIST_ID, '-vfyopt', DIST_ID, '-set_serial', `0x${Date.now().toString(16)}${name.length}`, '-days', '30', '-extfile', f('ext.cnf'), '-out', f('cert.pem'),
  ])
  const certPem = readFileSync(f('cert.pem'), 'utf8')
  return { certPem, chainPem: certPem, privateKeyPem: readFileSync(f('key.pem'), 'utf8'), kid: await keyThumbprint(createPublicKey(certPem)), alg: 'SM2', keyType: 'sm2' }
}

/** The seal's signer (registered as the bench issuer's key) and its maker, both under the development SM2 root. */
export async function makeOfdParties(dir: string): Promise<{ signer: IssuedCert; maker: IssuedCert; anchors: X509Certificate[] }> {
  return {
    signer: await issueSm2(dir, 'ofd-signer', 'Zhengzhao bench OFD seal signer'),
    maker: await issueSm2(dir, 'ofd-maker', 'Zhengzhao bench OFD seal maker'),
    anchors: [new X509Certificate(readFileSync(join(EXAMPLE_KEYS_DIR, DEV_CA_SM2_CERT_FILE)))],
  }
}

/** What a certificate's signed payload says of its file (DESIGN.md §9): the digest binds the metadata to the bytes. */
export function documentDeclaration(bytes: Buffer): { mediaType: 'application/ofd'; sm3: string; size: number } {
  return { mediaType: 'application/ofd', sm3: createHash('sm3').update(bytes).digest('hex'), size: bytes.length }
}

/** The push body of the i-th certificate of the scenario: its payload names the file, the file rides along in base64. */
export async function ofdPush(signer: CertificateSigner, prefix: string, i: number, holder: number, file: Buffer): Promise<{ certificate: string; document: string }> {
  const payload = { ...certificatePayload(serialOf(prefix, i), holder), document: documentDeclaration(file) }
  return { certificate: await signer.sign(payload), document: file.toString('base64') }
}

/** `count` distinct sealed files (each its own seal signature: two openssl runs a file). */
export function makeOfdFiles(parties: { signer: IssuedCert; maker: IssuedCert }, count: number, pages: number): Buffer[] {
  return Array.from({ length: count }, (_, i) => makeSealedOfd({ ...parties, pages, sealName: `证照基准测试专用章 ${i}` }).bytes)
}

/** Runs `work(i)` for i in [0, n) with at most `concurrency` in flight. */
async function lanes(n: number, concurrency: number, work: (i: number) => Promise<void>): Promise<void> {
  let next = 0
  await Promise.all(Array.from({ length: Math.min(concurrency, n) }, async () => {
    while (next < n) await work(next++)
  }))
}

/** Pushes each body with POST /v1/certificates, `concurrency` in flight; every one must be created. */
export async function pushWithDocuments(url: string, token: string, bodies: readonly { certificate: string; document: string }[], concurrency: number): Promise<OfdFigures['bulk']> {
  let created = 0
  const started = performance.now()
  await lanes(bodies.length, concurrency, async (i) => {
    const res = await fetch(`${url}/v1/certificates`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(bodies[i]),
      signal: AbortSignal.timeout(120_000),
    })
    if (res.status !== 201) throw new Error(`push with a document ${i}: HTTP ${res.status}: ${(await res.text()).slice(0, 500)}`)
    created++
  })
  const seconds = (performance.now() - started) / 1000
  return { created, seconds, perSecond: bodies.length / seconds }
}

/** The same files through a pool of `threads` workers, `concurrency` in flight, the workers started first. */
export async function verifyFilesAlone(files: readonly Buffer[], anchors: X509Certificate[], threads: number, concurrency: number): Promise<OfdFigures['alone']> {
  const pool = createOfdPool(threads)
  try {
    await Promise.all(files.slice(0, threads * 2).map((f) => pool.verify(f, { anchors })))
    let failed = 0
    const started = performance.now()
    await lanes(files.length, concurrency, async (i) => {
      if ((await pool.verify(files[i]!, { anchors })).code !== 0) failed++
    })
    const seconds = (performance.now() - started) / 1000
    if (failed > 0) throw new Error(`${failed} sealed files did not verify alone`)
    return { seconds, perSecond: files.length / seconds }
  } finally {
    await pool.close()
  }
}

/** verifyOfd on this thread, one file after another (a few first, to warm up): ms per file on one core. */
export async function ofdPerCore(files: readonly Buffer[], anchors: X509Certificate[], count = 100): Promise<OfdFigures['perCore']> {
  const sample = files.slice(0, Math.min(count, files.length))
  for (const f of sample.slice(0, 4)) await verifyOfd(f, { anchors })
  const started = performance.now()
  for (const f of sample) if ((await verifyOfd(f, { anchors })).code !== 0) throw new Error('a sealed file did not verify')
  return { files: sample.length, msPerFile: (performance.now() - started) / sample.length }
}

export interface OfdScenario {
  url: string
  adminToken: string
  issuerToken: string
  /** The run's certificate signer: the certificates are the run's own kind, each naming its file. */
  signer: CertificateSigner
  prefix: string
  /** The first certificate number of the scenario (past the run's others). */
  first: number
  holders: number
  threads: number
  files: number
  pages: number
  dir: string
  cpu(): { stop(): CpuShare }
  log(msg: string): void
}

/** Makes the files, registers their sealing key, pushes them, then verifies them alone and on one core. */
export async function runOfdScenario(s: OfdScenario, registerKey: (url: string, adminToken: string, certificatePem: string) => Promise<void>): Promise<OfdFigures> {
  const parties = await makeOfdParties(s.dir)
  await registerKey(s.url, s.adminToken, parties.signer.certPem)
  let t = performance.now()
  const files = makeOfdFiles(parties, s.files, s.pages)
  const bodies = await Promise.all(files.map((f, i) => ofdPush(s.signer, s.prefix, s.first + i, (s.first + i) % s.holders, f)))
  s.log(`made ${files.length} sealed OFD files of ${s.pages} page(s) in ${((performance.now() - t) / 1000).toFixed(1)} s; pushing them…`)
  const concurrency = Math.max(4, 2 * s.threads)
  // As verification alone does: the service's OFD workers started and their SM2 key tables built
  // (signer, seal maker, root; about 0.1 s each per thread) before the clock starts.
  const warm = Math.min(bodies.length - 1, 2 * s.threads)
  await pushWithDocuments(s.url, s.issuerToken, bodies.slice(0, warm), concurrency)
  const cpu = s.cpu()
  const bulk = await pushWithDocuments(s.url, s.issuerToken, bodies.slice(warm), concurrency)
  const bulkCpu = cpu.stop()
  s.log(`OFD bulk load: ${bulk.created} certificates with their file (after ${warm} to warm up) in ${bulk.seconds.toFixed(1)} s (${bulk.perSecond.toFixed(1)}/s)`)
  const alone = await verifyFilesAlone(files, parties.anchors, s.threads, concurrency)
  s.log(`the same files verified alone on ${s.threads} worker thread(s): ${alone.perSecond.toFixed(1)}/s`)
  const perCore = await ofdPerCore(files, parties.anchors)
  s.log(`one file on one core: ${perCore.msPerFile.toFixed(1)} ms`)
  const meanBytes = files.reduce((n, f) => n + f.length, 0) / files.length
  return { threads: s.threads, files: files.length, pages: s.pages, meanBytes, concurrency, bulk, bulkCpu, alone, perCore }
}
