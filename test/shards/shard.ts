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

/**
 * Seconds each file took in its shard, alone on this machine (`npx tap --reporter=tap
 * test/shards/shard-N.test.ts`: the file's subtest and its tests' times), for the files that took
 * 1.5 s or more, averaged over two weighings (one file moves by a second or more between runs of
 * the same code); the others averaged 0.6 s and count that. Last weighed on 2026-12-01 (each
 * shard alone, twice); the first file of a shard also carries the shard's start (about 2 s).
 * Shards are cut by these, so that they take about as long as each other: the run ends when its
 * longest process does, and dealing the files in turn had left one shard twice as long as
 * another, running on alone at the end. A file missing here, or weighed long ago, only makes the
 * shards less even.
 */
export const FILE_SECONDS: Readonly<Record<string, number>> = {
  'test/hostile/property.test.ts': 20.7,
  'test/ofd/pool.test.ts': 13.9,
  'test/public/guessing.test.ts': 12.1,
  'test/audit/events.test.ts': 5.7,
  'test/auth/tokenType.test.ts': 5.7,
  'test/certificates/certIdException.test.ts': 5.7,
  'test/log/merkle.test.ts': 5.2,
  'test/audit/order.test.ts': 4.6,
  'test/certificates/ofdOnly.test.ts': 4.0,
  'test/cli/migrate.test.ts': 4.0,
  'test/verify/live.test.ts': 3.9,
  'test/crypto/sm2Pool.test.ts': 3.8,
  'test/crypto/x509.test.ts': 3.8,
  'test/certificates/document.test.ts': 3.7,
  'test/audit/indexes.test.ts': 3.5,
  'test/cli/verifyOfd.test.ts': 3.3,
  'test/certificates/batch.test.ts': 3.1,
  'test/crypto/devCa.test.ts': 3.1,
  'test/certificates/sm2.test.ts': 3.0,
  'test/present/limits.test.ts': 3.0,
  'test/db/snapshot.test.ts': 2.7,
  'test/public/scan.test.ts': 2.7,
  'test/certificates/sm2Batch.test.ts': 2.6,
  'test/ofd/hostile.test.ts': 2.5,
  'test/db/pgliteNamed.test.ts': 2.5,
  'test/openapi.test.ts': 2.5,
  'test/bench/help.test.ts': 2.4,
  'test/workers/pool.test.ts': 2.4,
  'test/cli/push.test.ts': 2.3,
  'test/public/verify.test.ts': 2.2,
  'test/verify/certIdWarning.test.ts': 2.1,
  'test/certificates/push.test.ts': 2.0,
  'test/cli/verifyStatus.test.ts': 2.0,
  'test/db/lock.test.ts': 2.0,
  'test/cli/signSm2.test.ts': 1.9,
  'test/db/migrate.test.ts': 1.9,
  'test/health/health.test.ts': 1.8,
  'test/cli/pushOfd.test.ts': 1.7,
  'test/cli/keys.test.ts': 1.6,
  'test/certificates/ambiguous.test.ts': 1.5,
  'test/log/appendNew.test.ts': 1.5,
  'test/me/page.test.ts': 1.5,
}
export const UNWEIGHED_SECONDS = 0.6

/**
 * Shard `index` of `count`: the files dealt heaviest first, each to the shard with the fewest
 * seconds so far (ties: the lower index; equal weights: by path), then run in path order.
 */
export function shardFiles(index: number, count: number): string[] {
  const seconds = (f: string) => FILE_SECONDS[f] ?? UNWEIGHED_SECONDS
  const heaviestFirst = sharedFiles().sort((a, b) => seconds(b) - seconds(a) || a.localeCompare(b))
  const shards = Array.from({ length: count }, () => ({ seconds: 0, files: [] as string[] }))
  for (const file of heaviestFirst) {
    const lightest = shards.reduce((min, s) => (s.seconds < min.seconds ? s : min))
    lightest.seconds += seconds(file)
    lightest.files.push(file)
  }
  return shards[index]!.files.sort()
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
