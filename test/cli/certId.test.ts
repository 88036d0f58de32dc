import { Readable } from 'node:stream'
import t from 'tap'
import { main } from '../../src/cli/main.js'
import { parseCertId } from '../../src/ids/index.js'
import { runCli } from './fixtures/cli.js'

// DESIGN.md's examples, and the Shandong shape (…001.T where MOD 37,36 gives W).
const EXAMPLE_1 = '1.2.156.3005.2.11100000000013338W009.11330105002500287C.2025052201.002.0'
const EXAMPLE_2 = '1.2.156.3005.2.11100000000013338W032.11330105002500287C.2025000001.001.1'
const SHANDONG = '1.2.156.3005.2.11100000MB03271699022.11370000MB2852565A.301213AF0610489FBEC46E8AB9C5C25F.001.T'

/** Runs the CLI with `input` as its stdin. */
async function withStdin(argv: string[], input: string) {
  let stdout = ''
  let stderr = ''
  const code = await main(argv, {
    stdout: (s) => void (stdout += s),
    stderr: (s) => void (stderr += s),
    env: { NODE_ENV: 'test' },
    cwd: process.cwd(),
    stdin: Readable.from([input]),
  } as Parameters<typeof main>[1])
  return { code, stdout, stderr }
}

t.test('mint: the identifier of the parts, with its check character', async (t) => {
  const first = await runCli(['cert-id', 'mint', '--type', '11100000000013338W032', '--issuer', '11330105002500287C', '--serial', '2025000001'])
  t.same(first, { code: 0, stdout: `${EXAMPLE_2}\n`, stderr: '' })
  const second = await runCli(['cert-id', 'mint', '--type', '11100000000013338W009', '--issuer', '11330105002500287C', '--serial', '2025052201', '--ver', '2', '--json'])
  t.equal(second.code, 0)
  t.same(JSON.parse(second.stdout), { id: EXAMPLE_1 })
  // The Shandong parts minted strictly: W, never T.
  const strict = await runCli(['cert-id', 'mint', '--type', '11100000MB03271699022', '--issuer', '11370000MB2852565A', '--serial', '301213AF0610489FBEC46E8AB9C5C25F'])
  t.equal(strict.stdout.trim(), SHANDONG.replace(/T$/, 'W'))
  t.ok(parseCertId(strict.stdout.trim()).ok)
})

t.test('mint refuses invalid parts (exit 2), naming the right check character of a credit code', async (t) => {
  const base: Record<string, string> = { '--type': '11100000000013338W032', '--issuer': '11330105002500287C', '--serial': '2025000001' }
  const cases: [string, Record<string, string>, RegExp][] = [
    ['issuer check character', { '--issuer': '11330105002500287D' }, /--issuer.*check character should be C/],
    ['type code credit part', { '--type': '11100000000013338X032' }, /--type.*check character should be W/],
    ['type code shape', { '--type': '11100000000013338W32' }, /--type.*21 characters/],
    ['lower-case serial', { '--serial': 'abc' }, /--serial.*upper-case/],
    ['version 0', { '--ver': '0' }, /--ver/],
    ['version 1000', { '--ver': '1000' }, /--ver/],
  ]
  for (const [name, change, message] of cases) {
    const argv = ['cert-id', 'mint', ...Object.entries({ ...base, ...change }).flat()]
    const run = await runCli(argv)
    t.equal(run.code, 2, name)
    t.match(run.stderr, message, name)
    t.equal(run.stdout, '', `${name}: nothing minted`)
  }
  t.equal((await runCli(['cert-id', 'mint', '--type', '11100000000013338W032', '--issuer', '11330105002500287C'])).code, 2, 'no serial')
})

t.test('next: the next version', async (t) => {
  t.same(await runCli(['cert-id', 'next', EXAMPLE_2]), { code: 0, stdout: `${EXAMPLE_2.replace(/\.001\.1$/, '.002.0')}\n`, stderr: '' })
  const bad = await runCli(['cert-id', 'next', SHANDONG])
  t.equal(bad.code, 1)
  t.match(bad.stderr, 'MOD 37,36 gives W')
})

