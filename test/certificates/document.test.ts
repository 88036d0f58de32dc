import { createHash } from 'node:crypto'
import t from 'tap'
import { verifyReceipt } from '../../src/verify/receipt.js'
import { bearer, randomCreditCode } from '../helpers/app.js'
import { issuanceFixture, HOLDER_ID } from '../helpers/certs.js'
import { makeSealedOfd, makeTamperedOfd, OFD_TAMPERINGS, zipFiles } from '../helpers/ofd.js'

// A certificate that carries its sealed OFD file: pushed together (JWS + base64 file), looked up,
// downloaded by whoever may read it (logged, with a receipt), refused with a precise code for
// every way the file can be wrong, and never stored half.

const sm3 = (b: Buffer) => createHash('sm3').update(b).digest('hex')
const declare = (bytes: Buffer) => ({ mediaType: 'application/ofd' as const, sm3: sm3(bytes), size: bytes.length })

t.test('a sealed OFD travels with its certificate', async (t) => {
  const f = await issuanceFixture(t, {}, { sm2: true })
  // The issuer seals with an SM2 key straight under the root (a seal carries its leaf alone).
  const sealer = f.pki.issue({ keyType: 'sm2', subjectCN: 'Zhengzhao test sealing key' })
  const maker = f.pki.issue({ keyType: 'sm2', subjectCN: 'Zhengzhao test seal maker' })
  t.equal((await f.app.inject({ method: 'POST', url: `/v1/issuers/${f.issuerCode}/keys`, headers: f.adminAuth, payload: { certificate: sealer.chainPem } })).statusCode, 201)
  const push = (body: object) => f.app.inject({ method: 'POST', url: '/v1/certificates', headers: f.issuerAuth, payload: body })
  const stored = async (id: string) => (await f.app.inject({ method: 'POST', url: '/v1/verify', headers: await bearer(['auditor']), payload: { id } })).json().result !== 5

  const made = makeSealedOfd({ signer: sealer, maker })
  const payload = { ...f.payload(), document: declare(made.bytes) }
  const jws = await f.sign(payload)
  const res = await push({ certificate: jws, document: made.bytes.toString('base64') })
  t.equal(res.statusCode, 201, res.body.slice(200, 900))

  const reader = randomCreditCode()
  await f.app.inject({ method: 'PUT', url: `/v1/grants/${reader}`, headers: f.adminAuth, payload: { name: '不动产登记中心', grants: [{ typeCode: f.typeCode }] } })
  const readerAuth = await bearer(['reader'], { org: reader })
  const lookup = await f.app.inject({ method: 'POST', url: '/v1/lookup', headers: readerAuth, payload: { holder: { idType: '111', id: HOLDER_ID }, typeCodes: [f.typeCode], purpose: { matterCode: 'M1', reason: '办理登记' } } })
  const item = lookup.json().items.find((i: { id: string }) => i.id === payload.id)
  t.same(item.document, declare(made.bytes), 'the lookup says a document is attached')

  t.test('download: the exact bytes, logged, with a receipt naming the file', async (t) => {
    const purpose = { 'x-purpose-matter-code': 'M1', 'x-purpose-reason': encodeURIComponent('办理登记') }
    const got = await f.app.inject({ method: 'GET', url: `/v1/certificates/${payload.id}/document`, headers: { ...readerAuth, ...purpose } })
    t.equal(got.statusCode, 200)
    t.equal(got.headers['content-type'], 'application/ofd')
    t.equal(got.headers['cache-control'], 'no-store')
    t.same(got.rawPayload, made.bytes, 'byte for byte what the issuer pushed')
    const receipt = JSON.parse(Buffer.from(String(got.headers['zhengzhao-receipt']), 'base64url').toString())
    const jwks = (await f.app.inject({ method: 'GET', url: '/.well-known/jwks.json' })).json()
    t.match(await verifyReceipt(JSON.stringify(receipt), jwks), { form: 'proof', leaf: { kind: 'access.read' }, event: { details: { returned: [{ id: payload.id, documentSm3: sm3(made.bytes) }] } } })
    const events = await f.app.inject({ method: 'GET', url: `/v1/audit/events?certificateId=${encodeURIComponent(payload.id)}`, headers: await bearer(['auditor']) })
    t.ok(events.json().items.some((e: { kind: string; details?: { document?: boolean } }) => e.kind === 'access.read' && e.details?.document === true), 'the download is an access event')
    const noPurpose = await f.app.inject({ method: 'GET', url: `/v1/certificates/${payload.id}/document`, headers: readerAuth })
    t.equal(noPurpose.statusCode, 400, 'a reader states the purpose')
    const stranger = await f.app.inject({ method: 'GET', url: `/v1/certificates/${payload.id}/document`, headers: { ...(await bearer(['reader'], { org: randomCreditCode() })), ...purpose } })
    t.equal(stranger.statusCode, 403, 'a reader not granted the type gets nothing')
    const holder = await f.app.inject({ method: 'GET', url: `/v1/certificates/${payload.id}/document`, headers: await bearer(['holder'], { idType: '111', id: HOLDER_ID }) })
    t.equal(holder.statusCode, 200, 'the holder downloads their own')
    const plain = f.payload()
    t.equal((await push({ certificate: await f.sign(plain) })).statusCode, 201)
    const none = await f.app.inject({ method: 'GET', url: `/v1/certificates/${plain.id}/document`, headers: f.issuerAuth })
    t.match(none, { statusCode: 404 })
    t.equal(none.json().code, 'DOCUMENT_NOT_FOUND')
  })

  t.test('every way the file can be wrong is a precise 422, and nothing is stored', async (t) => {
    const cases: [string, object, string][] = []
    for (const kind of OFD_TAMPERINGS) {
      const bad = makeTamperedOfd(kind, { signer: sealer, maker })
      const p = { ...f.payload(), document: declare(bad.bytes) }
      cases.push([`${kind} (${bad.expected.check} ${bad.expected.reason})`, { certificate: await f.sign(p), document: bad.bytes.toString('base64'), id: p.id }, 'DOCUMENT_SEAL_INVALID'])
    }
    const good = makeSealedOfd({ signer: sealer, maker })
    const other = makeSealedOfd({ signer: sealer, maker })
    const withBody = async (p: ReturnType<typeof f.payload> & { document?: object }, document: string | undefined) => ({ certificate: await f.sign(p), ...(document === undefined ? {} : { document }), id: p.id })
    const p1 = { ...f.payload(), document: declare(good.bytes) }
    cases.push(['a file other than the one the JWS names', await withBody(p1, other.bytes.toString('base64')), 'DOCUMENT_DIGEST_MISMATCH'])
    const p2 = { ...f.payload(), document: { ...declare(good.bytes), size: good.bytes.length + 1 } }
    cases.push(['the wrong size', await withBody(p2, good.bytes.toString('base64')), 'DOCUMENT_SIZE_MISMATCH'])
    const p3 = { ...f.payload(), document: declare(good.bytes) }
    cases.push(['the bytes left out', await withBody(p3, undefined), 'DOCUMENT_MISSING'])
    cases.push(['bytes the payload does not name', await withBody(f.payload(), good.bytes.toString('base64')), 'DOCUMENT_NOT_DECLARED'])
    cases.push(['base64url instead of base64', await withBody({ ...f.payload(), document: declare(good.bytes) }, good.bytes.toString('base64url').replace(/=+$/, '') + '-_'), 'DOCUMENT_ENCODING_INVALID'])
    const unregistered = makeSealedOfd({ signer: f.pki.issue({ keyType: 'sm2', subjectCN: 'Not registered' }), maker })
    cases.push(['a seal made with a key the issuer never registered', await withBody({ ...f.payload(), document: declare(unregistered.bytes) }, unregistered.bytes.toString('base64')), 'DOCUMENT_SIGNER_NOT_REGISTERED'])
    const bomb = zipFiles(new Map([['OFD.xml', Buffer.alloc(60 << 20)]]))
    cases.push(['a zip bomb', await withBody({ ...f.payload(), document: declare(bomb) }, bomb.toString('base64')), 'DOCUMENT_INVALID'])
    const notZip = Buffer.from('not an OFD file at all')
    cases.push(['not a zip', await withBody({ ...f.payload(), document: declare(notZip) }, notZip.toString('base64')), 'DOCUMENT_INVALID'])
    for (const [what, body, code] of cases) {
      const { id, ...request } = body as { id: string }
      const res = await push(request)
      t.equal(res.statusCode, 422, `${what}: 422`)
      t.ok(res.json().errors?.some((e: { code: string }) => e.code === code), `${what}: ${code} (${res.body.slice(0, 400)})`)
      t.notOk(await stored(id), `${what}: nothing stored`)
    }
  })

  t.test('POST /v1/verify {document}: the seals, the stored certificate, its status', async (t) => {
    const auditor = await bearer(['auditor'], { org: randomCreditCode() })
    const verify = async (bytes: Buffer) => {
      const res = await f.app.inject({ method: 'POST', url: '/v1/verify', headers: auditor, payload: { document: bytes.toString('base64') } })
      t.equal(res.statusCode, 200, res.body.slice(0, 300))
      t.notOk(res.body.includes(HOLDER_ID), 'the holder is never echoed')
      return res.json() as { result: number; status?: string; document?: { code: number; checks: { check: string; outcome: string; reason?: string }[] }; certificate?: { id: string }; receipt: { event: { details: unknown } } }
    }
    const good = await verify(made.bytes)
    t.match(good, { result: 0, status: 'valid', certificate: { id: payload.id }, document: { code: 0 } })
    t.ok(good.document!.checks.every((c) => c.outcome === 'pass'), 'every seal check passes')
    t.match(good.receipt.event.details, { result: 0, returned: [{ id: payload.id, documentSm3: sm3(made.bytes) }] })
    const sealedNotStored = makeSealedOfd({ signer: sealer, maker })
    t.match(await verify(sealedNotStored.bytes), { result: 5, document: { code: 0 } }, 'sound seals, but no certificate carries the file: 5')
    const altered = makeTamperedOfd('page-byte-changed', { signer: sealer, maker })
    t.match(await verify(altered.bytes), { result: 6, document: { code: 2 } }, 'an altered file: 6, file check failed')
    // A page added under a name that is an ID number: the coverage detail names it, masked.
    const named = new Map(made.files)
    named.set(`Doc_0/Res/${HOLDER_ID}.png`, Buffer.from('x'))
    const uncovered = await verify(zipFiles(named))
    t.match(uncovered, { result: 6, document: { code: 2, checks: [{}, {}, {}, {}, {}, {}, {}, {}, {}, { check: 'coverage', outcome: 'fail', detail: /110105\*{8}002X/ }] } })
    t.match(await verify(Buffer.from('PK not really')), { result: 4 }, 'not a readable OFD: too little to verify')
    const bad = await f.app.inject({ method: 'POST', url: '/v1/verify', headers: auditor, payload: { document: 'not base64!' } })
    t.match(bad, { statusCode: 400 })
    t.match(bad.json(), { errors: [{ code: 'DOCUMENT_ENCODING_INVALID' }] })
    // A second certificate with its own file, then revoked: the file now verifies to 3.
    const other = makeSealedOfd({ signer: sealer, maker })
    const p2 = { ...f.payload(), document: declare(other.bytes) }
    t.equal((await push({ certificate: await f.sign(p2), document: other.bytes.toString('base64') })).statusCode, 201)
    t.equal((await f.app.inject({ method: 'POST', url: `/v1/certificates/${p2.id}/status`, headers: f.issuerAuth, payload: { status: 'revoked', reason: 'test' } })).statusCode, 200)
    t.match(await verify(other.bytes), { result: 3, status: 'revoked', document: { code: 0 } }, 'the stored certificate was revoked: 3')
  })

  t.test('a seal whose key sits under an intermediate chains through the issuer\'s registered chain', async (t) => {
    // f.key is the SM2 issuer key the fixture registered with its intermediate; the seal carries the leaf alone.
    const viaIntermediate = makeSealedOfd({ signer: f.key, maker })
    const p = { ...f.payload(), document: declare(viaIntermediate.bytes) }
    const res = await push({ certificate: await f.sign(p), document: viaIntermediate.bytes.toString('base64') })
    t.equal(res.statusCode, 201, res.body.slice(0, 400))
    const v = await f.app.inject({ method: 'POST', url: '/v1/verify', headers: await bearer(['auditor']), payload: { document: viaIntermediate.bytes.toString('base64') } })
    t.match(v.json(), { result: 0, document: { code: 0 } })
  })

  t.test('a batch carries no files: an item that names one is refused alone', async (t) => {
    const plain = f.payload()
    const withDoc = { ...f.payload(), document: declare(made.bytes) }
    const res = await f.app.inject({ method: 'POST', url: '/v1/certificates/batch', headers: f.issuerAuth, payload: { certificates: [await f.sign(plain), await f.sign(withDoc)] } })
    t.equal(res.statusCode, 200)
    t.match(res.json().results, [{ outcome: 'created' }, { outcome: 'rejected', problems: [{ code: 'DOCUMENT_MISSING', pointer: '/certificates/1/payload/document' }] }])
  })

  t.test('the document is encrypted at rest', async (t) => {
    const rows = await f.database.db.execute('select cipher from certificate_documents' as never)
    const all = JSON.stringify(rows)
    t.notOk(all.includes(made.bytes.subarray(0, 64).toString('hex')), 'the stored bytes are not the file')
  })
})
