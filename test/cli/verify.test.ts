import { createHash, generateKeyPairSync } from 'node:crypto'
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { exportJWK } from 'jose'
import { bearer } from '../helpers/app.js'
import { issuanceFixture, HOLDER_ID, HOLDER_NAME, type IssuanceFixture } from '../helpers/certs.js'
import { runCli } from './fixtures/cli.js'

interface Verdict {
  file: string
  line: number
  verdict: 'VALID' | 'INVALID'
  id?: string
  reasons: string[]
  live?: { result: number }
}

async function pushed(f: IssuanceFixture, payload = f.payload()): Promise<string> {
  const jws = await f.sign(payload)
  const res = await f.app.inject({ method: 'POST', url: '/v1/certificates', headers: f.issuerAuth, payload: { certificate: jws } })
  if (res.statusCode !== 201) throw new Error(res.body)
  return jws
}

const noHolder = (t: Test, text: string) => t.notOk(text.includes(HOLDER_ID) || text.includes(HOLDER_NAME), 'no holder ID or name in the output')

t.test('zhengzhao verify', async (t) => {
  const f = await issuanceFixture(t)
  const dir = mkdtempSync(join(tmpdir(), 'zz-verify-'))
  const path = (...p: string[]) => join(dir, ...p)
  const auth = await bearer(['auditor'])
  writeFileSync(path('bundle.json'), (await f.app.inject({ method: 'GET', url: '/v1/trust-bundle', headers: auth })).body)
  writeFileSync(path('jwks.json'), (await f.app.inject({ method: 'GET', url: '/.well-known/jwks.json' })).body)
  const bundleArgs = ['--bundle', path('bundle.json'), '--jwks', path('jwks.json')]

  // A folder of good certificates: a .jws at the top, one in a subfolder, a .jwsl of two.
  mkdirSync(path('good', 'sub'), { recursive: true })
  writeFileSync(path('good', 'a.jws'), `${await pushed(f)}\n`)
  writeFileSync(path('good', 'sub', 'b.jws'), await f.sign(f.payload()))
  writeFileSync(path('good', 'bulk.jwsl'), `${await pushed(f)}\n\n${await pushed(f)}\n`)

  // And a folder of bad ones.
  mkdirSync(path('bad'))
  const [h, p, s] = (await pushed(f)).split('.') as [string, string, string]
  writeFileSync(path('bad', 'tampered.jws'), `${h}.${p}.${s.slice(0, 10)}${s[10] === 'A' ? 'B' : 'A'}${s.slice(11)}`)
  writeFileSync(path('bad', 'wrong-key.jws'), await f.sign(f.payload(), {}, f.pki.issue({ keyType: 'p256' })))
  writeFileSync(path('bad', 'expired.jws'), await f.sign({ ...f.payload(), issuedOn: '2020-01-01', validFrom: '2020-01-01', validUntil: '2021-01-01' }))
  writeFileSync(path('bad', 'mixed.jwsl'), `${await f.sign(f.payload())}\nnot a certificate\n`)

  t.test('a folder of valid certificates: exit 0, the bundle verified', async (t) => {
    const run = await runCli(['verify', path('good'), ...bundleArgs])
    t.equal(run.code, 0, run.stderr)
    t.match(run.stdout, /signature verified with the JWKS/)
    t.match(run.stdout, /judged now/)
    t.equal(run.stdout.match(/ VALID /g)?.length, 4)
    t.match(run.stdout, /bulk\.jwsl:3 +VALID/, 'named by file and line')
    t.match(run.stdout, /4 valid, 0 invalid/)
    noHolder(t, run.stdout + run.stderr)
  })

  t.test('invalid certificates: exit 1, each with its reasons', async (t) => {
    const run = await runCli(['verify', path('bad'), ...bundleArgs])
    t.equal(run.code, 1, run.stderr)
    t.match(run.stdout, /tampered\.jws:1 +INVALID +\S+ +SIGNATURE_INVALID/)
    t.match(run.stdout, /wrong-key\.jws:1 +INVALID +\S+ +KID_UNKNOWN/)
    t.match(run.stdout, /expired\.jws:1 +INVALID +\S+ +EXPIRED/)
    t.match(run.stdout, /mixed\.jwsl:1 +VALID/)
    t.match(run.stdout, /mixed\.jwsl:2 +INVALID +- +JWS_MALFORMED/)
    t.match(run.stderr, /4 of 5 certificate\(s\) invalid/)
    noHolder(t, run.stdout + run.stderr)
  })

  t.test('--json', async (t) => {
    const run = await runCli(['verify', path('bad', 'tampered.jws'), path('good', 'a.jws'), ...bundleArgs, '--json'])
    t.equal(run.code, 1)
    const report = JSON.parse(run.stdout) as { bundle: { verified: boolean }; summary: object; results: Verdict[] }
    t.equal(report.bundle.verified, true)
    t.match(report.summary, { total: 2, valid: 1, invalid: 1 })
    t.match(report.results[0], { verdict: 'INVALID', reasons: ['SIGNATURE_INVALID'], line: 1 })
    t.match(report.results[1], { verdict: 'VALID', reasons: [] })
    noHolder(t, run.stdout)
  })

  t.test('the bundle: unverified without --jwks, refused when it does not match', async (t) => {
    const unverified = await runCli(['verify', path('good', 'a.jws'), '--bundle', path('bundle.json')])
    t.equal(unverified.code, 0)
    t.match(unverified.stdout, /NOT verified/)
    const { publicKey } = generateKeyPairSync('ed25519')
    const { keys } = JSON.parse(await (await f.app.inject({ method: 'GET', url: '/.well-known/jwks.json' })).body) as { keys: { kid: string }[] }
    // The same kid with another key: the signature cannot match.
    writeFileSync(path('other-jwks.json'), JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: keys[0]!.kid, alg: 'EdDSA' }] }))
    const mismatch = await runCli(['verify', path('good', 'a.jws'), '--bundle', path('bundle.json'), '--jwks', path('other-jwks.json')])
    t.equal(mismatch.code, 2)
    t.match(mismatch.stderr, /trust bundle .* cannot be used: SIGNATURE_INVALID/)
    t.equal(mismatch.stdout, '', 'no verdicts from an untrusted bundle')
  })

  t.test('usage and environment errors are exit 2', async (t) => {
    t.equal((await runCli(['verify', ...bundleArgs])).code, 2, 'nothing to verify')
    t.equal((await runCli(['verify', path('good')])).code, 2, 'no --bundle')
    t.equal((await runCli(['verify', path('nowhere'), ...bundleArgs])).code, 2, 'no such folder')
    t.equal((await runCli(['verify', path('good'), ...bundleArgs, '--url', 'http://127.0.0.1:1'])).code, 2, '--url without a token')
    t.equal((await runCli(['verify', path('good'), ...bundleArgs, '--concurrency', '0'])).code, 2)
    const help = await runCli(['verify', '--help'])
    t.equal(help.code, 0)
    t.match(help.stdout, /Examples:/)
  })

  t.test('receipts', async (t) => {
    const a = await f.app.inject({ method: 'POST', url: '/v1/verify', headers: auth, payload: { certificate: (await pushed(f)).trim() } })
    const answer = a.json() as { receipt: Record<string, unknown> & { event: { details: Record<string, unknown> } } }
    writeFileSync(path('receipt.json'), JSON.stringify(answer.receipt))
    writeFileSync(path('answer.json'), a.body)
    const run = await runCli(['verify', '--receipt', path('receipt.json'), '--jwks', path('jwks.json')])
    t.equal(run.code, 0, run.stderr)
    t.match(run.stdout, /VALID receipt: leaf \d+ is in the log/)
    t.match(run.stdout, /kind: +access\.verify/)
    t.match(run.stdout, /result: +0/)
    t.equal((await runCli(['verify', '--receipt', path('answer.json'), '--jwks', path('jwks.json')])).code, 0, 'a saved API answer works too')
    const json = await runCli(['verify', '--receipt', path('receipt.json'), '--jwks', path('jwks.json'), '--json'])
    t.match(JSON.parse(json.stdout), { valid: true, form: 'proof', leaf: { kind: 'access.verify' }, event: { details: { result: 0 } } })

    writeFileSync(path('forged.json'), JSON.stringify({ ...answer.receipt, event: { ...answer.receipt.event, details: { ...answer.receipt.event.details, result: 3 } } }))
    const forged = await runCli(['verify', '--receipt', path('forged.json'), '--jwks', path('jwks.json')])
    t.equal(forged.code, 1)
    t.match(forged.stderr, /INVALID receipt .*OPENING_MISMATCH/)
    t.equal((await runCli(['verify', '--receipt', path('receipt.json')])).code, 2, 'no --jwks')
    t.equal((await runCli(['verify', '--receipt', path('receipt.json'), '--jwks', path('missing.json')])).code, 2)
  })

  t.test('--url adds the live status', async (t) => {
    const url = await f.app.listen({ port: 0, host: '127.0.0.1' })
    const p = f.payload()
    writeFileSync(path('revoked.jws'), await pushed(f, p))
    await f.app.inject({ method: 'POST', url: `/v1/certificates/${p.id}/status`, headers: f.issuerAuth, payload: { status: 'revoked', reason: 'withdrawn' } })
    const token = auth.authorization.slice('Bearer '.length)
    const run = await runCli(['verify', path('good', 'a.jws'), path('revoked.jws'), path('good', 'sub', 'b.jws'), ...bundleArgs, '--url', url, '--json'], { env: { ZHENGZHAO_TOKEN: token } })
    t.equal(run.code, 1, run.stderr)
    const { results } = JSON.parse(run.stdout) as { results: Verdict[] }
    const storedSha256 = createHash('sha256').update(readFileSync(path('good', 'a.jws'), 'utf8').trim()).digest('hex')
    t.match(results[0], { verdict: 'VALID', live: { result: 0, storedSha256 } }, "the stored JWS's digest, read from the receipt's logged event")
    t.match(results[1], { verdict: 'INVALID', reasons: ['live:REVOKED'], live: { result: 3 } })
    t.match(results[2], { verdict: 'INVALID', reasons: ['live:NO_RECORD'], live: { result: 5 } }, 'valid offline, never stored')
    const refused = await runCli(['verify', path('good', 'a.jws'), ...bundleArgs, '--url', url, '--token', 'not-a-token'])
    t.equal(refused.code, 2)
    t.match(refused.stderr, /401/)
  })

  t.test('many certificates verify in parallel', async (t) => {
    const lines = await Promise.all(Array.from({ length: 400 }, () => f.sign(f.payload())))
    writeFileSync(path('many.jwsl'), `${lines.join('\n')}\n`)
    const run = await runCli(['verify', path('many.jwsl'), ...bundleArgs, '--concurrency', '16'])
    t.equal(run.code, 0, run.stderr)
    t.match(run.stdout, /400 valid, 0 invalid/)
    t.match(run.stdout, /many\.jwsl:400 +VALID/)
  })
})
