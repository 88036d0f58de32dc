import { readFileSync } from 'node:fs'
import t from 'tap'
import { ORG, runCli } from './fixtures/cli.js'

const version = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version

t.test('--help works on the program and on every command, with examples', async (t) => {
  for (const argv of [['--help'], ['keys', '--help'], ['token', '--help'], ['sign', '--help'], ['push', '--help'], ['migrate', '--help'], ['seed', '--help'], ['help', 'token']]) {
    const run = await runCli(argv)
    t.equal(run.code, 0, argv.join(' '))
    t.match(run.stdout, /Usage: zhengzhao/, `${argv.join(' ')} prints usage on stdout`)
    t.match(run.stdout, /Examples:\n {2}\$ zhengzhao/, `${argv.join(' ')} has examples`)
    t.equal(run.stderr, '')
  }
})

t.test('--version prints the package version', async (t) => {
  const run = await runCli(['--version'])
  t.equal(run.code, 0)
  t.equal(run.stdout.trim(), version)
})

t.test('usage errors exit 2', async (t) => {
  for (const argv of [['nope'], [], ['migrate', '--bogus'], ['keys'], ['token', '--role'], ['migrate', 'extra'], ['sign'], ['push'], ['push', 'x.jws', '--concurrency', '0']]) {
    const run = await runCli(argv)
    t.equal(run.code, 2, `zhengzhao ${argv.join(' ')}`)
    t.not(run.stderr, '', 'says why on stderr')
    t.equal(run.stdout, '', 'nothing on stdout')
  }
})

t.test('ID numbers in commander errors are masked', async (t) => {
  const run = await runCli(['token', '--role', 'holder', '--org', ORG, '--sub', 's', '--id-type', '111', '--idnumber=11010519491231002X'])
  t.equal(run.code, 2)
  t.notMatch(run.stderr, '11010519491231002X')
  t.match(run.stderr, '110105********002X')
})
