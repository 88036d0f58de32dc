import { createHash } from 'node:crypto'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { createLocalJWKSet, compactVerify, type JSONWebKeySet } from 'jose'
import { signServiceJws, TRUST_BUNDLE_TYP } from '../../src/crypto/serviceKeys.js'
import type { TrustBundlePayload } from '../../src/trust/bundle.js'
import { bearer, testConfig } from '../helpers/app.js'
import { HOLDER_ID, HOLDER_NAME, issuanceFixture, randomSerial, type IssuanceFixture } from '../helpers/certs.js'
import { makeSealedOfd } from '../helpers/ofd.js'
import { runCli } from './fixtures/cli.js'

// Offline verification tells the truth about status (issue 11 item 5): the trust bundle lists
// every certificate that is not valid, `zhengzhao verify` applies it and says as of when; an
// old bundle without the list is "status not checked" with exit code 3, never a bare VALID.

interface Verdict {
  file: string
  verdict: 'VALID' | 'INVALID'
  id?: string
  reasons: string[]
  statusChecked: boolean
  statusAsOf?: string
  statusSource?: string
  statusSince?: string
  checks: { check: string; outcome: string; reason?: string; detail?: string }[]
}
interface Report {
  statusChecked: boolean
  statusAsOf?: string
  bundle: { status?: { asOf: string; listed: number } }
  summary: { valid: number; invalid: number; statusNotChecked: number }
  results: Verdict[]
}

const EXIT_STATUS_NOT_CHECKED = 3
const re = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

async function push(f: IssuanceFixture, payload = f.payload()): Promise<{ id: string; jws: string }> {
  const jws = await f.sign(payload)
  const res = await f.app.inject({ method: 'POST', url: '/v1/certificates', headers: f.issuerAuth, payload: { certificate: jws } })
  if (res.statusCode !== 201) throw new Error(res.body)
  return { id: payload.id, jws }
}

async function setStatus(f: IssuanceFixture, id: string, status: string): Promise<void> {
  const res = await f.app.inject({ method: 'POST', url: `/v1/certificates/${id}/status`, headers: f.issuerAuth, payload: { status, reason: 'test' } })
  if (res.statusCode !== 200) throw new Error(res.body)
}

const sm3 = (b: Buffer) => createHash('sm3').update(b).digest('hex')
const payloadOf = (jws: string) => JSON.parse(Buffer.from(jws.split('.')[1]!, 'base64url').toString()) as TrustBundlePayload

