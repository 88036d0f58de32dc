import { X509Certificate } from 'node:crypto'
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import t, { type Test } from 'tap'
import { OfdError } from '../../src/ofd/errors.js'
import { createOfdPool, installedOfdPoolStats, installOfdPool, verifyOfdFile, type OfdFileVerification, type OfdPool } from '../../src/ofd/pool.js'
import { verifyOfd, type OfdVerification, type OfdVerifyOptions } from '../../src/ofd/verify.js'
import { bearer, buildTestApp } from '../helpers/app.js'
import { makeSealedOfd, makeTamperedOfd, OFD_TAMPERINGS, ofdTestPki, zipFiles } from '../helpers/ofd.js'
import { skipMessage, vector, VECTORS_DIR, vectorsPresent } from '../helpers/vectors.js'

// The pool answers exactly what verifyOfd answers on the calling thread: the same result for
// every real vector and every fixture, the same OfdError code for every hostile archive, and a
// precise VERIFIER_FAILED (never a hang) when its worker dies.

const anchors = () => [new X509Certificate(ofdTestPki().anchorsPem)]

/** What callers read of a verification (files aside: the pool sends them back only when asked). */
const shape = (v: OfdVerification | OfdFileVerification) => ({ code: v.code, resultText: v.resultText, checks: v.checks, uncovered: v.uncovered, signatures: v.signatures })

async function samePoolAndInProcess(t: Test, pool: OfdPool, bytes: Buffer, opts: OfdVerifyOptions, what: string) {
  const here = await verifyOfd(bytes, opts)
  const there = await pool.verify(bytes, opts)
  t.same(shape(there), shape(here), `${what}: code ${here.code}, the same checks and uncovered files`)
  for (const [i, s] of there.signatures.entries()) {
    if (s.signerCertificate) t.ok(Buffer.isBuffer(s.signerCertificate) && s.signerCertificate.equals(here.signatures[i]!.signerCertificate!), `${what}: signature ${i}'s certificate is a Buffer again`)
  }
}

const errorOf = (p: Promise<unknown>) => p.then(() => undefined, (e: unknown) => e)

// The tests of what the pool answers share one pool: each worker thread it starts loads the
// verifier's modules through tsx, about 0.8 s of CPU. Starting, failing and closing
// workers are tested below on pools of their own.
const shared = createOfdPool(2)
t.teardown(() => shared.close())

t.test('the real vectors: the pool gives verifyOfd\'s result', async (t) => {
  if (!vectorsPresent('ofd')) {
    t.pass(skipMessage('ofd'))
    return
  }
  const pool = shared
  const names = readdirSync(join(VECTORS_DIR, 'ofd')).filter((n) => n.endsWith('.ofd'))
  t.ok(names.length >= 7, `${names.length} sealed files`)
  for (const name of names) await samePoolAndInProcess(t, pool, vector('ofd', name)!, { anchors: [] }, name)
})

t.test('the fixtures: a sealed file and every tampering, through the pool', async (t) => {
  const pool = shared
  const before = pool.stats()
  const sealed = makeSealedOfd({ pages: 2 })
  await samePoolAndInProcess(t, pool, sealed.bytes, { anchors: anchors() }, 'sealed')
  t.equal((await pool.verify(sealed.bytes, { anchors: anchors() })).code, 0, 'and it verifies: 0')
  await samePoolAndInProcess(t, pool, makeSealedOfd({ sealCertList: 'digests' }).bytes, { anchors: anchors() }, 'seal listing digests')
  for (const kind of OFD_TAMPERINGS) {
    const tampered = makeTamperedOfd(kind)
    await samePoolAndInProcess(t, pool, tampered.bytes, { anchors: anchors() }, kind)
    t.not((await pool.verify(tampered.bytes, { anchors: anchors() })).code, 0, `${kind} is caught through the pool`)
  }
  // The seal's chain completed by an intermediate sent with the task, and none without it.
  await samePoolAndInProcess(t, pool, sealed.bytes, { anchors: [] }, 'no anchors')
  const tasks = pool.stats().tasks - before.tasks
  t.ok(tasks >= 2 * OFD_TAMPERINGS.length, `${tasks} files went to the workers`)
  t.equal(pool.stats().failures, before.failures)
})

