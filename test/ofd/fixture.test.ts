import { execFileSync } from 'node:child_process'
import { createHash, createPublicKey, X509Certificate } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { OFD_CHECK_NAMES, verifyOfd } from '../../src/ofd/verify.js'
import { readPackage } from '../../src/ofd/zip.js'
import { crc32, makeSealedOfd, makeTamperedOfd, OFD_TAMPERINGS, ofdTestPki, otherOfdTestPki, pagePath, SAMPLE_CUSTOM_DATA, SEAL_ESL, SIGNATURE_XML, SIGNED_VALUE, zipFiles } from '../helpers/ofd.js'
import type { IssuedCert } from '../helpers/pki.js'
import { opensslSm2Verifies } from '../helpers/sm2.js'

// The fixture is checked two independent ways: openssl reads its DER and checks its SM2
// signatures, and the verifier under test accepts it; each tampering is then caught for its reason.

const anchors = () => [new X509Certificate(ofdTestPki().anchorsPem)]
const sm3 = (b: Buffer) => createHash('sm3').update(b).digest()
const publicKeyPem = (c: IssuedCert) => createPublicKey(c.certPem).export({ type: 'spki', format: 'pem' }).toString()

interface Asn1Line {
  offset: number
  depth: number
  headerLength: number
  length: number
  type: string
  value: string
}

