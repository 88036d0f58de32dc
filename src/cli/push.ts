import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { InvalidArgumentError, type Command } from 'commander'
import { CliError, EXIT_FAILED, printJson, usageError, type CliIo } from './io.js'
import { DEFAULT_RETRY, postBatch, postDocument } from './pushClient.js'
import { displayPath, findInputFiles, inBatches, isDocumentFile, readItems, type PushItem } from './pushInputs.js'
import { describePush, PushTally } from './pushReport.js'
import { startProgress } from './progress.js'

interface PushOptions {
  url?: string
  token?: string
  batchSize: number
  concurrency: number
  retries: number
  json?: boolean
}

export const TOKEN_ENV = 'ZHENGZHAO_TOKEN'
export const URL_ENV = 'ZHENGZHAO_URL'
export const DEFAULT_URL = 'http://localhost:3000'

/** The service's URL: --url, else $ZHENGZHAO_URL, else the local default. */
export function serviceUrl(given: string | undefined, io: CliIo): string {
  return given ?? (io.env[URL_ENV]?.trim() || DEFAULT_URL)
}

function integer(min: number, max: number): (value: string) => number {
  return (value) => {
    const n = Number(value)
    if (!/^\d+$/.test(value) || n < min || n > max) throw new InvalidArgumentError(`must be an integer from ${min} to ${max}`)
    return n
  }
}

export function registerPushCommand(program: Command, io: CliIo): void {
  program
    .command('push')
    .description('push signed certificates (.jws files, .jwsl files of one JWS per line, sealed .ofd files, or folders of them) to the service')
    .argument('<paths...>', '.jws, .jwsl or .ofd files, folders walked recursively for them, or - for JWS Lines on stdin')
    .option('--url <url>', `the service (default: $${URL_ENV}, else ${DEFAULT_URL})`)
    .option('--token <token>', `issuer bearer token (default: $${TOKEN_ENV}, which other local users cannot see)`)
    .option('--batch-size <n>', 'certificates per request, 1 to 1000', integer(1, 1000), 500)
    .option('--concurrency <n>', 'requests in flight, 1 to 16', integer(1, 16), 2)
    .option('--retries <n>', 'retries of a batch on network errors, 5xx and 429, 0 to 20', integer(0, 20), DEFAULT_RETRY.retries)
    .option('--json', 'print the summary and the rejections as JSON')
    .addHelpText(
      'after',
      `
Batches go to POST <url>/v1/certificates/batch. Pushing again is safe: certificates already
stored answer "unchanged". The report names each rejected certificate by file and line, with
the server's codes; it never shows a certificate's content.
Each rejection is printed with its code, and every problem's pointer, code and message; a
problem repeated on many lines is summarised once ("3 × CERT_ID_INVALID at /payload/id: …").
When nothing answers at the URL at all (connection refused, unknown host), push says so at once
with the URL it tried; 5xx, 429 and connections lost mid-run are retried with backoff.
A certificate JSON file is not pushed: sign it first ("zhengzhao sign a.json --key … --out a.jws").
A sealed OFD file (.ofd) goes to POST <url>/v1/certificates one per request: with the .jws of
the same name beside it (a.ofd and a.jws) when that JWS's payload names the file
(document: {mediaType, sm3, size}), else alone, its GB/T 36903 metadata (CustomDatas) being
the payload; a rejected file is named with the server's codes like any certificate.
Exit codes: 0 nothing rejected, 1 some certificates rejected, 2 usage error, a refused batch
(401, 403, 413...), nothing at the URL, or no answer after the retries.
In development, an issuer token comes from "zhengzhao token":
  export ${TOKEN_ENV}=$(zhengzhao token --role issuer --org 11330105002500287C --sub westlake-amr)

Examples:
  $ zhengzhao push licence.jws
  $ zhengzhao push ./sealed/          # .ofd files, each alone or with its .jws
  $ export ${URL_ENV}=https://zhengzhao.example.gov.cn; zhengzhao push ./out/
  $ zhengzhao push ./out/ --url https://zhengzhao.example.gov.cn --batch-size 1000 --concurrency 4
  $ zhengzhao push bulk-2025-05.jwsl --json > push-report.json
  $ zhengzhao sign bulk.jsonl --key issuer.private.pem | zhengzhao push -`,
    )
    .action((paths: string[], opts: PushOptions) => push(paths, opts, io))
}

