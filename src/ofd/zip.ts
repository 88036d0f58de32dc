import yauzl, { type Entry, type ZipFile } from 'yauzl'
import { OfdError } from './errors.js'

/**
 * An OFD package read into memory under limits, so a hostile archive is a precise error and
 * never memory exhaustion: the number of entries, each entry's and the total uncompressed size,
 * the compression ratio, and names (no absolute paths, no `..`, no backslashes, no duplicates).
 * yauzl checks each entry's real size against its declared one while inflating, and we stop
 * reading an entry as soon as it passes its limit, whatever it declared.
 */

export interface ZipLimits {
  maxEntries: number
  maxEntryBytes: number
  maxTotalBytes: number
  /** Uncompressed over compressed size, per entry (entries under 1 KiB are not judged). */
  maxRatio: number
}

export const DEFAULT_ZIP_LIMITS: ZipLimits = { maxEntries: 2000, maxEntryBytes: 32 << 20, maxTotalBytes: 64 << 20, maxRatio: 200 }

/** Package paths: no leading slash, forward slashes, compared exactly. */
export type PackageFiles = ReadonlyMap<string, Buffer>

const open = (bytes: Buffer): Promise<ZipFile> =>
  new Promise((resolve, reject) =>
    yauzl.fromBuffer(bytes, { lazyEntries: true, decodeStrings: true, validateEntrySizes: true, strictFileNames: true }, (err, zip) => (err ? reject(err) : resolve(zip))),
  )

/** A safe package path for an entry name, or why it is refused. */
export function entryPath(name: string): string {
  if (name.includes('\\') || name.startsWith('/') || /^[A-Za-z]:/.test(name) || name.includes('\0')) throw new OfdError('ARCHIVE_PATH_INVALID', 'an entry has an absolute or backslashed path')
  const segments = name.split('/')
  if (segments.some((s) => s === '..' || s === '.')) throw new OfdError('ARCHIVE_PATH_INVALID', 'an entry path has a . or .. segment')
  return name
}

function readEntry(zip: ZipFile, entry: Entry, limits: ZipLimits, budget: { left: number }): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    zip.openReadStream(entry, (err, stream) => {
      if (err) return reject(new OfdError('ARCHIVE_INVALID', `an entry cannot be read: ${err.message}`))
      const chunks: Buffer[] = []
      let size = 0
      stream.on('data', (chunk: Buffer) => {
        size += chunk.length
        budget.left -= chunk.length
        if (size > limits.maxEntryBytes) stream.destroy(new OfdError('ARCHIVE_ENTRY_TOO_LARGE', `an entry is larger than ${limits.maxEntryBytes} bytes`))
        else if (budget.left < 0) stream.destroy(new OfdError('ARCHIVE_TOO_LARGE', `the package unpacks to more than ${limits.maxTotalBytes} bytes`))
        else if (size > 1024 && size > limits.maxRatio * Math.max(1, entry.compressedSize)) stream.destroy(new OfdError('ARCHIVE_RATIO_TOO_HIGH', `an entry expands more than ${limits.maxRatio} times`))
        else chunks.push(chunk)
      })
      stream.on('error', (e: Error) => {
        if (e instanceof OfdError) return reject(e)
        // yauzl stops an entry the moment it inflates past (or short of) the size it declared.
        if (/too (many|few) bytes/.test(e.message)) return reject(new OfdError('ARCHIVE_SIZE_MISMATCH', 'an entry inflates to another size than it declares'))
        reject(new OfdError('ARCHIVE_INVALID', `an entry is corrupt: ${e.message}`))
      })
      stream.on('end', () => resolve(Buffer.concat(chunks, size)))
    })
  })
}

// yauzl refuses unsafe names itself, before we see the entry; it says so in these words.
const UNSAFE_NAME = /invalid relative path|absolute path|invalid characters in fileName/

function asOfdError(err: Error): OfdError {
  if (UNSAFE_NAME.test(err.message)) return new OfdError('ARCHIVE_PATH_INVALID', 'an entry has an absolute path, a .. segment or a backslash')
  return new OfdError('ARCHIVE_INVALID', `not a readable zip archive: ${err.message}`)
}

/** Reads every file of the package; directories are skipped. */
export async function readPackage(bytes: Buffer, limits: ZipLimits = DEFAULT_ZIP_LIMITS): Promise<PackageFiles> {
  let zip: ZipFile
  try {
    zip = await open(bytes)
  } catch (err) {
    throw asOfdError(err as Error)
  }
  if (zip.entryCount > limits.maxEntries) {
    zip.close()
    throw new OfdError('ARCHIVE_TOO_MANY_ENTRIES', `the package has ${zip.entryCount} entries, at most ${limits.maxEntries} are read`)
  }
  const files = new Map<string, Buffer>()
  const budget = { left: limits.maxTotalBytes }
  return new Promise((resolve, reject) => {
    const fail = (err: unknown) => {
      zip.close()
      reject(err instanceof OfdError ? err : asOfdError(err as Error))
    }
    zip.on('error', fail)
    zip.on('end', () => resolve(files))
    zip.on('entry', (entry: Entry) => {
      let path: string
      try {
        path = entryPath(entry.fileName)
      } catch (err) {
        return fail(err)
      }
      if (path.endsWith('/')) return zip.readEntry()
      if (files.has(path)) return fail(new OfdError('ARCHIVE_DUPLICATE_ENTRY', 'two entries have the same name'))
      if (entry.uncompressedSize > limits.maxEntryBytes) return fail(new OfdError('ARCHIVE_ENTRY_TOO_LARGE', `an entry declares more than ${limits.maxEntryBytes} bytes`))
      readEntry(zip, entry, limits, budget).then((data) => {
        files.set(path, data)
        zip.readEntry()
      }, fail)
    })
    zip.readEntry()
  })
}
