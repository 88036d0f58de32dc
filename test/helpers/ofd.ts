import { createHash, randomBytes } from 'node:crypto'
import { crc32, deflateRawSync } from 'node:zlib'
import { createTestPki, type IssuedCert, type TestPki } from './pki.js'
import { opensslSm2Sign } from './sm2.js'

/**
 * Sealed OFD documents (GB/T 33190 package, GB/T 38540 V4 seal and seal signature) made from
 * scratch, so the OFD tests run without ../shared. Independent of the code under test: the DER
 * is written by the small encoders below, the zip by a hand-written writer, and every SM2
 * signature is made by the openssl CLI (`dgst -sm3 -sigopt distid:1234567812345678`).
 */

export interface SealedOfdOptions {
  /** The signing certificate and key (SM2). Default: one issued once per process by ofdTestPki(). */
  signer?: IssuedCert
  /** The seal maker's certificate and key (SM2). Default: another, also issued once by ofdTestPki(). */
  maker?: IssuedCert
  /** The certificates the seal may be used with. Default: [signer]. */
  sealCerts?: IssuedCert[]
  /** Default: from a day ago for a year. */
  sealValidity?: { start: Date; end: Date }
  /** Default now (written to the second). */
  signingTime?: Date
  /** GB/T 36903 metadata, written as DocInfo/CustomDatas/CustomData Name="…" in OFD.xml (covered by the seal). */
  customData?: Record<string, string>
  /** Default 1. */
  pages?: number
  /** certListType 1 (the certificates themselves, default) or 2 (their SM3 digests). */
  sealCertList?: 'certs' | 'digests'
  /** The seal's name (UTF8String). */
  sealName?: string
  /** Package paths the seal's References leave out (default none): e.g. OFD.xml, so its metadata lies outside the seal. */
  uncovered?: string[]
}

export interface SealedOfd {
  /** The zipped package. */
  bytes: Buffer
  /** Package path (no leading slash) → exact bytes; re-zip a changed copy with zipFiles(). */
  files: Map<string, Buffer>
  signer: IssuedCert
  maker: IssuedCert
}

export const SIGN_DIR = 'Doc_0/Signs/Sign_0'
export const SIGNATURE_XML = `${SIGN_DIR}/Signature.xml`
export const SEAL_ESL = `${SIGN_DIR}/Seal.esl`
export const SIGNED_VALUE = `${SIGN_DIR}/SignedValue.dat`
export const pagePath = (i: number) => `Doc_0/Pages/Page_${i}/Content.xml`

/** A complete, valid GB/T 36903 metadata set (synthetic holder, identifier with its check character). */
export const SAMPLE_CUSTOM_DATA: Readonly<Record<string, string>> = {
  ZZBS: '1.2.156.3005.2.11100000000013338W032.11330105002500287C.2025000001.001.1',
  ZZLXDM: '11100000000013338W032',
  ZZBH: '2025000001',
  ZZMC: '营业执照',
  CZZT: '李小明',
  CZZTDM: '11010519491231002X',
  CZZTDMLXDM: '111',
  ZZBFJG: '杭州市西湖区市场监督管理局',
  ZZBFJGDM: '11330105002500287C',
  ZZBFRQ: '2025-05-22',
  ZZYXQQSRQ: '2025-05-22',
  ZZYXQJZRQ: '2035-05-21',
}

// ---------------------------------------------------------------- test PKIs (made once per process)

let pki: TestPki | undefined
let otherPki: TestPki | undefined
let parties: { signer: IssuedCert; maker: IssuedCert } | undefined

/** The SM2 PKI whose root anchors the default signer and maker. */
export function ofdTestPki(): TestPki {
  return (pki ??= createTestPki({ rootKeyType: 'sm2' }))
}

/** A second, unrelated SM2 PKI: its certificates do not chain to ofdTestPki()'s root. */
export function otherOfdTestPki(): TestPki {
  return (otherPki ??= createTestPki({ rootKeyType: 'sm2' }))
}

/** The signer and maker asked for, else the defaults (issued once: each costs two openssl runs). */
function partiesOf(opts: SealedOfdOptions): { signer: IssuedCert; maker: IssuedCert } {
  if (opts.signer && opts.maker) return { signer: opts.signer, maker: opts.maker }
  const p = ofdTestPki()
  parties ??= { signer: p.issue({ keyType: 'sm2', subjectCN: 'OFD test signer' }), maker: p.issue({ keyType: 'sm2', subjectCN: 'OFD test seal maker' }) }
  return { signer: opts.signer ?? parties.signer, maker: opts.maker ?? parties.maker }
}

