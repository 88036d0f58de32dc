import t, { type Test } from 'tap'
import { OfdError } from '../../src/ofd/errors.js'
import { verifyOfd } from '../../src/ofd/verify.js'
import { readPackage } from '../../src/ofd/zip.js'
import { zipFiles } from '../helpers/ofd.js'

// Hostile archives and XML: each a precise error, with memory bounded by our limits rather
// than by what the archive declares.

const files = (entries: [string, string | Buffer][]) => new Map(entries.map(([n, d]) => [n, Buffer.isBuffer(d) ? d : Buffer.from(d)]))
const OFD_XML = '<?xml version="1.0" encoding="UTF-8"?><ofd:OFD xmlns:ofd="http://www.ofdspec.org/2016" Version="1.0" DocType="OFD"><ofd:DocBody><ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot><ofd:Signatures>/Doc_0/Signs/Signatures.xml</ofd:Signatures></ofd:DocBody></ofd:OFD>'

async function refused(t: Test, bytes: Buffer, code: string, what: string) {
  const before = process.memoryUsage().rss
  const err = await verifyOfd(bytes, { anchors: [] }).then(
    () => undefined,
    (e: unknown) => e,
  )
  t.type(err, OfdError, `${what}: an OfdError`)
  t.equal((err as OfdError).code, code, `${what}: ${code}`)
  const grown = (process.memoryUsage().rss - before) / 2 ** 20
  t.ok(grown < 96, `${what}: memory grew ${grown.toFixed(1)} MB`)
}

t.test('zip bombs: an honest 100 MB entry, and one that lies about its size', async (t) => {
  const zeros = Buffer.alloc(100 << 20)
  const bomb = zipFiles(files([['OFD.xml', OFD_XML], ['Doc_0/Res/bomb.bin', zeros]]))
  t.ok(bomb.length < 200_000, `the bomb is ${bomb.length} bytes`)
  await refused(t, bomb, 'ARCHIVE_ENTRY_TOO_LARGE', 'declared 100 MB')
  // The same entry declaring 1,000 bytes in both headers: found out while inflating.
  const liar = Buffer.from(bomb)
  for (let at = liar.indexOf(Buffer.from('PK\x03\x04', 'latin1')); at >= 0; at = liar.indexOf(Buffer.from('PK\x03\x04', 'latin1'), at + 4)) {
    if (liar.readUInt32LE(at + 22) === zeros.length) liar.writeUInt32LE(1000, at + 22)
  }
  for (let at = liar.indexOf(Buffer.from('PK\x01\x02', 'latin1')); at >= 0; at = liar.indexOf(Buffer.from('PK\x01\x02', 'latin1'), at + 4)) {
    if (liar.readUInt32LE(at + 24) === zeros.length) liar.writeUInt32LE(1000, at + 24)
  }
  await refused(t, liar, 'ARCHIVE_SIZE_MISMATCH', 'declared 1,000 bytes')
  const ratio = await readPackage(bomb, { maxEntries: 100, maxEntryBytes: 1 << 30, maxTotalBytes: 1 << 30, maxRatio: 200 }).catch((e: unknown) => e)
  t.equal((ratio as OfdError).code, 'ARCHIVE_RATIO_TOO_HIGH', 'with no size limit in the way, the compression ratio stops it')
  // Many entries that together pass the total budget, each within the per-entry limit.
  const big = Buffer.alloc(20 << 20, 7)
  const many = zipFiles(files([['OFD.xml', OFD_XML], ...[1, 2, 3, 4].map((i): [string, Buffer] => [`Doc_0/Res/${i}.bin`, big])]))
  const err = await readPackage(many, { maxEntries: 100, maxEntryBytes: 32 << 20, maxTotalBytes: 64 << 20, maxRatio: 1e9 }).catch((e: unknown) => e)
  t.equal((err as OfdError).code, 'ARCHIVE_TOO_LARGE', 'the total unpacked size is bounded too')
})

t.test('paths that leave the package', async (t) => {
  for (const name of ['../evil.xml', 'Doc_0/../../evil.xml', '/etc/passwd', 'C:/Windows/evil.xml', 'Doc_0\\..\\evil.xml']) {
    await refused(t, zipFiles(files([['OFD.xml', OFD_XML], [name, 'x']])), 'ARCHIVE_PATH_INVALID', name)
  }
  await refused(t, zipDuplicate(), 'ARCHIVE_DUPLICATE_ENTRY', 'two entries with one name')
})

/** Two entries named alike: a Map cannot hold them, so the second name is patched in. */
function zipDuplicate(): Buffer {
  const zip = zipFiles(files([['OFD.xml', OFD_XML], ['Doc_0/a.xml', 'a'], ['Doc_0/b.xml', 'b']]))
  return Buffer.from(zip.toString('latin1').replaceAll('Doc_0/b.xml', 'Doc_0/a.xml'), 'latin1')
}

t.test('too many entries, and archives that are not archives', async (t) => {
  const entries: [string, string][] = [['OFD.xml', OFD_XML]]
  // The classic end record counts at most 65,535 entries; 65,000 is far past the limit.
  for (let i = 0; i < 65_000; i++) entries.push([`Doc_0/Res/${i}.txt`, ''])
  await refused(t, zipFiles(files(entries), { store: true }), 'ARCHIVE_TOO_MANY_ENTRIES', '65,000 entries')
  const good = zipFiles(files([['OFD.xml', OFD_XML]]))
  await refused(t, good.subarray(0, good.length - 10), 'ARCHIVE_INVALID', 'a truncated archive')
  await refused(t, Buffer.from('%PDF-1.7 not a zip'), 'ARCHIVE_INVALID', 'not a zip at all')
  await refused(t, Buffer.alloc(0), 'ARCHIVE_INVALID', 'empty')
})

t.test('XML with external entities or entity expansion is refused before parsing', async (t) => {
  const xxe = '<?xml version="1.0"?><!DOCTYPE ofd [<!ENTITY x SYSTEM "file:///etc/passwd">]><ofd:OFD xmlns:ofd="http://www.ofdspec.org/2016"><ofd:DocBody><ofd:DocRoot>&x;</ofd:DocRoot></ofd:DocBody></ofd:OFD>'
  const laughs = `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">${Array.from({ length: 9 }, (_, i) => `<!ENTITY lol${i + 1} "${`&lol${i || ''};`.repeat(10)}">`).join('')}]><ofd:OFD xmlns:ofd="http://www.ofdspec.org/2016"><ofd:DocBody><ofd:DocRoot>&lol9;</ofd:DocRoot></ofd:DocBody></ofd:OFD>`
  await refused(t, zipFiles(files([['OFD.xml', xxe]])), 'XML_DTD_NOT_ALLOWED', 'XXE')
  await refused(t, zipFiles(files([['OFD.xml', laughs]])), 'XML_DTD_NOT_ALLOWED', 'billion laughs')
  await refused(t, zipFiles(files([['OFD.xml', '<ofd:OFD><unclosed>']])), 'XML_INVALID', 'malformed XML')
  await refused(t, zipFiles(files([['OFD.xml', Buffer.from([0x3c, 0x61, 0xff, 0x3e])]])), 'XML_INVALID', 'not UTF-8')
  await refused(t, zipFiles(files([['Doc_0/Document.xml', '<a/>']])), 'OFD_STRUCTURE_INVALID', 'no OFD.xml')
  await refused(t, zipFiles(files([['OFD.xml', OFD_XML]])), 'OFD_STRUCTURE_INVALID', 'not sealed: no Signatures.xml')
})
