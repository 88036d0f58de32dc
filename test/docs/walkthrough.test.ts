import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { existsSync, lstatSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { untapped } from '../helpers/untapped.js'

// The README's Walkthrough, run as a newcomer runs it: every ```sh block marked
// `<!-- walkthrough -->`, in order, in one bash (so the variables one block sets reach the next,
// as in one terminal), in a scratch folder that looks like the clone's root (bin/, keys.example/,
// src/, node_modules/ linked in; the files the blocks write stay in the scratch folder), against
// the real server started as a child process on a fresh PGlite folder.
//
// Two things differ from a newcomer's run, and only these:
// - the server: `npm start` is what the README says; the test starts src/server.ts through tsx
//   (`node --import tsx src/server.ts`) with a clean environment (no DATABASE_URL, so PGlite, and
//   NODE_ENV unset, so development keys and the example catalogue, as `npm start` has them),
//   PORT=0, and DATA_DIR a scratch folder, so it runs beside other tests and whatever `npm start`
//   is built to run (tsx or compiled);
// - the URL: the README's one `http://127.0.0.1:3000` (the `export ZHENGZHAO_URL=…` line) is
//   replaced by the port the server took; every other command must go through $ZHENGZHAO_URL,
//   which the test checks by counting that URL.
// The shell and the server start without tap's hooks (test/helpers/untapped.ts), so every command
// runs as in a newcomer's terminal, where no test runner hooks node.
// Each block must exit 0 under `set -eo pipefail` (stricter than a terminal: any failing command
// fails its block), and its output must show what the README says it shows.

// About 12 CLI processes and a server start, each through tsx: some 35 s on two idle cores, but
// several times that while the rest of the suite runs beside it, so past tap's 180 s default.
t.setTimeout(400_000)

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const README_URL = 'http://127.0.0.1:3000'
const MARKER = '<!-- walkthrough -->'

/** The Walkthrough section's marked ```sh blocks, in order. */
export function walkthroughBlocks(readme: string): string[] {
  const start = readme.indexOf('\n## Walkthrough\n')
  if (start < 0) return []
  const end = readme.indexOf('\n## ', start + 1)
  const section = readme.slice(start, end < 0 ? undefined : end)
  const blocks: string[] = []
  const marked = new RegExp(`${MARKER}\\n\`\`\`sh\\n([\\s\\S]*?)\\n\`\`\`(?:\\n|$)`, 'g')
  for (const m of section.matchAll(marked)) blocks.push(m[1]!)
  return blocks
}

/** What some block's output must show: the first block whose text contains `when`. */
const EXPECTED: Array<{ when: string; stdout: RegExp; what: string }> = [
  { when: '/readyz', stdout: /"status":"ready"/, what: 'the service is ready' },
  { when: '/v1/issuers/', stdout: /^HTTP 201\nactive ES256 \S+\nHTTP 200\n11330100MB1234567E 11330106MB12345688$/m, what: 'the new issuer is registered with an active key and allowed for the type' },
  { when: '/v1/grants/', stdout: /"grants":\[\{"typeCode":"11100000000013338W011","matterCodes":\["330100-GJJ-001"\]\}\]/, what: 'the reader is granted marriage certificates' },
  { when: 'cert-id mint', stdout: /^1\.2\.156\.3005\.2\.11100000000013338W011\.11330106MB12345688\.2025000102\.001\.2$/m, what: 'the identifier is minted' },
  { when: 'push marriage.jws', stdout: /1 created, 0 unchanged, 0 rejected/, what: 'the certificate is pushed' },
  { when: '/v1/lookup', stdout: /^valid 结婚证 王五 1\.2\.156\.3005\.2\.11100000000013338W011\.11330106MB12345688\.2025000102\.001\.2$/m, what: 'the lookup returns the certificate' },
  { when: 'x-purpose-reason', stdout: /^valid, 0 status change\(s\)\nresult 0: correct and valid$/m, what: 'the reader reads and verifies it' },
  { when: '/v1/me/access-log', stdout: /access\.read 杭州市住房公积金管理中心 330100-GJJ-001 公积金贷款婚姻状况核验\n.*access\.lookup 杭州市住房公积金管理中心 330100-GJJ-001 公积金贷款婚姻状况核验/, what: 'the holder sees the reader\'s read and lookup with their purpose' },
  { when: '/v1/log/checkpoint', stdout: /marriage\.jws:1\s+VALID\s[\s\S]*VALID receipt: leaf \d+ is in the log/, what: 'the auditor verifies the certificate and the receipt offline' },
  { when: '"revoked"', stdout: /^revoked\n[\s\S]*marriage\.jws:1\s+INVALID\s.*REVOKED[\s\S]*^exit code 1\nresult 3: [^\n]*revoked[\s\S]*^OK {3}consistency \d+ → \d+[\s\S]*^VERIFIED$/m, what: 'after revocation both verifications say so, and the log extends the saved checkpoint' },
]

interface BlockRun {
  code: number
  stdout: string
  stderr: string
}

/** One bash for the whole walkthrough, as one terminal: each block is sourced in turn. */
function shell(cwd: string, env: NodeJS.ProcessEnv) {
  const bash = spawn(...untapped('bash', ['--norc', '--noprofile']), { cwd, env, stdio: ['pipe', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  let exited: number | null = null
  let wake: () => void = () => {}
  bash.stdout.on('data', (d: Buffer) => ((stdout += d), wake()))
  bash.stderr.on('data', (d: Buffer) => ((stderr += d), wake()))
  bash.on('close', (code) => ((exited = code ?? 1), wake()))
  bash.stdin.write('set -eo pipefail\n')
  return {
    async run(file: string, n: number): Promise<BlockRun> {
      const mark = `__walkthrough_block_${n}_done__`
      const [outFrom, errFrom] = [stdout.length, stderr.length]
      bash.stdin.write(`source ${file} </dev/null\necho ${mark}; echo ${mark} >&2\n`)
      for (;;) {
        const out = stdout.slice(outFrom)
        if (out.includes(`${mark}\n`) && stderr.slice(errFrom).includes(`${mark}\n`)) {
          return { code: 0, stdout: out.slice(0, out.indexOf(`${mark}\n`)), stderr: stderr.slice(errFrom, stderr.indexOf(`${mark}\n`, errFrom)) }
        }
        if (exited !== null) return { code: exited, stdout: out, stderr: stderr.slice(errFrom) }
        await new Promise<void>((r) => (wake = r))
      }
    },
    close: () => bash.kill('SIGKILL'),
  }
}

/** The problem details curl --fail-with-body wrote to the blocks' -o files: why a request failed. */
function problemsIn(dir: string): Record<string, string> {
  const found: Record<string, string> = {}
  for (const name of readdirSync(dir)) {
    if (!name.endsWith('.json') || lstatSync(join(dir, name)).isSymbolicLink()) continue
    const text = readFileSync(join(dir, name), 'utf8')
    if (text.includes('"type":"/problems/')) found[name] = text.slice(0, 2000)
  }
  return found
}

/** Starts src/server.ts as `npm start` would, on a scratch PGlite folder; resolves with its URL. */
function startServer(dataDir: string): Promise<{ child: ChildProcess; url: string }> {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, DATA_DIR: dataDir, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info' }
  return new Promise((resolve, reject) => {
    const child = spawn(...untapped(process.execPath, ['--import', 'tsx', 'src/server.ts']), { cwd: ROOT, env })
    let out = ''
    let err = ''
    child.stderr.on('data', (d: Buffer) => (err += d))
    child.stdout.on('data', (d: Buffer) => {
      out += d
      const m = /listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(out)
      if (m) resolve({ child, url: m[1]! })
    })
    child.on('close', (code) => reject(new Error(`the server exited ${code}: ${err.slice(-2000)}`)))
  })
}

t.test('the README walkthrough runs end to end, each block exiting 0 and showing what it says', async (t) => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8')
  const blocks = walkthroughBlocks(readme)
  // The README starts the service with `npm start`; the test starts the entry that script runs.
  t.match(readme, /\n## Walkthrough\n[\s\S]*?```sh\nnpm install && npm start\n```/, 'the Walkthrough starts the service with npm start')
  const start = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts.start
  t.match(start, /\b(src|dist)\/server\.(ts|js)\b/, `npm start (${start}) runs the server entry the test starts`)
  t.ok(blocks.length >= 8, `the Walkthrough has its marked blocks (${blocks.length})`)
  const urlUses = blocks.join('\n').split(README_URL).length - 1
  t.equal(urlUses, 1, `the blocks name ${README_URL} once (ZHENGZHAO_URL), and go through $ZHENGZHAO_URL otherwise`)

  // What the README asks a newcomer to have: curl 7.76+ (--fail-with-body) and bash.
  const curl = /^curl (\d+)\.(\d+)/.exec(spawnSync('curl', ['--version'], { encoding: 'utf8' }).stdout ?? '')
  t.ok(curl && (Number(curl[1]) > 7 || (Number(curl[1]) === 7 && Number(curl[2]) >= 76)), `curl 7.76 or newer is installed (${curl?.[0] ?? 'none'})`)

  const scratch = t.testdir({ clone: {}, data: {}, home: {}, blocks: {} })
  const clone = join(scratch, 'clone')
  for (const entry of ['bin', 'src', 'keys.example', 'node_modules', 'package.json', 'migrations', 'tsconfig.json']) {
    symlinkSync(join(ROOT, entry), join(clone, entry))
  }
  if (existsSync(join(ROOT, 'dist'))) symlinkSync(join(ROOT, 'dist'), join(clone, 'dist')) // when built

  const server = await startServer(join(scratch, 'data'))
  t.teardown(() => void server.child.kill('SIGKILL'))
  t.comment(`server at ${server.url}`)

  const env: NodeJS.ProcessEnv = { PATH: `${dirname(process.execPath)}:${process.env.PATH}`, HOME: join(scratch, 'home'), LANG: 'C.UTF-8' }
  const bash = shell(clone, env)
  t.teardown(() => void bash.close())
  const outputs: string[] = []
  for (const [i, block] of blocks.entries()) {
    const file = join(scratch, 'blocks', `block-${i + 1}.sh`)
    writeFileSync(file, `${block.replaceAll(README_URL, server.url)}\n`)
    const started = Date.now()
    const r = await bash.run(file, i + 1)
    const first = block.split('\n').find((l) => l.trim() && !l.startsWith('#'))
    t.equal(r.code, 0, `block ${i + 1} (${first}) exits 0 in ${Date.now() - started} ms`, { stdout: r.stdout, stderr: r.stderr, problems: r.code ? problemsIn(clone) : undefined })
    outputs.push(r.stdout)
    if (r.code !== 0) break
  }

  for (const { when, stdout, what } of EXPECTED) {
    const i = blocks.findIndex((b) => b.includes(when))
    t.ok(i >= 0, `a block runs ${when}`)
    if (i < 0 || outputs[i] === undefined) continue
    t.match(outputs[i], stdout, `block ${i + 1}: ${what}`)
  }
})

t.test('the block finder takes only the marked sh blocks of the Walkthrough section', async (t) => {
  const readme = [
    '# x', MARKER, '```sh', 'echo before', '```',
    '## Walkthrough', '```sh', 'npm start', '```', MARKER, '```sh', 'echo one', 'echo two', '```',
    'text', MARKER, '```sh', 'echo three', '```',
    '## Next', MARKER, '```sh', 'echo after', '```',
  ].join('\n')
  t.same(walkthroughBlocks(readme), ['echo one\necho two', 'echo three'])
})
