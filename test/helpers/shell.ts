import { execFileSync, spawn } from 'node:child_process'
import { closeSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, writeFileSync, writeSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

// The test helpers that make fixtures with the openssl command line (test PKIs, SM2 signatures,
// seals) run it synchronously, hundreds of times a run. Started from the test process itself,
// each run forks that process, which is large (hundreds of MB mapped): about 50 ms of CPU a fork,
// the kernel's copy of its page tables and their teardown when the copy execs, more than
// openssl's own work. So the commands go to one small shell per test process,
// started on first use, which forks cheaply: the script goes into a file, its number down a named
// pipe, and the shell answers on another with the number and the script's exit status. The test
// process waits for that answer in a blocking read, as execFileSync waits for its child.
//
// When the test process exits, the shell reads the end of its pipe and exits too. If the shell
// dies first, the read sees the end of the answers' pipe and the call throws. (`sh` must start:
// the first call waits for it to open the pipes.)

const LOOP = `
exec <"$1/requests" >"$1/answers"
while IFS= read -r n; do
  sh "$1/$n.sh" >"$1/$n.out" 2>"$1/$n.err" </dev/null
  echo "$n $?"
done
`

interface Shell {
  dir: string
  requests: number
  answers: number
  pending: string
  next: number
}

let shell: Shell | undefined

function start(): Shell {
  const dir = mkdtempSync(join(tmpdir(), 'zz-shell-'))
  execFileSync('mkfifo', [join(dir, 'requests'), join(dir, 'answers')])
  const child = spawn('sh', ['-c', LOOP, 'sh', dir], { stdio: 'ignore' })
  child.unref()
  // Each open waits for the shell's open of the other end: requests first, then answers.
  const requests = openSync(join(dir, 'requests'), 'w')
  const answers = openSync(join(dir, 'answers'), 'r')
  process.once('exit', () => {
    closeSync(requests)
    closeSync(answers)
    rmSync(dir, { recursive: true, force: true })
  })
  return { dir, requests, answers, pending: '', next: 0 }
}

function readLine(s: Shell): string {
  const buf = Buffer.alloc(256)
  for (;;) {
    const nl = s.pending.indexOf('\n')
    if (nl >= 0) {
      const line = s.pending.slice(0, nl)
      s.pending = s.pending.slice(nl + 1)
      return line
    }
    const n = readSync(s.answers, buf, 0, buf.length, null)
    if (n === 0) throw new Error('the helper shell exited (test/helpers/shell.ts)')
    s.pending += buf.toString('latin1', 0, n)
  }
}

export interface ShellRun {
  status: number
  stdout: Buffer
  stderr: string
}

/** Runs a POSIX sh script in the helper shell, synchronously; its stdin is /dev/null. */
export function runScript(script: string): ShellRun {
  shell ??= start()
  const s = shell
  const n = String(s.next++)
  const file = (suffix: string) => join(s.dir, `${n}.${suffix}`)
  writeFileSync(file('sh'), script)
  try {
    writeSync(s.requests, `${n}\n`)
    const [got, status] = readLine(s).split(' ')
    if (got !== n) throw new Error(`the helper shell answered ${got} to ${n}`)
    return { status: Number(status), stdout: readFileSync(file('out')), stderr: readFileSync(file('err'), 'utf8') }
  } finally {
    for (const suffix of ['sh', 'out', 'err']) rmSync(file(suffix), { force: true })
  }
}

const quoted = (arg: string) => `'${arg.replaceAll("'", `'\\''`)}'`

/** One command line, each argument quoted for sh. */
export const commandLine = (argv: readonly string[]): string => argv.map(quoted).join(' ')
