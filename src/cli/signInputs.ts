import { readFileSync } from 'node:fs'
import { basename, extname, resolve } from 'node:path'
import type { Readable } from 'node:stream'
import { usageError, type CliIo } from './io.js'

/** One certificate JSON to sign and where it came from: its file and, in JSON Lines, its line. */
export interface SignItem {
  /** For messages: `file` for a JSON file, `file:line` in JSON Lines. */
  where: string
  line: number
  text: string
}

/** One input of `zhengzhao sign`: a JSON file (one certificate) or JSON Lines (one per line). */
export interface SignSource {
  /** As named in messages: the argument as given, `stdin` for `-`. */
  name: string
  lines: boolean
  items: SignItem[]
}

export function readFile(path: string, what: string): Buffer {
  try {
    return readFileSync(path)
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message
    throw usageError(`cannot read ${what} ${path}: ${reason}`)
  }
}

async function readStream(input: Readable): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of input) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer))
  return Buffer.concat(chunks).toString('utf8')
}

const isJsonLinesName = (file: string) => /\.(jsonl|ndjson)$/i.test(file)

function parsesAsObject(text: string): boolean {
  try {
    const v: unknown = JSON.parse(text)
    return typeof v === 'object' && v !== null && !Array.isArray(v)
  } catch {
    return false
  }
}

/**
 * Whether stdin holds JSON Lines: more than one non-blank line, the first a whole JSON object
 * on its own. A pretty-printed certificate's first line (`{`) is not, so it reads as one JSON.
 */
function looksLikeJsonLines(text: string): boolean {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '')
  return lines.length > 1 && parsesAsObject(lines[0]!)
}

function toSource(name: string, text: string, lines: boolean): SignSource {
  const clean = text.replace(/^\uFEFF/, '')
  if (!lines) return { name, lines, items: [{ where: name, line: 1, text: clean }] }
  const items = clean.split(/\r?\n/).flatMap((t, i) => (t.trim() === '' ? [] : [{ where: `${name}:${i + 1}`, line: i + 1, text: t }]))
  return { name, lines, items }
}

/**
 * The inputs, in order: each file argument (`.jsonl`/`.ndjson` or `--jsonl`: one certificate per
 * line), `-` for stdin (JSON Lines when it looks like them, or with --jsonl).
 */
export async function readSources(args: string[], opts: { jsonl: boolean; outDir: boolean }, io: CliIo & { stdin?: Readable }): Promise<SignSource[]> {
  if (args.filter((a) => a === '-').length > 1) throw usageError('- (stdin) can be given once')
  if (opts.outDir && args.includes('-')) throw usageError('--out-dir names each output after its input file; stdin (-) has no name: use --out FILE or stdout')
  const sources: SignSource[] = []
  for (const arg of args) {
    if (arg === '-') {
      const text = await readStream(io.stdin ?? process.stdin)
      sources.push(toSource('stdin', text, opts.jsonl || looksLikeJsonLines(text)))
      continue
    }
    const text = readFile(resolve(io.cwd, arg), 'the certificate').toString('utf8')
    sources.push(toSource(arg, text, opts.jsonl || isJsonLinesName(arg)))
  }
  const names = sources.map(outputName)
  const clash = names.find((n, i) => names.indexOf(n) !== i)
  if (opts.outDir && clash !== undefined) throw usageError(`two inputs would both be written to ${clash} in --out-dir`)
  return sources
}

/** The name of a source's output in --out-dir: licence.json → licence.jws, bulk.jsonl → bulk.jwsl. */
export function outputName(source: SignSource): string {
  const base = basename(source.name, extname(source.name))
  return `${base}${source.lines ? '.jwsl' : '.jws'}`
}
