import { createReadStream, readdirSync, readFileSync, statSync } from 'node:fs'
import { isAbsolute, join, relative, resolve } from 'node:path'
import { createInterface } from 'node:readline'
import { usageError } from './io.js'

/** One certificate to push and where it came from (for the report: never its content). */
import type { DocumentItem, PushItem } from '../verify/items.js'

export type { DocumentItem, PushItem }

export const isDocumentFile = (name: string) => name.endsWith('.ofd')
const isInput = (name: string, documents: boolean) => name.endsWith('.jws') || name.endsWith('.jwsl') || (documents && isDocumentFile(name))
const byCodePoint = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0)

function walk(dir: string, documents: boolean): string[] {
  const entries = readdirSync(dir, { withFileTypes: true }).sort((a, b) => byCodePoint(a.name, b.name))
  return entries.flatMap((e) => {
    const path = join(dir, e.name)
    if (e.isDirectory()) return walk(path, documents)
    return e.isFile() && isInput(e.name, documents) ? [path] : []
  })
}

/**
 * The files to push, in order: each argument as given, a folder walked recursively for .jws
 * and .jwsl files in sorted order (and .ofd files with `documents`, which only verify reads).
 * A file named explicitly is read whatever its extension.
 */
export function findInputFiles(args: string[], cwd: string, opts: { documents?: boolean } = {}): string[] {
  const documents = opts.documents === true
  const files: string[] = []
  for (const arg of args) {
    const path = resolve(cwd, arg)
    let isDir: boolean
    try {
      isDir = statSync(path).isDirectory()
    } catch {
      throw usageError(`no such file or folder: ${arg}`)
    }
    files.push(...(isDir ? walk(path, documents) : [path]))
  }
  const unique = [...new Set(files)]
  if (unique.length === 0) throw usageError(`no ${documents ? '.jws, .jwsl or .ofd' : '.jws or .jwsl'} files in ${args.join(', ')}`)
  return unique
}

/** How a file is named in the report: relative to the working directory when it is below it. */
export function displayPath(file: string, cwd: string): string {
  const rel = relative(cwd, file)
  return rel === '' || rel.startsWith('..') || isAbsolute(rel) ? file : rel
}

async function* linesOf(file: string): AsyncGenerator<{ text: string; line: number }> {
  if (!file.endsWith('.jwsl')) {
    // A .jws file holds one JWS, possibly followed by a newline.
    yield { text: readFileSync(file, 'utf8').replace(/^\uFEFF/, '').trim(), line: 1 }
    return
  }
  // Streamed: a bulk-load file may be far larger than memory should hold.
  const lines = createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity })
  let line = 0
  for await (const text of lines) {
    line++
    yield { text: (line === 1 ? text.replace(/^\uFEFF/, '') : text).trim(), line }
  }
}

/** Every certificate in the files, in order. Blank lines and empty files are skipped. */
export async function* readItems(files: string[], cwd: string): AsyncGenerator<PushItem> {
  let ordinal = 0
  for (const path of files) {
    const file = displayPath(path, cwd)
    for await (const { text, line } of linesOf(path)) {
      if (text !== '') yield { jws: text, file, line, ordinal: ordinal++ }
    }
  }
}

/**
 * What verify reads: the certificates of .jws and .jwsl files as readItems gives them, and each
 * .ofd file as one document named by path, whatever its size (its bytes are read later, or not).
 */
export async function* readVerifyItems(files: string[], cwd: string): AsyncGenerator<PushItem | DocumentItem> {
  let ordinal = 0
  for (const path of files) {
    const file = displayPath(path, cwd)
    if (isDocumentFile(path)) {
      yield { document: path, file, line: 1, ordinal: ordinal++ }
      continue
    }
    for await (const { text, line } of linesOf(path)) {
      if (text !== '') yield { jws: text, file, line, ordinal: ordinal++ }
    }
  }
}

/** How many items the files hold, for the progress bar (one streaming pass, nothing kept). */
export async function countItems(files: string[], read: (files: string[], cwd: string) => AsyncIterable<unknown> = readItems): Promise<number> {
  let n = 0
  for await (const _ of read(files, '/')) n++
  return n
}

/** Groups items into batches of at most `size`. */
export async function* inBatches<T>(items: AsyncIterable<T>, size: number): AsyncGenerator<T[]> {
  let batch: T[] = []
  for await (const item of items) {
    batch.push(item)
    if (batch.length === size) {
      yield batch
      batch = []
    }
  }
  if (batch.length > 0) yield batch
}
