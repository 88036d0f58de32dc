import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import type { Command } from 'commander'
import { checkConsistency, checkEntries, checkInclusion, checkLeafOpening, checkSignedCheckpoint, savedLeafOf, type AuditedEntry, type Step } from '../log/check.js'
import { noteVerifiersFromJwks, type Checkpoint, type NoteVerifier } from '../log/note.js'
import { CliError, EXIT_FAILED, EXIT_USAGE, type CliIo } from './io.js'

interface Remote {
  get(path: string, auth?: boolean): Promise<{ status: number; text: string }>
}

function remote(base: string, token: string | undefined): Remote {
  return {
    async get(path, auth = false) {
      let res: Response
      try {
        res = await fetch(new URL(path, base), { headers: auth && token ? { authorization: `Bearer ${token}` } : {} })
      } catch (err) {
        throw new CliError(EXIT_USAGE, `cannot reach ${base} (${(err as Error).message}); check --url`)
      }
      return { status: res.status, text: await res.text() }
    },
  }
}

function readText(file: string, what: string): string {
  if (!existsSync(file)) throw new CliError(EXIT_USAGE, `${what} ${file} does not exist`)
  return readFileSync(file, 'utf8')
}

async function verifiersFrom(opts: { jwks?: string }, server: Remote | undefined): Promise<NoteVerifier[]> {
  let text: string
  if (opts.jwks) text = readText(opts.jwks, 'the JWKS file')
  else if (server) text = (await server.get('/.well-known/jwks.json')).text
  else throw new CliError(EXIT_USAGE, 'give --url (the service publishes its keys) or --jwks FILE')
  try {
    return noteVerifiersFromJwks(JSON.parse(text))
  } catch {
    throw new CliError(EXIT_USAGE, 'the JWKS is not JSON')
  }
}

function printSteps(io: CliIo, steps: Step[]): number {
  for (const s of steps) io.stdout(`${s.ok ? 'OK  ' : 'FAIL'} ${s.check}: ${s.detail}\n`)
  const failed = steps.filter((s) => !s.ok)
  io.stdout(failed.length === 0 ? 'VERIFIED\n' : `NOT VERIFIED: ${failed.length} check(s) failed\n`)
  return failed.length === 0 ? 0 : EXIT_FAILED
}

/** The current checkpoint and the consistency proof from `from`, fetched and checked. */
async function currentFrom(server: Remote, saved: Checkpoint, verifiers: NoteVerifier[], steps: Step[]): Promise<Checkpoint | undefined> {
  const latest = await server.get('/v1/log/checkpoint')
  const current = checkSignedCheckpoint('current', latest.text, verifiers, saved.origin)
  steps.push(current.step)
  if (!current.checkpoint) return undefined
  if (current.checkpoint.size === saved.size) {
    steps.push(checkConsistency(saved, current.checkpoint, []))
    return current.checkpoint
  }
  const res = await server.get(`/v1/log/proof/consistency?from=${saved.size}&to=${current.checkpoint.size}`)
  const proof = res.status === 200 ? ((JSON.parse(res.text) as { proof: string[] }).proof ?? []) : undefined
  steps.push(proof ? checkConsistency(saved, current.checkpoint, proof) : { check: `consistency ${saved.size} → ${current.checkpoint.size}`, ok: false, detail: `the service answered ${res.status}` })
  return current.checkpoint
}

interface VerifyOptions {
  checkpoint: string
  url?: string
  jwks?: string
  receipt: string[]
  holderRef?: string
  entries?: boolean
  token?: string
}

async function runVerify(io: CliIo, opts: VerifyOptions): Promise<number> {
  const server = opts.url ? remote(opts.url, opts.token ?? io.env.ZHENGZHAO_TOKEN) : undefined
  const verifiers = await verifiersFrom(opts, server)
  const steps: Step[] = []
  const saved = checkSignedCheckpoint('saved', readText(opts.checkpoint, 'the checkpoint file'), verifiers)
  steps.push(saved.step)
  if (!saved.checkpoint) return printSteps(io, steps)
  const current = server ? await currentFrom(server, saved.checkpoint, verifiers, steps) : undefined

  for (const file of opts.receipt) {
    let json: unknown
    try {
      json = JSON.parse(readText(file, 'the receipt file'))
    } catch (err) {
      if (err instanceof CliError) throw err
      throw new CliError(EXIT_USAGE, `${file} is not JSON`)
    }
    const leaf = savedLeafOf(json)
    if (!leaf) throw new CliError(EXIT_USAGE, `${file} holds no log proof (an answer's "log", or an access-log item)`)
    steps.push(checkLeafOpening(leaf, opts.holderRef))
    // Offline: the proof the answer carried, against the checkpoint it carried.
    if (leaf.inclusionProof && leaf.checkpoint) {
      const own = checkSignedCheckpoint(`receipt's`, leaf.checkpoint, verifiers, saved.checkpoint.origin)
      steps.push(own.step)
      if (own.checkpoint) steps.push(checkInclusion(leaf, own.checkpoint, leaf.inclusionProof, "the receipt's checkpoint"))
    }
    // Online: the service must still prove it against today's tree (a deleted or altered event is refused).
    if (server && current) {
      const res = await server.get(`/v1/log/proof/inclusion?index=${leaf.leafIndex}&size=${current.size}`)
      if (res.status !== 200) steps.push({ check: `leaf ${leaf.leafIndex} today`, ok: false, detail: `the service cannot prove it (${res.status} ${(JSON.parse(res.text) as { code?: string }).code ?? ''}): the event is gone or altered` })
      else steps.push(checkInclusion(leaf, current, (JSON.parse(res.text) as { proof: string[] }).proof, 'the current tree'))
    }
  }

  if (opts.entries) {
    if (!server || !current) throw new CliError(EXIT_USAGE, '--entries needs --url (and an auditor token in ZHENGZHAO_TOKEN or --token)')
    const entries: AuditedEntry[] = []
    for (let start = 0; start < current.size; start += 1000) {
      const res = await server.get(`/v1/log/entries?start=${start}&end=${Math.min(current.size, start + 1000)}`, true)
      if (res.status !== 200) throw new CliError(EXIT_USAGE, `reading entries: the service answered ${res.status} (an auditor token is needed)`)
      entries.push(...(JSON.parse(res.text) as { items: AuditedEntry[] }).items)
    }
    steps.push(checkEntries(entries, current))
  }
  return printSteps(io, steps)
}