/** `openssl asn1parse -inform DER -i`, one object per line. */
function asn1parse(der: Buffer): Asn1Line[] {
  const dir = mkdtempSync(join(tmpdir(), 'zz-ofd-asn1-'))
  try {
    writeFileSync(join(dir, 'in.der'), der)
    const out = execFileSync('openssl', ['asn1parse', '-inform', 'DER', '-i', '-in', join(dir, 'in.der')], { stdio: 'pipe' }).toString('utf8')
    return out
      .trimEnd()
      .split('\n')
      .map((line) => {
        // "  96:d=4  hl=4 l= 427 prim:     OCTET STRING      [HEX DUMP]:3082…", "  21:d=5 … IA5STRING :ES"
        const m = /^\s*(\d+):d=(\d+)\s+hl=(\d+)\s+l=\s*(\d+)\s+(?:prim|cons):\s*([A-Z][A-Z0-9 ]*?)\s*(?:(?:\[HEX DUMP\])?:(.*))?$/.exec(line)
        if (!m) throw new Error(`unexpected asn1parse line: ${line}`)
        return { offset: Number(m[1]), depth: Number(m[2]), headerLength: Number(m[3]), length: Number(m[4]), type: m[5]!, value: (m[6] ?? '').trim() }
      })
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
const whole = (der: Buffer, l: Asn1Line) => der.subarray(l.offset, l.offset + l.headerLength + l.length)
// A BIT STRING's content after its unused-bits byte (which must be 0).
const bitString = (der: Buffer, l: Asn1Line) => {
  const v = der.subarray(l.offset + l.headerLength, l.offset + l.headerLength + l.length)
  if (v[0] !== 0) throw new Error('a BIT STRING with unused bits')
  return v.subarray(1)
}
const shape = (lines: Asn1Line[], base = 0) => lines.map((l) => `${l.depth - base} ${l.type}`)

// SESeal V4 as openssl prints it, depth relative to the seal; certListType 1 with one certificate.
const SEAL_SHAPE = [
  '0 SEQUENCE',
  '1 SEQUENCE', // eSealInfo
  '2 SEQUENCE', // header
  '3 IA5STRING',
  '3 INTEGER',
  '3 IA5STRING',
  '2 IA5STRING', // esID
  '2 SEQUENCE', // property
  '3 INTEGER',
  '3 UTF8STRING',
  '3 INTEGER',
  '3 SEQUENCE', // certList
  '4 OCTET STRING',
  '3 GENERALIZEDTIME',
  '3 GENERALIZEDTIME',
  '3 GENERALIZEDTIME',
  '2 SEQUENCE', // picture
  '3 IA5STRING',
  '3 OCTET STRING',
  '3 INTEGER',
  '3 INTEGER',
  '1 OCTET STRING', // the maker's certificate
  '1 OBJECT',
  '1 BIT STRING',
]

t.test('a default file: openssl reads both DER files as GB/T 38540 V4 and its signatures verify', async (t) => {
  const started = process.hrtime.bigint()
  const made = makeSealedOfd()
  makeSealedOfd()
  t.comment(`two sealed OFD files in ${Number(process.hrtime.bigint() - started) / 1e6} ms (the first also issues the test PKI)`)
  const seal = made.files.get(SEAL_ESL)!
  const ses = made.files.get(SIGNED_VALUE)!

  const sealLines = asn1parse(seal)
  t.same(shape(sealLines), SEAL_SHAPE, 'Seal.esl: SESeal { eSealInfo, cert, signAlgID, signedValue }')
  t.same(
    sealLines.filter((l) => l.depth === 3 && !['OCTET STRING', 'SEQUENCE', 'GENERALIZEDTIME'].includes(l.type)).map((l) => l.value),
    ['ES', '04', 'ZZTEST', '01', '证照测试专用章', '01', 'PNG', '28', '28'],
    'header ES / 4 / ZZTEST; property type 1, name, certListType 1; picture PNG 40×40',
  )
  t.equal(sealLines[22]!.value, 'SM2-with-SM3')
  t.same(Buffer.from(sealLines[12]!.value, 'hex'), new X509Certificate(made.signer.certPem).raw, 'the seal lists the signer\'s certificate')
  t.same(Buffer.from(sealLines[21]!.value, 'hex'), new X509Certificate(made.maker.certPem).raw, 'and carries the maker\'s')
  t.ok(opensslSm2Verifies(whole(seal, sealLines[1]!), bitString(seal, sealLines[23]!), publicKeyPem(made.maker)), 'openssl: the maker signed DER(eSealInfo)')

  const lines = asn1parse(ses)
  const at = (i: number) => lines[i]!
  const sealAt = lines.findIndex((l) => l.depth === 2 && l.type === 'SEQUENCE')
  t.same(shape(lines.slice(0, 3)), ['0 SEQUENCE', '1 SEQUENCE', '2 INTEGER'], 'SES_Signature { TBS_Sign { version, …')
  t.equal(at(2).value, '04')
  t.same(shape(lines.slice(sealAt, sealAt + SEAL_SHAPE.length), 2), SEAL_SHAPE, '… eseal …')
  t.same(whole(ses, at(sealAt)), seal, 'the seal inside is Seal.esl byte for byte')
  const rest = lines.slice(sealAt + SEAL_SHAPE.length)
  t.same(shape(rest), ['2 GENERALIZEDTIME', '2 BIT STRING', '2 IA5STRING', '1 OCTET STRING', '1 OBJECT', '1 BIT STRING'], '… timeInfo, dataHash, propertyInfo }, cert, signatureAlgID, signature }')
  t.match(rest[0]!.value, /^\d{14}Z$/)
  t.same(bitString(ses, rest[1]!), sm3(made.files.get(SIGNATURE_XML)!), 'dataHash is SM3 of Signature.xml')
  t.equal(rest[2]!.value, `/${SIGNATURE_XML}`)
  t.equal(rest[4]!.value, 'SM2-with-SM3')
  t.same(Buffer.from(rest[3]!.value, 'hex'), new X509Certificate(made.signer.certPem).raw)
  t.ok(opensslSm2Verifies(whole(ses, at(1)), bitString(ses, rest[5]!), publicKeyPem(made.signer)), 'openssl: the signer signed DER(TBS_Sign)')
  t.notOk(opensslSm2Verifies(whole(ses, at(1)), bitString(ses, rest[5]!), publicKeyPem(made.maker)), 'and the maker\'s key does not verify it')
})

t.test('a default file: every reference is the SM3 of its file, and the verifier says 0 with every check passing', async (t) => {
  const made = makeSealedOfd()
  const xml = made.files.get(SIGNATURE_XML)!.toString('utf8')
  const refs = [...xml.matchAll(/FileRef="\/([^"]+)"><ofd:CheckValue>([^<]+)</g)].map((m) => [m[1]!, m[2]!])
  t.same(refs.map(([p]) => p), ['OFD.xml', 'Doc_0/Document.xml', 'Doc_0/PublicRes.xml', pagePath(0), SEAL_ESL])
  for (const [path, value] of refs) t.equal(value, sm3(made.files.get(path!)!).toString('base64'), `${path} digest`)
  const result = await verifyOfd(made.bytes, { anchors: anchors() })
  t.equal(result.code, 0)
  t.same(result.checks.map((c) => [c.check, c.outcome]), OFD_CHECK_NAMES.map((name) => [name, 'pass']))
  t.same(result.uncovered, [])
  t.equal(result.signatures[0]?.sealName, '证照测试专用章')
  t.equal(result.signatures[0]?.sealVersion, 4)
})

t.test('options: pages, metadata, a digest cert list, a chosen signing time', async (t) => {
  const signingTime = new Date(Date.now() - 3_600_000 / 2)
  const made = makeSealedOfd({ pages: 3, customData: { ...SAMPLE_CUSTOM_DATA, ZZBH: 'A&B<1>' }, sealCertList: 'digests', signingTime })
  t.ok(made.files.has(pagePath(2)))
  const ofd = made.files.get('OFD.xml')!.toString('utf8')
  t.match(ofd, `<ofd:CustomData Name="ZZBS">${SAMPLE_CUSTOM_DATA.ZZBS}</ofd:CustomData>`)
  t.match(ofd, '<ofd:CustomData Name="ZZBH">A&amp;B&lt;1&gt;</ofd:CustomData>', 'metadata is escaped')
  const lines = asn1parse(made.files.get(SEAL_ESL)!)
  t.same(shape(lines.slice(10, 15)), ['3 INTEGER', '3 SEQUENCE', '4 SEQUENCE', '5 PRINTABLESTRING', '5 OCTET STRING'], 'certListType 2: SEQUENCE OF { "sm3", digest }')
  t.equal(lines[10]!.value, '02')
  t.same(Buffer.from(lines[14]!.value, 'hex'), sm3(new X509Certificate(made.signer.certPem).raw))
  const result = await verifyOfd(made.bytes, { anchors: anchors() })
  t.equal(result.code, 0)
  t.equal(result.checks.find((c) => c.check === 'references')?.detail, '7 file(s), SM3')
  t.equal(result.checks.find((c) => c.check === 'signerInSeal')?.detail, 'by digest')
  t.equal(result.signatures[0]?.signingTime, new Date(Math.floor(signingTime.getTime() / 1000) * 1000).toISOString())
})

t.test('zipFiles: CRC-32, and a package reads back exactly, stored or deflated', async (t) => {
  t.equal(crc32(Buffer.from('123456789')), 0xcbf43926, 'the CRC-32 check value')
  const made = makeSealedOfd()
  for (const store of [false, true]) {
    const back = await readPackage(zipFiles(made.files, { store }))
    t.same([...back.keys()], [...made.files.keys()])
    for (const [path, bytes] of made.files) t.ok(back.get(path)?.equals(bytes), `${path} (${store ? 'stored' : 'deflated'})`)
  }
})

for (const kind of OFD_TAMPERINGS) {
  t.test(`tampered: ${kind}`, async (t) => {
    const made = makeTamperedOfd(kind)
    const result = await verifyOfd(made.bytes, { anchors: anchors() })
    t.equal(result.code, made.expected.code, `verifyFile code ${made.expected.code}`)
    const check = result.checks.find((c) => c.check === made.expected.check)
    t.equal(check?.outcome, 'fail', `${made.expected.check} fails`)
    t.equal(check?.reason, made.expected.reason)
  })
}

// GB/T 38540 has the seal maker's certificate checked too: a seal made around one's own
// certificate, signed with one's own key, must not pass for a trusted seal.
t.test('a seal whose maker chains to no anchor is not correct', async (t) => {
  const made = makeSealedOfd({ maker: otherOfdTestPki().issue({ keyType: 'sm2', subjectCN: 'Foreign OFD seal maker' }) })
  const result = await verifyOfd(made.bytes, { anchors: anchors() })
  t.equal(result.code, 1)
  t.match(result.checks.find((c) => c.check === 'sealMakerChain'), { outcome: 'fail', reason: 'NOT_TRUSTED' })
  t.equal(result.checks.find((c) => c.check === 'sealSignature')?.outcome, 'pass', 'the maker\'s signature itself is fine')
})