/**
 * How many certificates the files hold (one streaming pass, for the progress bar), refusing
 * certificate JSON: a payload is pushed signed, so its file needs "zhengzhao sign" first.
 */
async function countSigned(inputs: Inputs, cwd: string): Promise<number> {
  let n = 0
  const unsigned = new Set<string>()
  for await (const item of readNamedItems(inputs, cwd)) {
    n++
    if (item.jws.startsWith('{')) unsigned.add(item.file)
  }
  if (unsigned.size > 0) {
    const first = [...unsigned][0]!
    if (first === 'stdin') throw usageError('stdin: certificate JSON, not signed JWS; sign it first: ... | zhengzhao sign - --key ISSUER-KEY.pem | zhengzhao push -')
    const signed = first.replace(/\.(json|jsonl|ndjson)$/i, '') + (/\.(jsonl|ndjson)$/i.test(first) ? '.jwsl' : '.jws')
    throw usageError(
      `${[...unsigned].join(', ')}: certificate JSON, not a signed JWS; sign it first: ` +
        `zhengzhao sign ${first} --key ISSUER-KEY.pem --out ${signed}, then zhengzhao push ${signed}`,
    )
  }
  return n
}

interface Inputs {
  files: string[]
  /** Sealed OFD files, each with the .jws of the same name when one is among the inputs. */
  documents: { path: string; certificate?: string }[]
  /** Where stdin was copied (push reads its inputs twice: to count, then to send). */
  stdinCopy?: string
  dispose(): void
}

/** The input files, `-` standing for stdin (JWS Lines), copied to a private temporary file. */
async function inputsOf(paths: string[], io: CliIo): Promise<Inputs> {
  if (paths.filter((p) => p === '-').length > 1) throw usageError('- (stdin) can be given once')
  if (!paths.includes('-')) return { ...splitDocuments(findInputFiles(paths, io.cwd, { documents: true })), dispose: () => {} }
  const chunks: Buffer[] = []
  for await (const chunk of io.stdin ?? process.stdin) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer))
  const dir = mkdtempSync(join(tmpdir(), 'zhengzhao-push-'))
  const stdinCopy = join(dir, 'stdin.jwsl')
  writeFileSync(stdinCopy, Buffer.concat(chunks), { mode: 0o600 })
  const dispose = () => rmSync(dir, { recursive: true, force: true })
  try {
    return { ...splitDocuments(paths.flatMap((p) => (p === '-' ? [stdinCopy] : findInputFiles([p], io.cwd, { documents: true })))), stdinCopy, dispose }
  } catch (err) {
    dispose()
    throw err
  }
}

/** The .ofd files apart; a .jws of the same name beside one travels with it, not in a batch. */
function splitDocuments(all: string[]): Pick<Inputs, 'files' | 'documents'> {
  const set = new Set(all)
  const documents = all.filter(isDocumentFile).map((path) => {
    const jws = path.replace(/\.ofd$/, '.jws')
    return set.has(jws) ? { path, certificate: jws } : { path }
  })
  const paired = new Set(documents.flatMap((d) => (d.certificate ? [d.certificate] : [])))
  return { files: all.filter((f) => !isDocumentFile(f) && !paired.has(f)), documents }
}

/** readItems, with the stdin copy named "stdin" in the report. */
async function* readNamedItems(inputs: Inputs, cwd: string): AsyncGenerator<PushItem> {
  for await (const item of readItems(inputs.files, cwd)) yield inputs.stdinCopy !== undefined && resolve(cwd, item.file) === inputs.stdinCopy ? { ...item, file: 'stdin' } : item
}

