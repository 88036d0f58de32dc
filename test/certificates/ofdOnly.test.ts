import { createHash } from 'node:crypto'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { sql } from 'drizzle-orm'
import t from 'tap'
import { rowsOf } from '../../src/db/client.js'
import { formatCertId } from '../../src/ids/index.js'
import { bearer, randomCreditCode, randomTypeCode } from '../helpers/app.js'
import { issuanceFixture, HOLDER_ID, randomSerial } from '../helpers/certs.js'
import { makeSealedOfd, makeTamperedOfd, OFD_TAMPERINGS, SAMPLE_CUSTOM_DATA } from '../helpers/ofd.js'
import { runCli } from '../cli/fixtures/cli.js'

// A certificate whose only signed form is its sealed OFD file: pushed as {document} alone, its
// payload read from the GB/T 36903 metadata the seal covers, then read, downloaded, verified and
// revoked like any other; every fault of the file or its metadata is a precise 422, nothing stored.

const sm3 = (b: Buffer) => createHash('sm3').update(b).digest('hex')
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex')

t.test('a sealed OFD alone', async (t) => {
  const f = await issuanceFixture(t, {}, { sm2: true })
  // A type whose data fields are text, as CustomData values are.
  const typeCode = randomTypeCode()
  const dataSchema = { type: 'object', required: ['level'], additionalProperties: false, properties: { level: { type: 'string', pattern: '^[0-9]+$' } } }
  t.equal((await f.app.inject({ method: 'PUT', url: `/v1/types/${typeCode}`, headers: f.adminAuth, payload: { name: '营业执照', holderIdTypes: ['111'], issuers: [f.issuerCode], dataSchema } })).statusCode, 201)
  const sealer = f.pki.issue({ keyType: 'sm2', subjectCN: 'Zhengzhao test sealing key' })
  const maker = f.pki.issue({ keyType: 'sm2', subjectCN: 'Zhengzhao test seal maker' })
  const issuer = await f.app.inject({ method: 'PUT', url: `/v1/issuers/${f.issuerCode}`, headers: f.adminAuth, payload: { name: '测试发证机关', typeCodes: [f.typeCode, typeCode], certificates: [sealer.chainPem] } })
  t.ok(issuer.statusCode < 300, issuer.body.slice(0, 300))

  const metadata = (o: { serial?: string; version?: number } = {}): Record<string, string> => {
    const serial = o.serial ?? randomSerial()
    return { ...SAMPLE_CUSTOM_DATA, ZZBS: formatCertId({ typeCode, issuerCode: f.issuerCode, serial, version: o.version ?? 1 }), ZZLXDM: typeCode, ZZBH: serial, ZZBFJGDM: f.issuerCode, CZZTDM: HOLDER_ID, level: '2' }
  }
  const sealed = (customData: Record<string, string>, opts: Parameters<typeof makeSealedOfd>[0] = {}) => makeSealedOfd({ signer: sealer, maker, customData, ...opts })
  const push = (bytes: Buffer, headers = f.issuerAuth) => f.app.inject({ method: 'POST', url: '/v1/certificates', headers, payload: { document: bytes.toString('base64') } })
  // This issuer's rows only: a shared PostgreSQL has other tests' rows too.
  const count = async () =>
    rowsOf<{ c: number; d: number; e: number }>(
      f.database.db,
      sql`select (select count(*) from certificates where issuer_code = ${f.issuerCode})::int as c,
        (select count(*) from certificate_documents d join certificates c on c.id = d.certificate_id where c.issuer_code = ${f.issuerCode})::int as d,
        (select count(*) from audit_events where kind = 'certificate.issued' and actor_org = ${f.issuerCode})::int as e`,
    )
  const auditor = await bearer(['auditor'], { org: randomCreditCode() })
  const verify = async (payload: object) => (await f.app.inject({ method: 'POST', url: '/v1/verify', headers: auditor, payload })).json()

  const data = metadata()
  const made = sealed(data)
  const res = await push(made.bytes)
  t.equal(res.statusCode, 201, res.body.slice(0, 900))
  t.match(res.json(), { id: data.ZZBS, typeCode, issuerCode: f.issuerCode, version: 1, status: 'valid', jwsSha256: sha256(made.bytes) })
  t.equal((await push(made.bytes)).statusCode, 200, 'the same file again: unchanged')

  t.test('read paths show the derived payload, no JWS', async (t) => {
    const reader = randomCreditCode()
    await f.app.inject({ method: 'PUT', url: `/v1/grants/${reader}`, headers: f.adminAuth, payload: { name: '审批局', grants: [{ typeCode }] } })
    const readerAuth = await bearer(['reader'], { org: reader })
    const lookup = await f.app.inject({ method: 'POST', url: '/v1/lookup', headers: readerAuth, payload: { holder: { idType: '111', id: HOLDER_ID }, typeCodes: [typeCode], purpose: { matterCode: 'M1', reason: '办理登记' } } })
    t.equal(lookup.statusCode, 200, lookup.body.slice(0, 300))
    const item = lookup.json().items.find((i: { id: string }) => i.id === data.ZZBS)
    const payload = {
      id: data.ZZBS,
      typeCode,
      name: '营业执照',
      number: data.ZZBH,
      holder: { idType: '111', id: HOLDER_ID, name: SAMPLE_CUSTOM_DATA.CZZT },
      issuer: { code: f.issuerCode, name: SAMPLE_CUSTOM_DATA.ZZBFJG },
      issuedOn: '2025-05-22',
      validFrom: '2025-05-22',
      validUntil: '2035-05-21',
      data: { level: '2' },
      document: { mediaType: 'application/ofd', sm3: sm3(made.bytes), size: made.bytes.length },
    }
    t.same(item, { id: data.ZZBS, typeCode, issuerCode: f.issuerCode, number: data.ZZBH, version: 1, status: 'valid', statusChangedAt: item.statusChangedAt, issuedOn: '2025-05-22', validFrom: '2025-05-22', validUntil: '2035-05-21', inForce: true, form: 'ofd', payload, jwsSha256: sha256(made.bytes), document: payload.document })
    t.notOk('jws' in item, 'no JWS')

    const purpose = { 'x-purpose-matter-code': 'M1', 'x-purpose-reason': encodeURIComponent('办理登记') }
    const read = await f.app.inject({ method: 'GET', url: `/v1/certificates/${data.ZZBS}`, headers: { ...readerAuth, ...purpose } })
    t.match(read.json(), { certificate: { form: 'ofd', payload: { id: data.ZZBS } } })
    const mine = await f.app.inject({ method: 'GET', url: '/v1/me/certificates', headers: await bearer(['holder'], { idType: '111', id: HOLDER_ID }) })
    t.match(mine.json().items.find((i: { id: string }) => i.id === data.ZZBS), { form: 'ofd', payload: { number: data.ZZBH } })
    const got = await f.app.inject({ method: 'GET', url: `/v1/certificates/${data.ZZBS}/document`, headers: { ...readerAuth, ...purpose } })
    t.equal(got.statusCode, 200)
    t.same(got.rawPayload, made.bytes, 'the download is the file as pushed')
  })

  t.test('the file verifies offline against the trust bundle (zhengzhao verify)', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'zz-ofd-only-'))
    writeFileSync(join(dir, 'bundle.json'), (await f.app.inject({ method: 'GET', url: '/v1/trust-bundle', headers: auditor })).body)
    writeFileSync(join(dir, 'jwks.json'), (await f.app.inject({ method: 'GET', url: '/.well-known/jwks.json' })).body)
    writeFileSync(join(dir, 'licence.ofd'), made.bytes)
    const run = await runCli(['verify', join(dir, 'licence.ofd'), '--bundle', join(dir, 'bundle.json'), '--jwks', join(dir, 'jwks.json'), '--json'], { cwd: dir })
    t.equal(run.code, 0, run.stderr + run.stdout)
    t.match(JSON.parse(run.stdout), { summary: { total: 1, valid: 1 }, results: [{ verdict: 'VALID', issuers: [f.issuerCode], document: { code: 0 } }] })
  })

  t.test('verification checks the stored file\'s seals, then the status', async (t) => {
    t.match(await verify({ id: data.ZZBS }), { result: 0, status: 'valid', checks: [{ check: 'format', outcome: 'pass' }, { check: 'signature', outcome: 'pass' }, { check: 'registeredKey', outcome: 'pass' }] })
    t.match(await verify({ document: made.bytes.toString('base64') }), { result: 0, document: { code: 0 }, certificate: { id: data.ZZBS } })
    t.match(await verify({ typeCode, number: data.ZZBH, holder: { idType: '111', id: HOLDER_ID } }), { result: 0 })
    const revoked = await f.app.inject({ method: 'POST', url: `/v1/certificates/${data.ZZBS}/status`, headers: f.issuerAuth, payload: { status: 'revoked', reason: '测试吊销' } })
    t.equal(revoked.statusCode, 200)
    t.match(await verify({ id: data.ZZBS }), { result: 3, status: 'revoked' })
    t.match(await verify({ document: made.bytes.toString('base64') }), { result: 3, status: 'revoked' })
  })

  t.test('a later version supersedes; other date spellings and 长期 read as dates', async (t) => {
    const serial = randomSerial()
    const v1 = metadata({ serial })
    t.equal((await push(sealed({ ...v1, ZZBFRQ: '20250522', ZZYXQQSRQ: '2025年5月22日', ZZYXQJZRQ: '长期' }).bytes)).statusCode, 201)
    const first = (await verify({ id: v1.ZZBS })) as { result: number; certificate: { validFrom: string; validUntil?: string } }
    t.match(first, { result: 0, certificate: { validFrom: '2025-05-22' } })
    t.notOk(first.certificate.validUntil, '长期: no end date')
    const v2 = metadata({ serial, version: 2 })
    t.equal((await push(sealed(v2).bytes)).statusCode, 201)
    t.match(await verify({ id: v1.ZZBS }), { result: 3, status: 'superseded' })
    t.equal((await push(sealed(v1).bytes)).statusCode, 409, 'an older version, another file: 409')
  })

  t.test('every fault is a precise 422, and nothing is stored', async (t) => {
    const before = await count()
    const problems = async (bytes: Buffer, code: string) => {
      const r = await push(bytes)
      t.equal(r.statusCode, 422, r.body.slice(0, 600))
      t.equal(r.json().code, code)
      t.notOk(r.body.includes(HOLDER_ID), 'the holder ID is never echoed')
      return (r.json().errors ?? []) as { pointer: string; code: string; message: string }[]
    }

    const broken: Record<string, string> = { ...metadata(), ZZBFRQ: '2025-02-30', ZZYXQQSRQ: '22/05/2025', CZZTDMLXDM: 'abc' }
    delete broken.ZZBS
    delete broken.ZZMC
    const listed = await problems(sealed(broken).bytes, 'DOCUMENT_METADATA_INVALID')
    t.same(
      listed.map((p) => [p.pointer, p.code]).sort(),
      [
        ['/document/CustomDatas/CZZTDMLXDM', 'METADATA_INVALID'],
        ['/document/CustomDatas/ZZBFRQ', 'METADATA_DATE_INVALID'],
        ['/document/CustomDatas/ZZBS', 'METADATA_MISSING'],
        ['/document/CustomDatas/ZZMC', 'METADATA_MISSING'],
        ['/document/CustomDatas/ZZYXQQSRQ', 'METADATA_DATE_INVALID'],
      ],
      'one 422 lists every missing or malformed field',
    )
    t.match(await problems(sealed({}).bytes, 'DOCUMENT_METADATA_INVALID'), Array(11).fill({ code: 'METADATA_MISSING' }), 'a file with no metadata: each of the 11 required fields')

    // Well formed, but what a JWS payload would fail too: addressed to the field it came from.
    const wrong = await problems(sealed({ ...metadata(), CZZTDM: '110105194912310021', ZZYXQJZRQ: '2020-01-01', level: 'high' }).bytes, 'INVALID_CERTIFICATE')
    t.match(wrong, [{ pointer: '/document/CustomDatas/CZZTDM', code: 'HOLDER_ID_INVALID' }, { pointer: '/document/CustomDatas/ZZYXQJZRQ', code: 'DATES_INCONSISTENT' }])
    t.ok(wrong.some((p) => p.pointer === '/document/CustomDatas/level' && p.code === 'DATA_INVALID'), 'the type\'s data schema applies to the other names')
    const otherIssuer = randomCreditCode()
    const foreign = await problems(sealed({ ...metadata(), ZZBFJGDM: otherIssuer }).bytes, 'INVALID_CERTIFICATE')
    t.ok(foreign.some((p) => p.code === 'ISSUER_NOT_CALLER' && p.pointer === '/document/CustomDatas/ZZBFJGDM'))

    const outside = await problems(sealed(metadata(), { uncovered: ['OFD.xml'] }).bytes, 'INVALID_CERTIFICATE')
    t.match(outside, [{ pointer: '/document', code: 'DOCUMENT_METADATA_NOT_SEALED' }], 'metadata in a file the seal does not cover')

    for (const kind of OFD_TAMPERINGS) {
      const bad = makeTamperedOfd(kind, { signer: sealer, maker, customData: metadata() })
      const [p] = await problems(bad.bytes, 'INVALID_CERTIFICATE')
      t.match(p, { pointer: '/document', code: 'DOCUMENT_SEAL_INVALID', message: new RegExp(`${bad.expected.check} ${bad.expected.reason}`) }, `${kind}: the verifier's reason`)
    }
    const stranger = f.pki.issue({ keyType: 'sm2', subjectCN: 'Not registered' })
    t.match(await problems(sealed(metadata(), { signer: stranger }).bytes, 'INVALID_CERTIFICATE'), [{ code: 'DOCUMENT_SIGNER_NOT_REGISTERED' }], 'a seal made with a key the issuer never registered')
    t.match(await problems(Buffer.from('not an OFD file'), 'INVALID_CERTIFICATE'), [{ code: 'DOCUMENT_INVALID' }])

    t.same(await count(), before, 'no certificate, document or issuance event was stored')
  })

  t.test('the body is one of the forms', async (t) => {
    const empty = await f.app.inject({ method: 'POST', url: '/v1/certificates', headers: f.issuerAuth, payload: {} })
    t.equal(empty.statusCode, 400)
    const extra = await f.app.inject({ method: 'POST', url: '/v1/certificates', headers: f.issuerAuth, payload: { document: made.bytes.toString('base64'), certificates: [] } })
    t.equal(extra.statusCode, 400)
    // A JWS whose payload names no file, beside a sealed file: which one is the certificate? Neither is taken.
    const plain = f.payload()
    const both = await f.app.inject({ method: 'POST', url: '/v1/certificates', headers: f.issuerAuth, payload: { certificate: await f.sign(plain), document: sealed(metadata()).bytes.toString('base64') } })
    t.equal(both.statusCode, 422)
    t.match(both.json(), { code: 'INVALID_CERTIFICATE', errors: [{ pointer: '/document', code: 'DOCUMENT_NOT_DECLARED', message: /\{document\}/ }] })
    t.match(await verify({ id: plain.id }), { result: 5 }, 'nothing stored')
    const batch = await f.app.inject({ method: 'POST', url: '/v1/certificates/batch', headers: f.issuerAuth, payload: { certificates: [made.bytes.toString('base64')] } })
    t.equal(batch.json().results[0].code, 'INVALID_CERTIFICATE', 'a batch carries JWS only')
  })
})

