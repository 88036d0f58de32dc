import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { X509Certificate } from 'node:crypto'
import t, { type Test } from 'tap'
import { compactVerify } from 'jose'
import { main } from '../../src/cli/main.js'
import { generateDevPki, issuerCertFile, issuerPrivateKeyFile } from '../../src/crypto/devCa.js'
import { formatCertId } from '../../src/ids/index.js'
import { ID_NUMBER, ORG } from './fixtures/cli.js'

const TYPE_CODE = '11100000000013338W032'

function certificate(serial: string, o: { validUntil?: string; holderId?: string } = {}) {
  return {
    id: formatCertId({ typeCode: TYPE_CODE, issuerCode: ORG, serial, version: 1 }),
    typeCode: TYPE_CODE,
    name: '营业执照',
    number: serial,
    holder: { idType: '111', id: o.holderId ?? ID_NUMBER, name: '张三' },
    issuer: { code: ORG, name: '杭州市西湖区市场监督管理局' },
    issuedOn: '2025-05-22',
    validFrom: '2025-05-22',
    validUntil: o.validUntil ?? '2035-05-21',
    data: { enterpriseType: '有限责任公司' },
  }
}

const pki = await generateDevPki([{ code: ORG, name: '杭州市西湖区市场监督管理局' }])
const issuerKey = new X509Certificate(pki.files[issuerCertFile(ORG)] as string).publicKey

function workspace(t: Test, files: Record<string, string>): string {
  const dir = t.testdir({ 'issuer.private.pem': pki.files[issuerPrivateKeyFile(ORG)] as string })
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text)
  return dir
}

async function run(argv: string[], cwd: string, stdin?: string) {
  let stdout = ''
  let stderr = ''
  const code = await main(argv, {
    stdout: (s) => void (stdout += s),
    stderr: (s) => void (stderr += s),
    env: { NODE_ENV: 'test' },
    cwd,
    ...(stdin !== undefined ? { stdin: Readable.from([stdin]) } : {}),
  })
  return { code, stdout, stderr }
}

async function payloadOf(jws: string): Promise<{ number: string }> {
  const { payload } = await compactVerify(jws, issuerKey)
  return JSON.parse(Buffer.from(payload).toString('utf8')) as { number: string }
}

const jsonl = (...certs: unknown[]) => certs.map((c) => JSON.stringify(c)).join('\n') + '\n'

t.test('JSON Lines in, JWS Lines out: one JWS per line, in order, each verifying', async (t) => {
  const cwd = workspace(t, { 'bulk.jsonl': jsonl(certificate('2025000001'), certificate('2025000002'), certificate('2025000003')) })
  const res = await run(['sign', 'bulk.jsonl', '--key', 'issuer.private.pem', '--out', 'bulk.jwsl'], cwd)
  t.equal(res.code, 0, res.stderr)
  t.match(res.stdout, /Wrote .*bulk\.jwsl \(3 certificates, alg RS256, kid [\w-]+\)/)
  const lines = readFileSync(join(cwd, 'bulk.jwsl'), 'utf8').split('\n')
  t.equal(lines.length, 4, 'three lines and the final newline')
  t.same(await Promise.all(lines.slice(0, 3).map(async (l) => (await payloadOf(l)).number)), ['2025000001', '2025000002', '2025000003'])
})

t.test('stdin: one JSON document, or JSON Lines, to stdout', async (t) => {
  const cwd = workspace(t, {})
  const one = await run(['sign', '-', '--key', 'issuer.private.pem'], cwd, JSON.stringify(certificate('2025000001'), null, 2))
  t.equal(one.code, 0, one.stderr)
  t.match(one.stdout, /^[\w-]+\.[\w-]+\.[\w-]+\n$/)
  const many = await run(['sign', '-', '--key', 'issuer.private.pem'], cwd, jsonl(certificate('2025000001'), certificate('2025000002')))
  t.equal(many.code, 0, many.stderr)
  const lines = many.stdout.trim().split('\n')
  t.equal(lines.length, 2)
  t.equal((await payloadOf(lines[1]!)).number, '2025000002')
  const twice = await run(['sign', '-', '-', '--key', 'issuer.private.pem'], cwd, '')
  t.equal(twice.code, 2)
  t.match(twice.stderr, /once/)
})

