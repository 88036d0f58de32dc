import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { untapped } from '../helpers/untapped.js'

// The benches' --help: what each measures and its options, and nothing run.
const ROOT = fileURLToPath(new URL('../../', import.meta.url))

for (const [script, options] of [
  ['bench/run.ts', ['--pglite', '--sm2', '--ofd', '--profile', '--perf', '--pin', '--ladder']],
  ['bench/pgliteMemory.ts', ['--runs', '--rows', '--only', '--service']],
] as const) {
  t.test(`${script} --help`, async (t) => {
    const r = spawnSync(...untapped(process.execPath, ['--import', 'tsx', script, '--help']), { cwd: ROOT, encoding: 'utf8', timeout: 60_000 })
    t.equal(r.status, 0, `exits 0: ${r.stderr.slice(-500)}`)
    t.match(r.stdout, /^Usage: /, 'starts with its usage')
    for (const option of options) t.match(r.stdout, option, `names ${option}`)
  })
}