t.test('an identifier whose only fault is its check character, from an issuer the operator named', async (t) => {
  const excepted = randomCreditCode()
  const f = await issuanceFixture(t, { CERT_ID_CHECK_EXCEPTIONS: excepted }, { sm2: true })
  const typeCode = randomTypeCode()
  const dataSchema = { type: 'object', additionalProperties: { type: 'string' } }
  t.equal((await f.app.inject({ method: 'PUT', url: `/v1/types/${typeCode}`, headers: f.adminAuth, payload: { name: '不动产权证书', holderIdTypes: ['111'], issuers: [f.issuerCode, excepted], dataSchema } })).statusCode, 201)
  const maker = f.pki.issue({ keyType: 'sm2', subjectCN: 'Zhengzhao test seal maker' })
  const sealers = new Map<string, ReturnType<typeof f.pki.issue>>()
  for (const code of [excepted, f.issuerCode]) {
    sealers.set(code, f.pki.issue({ keyType: 'sm2', subjectCN: `Zhengzhao test sealing key ${code}` }))
    const res = await f.app.inject({ method: 'PUT', url: `/v1/issuers/${code}`, headers: f.adminAuth, payload: { name: '山东测试发证机关', typeCodes: [f.typeCode, typeCode], certificates: [sealers.get(code)!.chainPem] } })
    t.ok(res.statusCode < 300, res.body.slice(0, 300))
  }
  const wrongFor = (issuerCode: string) => {
    const serial = randomSerial()
    const id = formatCertId({ typeCode, issuerCode, serial, version: 1 })
    const found = id.endsWith('T') ? 'U' : 'T'
    return { ...SAMPLE_CUSTOM_DATA, ZZBS: `${id.slice(0, -1)}${found}`, ZZLXDM: typeCode, ZZBH: serial, ZZBFJGDM: issuerCode, CZZTDM: HOLDER_ID }
  }
  const push = async (data: Record<string, string>, org: string) =>
    f.app.inject({ method: 'POST', url: '/v1/certificates', headers: await bearer(['issuer'], { org }), payload: { document: makeSealedOfd({ signer: sealers.get(org)!, maker, customData: data }).bytes.toString('base64') } })

  const data = wrongFor(excepted)
  const res = await push(data, excepted)
  t.equal(res.statusCode, 201, res.body.slice(0, 600))
  t.match(res.json().warnings, [{ pointer: '/document/CustomDatas/ZZBS', code: 'CERT_ID_CHECK_CHAR_EXCEPTION' }], 'taken in, and said so')
  const v = await f.app.inject({ method: 'POST', url: '/v1/verify', headers: await bearer(['auditor']), payload: { id: data.ZZBS } })
  t.match(v.json(), { result: 0, warnings: [{ code: 'CERT_ID_CHECK_CHAR_EXCEPTION' }] }, 'verification names the warning')

  const strict = await push(wrongFor(f.issuerCode), f.issuerCode)
  t.equal(strict.statusCode, 422)
  t.match(strict.json().errors, [{ pointer: '/document/CustomDatas/ZZBS', code: 'CERT_ID_INVALID' }], 'any other issuer: refused')
})