function batchEndpoint(base: string): string {
  let url: URL
  try {
    url = new URL(base)
  } catch {
    throw usageError(`--url (or $${URL_ENV}) ${base} is not a URL`)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw usageError(`--url must be http or https, not ${url.protocol}`)
  url.pathname = `${url.pathname.replace(/\/+$/, '')}/v1/certificates/batch`
  return url.href
}

const singleEndpoint = (batch: string): string => batch.replace(/\/batch$/, '')

/** Reading the inputs fails as an environment error (exit 2), like a missing file. */
function asInputError(err: unknown): unknown {
  return err instanceof CliError ? err : usageError(`cannot read the inputs: ${(err as Error).message}`)
}

async function push(paths: string[], opts: PushOptions, io: CliIo): Promise<void> {
  const token = (opts.token ?? io.env[TOKEN_ENV] ?? '').trim()
  if (token === '') throw usageError(`no token: pass --token or set ${TOKEN_ENV}`)
  const endpoint = batchEndpoint(serviceUrl(opts.url, io))
  const inputs = await inputsOf(paths, io)
  try {
    await pushInputs(paths, inputs, { endpoint, token }, opts, io)
  } finally {
    inputs.dispose()
  }
}

async function pushInputs(paths: string[], inputs: Inputs, target: { endpoint: string; token: string }, opts: PushOptions, io: CliIo): Promise<void> {
  const { endpoint, token } = target
  let total: number
  try {
    total = (await countSigned(inputs, io.cwd)) + inputs.documents.length
  } catch (err) {
    throw asInputError(err)
  }
  if (total === 0) throw usageError(`no certificates in ${paths.join(', ')}`)
  let ordinalOfDocuments = total

  const started = Date.now()
  const tally = new PushTally()
  const progress = startProgress(io, total, 'pushing')
  const batches = inBatches(readNamedItems(inputs, io.cwd), opts.batchSize)
  const stop = new AbortController()
  let fatal: unknown
  let reached = false

  // Workers share one stream of batches: an async generator hands each batch to one caller.
  const worker = async () => {
    while (!stop.signal.aborted) {
      let next: IteratorResult<PushItem[]>
      try {
        next = await batches.next()
      } catch (err) {
        throw asInputError(err)
      }
      if (next.done) return
      const items = next.value
      const results = await postBatch({
        endpoint,
        token,
        certificates: items.map((i) => i.jws),
        policy: { ...DEFAULT_RETRY, retries: opts.retries },
        signal: stop.signal,
        reached: () => reached,
        onAnswer: () => void (reached = true),
        onRetry: (reason, delayMs) => progress.note(`${items[0]!.file}:${items[0]!.line}…: ${reason}; retrying in ${(delayMs / 1000).toFixed(1)} s`),
      })
      tally.add(items, results)
      progress.advance(items.length)
    }
  }
  // Sealed OFD files, one request each (a file may be megabytes: no batching).
  const documents = [...inputs.documents]
  const documentWorker = async () => {
    while (!stop.signal.aborted) {
      const next = documents.shift()
      if (!next) return
      let bytes: Buffer
      let certificate: string | undefined
      try {
        bytes = readFileSync(next.path)
        certificate = next.certificate ? readFileSync(next.certificate, 'utf8').replace(/^\uFEFF/, '').trim() : undefined
      } catch (err) {
        throw asInputError(err)
      }
      const file = displayPath(next.path, io.cwd)
      const result = await postDocument({
        endpoint: singleEndpoint(endpoint),
        token,
        document: bytes,
        ...(certificate ? { certificate } : {}),
        policy: { ...DEFAULT_RETRY, retries: opts.retries },
        signal: stop.signal,
        reached: () => reached,
        onAnswer: () => void (reached = true),
        onRetry: (reason, delayMs) => progress.note(`${file}: ${reason}; retrying in ${(delayMs / 1000).toFixed(1)} s`),
      })
      tally.add([{ jws: '', file, line: 1, ordinal: ordinalOfDocuments++ }], [result])
      progress.advance(1)
    }
  }
  const fail = (err: unknown) => {
    if (fatal === undefined) fatal = err
    stop.abort()
  }
  try {
    await Promise.all(Array.from({ length: opts.concurrency }, () => worker().catch(fail)))
    if (fatal === undefined) await Promise.all(Array.from({ length: opts.concurrency }, () => documentWorker().catch(fail)))
  } finally {
    progress.stop()
    await batches.return(undefined)
  }
  if (fatal !== undefined) {
    const done = `${tally.done} of ${total} certificate(s) pushed before stopping; pushing again is safe`
    throw fatal instanceof CliError ? new CliError(fatal.exitCode, `${fatal.message}\n(${done})`) : fatal
  }

  const summary = tally.summary((Date.now() - started) / 1000)
  const rejections = tally.rejected()
  if (opts.json) printJson(io, { summary, rejections })
  else io.stdout(describePush(summary, rejections))
  if (summary.rejected > 0) throw new CliError(EXIT_FAILED, `${summary.rejected} certificate(s) rejected`)
}
