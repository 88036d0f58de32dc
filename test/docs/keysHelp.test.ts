import { readdirSync } from 'node:fs'
import t from 'tap'
import { EXAMPLE_ISSUERS } from '../../src/types/catalogue.js'
import { runCli } from '../cli/fixtures/cli.js'
import { useFixtureRsaKeys } from '../helpers/rsaKeys.js'

// The development PKIs here take their RSA keys from the test fixture (test/helpers/rsaKeys.ts).
useFixtureRsaKeys()

// `zhengzhao keys --help` names every file the command writes (the service key was once missing).
t.test('keys --help names every file keys writes', async (t) => {
  const dir = t.testdir()
  const run = await runCli(['keys', '--out', dir])
  t.equal(run.code, 0, run.stderr)
  const shown = await runCli(['keys', '--help'])
  t.equal(shown.code, 0)
  const help = shown.stdout + shown.stderr
  const written = readdirSync(dir)
  t.ok(written.includes('service-ed25519.private.pem'), 'the service key is written')
  const rsaCodes = EXAMPLE_ISSUERS.filter((i) => i.keyType !== 'sm2').map((i) => i.code)
  for (const name of written) {
    // The RSA issuers' files are named once, as issuer-<code>.*.
    const generic = rsaCodes.reduce((n, code) => n.replace(code, '<code>'), name)
    t.ok(help.includes(name) || (generic !== name && help.includes(generic)), `--help names ${name}`)
  }
  for (const setting of ['AUTH_KEYS', 'TRUST_ANCHORS', 'DATA_PROTECTION_KEYS', 'SERVICE_KEYS']) t.match(help, setting, `--help says which file ${setting} takes`)
})
