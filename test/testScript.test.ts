import { spawnSync } from 'node:child_process'
import { chmodSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t, { type Test } from 'tap'

// `npm test` (scripts/test.sh) runs the type-check beside tap: it must still fail when either
// fails, and hand tap its arguments. Here tsc and tap are stand-ins that exit as told.

const SCRIPT = fileURLToPath(new URL('../scripts/test.sh', import.meta.url))

function run(t: Test, tscExit: number, tapExit: number, args: string[] = []) {
  const bin = t.testdir()
  const stub = (name: string, code: number) => {
    writeFileSync(join(bin, name), `#!/bin/sh\necho "${name} $*" >> "${join(bin, 'calls')}"\nexit ${code}\n`)
    chmodSync(join(bin, name), 0o755)
  }
  stub('tsc', tscExit)
  stub('tap', tapExit)
  const r = spawnSync('sh', [SCRIPT, ...args], { encoding: 'utf8', env: { ...process.env, PATH: `${bin}:${process.env.PATH}` } })
  const calls = readFileSync(join(bin, 'calls'), 'utf8').trim().split('\n').sort()
  return { code: r.status, stderr: r.stderr, calls }
}

t.test('both pass: exit 0, tap gets the arguments, tsc checks the test project', async (t) => {
  const r = run(t, 0, 0, ['test/auth/auth.test.ts', '--reporter=terse'])
  t.equal(r.code, 0)
  t.same(r.calls, ['tap test/auth/auth.test.ts --reporter=terse', 'tsc -p tsconfig.test.json'])
})

t.test('the type-check fails, the tests pass: exit 1, saying so', async (t) => {
  const r = run(t, 2, 0)
  t.equal(r.code, 1)
  t.match(r.stderr, /the type-check failed/)
})

t.test('the tests fail: tap\'s exit status, whatever the type-check says', async (t) => {
  t.equal(run(t, 0, 3).code, 3)
  t.equal(run(t, 2, 3).code, 1)
})