// ---------------------------------------------------------------- DER, by hand

const tlv = (tag: number, body: Buffer): Buffer => {
  const n = body.length
  let length: number[]
  if (n < 0x80) length = [n]
  else {
    length = []
    for (let v = n; v > 0; v = Math.floor(v / 256)) length.unshift(v & 0xff)
    length.unshift(0x80 | length.length)
  }
  return Buffer.concat([Buffer.from([tag, ...length]), body])
}
const seq = (...parts: Buffer[]) => tlv(0x30, Buffer.concat(parts))
const int = (n: number) => {
  const bytes: number[] = []
  let v = n
  do {
    bytes.unshift(v & 0xff)
    v = Math.floor(v / 256)
  } while (v > 0)
  if (bytes[0]! & 0x80) bytes.unshift(0)
  return tlv(0x02, Buffer.from(bytes))
}
const ia5 = (s: string) => tlv(0x16, Buffer.from(s, 'ascii'))
const utf8 = (s: string) => tlv(0x0c, Buffer.from(s, 'utf8'))
const printable = (s: string) => tlv(0x13, Buffer.from(s, 'ascii'))
const octets = (b: Buffer) => tlv(0x04, b)
const bits = (b: Buffer) => tlv(0x03, Buffer.concat([Buffer.from([0]), b]))
const generalizedTime = (d: Date) => tlv(0x18, Buffer.from(`${d.toISOString().replace(/[-:T]/g, '').slice(0, 14)}Z`, 'ascii'))
const oid = (dotted: string) => {
  const [a, b, ...rest] = dotted.split('.').map(Number)
  const out = [a! * 40 + b!]
  for (const arc of rest) {
    const groups: number[] = []
    let v = arc
    do {
      groups.unshift(v & 0x7f)
      v = Math.floor(v / 128)
    } while (v > 0)
    out.push(...groups.map((g, i) => (i < groups.length - 1 ? g | 0x80 : g)))
  }
  return tlv(0x06, Buffer.from(out))
}

const SM2_WITH_SM3 = '1.2.156.10197.1.501'
const certDer = (c: IssuedCert) => Buffer.from(c.certPem.replace(/-----[^-]+-----|\s/g, ''), 'base64')
const sm3 = (b: Buffer) => createHash('sm3').update(b).digest()
// A 1×1 PNG's first bytes: the picture only has to be there.
const PICTURE = Buffer.from('89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489', 'hex')

/** SESeal V4: the seal maker signs DER(eSealInfo). */
function makeSeal(o: { maker: IssuedCert; certs: IssuedCert[]; listType: 'certs' | 'digests'; name: string; validity: { start: Date; end: Date } }): Buffer {
  const certList = o.listType === 'certs' ? seq(...o.certs.map((c) => octets(certDer(c)))) : seq(...o.certs.map((c) => seq(printable('sm3'), octets(sm3(certDer(c))))))
  const property = seq(int(1), utf8(o.name), int(o.listType === 'certs' ? 1 : 2), certList, generalizedTime(o.validity.start), generalizedTime(o.validity.start), generalizedTime(o.validity.end))
  const eSealInfo = seq(seq(ia5('ES'), int(4), ia5('ZZTEST')), ia5(randomBytes(16).toString('hex')), property, seq(ia5('PNG'), octets(PICTURE), int(40), int(40)))
  return seq(eSealInfo, octets(certDer(o.maker)), oid(SM2_WITH_SM3), bits(opensslSm2Sign(eSealInfo, o.maker.privateKeyPem)))
}

/** SES_Signature V4: the signer signs DER(TBS_Sign), which binds the seal and SM3(Signature.xml). */
function makeSesSignature(o: { seal: Buffer; signer: IssuedCert; time: Date; signatureXml: Buffer }): Buffer {
  const tbs = seq(int(4), o.seal, generalizedTime(o.time), bits(sm3(o.signatureXml)), ia5(`/${SIGNATURE_XML}`))
  return seq(tbs, octets(certDer(o.signer)), oid(SM2_WITH_SM3), bits(opensslSm2Sign(tbs, o.signer.privateKeyPem)))
}

// ---------------------------------------------------------------- the package's XML

const NS = 'xmlns:ofd="http://www.ofdspec.org/2016"'
const HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n'
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')
const xml = (s: string) => Buffer.from(HEAD + s, 'utf8')
// China Standard Time, "YYYY-MM-DD HH:mm:ss", as the signing products write SignatureDateTime.
const chinaTime = (d: Date) => new Date(d.getTime() + 8 * 3_600_000).toISOString().slice(0, 19).replace('T', ' ')