t.test('zhengzhao verify applies the bundle\'s status list', async (t) => {
  const f = await issuanceFixture(t)
  const dir = mkdtempSync(join(tmpdir(), 'zz-verify-status-'))
  const path = (...p: string[]) => join(dir, ...p)
  const auth = await bearer(['auditor'])

  const valid = await push(f)
  const revoked = await push(f)
  await setStatus(f, revoked.id, 'revoked')
  const suspended = await push(f)
  await setStatus(f, suspended.id, 'suspended')
  const reinstated = await push(f)
  await setStatus(f, reinstated.id, 'suspended')
  await setStatus(f, reinstated.id, 'valid')
  const serial = randomSerial()
  const old = await push(f, f.payload({ serial }))
  const current = await push(f, f.payload({ serial, version: 2 }))
  const later = await push(f)
  const files = { valid, revoked, suspended, reinstated, old, current, later }
  for (const [name, c] of Object.entries(files)) writeFileSync(path(`${name}.jws`), c.jws)

  const bundleRes = await f.app.inject({ method: 'GET', url: '/v1/trust-bundle', headers: auth })
  t.equal(bundleRes.statusCode, 200)
  writeFileSync(path('bundle.json'), bundleRes.body)
  const jwksBody = (await f.app.inject({ method: 'GET', url: '/.well-known/jwks.json' })).body
  writeFileSync(path('jwks.json'), jwksBody)
  const bundleArgs = ['--bundle', path('bundle.json'), '--jwks', path('jwks.json')]
  const { bundle } = bundleRes.json() as { bundle: string }
  const payload = payloadOf(bundle)
  const iat = new Date(payload.iat * 1000).toISOString()
  // Revoked after the bundle was made: offline it cannot know.
  await setStatus(f, later.id, 'revoked')

  t.test('the bundle lists what is not valid, signed, and nothing about the holder', async (t) => {
    const { payload: signed } = await compactVerify(bundle, createLocalJWKSet(JSON.parse(jwksBody) as JSONWebKeySet))
    t.ok(signed.length > 0, "the bundle's signature still verifies")
    const status = payload.status!
    t.ok(status, 'the bundle carries a status list')
    // This fixture's own certificates (on PostgreSQL the database is shared with other tests).
    const ids = (groups: { head: string; ids: string[] }[]) => groups.filter((g) => g.head === `1.2.156.3005.2.${f.typeCode}.${f.issuerCode}.`).flatMap((g) => g.ids.map((rest) => g.head + rest))
    t.same(ids(status.revoked), [revoked.id])
    t.same(ids(status.suspended), [suspended.id])
    t.same(ids(status.superseded), [old.id])
    for (const c of [valid, reinstated, current, later]) t.notOk(JSON.stringify(status).includes(c.id.split('.').slice(-3).join('.')), 'a valid certificate is not listed')
    const text = JSON.stringify(status)
    t.notOk(text.includes(HOLDER_ID) || text.includes(HOLDER_NAME), 'no holder ID or name')
    const own = (g: { head: string }) => g.head.includes(f.issuerCode)
    for (const group of [...status.revoked, ...status.suspended, ...status.superseded].filter(own)) t.same(Object.keys(group).sort(), ['head', 'ids', 'since'], 'identifier, since: nothing else')
    const since = status.revoked.find(own)!.since[0]!
    t.ok(since <= payload.iat && since > payload.iat - 120, 'since: when it was revoked, in seconds')
  })

  t.test('offline: listed ones INVALID with their status and the bundle\'s time, the others VALID "status as of"', async (t) => {
    const run = await runCli(['verify', ...Object.keys(files).map((n) => path(`${n}.jws`)), ...bundleArgs])
    t.equal(run.code, 1, run.stderr)
    t.match(run.stdout, new RegExp(`Status as of ${re(iat)} \\(the bundle's time\\): it lists \\d+ certificate`))
    t.match(run.stdout, new RegExp(`valid\\.jws:1 +VALID +${re(valid.id)} +\\[status as of ${re(iat)}\\]`))
    t.match(run.stdout, new RegExp(`revoked\\.jws:1 +INVALID +${re(revoked.id)} +REVOKED +\\[status as of ${re(iat)}: revoked since \\S+Z\\]`))
    t.match(run.stdout, new RegExp(`suspended\\.jws:1 +INVALID +${re(suspended.id)} +SUSPENDED +\\[status as of ${re(iat)}: suspended since`))
    t.match(run.stdout, new RegExp(`old\\.jws:1 +INVALID +${re(old.id)} +SUPERSEDED +\\[status as of ${re(iat)}: superseded since`))
    t.match(run.stdout, new RegExp(`reinstated\\.jws:1 +VALID +${re(reinstated.id)} +\\[status as of ${re(iat)}\\]`), 'reinstated: valid again')
    t.match(run.stdout, new RegExp(`current\\.jws:1 +VALID +${re(current.id)} +\\[status as of`), 'the version that superseded it')
    t.match(run.stdout, new RegExp(`later\\.jws:1 +VALID +${re(later.id)} +\\[status as of ${re(iat)}\\]`), 'revoked after the bundle: the line says as of when')
    t.match(run.stderr, /3 of 7 certificate\(s\) invalid/)
    t.notOk((run.stdout + run.stderr).includes(HOLDER_ID) || (run.stdout + run.stderr).includes(HOLDER_NAME))
  })

  t.test('--json: statusChecked, statusAsOf, statusSince, and the status check', async (t) => {
    const run = await runCli(['verify', path('revoked.jws'), path('valid.jws'), ...bundleArgs, '--json'])
    t.equal(run.code, 1, run.stderr)
    const report = JSON.parse(run.stdout) as Report
    t.match(report, { statusChecked: true, statusAsOf: iat, bundle: { status: { asOf: iat, listed: Number } }, summary: { valid: 1, invalid: 1, statusNotChecked: 0 } })
    const [r, v] = report.results as [Verdict, Verdict]
    t.match(r, { verdict: 'INVALID', reasons: ['REVOKED'], statusChecked: true, statusAsOf: iat, statusSource: 'bundle', statusSince: /Z$/ })
    t.match(r.checks.find((c) => c.check === 'status'), { outcome: 'fail', reason: 'REVOKED', detail: new RegExp(`as of ${re(iat)}`) })
    t.match(v, { verdict: 'VALID', reasons: [], statusChecked: true, statusAsOf: iat })
    t.notOk('statusSince' in v)
    t.match(v.checks.find((c) => c.check === 'status'), { outcome: 'pass' })
  })

  t.test('only VALID ones: exit 0', async (t) => {
    const run = await runCli(['verify', path('valid.jws'), path('reinstated.jws'), ...bundleArgs])
    t.equal(run.code, 0, run.stderr)
    t.notMatch(run.stdout, /not checked/)
  })

  t.test('--url wins over the bundle: revoked since the bundle, and the bundle\'s word replaced', async (t) => {
    const url = await f.app.listen({ port: 0, host: '127.0.0.1' })
    const env = { ZHENGZHAO_TOKEN: auth.authorization.slice('Bearer '.length) }
    const run = await runCli(['verify', path('later.jws'), path('revoked.jws'), path('valid.jws'), ...bundleArgs, '--url', url, '--json'], { env })
    t.equal(run.code, 1, run.stderr)
    const [l, r, v] = (JSON.parse(run.stdout) as Report).results as [Verdict, Verdict, Verdict]
    t.match(l, { verdict: 'INVALID', reasons: ['live:REVOKED'], statusSource: 'live', statusChecked: true })
    t.ok(Date.parse(l.statusAsOf!) > Date.parse(iat), 'as of the live answer')
    t.match(r, { verdict: 'INVALID', reasons: ['live:REVOKED'], statusSource: 'live' }, 'the bundle\'s REVOKED is not counted twice')
    t.match(v, { verdict: 'VALID', reasons: [], statusSource: 'live' })
    const text = await runCli(['verify', path('later.jws'), ...bundleArgs, '--url', url], { env })
    t.match(text.stdout, new RegExp(`later\\.jws:1 +INVALID +${re(later.id)} +live:REVOKED .*\\[status as of \\S+ \\(live\\): revoked\\]`))
    // A suspension lifted after the bundle: the service says valid, and that wins.
    await setStatus(f, suspended.id, 'valid')
    const lifted = await runCli(['verify', path('suspended.jws'), ...bundleArgs, '--url', url, '--json'], { env })
    t.equal(lifted.code, 0, lifted.stdout)
    t.match((JSON.parse(lifted.stdout) as Report).results[0], { verdict: 'VALID', reasons: [], statusSource: 'live', checks: [{}, {}, {}, {}, {}, {}, {}, {}, {}, { check: 'status', outcome: 'pass' }] })
  })

  t.test('a bundle without a status list: "status not checked", exit 3, never a bare VALID', async (t) => {
    // As an older service made it, signed with the service's own key so that --jwks verifies it.
    const { status: _status, ...older } = payload
    const config = await testConfig()
    writeFileSync(path('old-bundle.json'), JSON.stringify({ bundle: await signServiceJws(config.serviceKeys, older, TRUST_BUNDLE_TYP) }))
    const oldArgs = ['--bundle', path('old-bundle.json'), '--jwks', path('jwks.json')]
    const run = await runCli(['verify', path('valid.jws'), path('revoked.jws'), ...oldArgs])
    t.equal(run.code, 0 + EXIT_STATUS_NOT_CHECKED, run.stderr)
    t.match(run.stdout, /WARNING: status not checked: this bundle carries no status list/)
    t.match(run.stdout, new RegExp(`valid\\.jws:1 +VALID +${re(valid.id)} +\\[status not checked\\]`))
    t.match(run.stdout, new RegExp(`revoked\\.jws:1 +VALID +${re(revoked.id)} +\\[status not checked\\]`), 'revoked, but this bundle cannot know')
    t.match(run.stdout, /Status not checked for 2 of the valid/)
    t.match(run.stderr, /status not checked for 2 of 2 certificate\(s\)/)

    const json = await runCli(['verify', path('valid.jws'), ...oldArgs, '--json'])
    t.equal(json.code, EXIT_STATUS_NOT_CHECKED)
    const report = JSON.parse(json.stdout) as Report
    t.match(report, { statusChecked: false, summary: { valid: 1, statusNotChecked: 1 } })
    t.notOk('statusAsOf' in report)
    t.notOk('status' in report.bundle)
    t.match(report.results[0], { verdict: 'VALID', statusChecked: false })
    t.notOk('statusAsOf' in report.results[0]!)

    t.equal((await runCli(['verify', path('valid.jws'), path('tampered.none'), ...oldArgs])).code, 2, 'usage errors stay 2')
    writeFileSync(path('bad.jws'), 'not a certificate')
    t.equal((await runCli(['verify', path('valid.jws'), path('bad.jws'), ...oldArgs])).code, 1, 'an invalid one makes it 1')
  })

  t.test('--no-status sets the list aside: exit 3; with --url the live status counts', async (t) => {
    const run = await runCli(['verify', path('revoked.jws'), ...bundleArgs, '--no-status'])
    t.equal(run.code, EXIT_STATUS_NOT_CHECKED, run.stderr)
    t.match(run.stdout, /WARNING: status not checked: --no-status/)
    t.match(run.stdout, /revoked\.jws:1 +VALID .*\[status not checked\]/)
    const url = await f.app.listen({ port: 0, host: '127.0.0.1' }).catch(() => `http://127.0.0.1:${(f.app.server.address() as { port: number }).port}`)
    const env = { ZHENGZHAO_TOKEN: auth.authorization.slice('Bearer '.length) }
    const live = await runCli(['verify', path('valid.jws'), ...bundleArgs, '--no-status', '--url', url], { env })
    t.equal(live.code, 0, live.stderr)
    t.match(live.stdout, /valid\.jws:1 +VALID .*\[status as of \S+ \(live\)\]/)
  })

  t.test('--help documents the status and exit code 3', async (t) => {
    const help = await runCli(['verify', '--help'])
    t.equal(help.code, 0)
    t.match(help.stdout, /--no-status/)
    t.match(help.stdout, /status not checked/)
    t.match(help.stdout, /3 none invalid but the status of some not checked/)
  })
})

