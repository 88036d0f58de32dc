import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { issuanceFixture, HOLDER_ID } from '../helpers/certs.js'
import { runCli } from './fixtures/cli.js'

t.test('zhengzhao sign, then push to the real service, twice', async (t) => {
  const f = await issuanceFixture(t)
  const url = await f.app.listen({ port: 0, host: '127.0.0.1' })
  const dir = mkdtempSync(join(tmpdir(), 'zz-push-e2e-'))
  const token = f.issuerAuth.authorization.slice('Bearer '.length)

  // Signed by the CLI from a JSON file, with the issuer's openssl-made key.
  writeFileSync(join(dir, 'key.pem'), f.key.privateKeyPem)
  writeFileSync(join(dir, 'one.json'), JSON.stringify(f.payload()))
  const signed = await runCli(['sign', join(dir, 'one.json'), '--key', join(dir, 'key.pem'), '--out', join(dir, 'one.jws')])
  t.equal(signed.code, 0, signed.stderr)
  // A bulk file, one JWS per line, with one bad certificate among them.
  const lines = await Promise.all(Array.from({ length: 25 }, () => f.sign(f.payload())))
  lines.push(await f.sign({ ...f.payload(), data: { level: 0 } }))
  writeFileSync(join(dir, 'bulk.jwsl'), `${lines.join('\n')}\n`)

  const first = await runCli(['push', dir, '--url', url, '--token', token, '--batch-size', '10', '--json'])
  t.equal(first.code, 1, 'one rejection: exit 1')
  const report = JSON.parse(first.stdout)
  t.match(report.summary ?? report, { created: 26, unchanged: 0, rejected: 1 })
  t.match(first.stdout, /bulk\.jwsl/)
  t.notMatch(first.stdout + first.stderr, HOLDER_ID, 'no ID number in the report')

  const again = await runCli(['push', dir, '--url', url, '--token', token, '--json'])
  t.match(JSON.parse(again.stdout).summary ?? JSON.parse(again.stdout), { created: 0, unchanged: 26, rejected: 1 }, 'a re-run is safe')

  const denied = await runCli(['push', join(dir, 'one.jws'), '--url', url, '--token', 'not-a-token'])
  t.equal(denied.code, 2)
})