t.test('the caller keeps its bytes; the files come back when asked, as Buffers', async (t) => {
  const pool = shared
  const sealed = makeSealedOfd()
  const copy = Buffer.from(sealed.bytes)
  const v = await pool.verify(sealed.bytes, { anchors: anchors(), withFiles: true })
  t.ok(sealed.bytes.equals(copy), 'the Buffer passed in is intact (a copy was moved, not it)')
  t.equal(v.files?.size, sealed.files.size)
  for (const [path, bytes] of sealed.files) t.ok(Buffer.isBuffer(v.files?.get(path)) && v.files!.get(path)!.equals(bytes), path)
  t.equal((await pool.verify(sealed.bytes, { anchors: anchors() })).files, undefined, 'not sent back unless asked')
  // A Buffer that is a slice of a larger one (Node's pool): only its own bytes are sent.
  const padded = Buffer.concat([Buffer.from('junk'), sealed.bytes, Buffer.from('junk')])
  t.equal((await pool.verify(padded.subarray(4, 4 + sealed.bytes.length), { anchors: anchors() })).code, 0)
})

t.test('hostile archives: the same OfdError code through the pool', async (t) => {
  const pool = shared
  const failuresBefore = pool.stats().failures
  const ofdXml = '<?xml version="1.0"?><ofd:OFD xmlns:ofd="http://www.ofdspec.org/2016"><ofd:DocBody><ofd:Signatures>/Doc_0/Signs/Signatures.xml</ofd:Signatures></ofd:DocBody></ofd:OFD>'
  const zip = (entries: [string, string | Buffer][]) => zipFiles(new Map(entries.map(([n, d]) => [n, Buffer.isBuffer(d) ? d : Buffer.from(d)])))
  const good = zip([['OFD.xml', ofdXml]])
  const cases: [string, Buffer, string][] = [
    ['zip bomb', zip([['OFD.xml', ofdXml], ['Doc_0/Res/bomb.bin', Buffer.alloc(100 << 20)]]), 'ARCHIVE_ENTRY_TOO_LARGE'],
    ['../ path', zip([['OFD.xml', ofdXml], ['../evil.xml', 'x']]), 'ARCHIVE_PATH_INVALID'],
    ['truncated', good.subarray(0, good.length - 10), 'ARCHIVE_INVALID'],
    ['not a zip', Buffer.from('%PDF-1.7'), 'ARCHIVE_INVALID'],
    ['XXE', zip([['OFD.xml', '<?xml version="1.0"?><!DOCTYPE o [<!ENTITY x SYSTEM "file:///etc/passwd">]><o>&x;</o>']]), 'XML_DTD_NOT_ALLOWED'],
    ['not sealed', zip([['OFD.xml', '<ofd:OFD xmlns:ofd="http://www.ofdspec.org/2016"/>']]), 'OFD_STRUCTURE_INVALID'],
  ]
  const entries: [string, string][] = [['OFD.xml', ofdXml]]
  for (let i = 0; i < 5_000; i++) entries.push([`Doc_0/Res/${i}.txt`, ''])
  cases.push(['5,000 entries', zip(entries), 'ARCHIVE_TOO_MANY_ENTRIES'])
  for (const [what, bytes, code] of cases) {
    const here = await errorOf(verifyOfd(bytes, { anchors: [] }))
    const there = await errorOf(pool.verify(bytes, { anchors: [] }))
    t.type(there, OfdError, `${what}: an OfdError through the pool`)
    t.equal((there as OfdError).code, code, `${what}: ${code}`)
    t.equal((there as OfdError).code, (here as OfdError).code, `${what}: as on the calling thread`)
  }
  t.equal(pool.stats().failures, failuresBefore, 'a refused file is an answer, not a worker failure')
})

