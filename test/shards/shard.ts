import { readdirSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import t from 'tap'

// `npm test` runs most test files several to a process: each file in a process of its own paid
// about 3.5 s of CPU before its first assertion (tap's child, the TypeScript loader, importing the
// service), more than many files spend on their tests. A shard imports its share of the files one
// after the other, in one process; each file's tests run as they do alone, in order, under a
// subtest named after the file. What a file leaves in the process (environment, installed worker
// pools, apps built at its top level, closed when the shard ends) stays for the files after it.
// A file that needs a process of its own (it changes process-wide state, measures the process,
// sets a whole-file timeout, awaits its own tests at top level, which would wait forever behind
// the subtest importing it, or runs for minutes anyway) is named in tap's
// `include` in package.json beside the shards: that list is the only one, and every other
// *.test.ts file lands in exactly one shard. Any file still runs alone: `npx tap test/x.test.ts`.

const TEST_DIR = new URL('../', import.meta.url)
const ROOT = new URL('../../', import.meta.url)

/** Test files that run in a process of their own: the ones tap's include names one by one. */
export function soloFiles(): Set<string> {
  const tap = JSON.parse(readFileSync(new URL('package.json', ROOT), 'utf8')).tap as { include: string[] }
  return new Set(tap.include.filter((p) => !/[*?{[]/.test(p)))
}

/** Every test file a shard runs, as paths from the project root, sorted. */
export function sharedFiles(): string[] {
  const solo = soloFiles()
  return (readdirSync(fileURLToPath(TEST_DIR), { recursive: true }) as string[])
    .map((f) => `test/${f.split('\\').join('/')}`)
    .filter((f) => f.endsWith('.test.ts') && !f.startsWith('test/shards/') && !f.includes('/fixtures/') && !solo.has(f))
    .sort()
}

/** Shard `index` of `count`: every count-th file of sharedFiles(), from the index-th. */
export function shardFiles(index: number, count: number): string[] {
  return sharedFiles().filter((_, i) => i % count === index)
}

// Loading a file runs its top level only (its tests run after): minutes mean it waits on itself.
const LOAD_MS = 120_000

export async function runShard(index: number, count: number): Promise<void> {
  // tap's per-file timeout (180 s) is for one file; a shard is many, so it gets many times that.
  t.setTimeout(15 * 60_000)
  for (const file of shardFiles(index, count)) {
    await t.test(file, async (t) => {
      let timer: NodeJS.Timeout | undefined
      const stuck = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${file} did not finish loading in ${LOAD_MS / 1000} s: a file that awaits its own tests at top level never does in a shard; name it in tap's include in package.json to run it alone`)), LOAD_MS)
      })
      t.teardown(() => clearTimeout(timer))
      await Promise.race([import(new URL(file, ROOT).href), stuck])
    })
  }
}