async function runWatch(io: CliIo, opts: { state: string; url: string; jwks?: string; interval: string; once?: boolean }): Promise<number> {
  const server = remote(opts.url, undefined)
  const verifiers = await verifiersFrom(opts, server)
  const interval = Number(opts.interval)
  if (!(interval >= 1)) throw new CliError(EXIT_USAGE, '--interval is a number of seconds ≥ 1')
  for (;;) {
    const steps: Step[] = []
    if (!existsSync(opts.state)) {
      const first = checkSignedCheckpoint('first', (await server.get('/v1/log/checkpoint')).text, verifiers)
      steps.push(first.step)
      if (!first.checkpoint) return printSteps(io, steps)
      writeFileSync(opts.state, (await server.get(`/v1/log/checkpoint?size=${first.checkpoint.size}`)).text)
      io.stdout(`trusting the first checkpoint seen: size ${first.checkpoint.size}\n`)
    } else {
      const saved = checkSignedCheckpoint('last seen', readText(opts.state, 'the state file'), verifiers)
      steps.push(saved.step)
      const current = saved.checkpoint ? await currentFrom(server, saved.checkpoint, verifiers, steps) : undefined
      if (steps.some((s) => !s.ok) || !current) {
        printSteps(io, steps)
        io.stderr('zhengzhao log watch: the log is not consistent with the last checkpoint seen; refusing to move on\n')
        return EXIT_FAILED
      }
      if (current.size > saved.checkpoint!.size) writeFileSync(opts.state, (await server.get(`/v1/log/checkpoint?size=${current.size}`)).text)
      io.stdout(`${new Date().toISOString()} consistent: size ${saved.checkpoint!.size} → ${current.size}\n`)
    }
    if (opts.once) return 0
    await new Promise((r) => setTimeout(r, interval * 1000))
  }
}

const collect = (value: string, previous: string[]): string[] => [...previous, value]

export function registerLogCommand(program: Command, io: CliIo): void {
  const log = program.command('log').description('check the Merkle log: signed checkpoints, consistency, inclusion of your events')
  log
    .command('verify')
    .description('verify a saved checkpoint, that today\'s log extends it, and that saved receipts are in it')
    .requiredOption('--checkpoint <file>', 'a checkpoint saved earlier (GET /v1/log/checkpoint)')
    .option('--url <url>', 'the service, to fetch the current checkpoint and proofs (default: $ZHENGZHAO_URL, else offline)', io.env.ZHENGZHAO_URL)
    .option('--jwks <file>', 'the service keys (default: <url>/.well-known/jwks.json)')
    .option('--receipt <file>', "a saved answer's \"log\" proof, or an item of GET /v1/me/access-log (repeatable)", collect, [])
    .option('--holder-ref <ref>', 'check each receipt is about this holder (the holderRef of GET /v1/me/access-log)')
    .option('--entries', 'auditors: fetch every entry, recompute each leaf and the root (needs an auditor token)')
    .option('--token <jwt>', 'bearer token for --entries (default: $ZHENGZHAO_TOKEN)')
    .addHelpText(
      'after',
      `
Exit codes: 0 every check passed, 1 a check failed (each is named), 2 usage error.

Examples:
  $ curl -s http://localhost:3000/v1/log/checkpoint > saved.txt          # keep it
  $ zhengzhao log verify --checkpoint saved.txt --url http://localhost:3000
  $ zhengzhao log verify --checkpoint saved.txt --jwks jwks.json --receipt lookup-answer.json   # offline
  $ ZHENGZHAO_TOKEN=… zhengzhao log verify --checkpoint saved.txt --url http://localhost:3000 --entries`,
    )
    .action(async (opts: VerifyOptions) => {
      const code = await runVerify(io, opts)
      if (code !== 0) throw new CliError(code, 'the log did not verify')
    })
  log
    .command('watch')
    .description('a witness: poll the checkpoint, check it extends the last one seen, refuse to move on when it does not')
    .requiredOption('--state <file>', 'where the last checkpoint seen is kept (created on the first run)')
    .option('--url <url>', 'the service (default: $ZHENGZHAO_URL, else http://localhost:3000)', io.env.ZHENGZHAO_URL ?? 'http://localhost:3000')
    .option('--jwks <file>', 'the service keys (default: <url>/.well-known/jwks.json)')
    .option('--interval <seconds>', 'between polls', '60')
    .option('--once', 'check once and exit')
    .addHelpText('after', '\nExit codes: 1 the log is not consistent with the state (the state is left as it was), 2 usage error.')
    .action(async (opts: { state: string; url: string; jwks?: string; interval: string; once?: boolean }) => {
      const code = await runWatch(io, opts)
      if (code !== 0) throw new CliError(code, 'the log is not consistent with the last checkpoint seen')
    })
}
