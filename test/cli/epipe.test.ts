import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { untapped } from '../helpers/untapped.js'

// The real process: what a shell's `zhengzhao … | head -1` does, the reader gone before the
// command writes. bin/zhengzhao.js runs dist/ or, in a checkout that changed, the sources.
const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const CERT_ID = '1.2.156.3005.2.11100000000013338W032.11330105002500287C.2025000001.001.1'

function intoClosedPipe(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(...untapped(process.execPath, ['bin/zhengzhao.js', ...args]), { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
    // Closed before the process has even started: its first write to stdout meets EPIPE.
    child.stdout.destroy()
    let stderr = ''
    child.stderr.on('data', (d: Buffer) => (stderr += d))
    child.on('close', (code) => resolve({ code, stderr }))
  })
}

t.test('output into a closed pipe ends the command quietly, with 128 + SIGPIPE', async (t) => {
  const [help, check] = await Promise.all([intoClosedPipe(['sign', '--help']), intoClosedPipe(['cert-id', 'check', CERT_ID])])
  for (const [name, run] of [['sign --help', help], ['cert-id check', check]] as const) {
    t.equal(run.stderr, '', `${name}: no stack trace, nothing on stderr`)
    t.equal(run.code, 141, `${name}: exit 141, as coreutils under SIGPIPE`)
  }
})