function ofdXml(customData: Record<string, string> | undefined, now: Date): Buffer {
  const custom = customData && Object.keys(customData).length > 0 ? `<ofd:CustomDatas>${Object.entries(customData).map(([k, v]) => `<ofd:CustomData Name="${esc(k)}">${esc(v)}</ofd:CustomData>`).join('')}</ofd:CustomDatas>` : ''
  const info = `<ofd:DocInfo><ofd:DocID>${randomBytes(16).toString('hex')}</ofd:DocID><ofd:Title>电子证照测试文件</ofd:Title><ofd:CreationDate>${chinaTime(now).slice(0, 10)}</ofd:CreationDate><ofd:Creator>Zhengzhao test fixture</ofd:Creator>${custom}</ofd:DocInfo>`
  return xml(`<ofd:OFD ${NS} Version="1.0" DocType="OFD"><ofd:DocBody>${info}<ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot><ofd:Signatures>/Doc_0/Signs/Signatures.xml</ofd:Signatures></ofd:DocBody></ofd:OFD>`)
}

// Unit IDs: 1 the font, 2.. the pages, then a layer and a text object per page.
function documentXml(pages: number): Buffer {
  const list = Array.from({ length: pages }, (_, i) => `<ofd:Page ID="${2 + i}" BaseLoc="Pages/Page_${i}/Content.xml"/>`).join('')
  return xml(`<ofd:Document ${NS}><ofd:CommonData><ofd:MaxUnitID>${1 + 3 * pages}</ofd:MaxUnitID><ofd:PageArea><ofd:PhysicalBox>0 0 210 297</ofd:PhysicalBox></ofd:PageArea><ofd:PublicRes>PublicRes.xml</ofd:PublicRes></ofd:CommonData><ofd:Pages>${list}</ofd:Pages></ofd:Document>`)
}

const publicResXml = () => xml(`<ofd:Res ${NS} BaseLoc="Res"><ofd:Fonts><ofd:Font ID="1" FontName="宋体" FamilyName="宋体"/></ofd:Fonts></ofd:Res>`)

/** A page whose text ends in ASCII "ZZTEST", so a one-byte change keeps it well-formed UTF-8. */
function pageXml(i: number, pages: number): Buffer {
  const layer = 2 + pages + 2 * i
  const text = `电子证照 第${i + 1}页 共${pages}页 ZZTEST`
  return xml(`<ofd:Page ${NS}><ofd:Content><ofd:Layer ID="${layer}"><ofd:TextObject ID="${layer + 1}" Boundary="20 20 170 10" Font="1" Size="5"><ofd:TextCode X="0" Y="5">${esc(text)}</ofd:TextCode></ofd:TextObject></ofd:Layer></ofd:Content></ofd:Page>`)
}

const signaturesXml = () => xml(`<ofd:Signatures ${NS}><ofd:MaxSignId>1</ofd:MaxSignId><ofd:Signature ID="1" Type="Seal" BaseLoc="/${SIGNATURE_XML}"/></ofd:Signatures>`)

function signatureXml(files: Map<string, Buffer>, covered: string[], time: Date): Buffer {
  const refs = covered.map((p) => `<ofd:Reference FileRef="/${p}"><ofd:CheckValue>${sm3(files.get(p)!).toString('base64')}</ofd:CheckValue></ofd:Reference>`).join('')
  const info =
    '<ofd:SignedInfo><ofd:Provider ProviderName="Zhengzhao test fixture" Company="Zhengzhao" Version="1.0"/>' +
    `<ofd:SignatureMethod>${SM2_WITH_SM3}</ofd:SignatureMethod><ofd:SignatureDateTime>${chinaTime(time)}</ofd:SignatureDateTime>` +
    `<ofd:References CheckMethod="SM3">${refs}</ofd:References>` +
    '<ofd:StampAnnot ID="1" PageRef="2" Boundary="140 230 40 40"/>' +
    `<ofd:Seal><ofd:BaseLoc>/${SEAL_ESL}</ofd:BaseLoc></ofd:Seal></ofd:SignedInfo>`
  return xml(`<ofd:Signature ${NS}>${info}<ofd:SignedValue>/${SIGNED_VALUE}</ofd:SignedValue></ofd:Signature>`)
}

// ---------------------------------------------------------------- the fixture

const DAY = 86_400_000

