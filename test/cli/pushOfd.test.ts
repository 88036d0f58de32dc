import { createHash } from 'node:crypto'
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { formatCertId } from '../../src/ids/index.js'
import { bearer, randomTypeCode } from '../helpers/app.js'
import { issuanceFixture, HOLDER_ID, randomSerial } from '../helpers/certs.js'
import { makeSealedOfd, makeTamperedOfd, SAMPLE_CUSTOM_DATA } from '../helpers/ofd.js'
import { runCli } from './fixtures/cli.js'

// zhengzhao push takes sealed OFD files: a.ofd alone (its metadata is the payload), b.ofd with the
// b.jws beside it whose payload names it, and a tampered c.ofd refused by name with the server's code.
t.test('zhengzhao push sends sealed OFD files, alone or with their JWS', async (t) => {
  const f = await issuanceFixture(t, {}, { sm2: true })
  const typeCode = randomTypeCode()
  t.equal((await f.app.inject({ method: 'PUT', url: `/v1/types/${typeCode}`, headers: f.adminAuth, payload: { name: '营业执照', holderIdTypes: ['111'], issuers: [f.issuerCode], dataSchema: { type: 'object' } } })).statusCode, 201)
  const sealer = f.pki.issue({ keyType: 'sm2', subjectCN: 'Zhengzhao test sealing key' })
  const maker = f.pki.issue({ keyType: 'sm2', subjectCN: 'Zhengzhao test seal maker' })
  const issuer = await f.app.inject({ method: 'PUT', url: `/v1/issuers/${f.issuerCode}`, headers: f.adminAuth, payload: { name: '测试发证机关', typeCodes: [f.typeCode, typeCode], certificates: [sealer.chainPem] } })
  t.ok(issuer.statusCode < 300, issuer.body.slice(0, 300))

  const dir = mkdtempSync(join(tmpdir(), 'zz-push-ofd-'))
  mkdirSync(join(dir, 'sealed'))
  const serial = randomSerial()
  const alone = makeSealedOfd({ signer: sealer, maker, customData: { ...SAMPLE_CUSTOM_DATA, ZZBS: formatCertId({ typeCode, issuerCode: f.issuerCode, serial, version: 1 }), ZZLXDM: typeCode, ZZBH: serial, ZZBFJGDM: f.issuerCode, CZZTDM: HOLDER_ID } })
  writeFileSync(join(dir, 'sealed', 'a.ofd'), alone.bytes)
  const carried = makeSealedOfd({ signer: sealer, maker })
  const payload = { ...f.payload(), document: { mediaType: 'application/ofd' as const, sm3: createHash('sm3').update(carried.bytes).digest('hex'), size: carried.bytes.length } }
  writeFileSync(join(dir, 'sealed', 'b.ofd'), carried.bytes)
  writeFileSync(join(dir, 'sealed', 'b.jws'), `${await f.sign(payload)}\n`)
  writeFileSync(join(dir, 'sealed', 'c.ofd'), makeTamperedOfd('page-byte-changed', { signer: sealer, maker }).bytes)

  const url = await f.app.listen({ port: 0, host: '127.0.0.1' })
  const token = (await bearer(['issuer'], { org: f.issuerCode })).authorization.slice('Bearer '.length)
  const run = (...args: string[]) => runCli(['push', join(dir, 'sealed'), '--url', url, ...args], { env: { ZHENGZHAO_TOKEN: token }, cwd: dir })

  const first = await run('--json')
  t.equal(first.code, 1, first.stderr)
  const report = JSON.parse(first.stdout) as { summary: { created: number; unchanged: number; rejected: number }; rejections: { file: string; code?: string; problems: { code: string }[] }[] }
  t.match(report.summary, { created: 2, unchanged: 0, rejected: 1 }, 'a.ofd alone and b.ofd with b.jws stored; c.ofd refused')
  t.match(report.rejections, [{ file: join('sealed', 'c.ofd'), code: 'INVALID_CERTIFICATE' }])
  t.ok(report.rejections[0]!.problems.some((p) => p.code.startsWith('DOCUMENT_')), 'with the document problem the server named')

  const stored = await f.app.inject({ method: 'GET', url: `/v1/certificates/${payload.id}/document`, headers: f.issuerAuth })
  t.same(stored.rawPayload, carried.bytes, 'b.ofd is the document of the certificate b.jws signs')

  const again = await run()
  t.equal(again.code, 1)
  t.match(again.stdout, /2 unchanged/, 'pushing again is safe')
  t.match(again.stdout, /sealed\/c\.ofd/)
})