t.test('an OFD file: the certificate that carries it, found by the file\'s SM3', async (t) => {
  const f = await issuanceFixture(t, {}, { sm2: true })
  const sealer = f.pki.issue({ keyType: 'sm2', subjectCN: 'Zhengzhao status test sealing key' })
  const maker = f.pki.issue({ keyType: 'sm2', subjectCN: 'Zhengzhao status test seal maker' })
  t.equal((await f.app.inject({ method: 'POST', url: `/v1/issuers/${f.issuerCode}/keys`, headers: f.adminAuth, payload: { certificate: sealer.chainPem } })).statusCode, 201)
  const dir = mkdtempSync(join(tmpdir(), 'zz-verify-status-ofd-'))
  const path = (...p: string[]) => join(dir, ...p)
  const auth = await bearer(['auditor'])

  // Two certificates each carrying a sealed file; one is revoked before the bundle is made.
  const carried = async () => {
    const made = makeSealedOfd({ signer: sealer, maker })
    const p = { ...f.payload(), document: { mediaType: 'application/ofd' as const, sm3: sm3(made.bytes), size: made.bytes.length } }
    const res = await f.app.inject({ method: 'POST', url: '/v1/certificates', headers: f.issuerAuth, payload: { certificate: await f.sign(p), document: made.bytes.toString('base64') } })
    if (res.statusCode !== 201) throw new Error(res.body.slice(0, 400))
    return { id: p.id, bytes: made.bytes }
  }
  const kept = await carried()
  const withdrawn = await carried()
  await setStatus(f, withdrawn.id, 'revoked')
  writeFileSync(path('kept.ofd'), kept.bytes)
  writeFileSync(path('withdrawn.ofd'), withdrawn.bytes)
  const bundleRes = await f.app.inject({ method: 'GET', url: '/v1/trust-bundle', headers: auth })
  writeFileSync(path('bundle.json'), bundleRes.body)
  writeFileSync(path('jwks.json'), (await f.app.inject({ method: 'GET', url: '/.well-known/jwks.json' })).body)
  const payload = payloadOf((bundleRes.json() as { bundle: string }).bundle)
  const iat = new Date(payload.iat * 1000).toISOString()
  t.same(payload.status!.revoked.filter((g) => g.head.includes(f.issuerCode)).map((g) => g.sm3), [[sm3(withdrawn.bytes)]], "the list carries the file's SM3")

  const run = await runCli(['verify', path('kept.ofd'), path('withdrawn.ofd'), '--bundle', path('bundle.json'), '--jwks', path('jwks.json'), '--json'], { cwd: dir })
  t.equal(run.code, 1, run.stderr)
  const [k, w] = (JSON.parse(run.stdout) as Report).results as [Verdict, Verdict]
  t.match(k, { verdict: 'VALID', reasons: [], statusChecked: true, statusAsOf: iat })
  t.match(k.checks.find((c) => c.check === 'status'), { outcome: 'pass', detail: /its SM3 not listed/ })
  t.notOk('id' in k, 'a file not listed names no certificate offline')
  t.match(w, { verdict: 'INVALID', id: withdrawn.id, reasons: ['REVOKED'], statusChecked: true, statusAsOf: iat, statusSince: /Z$/ })
  const text = await runCli(['verify', path('withdrawn.ofd'), '--bundle', path('bundle.json'), '--jwks', path('jwks.json')], { cwd: dir })
  t.match(text.stdout, new RegExp(`withdrawn\\.ofd:1 +INVALID +${re(withdrawn.id)} +REVOKED +\\[OFD 0: correct; sm3 [0-9a-f]{64}\\] +\\[status as of ${re(iat)}: revoked since`))
})