/** A sealed OFD that every check passes (with ofdTestPki()'s root as the anchor), unless told otherwise. */
export function makeSealedOfd(opts: SealedOfdOptions = {}): SealedOfd {
  const { signer, maker } = partiesOf(opts)
  const now = new Date()
  const time = new Date(Math.floor((opts.signingTime ?? now).getTime() / 1000) * 1000)
  const pages = opts.pages ?? 1
  const files = new Map<string, Buffer>()
  files.set('OFD.xml', ofdXml(opts.customData, time))
  files.set('Doc_0/Document.xml', documentXml(pages))
  files.set('Doc_0/PublicRes.xml', publicResXml())
  for (let i = 0; i < pages; i++) files.set(pagePath(i), pageXml(i, pages))
  files.set('Doc_0/Signs/Signatures.xml', signaturesXml())
  const seal = makeSeal({
    maker,
    certs: opts.sealCerts ?? [signer],
    listType: opts.sealCertList ?? 'certs',
    name: opts.sealName ?? '证照测试专用章',
    validity: opts.sealValidity ?? { start: new Date(now.getTime() - DAY), end: new Date(now.getTime() + 365 * DAY) },
  })
  files.set(SEAL_ESL, seal)
  // Every file but the signature machinery (Signatures.xml, Signature.xml, SignedValue.dat) is covered.
  const covered = ['OFD.xml', 'Doc_0/Document.xml', 'Doc_0/PublicRes.xml', ...Array.from({ length: pages }, (_, i) => pagePath(i)), SEAL_ESL].filter((p) => !opts.uncovered?.includes(p))
  const sigXml = signatureXml(files, covered, time)
  files.set(SIGNATURE_XML, sigXml)
  files.set(SIGNED_VALUE, makeSesSignature({ seal, signer, time, signatureXml: sigXml }))
  return { bytes: zipFiles(files), files, signer, maker }
}

// ---------------------------------------------------------------- tampering, for reuse

export type OfdTampering =
  | 'page-byte-changed'
  | 'page-added'
  | 'signature-xml-swapped'
  | 'signature-xml-pretty-printed'
  | 'seal-expired-before-signing'
  | 'signer-not-in-seal'
  | 'foreign-pki'

export interface TamperedOfd extends SealedOfd {
  /** What verifyOfd must answer with ofdTestPki()'s root as the only anchor: the code, and the failing check's reason. */
  expected: { code: 1 | 2; check: string; reason: string }
}

export const OFD_TAMPERINGS: readonly OfdTampering[] = ['page-byte-changed', 'page-added', 'signature-xml-swapped', 'signature-xml-pretty-printed', 'seal-expired-before-signing', 'signer-not-in-seal', 'foreign-pki']

/** The files with some replaced (null removes one); the original map is untouched. */
export function withFiles(files: ReadonlyMap<string, Buffer>, changes: Record<string, Buffer | null>): Map<string, Buffer> {
  const out = new Map(files)
  for (const [path, bytes] of Object.entries(changes)) {
    if (bytes === null) out.delete(path)
    else out.set(path, bytes)
  }
  return out
}

/** The same XML, indented: what an editor's "format document" does to a signed file. */
export const prettyPrinted = (xmlBytes: Buffer) => Buffer.from(xmlBytes.toString('utf8').replace(/></g, '>\n  <') + '\n', 'utf8')

/** A page with one byte changed (its text's last ASCII letter), still well-formed. */
export function pageWithOneByteChanged(page: Buffer): Buffer {
  const out = Buffer.from(page)
  const at = out.indexOf('</ofd:TextCode>') - 1
  if (at < 0) throw new Error('no TextCode in the page')
  out[at] = out[at] === 0x54 ? 0x55 : 0x54 // 'T' ↔ 'U'
  return out
}