t.test('a failing line is named file:line with its problems, left empty in the output; the rest are signed; exit 1', async (t) => {
  const cwd = workspace(t, {
    'bulk.jsonl': jsonl(certificate('2025000001'), certificate('2025000002', { validUntil: '2020-01-01' }), certificate('2025000003')) + '{"broken": \n',
  })
  const res = await run(['sign', 'bulk.jsonl', '--key', 'issuer.private.pem', '--out', 'bulk.jwsl'], cwd)
  t.equal(res.code, 1)
  t.match(res.stderr, /bulk\.jsonl:2: 2 problem\(s\), nothing signed:/)
  t.match(res.stderr, /\/validUntil {2}DATES_INCONSISTENT: validUntil 2020-01-01 is before validFrom 2025-05-22/)
  t.match(res.stderr, /bulk\.jsonl:4: 1 problem\(s\).*\n {2}\/ {2}JSON_INVALID: not valid JSON \(line 1, column 12\)/)
  t.match(res.stderr, /2 of 4 certificate\(s\) signed, 2 not/)
  t.notMatch(res.stderr, ID_NUMBER)
  const lines = readFileSync(join(cwd, 'bulk.jwsl'), 'utf8').split('\n')
  t.equal(lines[1], '', 'line 2 left empty so push names the same line')
  t.equal(lines[3], '')
  t.equal((await payloadOf(lines[2]!)).number, '2025000003', 'line 3 is line 3')
})

t.test('many files in one process: --out-dir writes one output per input, a failure is named by file', async (t) => {
  const cwd = workspace(t, {
    'a.json': JSON.stringify(certificate('2025000001')),
    'b.jsonl': jsonl(certificate('2025000002'), certificate('2025000003')),
    'bad.json': JSON.stringify(certificate('2025000004', { validUntil: '2025-05-21' })),
  })
  const res = await run(['sign', 'a.json', 'b.jsonl', 'bad.json', '--key', 'issuer.private.pem', '--out-dir', 'signed'], cwd)
  t.equal(res.code, 1)
  t.match(res.stderr, /^bad\.json: 2 problem\(s\)/m)
  t.match(res.stderr, /3 of 4 certificate\(s\) signed, 1 not/)
  t.equal((await payloadOf(readFileSync(join(cwd, 'signed/a.jws'), 'utf8').trim())).number, '2025000001')
  t.equal(readFileSync(join(cwd, 'signed/b.jwsl'), 'utf8').trim().split('\n').length, 2)
  t.throws(() => readFileSync(join(cwd, 'signed/bad.jws')), 'nothing written for a file that failed')

  const stdoutRun = await run(['sign', 'a.json', 'b.jsonl', '--key', 'issuer.private.pem'], cwd)
  t.equal(stdoutRun.code, 0, stdoutRun.stderr)
  t.equal(stdoutRun.stdout.trim().split('\n').length, 3, 'many files to stdout as JWS Lines')

  const both = await run(['sign', 'a.json', '--key', 'issuer.private.pem', '--out-dir', 'x', '--out', 'y'], cwd)
  t.equal(both.code, 2)
  const stdinDir = await run(['sign', '-', '--key', 'issuer.private.pem', '--out-dir', 'x'], cwd, '{}')
  t.equal(stdinDir.code, 2)
  t.match(stdinDir.stderr, /stdin \(-\) has no name/)
})

t.test('a single file with validUntil before validFrom is refused with DATES_INCONSISTENT, nothing signed', async (t) => {
  const cwd = workspace(t, { 'c.json': JSON.stringify(certificate('2025000001', { validUntil: '2025-05-01' })) })
  const res = await run(['sign', 'c.json', '--key', 'issuer.private.pem'], cwd)
  t.equal(res.code, 1)
  t.equal(res.stdout, '')
  t.match(res.stderr, /c\.json: 2 problem\(s\), nothing signed:\n {2}\/validUntil {2}DATES_INCONSISTENT: validUntil 2025-05-01 is before validFrom 2025-05-22/)
})
