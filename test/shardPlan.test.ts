import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { FILE_SECONDS, shardFiles, sharedFiles, soloFiles, UNWEIGHED_SECONDS } from './shards/shard.js'

// `npm test` runs each test file exactly once: in one of the shards, or alone because tap's
// include names it (test/shards/shard.ts). A file left out of both would never run; a file in
// both would run twice.

const ROOT = fileURLToPath(new URL('../', import.meta.url))
const SHARDS_DIR = new URL('./shards/', import.meta.url)

const allTestFiles = () =>
  (readdirSync(new URL('./', import.meta.url), { recursive: true }) as string[])
    .map((f) => `test/${f.split('\\').join('/')}`)
    .filter((f) => f.endsWith('.test.ts') && !f.startsWith('test/shards/'))
    .sort()

t.test('the shard files are numbered 0 to N-1 and each runs its own index of N', async (t) => {
  const names = readdirSync(SHARDS_DIR).filter((f) => f.endsWith('.test.ts')).sort()
  t.ok(names.length >= 1)
  names.forEach((name, i) => {
    t.equal(name, `shard-${i}.test.ts`)
    t.match(readFileSync(new URL(name, SHARDS_DIR), 'utf8'), new RegExp(`runShard\\(${i}, ${names.length}\\)`), `${name} runs shard ${i} of ${names.length}`)
  })
  const include = JSON.parse(readFileSync(`${ROOT}/package.json`, 'utf8')).tap.include as string[]
  t.ok(include.includes('test/shards/*.test.ts'), "tap's include runs the shards")
})

t.test('every test file runs exactly once: in one shard, or alone', async (t) => {
  const count = readdirSync(SHARDS_DIR).filter((f) => f.endsWith('.test.ts')).length
  const solo = [...soloFiles()]
  for (const f of solo) t.ok(existsSync(`${ROOT}/${f}`), `${f}, named in tap's include, exists`)
  const sharded = Array.from({ length: count }, (_, i) => shardFiles(i, count)).flat()
  t.equal(new Set(sharded).size, sharded.length, 'no file in two shards')
  t.same(sharded.slice().sort(), sharedFiles(), 'the shards hold every shared file')
  t.same(solo.filter((f) => sharded.includes(f)), [], 'no file both alone and in a shard')
  t.same([...sharded, ...solo].sort(), allTestFiles(), 'the shards and the files alone are every test file')
  t.ok(sharded.includes('test/shardPlan.test.ts'), 'this file among them')
})

t.test('the shards are cut by weight: every weighed file is a shared one, and the shards come out even', async (t) => {
  const shared = sharedFiles()
  t.same(Object.keys(FILE_SECONDS).filter((f) => !shared.includes(f)), [], 'no weight for a file that is gone or runs alone')
  const count = readdirSync(SHARDS_DIR).filter((f) => f.endsWith('.test.ts')).length
  const seconds = Array.from({ length: count }, (_, i) => shardFiles(i, count).reduce((n, f) => n + (FILE_SECONDS[f] ?? UNWEIGHED_SECONDS), 0))
  const heaviest = Math.max(...Object.values(FILE_SECONDS))
  t.ok(Math.max(...seconds) - Math.min(...seconds) <= heaviest, `the shards' weights (${seconds.map((s) => s.toFixed(1)).join(', ')} s) differ by no more than the heaviest file's (${heaviest} s)`)
})
