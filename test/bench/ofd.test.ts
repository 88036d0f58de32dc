import { createHash } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { documentDeclaration, ofdPush } from '../../bench/ofd.js'
import { ofdTable, writeReport, type RunReport } from '../../bench/report.js'
import { createSigner, ISSUER_CODE } from '../../bench/synthetic.js'
import { committedPostgresRun } from '../helpers/benchData.js'

// The pure parts of the bench's sealed-OFD scenario (--ofd): what a pushed certificate says of its
// file, and how the figures are reported.

const { sm2: _sm2, ofd: _ofd, ...real } = committedPostgresRun()

t.test('a pushed certificate names its file by SM3 and size, and carries it in canonical base64', async (t) => {
  const file = Buffer.from('PK\x03\x04 not really a package, only bytes')
  const declared = documentDeclaration(file)
  t.same(declared, { mediaType: 'application/ofd', sm3: createHash('sm3').update(file).digest('hex'), size: file.length })
  const body = await ofdPush(await createSigner(), 'BTEST', 7, 3, file)
  t.equal(Buffer.from(body.document, 'base64').equals(file), true, 'the file rides along')
  const payload = JSON.parse(Buffer.from(body.certificate.split('.')[1]!, 'base64url').toString('utf8'))
  t.same(payload.document, declared, 'the signed payload declares the very bytes sent')
  t.equal(payload.issuer.code, ISSUER_CODE)
  t.match(payload.id, /\.BTEST000000007\.001\./, 'the i-th certificate of the run')
})

t.test('the OFD figures: a table with the ratio and one file\'s cost, in a section of their own', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'zhengzhao-report-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const file = join(dir, 'benchmarks.md')
  const plain = { ...real, rows: 2000, variant: '--max-old-space-size=128' }
  t.equal(ofdTable(plain), '', 'no table without the scenario')
  writeReport(file, plain)
  const ofd: RunReport = {
    ...plain,
    variant: 'ofd --max-old-space-size=128',
    ofd: {
      threads: 2, files: 100, pages: 2, meanBytes: 6144, concurrency: 4,
      bulk: { created: 96, seconds: 2.4, perSecond: 40 },
      alone: { seconds: 1.25, perSecond: 80 },
      perCore: { files: 100, msPerFile: 20 },
    },
  }
  writeReport(file, ofd)
  const text = readFileSync(file, 'utf8')
  t.equal(text.match(/<!-- bench-section postgres-2000-/g)?.length, 2, 'beside the plain run, not instead of it')
  const section = text.slice(text.indexOf('<!-- bench-section postgres-2000-ofd'))
  t.match(section, /## PostgreSQL, 2,000 certificates \(ofd --max-old-space-size=128\)/)
  t.match(section, '| bulk load: 96 certificates (after 4 to warm up), each with its sealed OFD file (2 page(s), 6.0 KB on average, base64 in the body), one per `POST /v1/certificates`, 4 in flight, OFD_THREADS=2 | 40.0 | 2.4 | **0.50×** verification alone |')
  t.match(section, '| the same 100 files verified alone: `verifyOfd` on 2 worker thread(s) of src/ofd/pool.ts, as the service, 4 in flight | 80.0 | 1.3 | 25.0 ms of a thread per file |')
  t.match(section, '**20.0 ms per file**')
  const before = text.slice(0, text.indexOf('<!-- bench-section postgres-2000-ofd'))
  t.notMatch(before.slice(before.indexOf('<!-- bench-section postgres-2000-')), '| sealed OFD |', 'the plain run has no OFD table')
})