/** A sealed OFD spoiled in one of the ways issue 15 names, with what the verifier must say about it. */
export function makeTamperedOfd(kind: OfdTampering, opts: SealedOfdOptions = {}): TamperedOfd {
  const rezip = (made: SealedOfd, changes: Record<string, Buffer | null>): SealedOfd => {
    const files = withFiles(made.files, changes)
    return { ...made, files, bytes: zipFiles(files) }
  }
  switch (kind) {
    case 'page-byte-changed': {
      const made = makeSealedOfd(opts)
      return { ...rezip(made, { [pagePath(0)]: pageWithOneByteChanged(made.files.get(pagePath(0))!) }), expected: { code: 2, check: 'references', reason: 'DIGEST_MISMATCH' } }
    }
    case 'page-added': {
      const made = makeSealedOfd(opts)
      const pages = opts.pages ?? 1
      return { ...rezip(made, { [pagePath(pages)]: pageXml(pages, pages + 1) }), expected: { code: 2, check: 'coverage', reason: 'FILES_NOT_COVERED' } }
    }
    case 'signature-xml-swapped': {
      const made = makeSealedOfd(opts)
      const other = makeSealedOfd(opts)
      return { ...rezip(made, { [SIGNATURE_XML]: other.files.get(SIGNATURE_XML)! }), expected: { code: 2, check: 'dataHash', reason: 'DATA_HASH_MISMATCH' } }
    }
    case 'signature-xml-pretty-printed': {
      const made = makeSealedOfd(opts)
      return { ...rezip(made, { [SIGNATURE_XML]: prettyPrinted(made.files.get(SIGNATURE_XML)!) }), expected: { code: 2, check: 'dataHash', reason: 'DATA_HASH_MISMATCH' } }
    }
    case 'seal-expired-before-signing': {
      const now = Date.now()
      const made = makeSealedOfd({ ...opts, sealValidity: { start: new Date(now - 30 * DAY), end: new Date(now - DAY) } })
      return { ...made, expected: { code: 1, check: 'signingTime', reason: 'SEAL_NOT_VALID_AT_SIGNING' } }
    }
    case 'signer-not-in-seal': {
      // The seal lists only the maker's certificate, so the signer may not use it.
      const { signer, maker } = partiesOf(opts)
      const made = makeSealedOfd({ ...opts, signer, maker, sealCerts: [maker] })
      return { ...made, expected: { code: 1, check: 'signerInSeal', reason: 'SIGNER_NOT_IN_SEAL' } }
    }
    case 'foreign-pki': {
      // Well-formed and self-consistent, but signer and seal maker come from a PKI nobody trusts.
      const other = otherOfdTestPki()
      const made = makeSealedOfd({ ...opts, signer: other.issue({ keyType: 'sm2', subjectCN: 'Foreign OFD signer' }), maker: other.issue({ keyType: 'sm2', subjectCN: 'Foreign OFD seal maker' }) })
      return { ...made, expected: { code: 1, check: 'trustChain', reason: 'NOT_TRUSTED' } }
    }
  }
}

// ---------------------------------------------------------------- zip, by hand

// CRC-32 (ISO 3309, the zip one) is zlib's. A table loop in JavaScript took 4.6 s of a shard's CPU,
// most of it on the 100 MB entries of the zip-bomb fixtures; zlib's takes milliseconds.
export { crc32 }

/**
 * A zip (APPNOTE 6.3: local headers, central directory, end record; no zip64) of the files in
 * map order, DEFLATE unless `store`. Names are written as given, so a test can also write names
 * no OFD writer would.
 */
export function zipFiles(files: ReadonlyMap<string, Buffer>, opts: { store?: boolean } = {}): Buffer {
  const locals: Buffer[] = []
  const centrals: Buffer[] = []
  let offset = 0
  for (const [name, data] of files) {
    const nameBytes = Buffer.from(name, 'utf8')
    const method = opts.store ? 0 : 8
    const body = method === 8 ? deflateRawSync(data) : data
    const crc = crc32(data)
    // version 2.0, flag bit 11 (UTF-8 names), 1980-01-01 00:00 as the DOS time and date.
    const common = (h: Buffer, at: number) => {
      h.writeUInt16LE(0x0800, at)
      h.writeUInt16LE(method, at + 2)
      h.writeUInt16LE(0, at + 4)
      h.writeUInt16LE(0x21, at + 6)
      h.writeUInt32LE(crc, at + 8)
      h.writeUInt32LE(body.length, at + 12)
      h.writeUInt32LE(data.length, at + 16)
      h.writeUInt16LE(nameBytes.length, at + 20)
      h.writeUInt16LE(0, at + 22)
    }
    const local = Buffer.alloc(30)
    local.writeUInt32LE(0x04034b50, 0)
    local.writeUInt16LE(20, 4)
    common(local, 6)
    const central = Buffer.alloc(46)
    central.writeUInt32LE(0x02014b50, 0)
    central.writeUInt16LE(20, 4)
    central.writeUInt16LE(20, 6)
    common(central, 8)
    // comment length, disk, internal and external attributes stay 0.
    central.writeUInt32LE(offset, 42)
    locals.push(local, nameBytes, body)
    centrals.push(central, nameBytes)
    offset += local.length + nameBytes.length + body.length
  }
  const directory = Buffer.concat(centrals)
  const end = Buffer.alloc(22)
  end.writeUInt32LE(0x06054b50, 0)
  end.writeUInt16LE(files.size, 8)
  end.writeUInt16LE(files.size, 10)
  end.writeUInt32LE(directory.length, 12)
  end.writeUInt32LE(offset, 16)
  return Buffer.concat([...locals, directory, end])
}
