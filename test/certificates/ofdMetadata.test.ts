import t from 'tap'
import { canonicalJson, metadataDate, payloadFromMetadata, pointerFromPayload } from '../../src/certificates/ofdMetadata.js'
import { makeSealedOfd, SAMPLE_CUSTOM_DATA } from '../helpers/ofd.js'

// The metadata reader on its own: dates, pointers, the canonical bytes, the CustomDatas themselves.

t.test('dates in the three spellings, real calendar dates only', async (t) => {
  t.equal(metadataDate('2025-05-22'), '2025-05-22')
  t.equal(metadataDate('20250522'), '2025-05-22')
  t.equal(metadataDate('2025年05月22日'), '2025-05-22')
  t.equal(metadataDate('2025年5月2日'), '2025-05-02')
  t.equal(metadataDate('2024-02-29'), '2024-02-29')
  for (const bad of ['2025-02-29', '2025-13-01', '20250230', '2025/05/22', '22-05-2025', '1899-12-31', '2025-5-22', '2025年05月22', ' 2025-05-22', '长期', '']) t.equal(metadataDate(bad), undefined, `${JSON.stringify(bad)} is no date`)
})

t.test('payload pointers lead back to the metadata field', async (t) => {
  t.equal(pointerFromPayload('/payload/holder/id'), '/document/CustomDatas/CZZTDM')
  t.equal(pointerFromPayload('/payload/id'), '/document/CustomDatas/ZZBS')
  t.equal(pointerFromPayload('/payload/issuer/code'), '/document/CustomDatas/ZZBFJGDM')
  t.equal(pointerFromPayload('/payload/validUntil'), '/document/CustomDatas/ZZYXQJZRQ')
  t.equal(pointerFromPayload('/payload/data/level'), '/document/CustomDatas/level')
  t.equal(pointerFromPayload('/payload/data'), '/document/CustomDatas')
  t.equal(pointerFromPayload('/payload/document'), '/document')
})

t.test('canonical JSON: sorted members at every level, no whitespace, undefined left out', async (t) => {
  t.equal(canonicalJson({ b: 1, a: { d: [2, { z: 1, y: '长期' }], c: null }, u: undefined }), '{"a":{"c":null,"d":[2,{"y":"长期","z":1}]},"b":1}')
})

t.test('the CustomDatas of OFD.xml', async (t) => {
  const document = { mediaType: 'application/ofd' as const, sm3: '0'.repeat(64), size: 1 }
  const made = makeSealedOfd({ customData: { ...SAMPLE_CUSTOM_DATA, ZZYXQJZRQ: '', extra: '附记' } })
  const read = payloadFromMetadata(made.files, document)
  t.ok(read.ok)
  if (read.ok) {
    t.notOk('validUntil' in read.payload, 'an empty end date is long-term')
    t.same(read.payload.data, { extra: '附记' }, 'other names are data')
    t.same(read.payload.holder, { name: SAMPLE_CUSTOM_DATA.CZZT, id: SAMPLE_CUSTOM_DATA.CZZTDM, idType: '111' })
  }
  // A name given twice could be read two ways: refused.
  const files = new Map(made.files)
  files.set('OFD.xml', Buffer.from(files.get('OFD.xml')!.toString('utf8').replace('</ofd:CustomDatas>', '<ofd:CustomData Name="CZZTDM">440524188001010014</ofd:CustomData><ofd:CustomData>nameless</ofd:CustomData></ofd:CustomDatas>')))
  const twice = payloadFromMetadata(files, document)
  t.match(twice, { ok: false, problems: [{ pointer: '/document/CustomDatas/CZZTDM', code: 'METADATA_DUPLICATE' }, { pointer: '/document/CustomDatas', code: 'METADATA_INVALID' }] })
  const long = payloadFromMetadata(makeSealedOfd({ customData: { ...SAMPLE_CUSTOM_DATA, ZZMC: '证'.repeat(101), CZZTDMLXDM: '1111' } }).files, document)
  t.match(long, { ok: false, problems: [{ pointer: '/document/CustomDatas/ZZMC', code: 'METADATA_INVALID' }, { pointer: '/document/CustomDatas/CZZTDMLXDM', code: 'METADATA_INVALID' }] }, 'the payload schema\'s lengths and patterns')
})