t.test('check: OK, or the precise fault and the expected check character', async (t) => {
  const ok = await runCli(['cert-id', 'check', EXAMPLE_1, EXAMPLE_2])
  t.equal(ok.code, 0)
  t.equal(ok.stdout, `OK       ${EXAMPLE_1}\nOK       ${EXAMPLE_2}\n`)
  const mixed = await runCli(['cert-id', 'check', EXAMPLE_1, SHANDONG, 'nonsense', EXAMPLE_1.replace('11330105002500287C', '11330105002500287D'), EXAMPLE_1.replace('.002.', '.000.')])
  t.equal(mixed.code, 1, 'any invalid: exit 1')
  const lines = mixed.stdout.trim().split('\n')
  t.equal(lines.length, 5, 'one line per identifier')
  t.match(lines[0], /^OK /)
  t.match(lines[1], /^INVALID .*CHECK_CHAR: the check character is "T"; ISO 7064 MOD 37,36 gives W$/)
  t.match(lines[2], /^INVALID +nonsense +FORMAT: /)
  t.match(lines[3], /ISSUER_CODE: .*check character should be C/)
  t.match(lines[4], /VERSION: /)
  t.match(mixed.stderr, '4 of 5 identifier(s) invalid')
  const json = await runCli(['cert-id', 'check', SHANDONG, '--json'])
  t.equal(json.code, 1)
  t.match(JSON.parse(json.stdout), { valid: 0, invalid: 1, results: [{ id: SHANDONG, ok: false, problem: 'CHECK_CHAR', expected: 'W' }] })
})

t.test('check reads identifiers from stdin with -', async (t) => {
  const good = await withStdin(['cert-id', 'check', '-'], `${EXAMPLE_1}\r\n\n  ${EXAMPLE_2}  \n`)
  t.equal(good.code, 0, good.stderr)
  t.equal(good.stdout.trim().split('\n').length, 2, 'blank lines skipped, whitespace trimmed')
  const mixed = await withStdin(['cert-id', 'check', EXAMPLE_1, '-', '--json'], `${SHANDONG}\n`)
  t.equal(mixed.code, 1)
  t.match(JSON.parse(mixed.stdout), { valid: 1, invalid: 1, results: [{ id: EXAMPLE_1, ok: true }, { id: SHANDONG, expected: 'W' }] })
  const empty = await withStdin(['cert-id', 'check', '-'], '\n\n')
  t.equal(empty.code, 2, 'nothing to check is a usage error')
  t.equal((await runCli(['cert-id', 'check'])).code, 2, 'no arguments')
})

t.test('--help explains the structure, with examples', async (t) => {
  for (const argv of [['cert-id', '--help'], ['cert-id', 'mint', '--help'], ['cert-id', 'check', '--help'], ['cert-id', 'next', '--help']]) {
    const run = await runCli(argv)
    t.equal(run.code, 0, argv.join(' '))
    t.match(run.stdout, /Examples:\n {2}\$ zhengzhao cert-id/, argv.join(' '))
  }
  t.match((await runCli(['cert-id', '--help'])).stdout, 'MOD 37,36')
  t.match((await runCli(['--help'])).stdout, 'cert-id')
})

t.test('zhengzhao sign refuses a wrong check character, naming the right one (minting stays strict)', async (t) => {
  const { generateDevPki, issuerPrivateKeyFile } = await import('../../src/crypto/devCa.js')
  const { ORG, ID_NUMBER } = await import('./fixtures/cli.js')
  const pki = await generateDevPki([{ code: ORG, name: '杭州市西湖区市场监督管理局' }])
  const id = EXAMPLE_2.replace(/\.1$/, '.T')
  const payload = {
    id, typeCode: '11100000000013338W032', name: '营业执照', number: '2025000001',
    holder: { idType: '111', id: ID_NUMBER, name: '张三' }, issuer: { code: ORG, name: '杭州市西湖区市场监督管理局' },
    issuedOn: '2025-05-22', validFrom: '2025-05-22', data: {},
  }
  const dir = t.testdir({ 'issuer.private.pem': pki.files[issuerPrivateKeyFile(ORG)] as string, 'c.json': JSON.stringify(payload) })
  const run = await runCli(['sign', 'c.json', '--key', 'issuer.private.pem'], { cwd: dir })
  t.equal(run.code, 1, run.stderr)
  t.match(run.stderr, 'CERT_ID_INVALID')
  t.match(run.stderr, 'the check character should be 1')
  t.equal(run.stdout, '', 'nothing signed')
})