t.test('a worker that dies, hangs or cannot start: VERIFIER_FAILED, never a hang', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'zz-ofd-pool-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const worker = (name: string, body: string) => {
    writeFileSync(join(dir, name), body)
    return pathToFileURL(join(dir, name)).href
  }
  const sealed = makeSealedOfd()
  const cases: [string, string, number][] = [
    ['exits mid-task', worker('exits.mjs', 'export default () => process.exit(3)'), 60_000],
    ['throws something not an OfdError', worker('throws.mjs', 'export default () => { throw new TypeError("a bug") }'), 60_000],
    ['never answers', worker('hangs.mjs', 'export default () => new Promise(() => {})'), 300],
    ['cannot be loaded', pathToFileURL(join(dir, 'absent.mjs')).href, 60_000],
  ]
  for (const [what, file, timeout] of cases) {
    const heard: unknown[] = []
    const pool = createOfdPool(1, (err) => heard.push(err), file, timeout)
    const err = await errorOf(pool.verify(sealed.bytes, { anchors: anchors() }))
    t.type(err, OfdError, what)
    t.equal((err as OfdError).code, 'VERIFIER_FAILED', `${what}: VERIFIER_FAILED`)
    t.ok(heard.length >= 1, `${what}: the failure is reported`)
    t.equal(pool.stats().failures, 1)
    await pool.close()
  }
})

t.test('closing: the workers end, a later file starts them again, the installed pool is uninstalled', async (t) => {
  const pool = createOfdPool(2)
  const sealed = makeSealedOfd()
  await Promise.all([1, 2, 3, 4].map(() => pool.verify(sealed.bytes, { anchors: anchors() })))
  t.ok(pool.stats().threads >= 1, `${pool.stats().threads} thread(s) running`)
  await pool.close()
  t.equal(pool.stats().threads, 0, 'none after close')
  t.equal((await pool.verify(sealed.bytes, { anchors: anchors() })).code, 0, 'a later file starts the pool again')
  await pool.close()

  const installed = installOfdPool(1)
  t.equal((await verifyOfdFile(sealed.bytes, { anchors: anchors() })).code, 0, 'through the installed pool')
  t.equal(installed.pool?.stats().tasks, 1, 'the file went to the installed pool')
  await installed.close()
  const here = await verifyOfdFile(sealed.bytes, { anchors: anchors(), withFiles: true })
  t.equal(here.code, 0, 'after close, on the calling thread')
  t.equal(installed.pool?.stats().tasks, 1, 'not to the closed pool')
  t.equal(here.files?.size, sealed.files.size, 'files on the calling thread too, when asked')
  t.equal(installOfdPool(0).pool, undefined, 'OFD_THREADS=0: no pool')
})

t.test('POST /v1/verify {document}: the same answer with OFD_THREADS=2 as on the main thread (0), and the pool ends with the app', async (t) => {
  const sealed = makeSealedOfd()
  const tampered = makeTamperedOfd('page-byte-changed')
  const bomb = zipFiles(new Map([['OFD.xml', Buffer.from('<a/>')], ['Doc_0/Res/bomb.bin', Buffer.alloc(100 << 20)]]))
  const answers: Record<string, unknown[]> = {}
  for (const threads of ['0', '2']) {
    const app = await buildTestApp(t, { OFD_THREADS: threads })
    const auth = await bearer(['auditor'])
    answers[threads] = []
    for (const bytes of [sealed.bytes, tampered.bytes, bomb]) {
      const res = await app.inject({ method: 'POST', url: '/v1/verify', headers: auth, payload: { document: bytes.toString('base64') } })
      t.equal(res.statusCode, 200, `OFD_THREADS=${threads}: answered, not an error`)
      const { result, checks, document } = res.json()
      answers[threads]!.push({ result, checks, document })
    }
    if (threads === '2') t.equal(installedOfdPoolStats().tasks, 3, 'the three files went to the workers')
    await app.close()
    t.equal(installedOfdPoolStats().threads, 0, `OFD_THREADS=${threads}: no worker left after close`)
  }
  t.same(answers['2'], answers['0'], 'result, checks and the seals\' answer are the same')
  t.match(answers['2']![2], { result: 4, checks: [{ check: 'format', outcome: 'fail', reason: 'ARCHIVE_ENTRY_TOO_LARGE' }] }, 'the zip bomb is result 4 with its code')
})
