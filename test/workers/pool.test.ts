import { spawnSync } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import t from 'tap'
import { createWorkerPool, threadStart, workerModule } from '../../src/workers/pool.js'
import { untapped } from '../helpers/untapped.js'

// The one piscina set-up both pools use: the worker module beside the caller, counts of tasks
// and failures, threads started on demand and ended by close.

// The OFD pool's.
const LIMITS = { maxYoungGenerationSizeMb: 8, maxOldGenerationSizeMb: 96 }

/** Writes `files` (name → text) into a new temporary folder, an ES module package as the service's own is; each one's file URL by name. */
function scratch(files: Record<string, string>): Record<string, string> {
  const dir = mkdtempSync(join(tmpdir(), 'zz-workers-'))
  writeFileSync(join(dir, 'package.json'), '{ "type": "module" }\n')
  return Object.fromEntries(Object.entries(files).map(([name, text]) => (writeFileSync(join(dir, name), text), [name, pathToFileURL(join(dir, name)).href])))
}

t.test('the worker module is the .ts beside a source file and the .js beside a compiled one', async (t) => {
  t.equal(workerModule('worker', 'file:///app/src/ofd/pool.ts'), 'file:///app/src/ofd/worker.ts')
  t.equal(workerModule('sm2Worker', 'file:///app/dist/crypto/sm2Pool.js'), 'file:///app/dist/crypto/sm2Worker.js')
})

t.test('from the sources a thread starts with no flags; compiled, with the process\'s as Node gives them', async (t) => {
  t.same(threadStart('file:///app/dist/ofd/worker.js', false), { filename: 'file:///app/dist/ofd/worker.js' }, 'compiled: no execArgv, so Node\'s own inheritance')
  t.same(threadStart('file:///app/src/ofd/worker.ts', true), { filename: new URL('../../src/workers/tsWorker.mjs', import.meta.url).href, workerData: { tsModule: 'file:///app/src/ofd/worker.ts' }, execArgv: [] })
  t.same(threadStart('file:///tmp/w.mjs', true), { filename: 'file:///tmp/w.mjs', execArgv: [] })
  // Under tap this process preloads tap's hooks and TypeScript loader; a thread of the pool does not.
  t.ok(process.execArgv.some((a) => a.startsWith('--import')), 'this process has preloads')
  const { 'flags.mjs': file } = scratch({ 'flags.mjs': 'export default () => process.execArgv\n' })
  const pool = createWorkerPool<null, string[]>({ filename: file!, threads: 1, resourceLimits: LIMITS })
  t.teardown(() => pool.close())
  t.same(await pool.run(null), [], 'the thread has none of them')
})

t.test('compiled, a thread takes the process\'s flags as Node gives them, also when a thread refuses some', async (t) => {
  // Node refuses --max-old-space-size in a thread's execArgv, but leaves it out of what a thread
  // inherits: a server started with it must still start its threads.
  const { 'flags.js': flags } = scratch({ 'flags.js': 'export default () => process.execArgv\n' })
  const { 'start.mjs': start } = scratch({
    'start.mjs': `const { threadStart } = await import(${JSON.stringify(new URL('../../src/workers/pool.ts', import.meta.url).href)})
const { Piscina } = await import(${JSON.stringify(import.meta.resolve('piscina'))})
const p = new Piscina({ ...threadStart(${JSON.stringify(flags)}, false) })
console.log(JSON.stringify(await p.run(null)))
await p.destroy()
`,
  })
  const run = spawnSync(...untapped(process.execPath, ['--max-old-space-size=256', '--enable-source-maps', '--import', 'tsx', fileURLToPath(start!)]), { cwd: fileURLToPath(new URL('../../', import.meta.url)), encoding: 'utf8' })
  t.equal(run.status, 0, run.stderr)
  t.match(JSON.parse(run.stdout || '[]'), ['--max-old-space-size=256', '--enable-source-maps'], 'the thread started, with the process\'s flags')
})

t.test('a TypeScript worker module runs in a thread that has no loader of its own', async (t) => {
  const { 'typed.ts': file } = scratch({ 'typed.ts': 'const triple = (n: number): number => n * 3\nexport default (n: number): [number, string[]] => [triple(n), process.execArgv]\n' })
  const pool = createWorkerPool<number, [number, string[]]>({ filename: file!, threads: 1, resourceLimits: LIMITS })
  t.teardown(() => pool.close())
  const [tripled, flags] = await pool.run(14)
  t.equal(tripled, 42, 'its types stripped by tsx, its default export the handler')
  t.notOk(flags.some((a) => a.startsWith('--import')), 'no preloaded loader in the thread')
})

t.test('tasks, failures and threads are counted; close ends the threads', async (t) => {
  t.throws(() => createWorkerPool({ filename: 'x', threads: 0, resourceLimits: LIMITS }), RangeError)
  const { 'double.mjs': file } = scratch({ 'double.mjs': "export default (n) => { if (n < 0) throw new Error('negative'); return n * 2 }\n" })
  const pool = createWorkerPool<number, number>({ filename: file!, threads: 1, resourceLimits: LIMITS })
  t.teardown(() => pool.close())
  t.same(pool.stats(), { tasks: 0, failures: 0, threads: 0 }, 'no thread before the first task')
  t.equal(await pool.run(21), 42)
  await t.rejects(pool.run(-1), { message: 'negative' }, 'a task that throws rejects its run')
  t.same(pool.stats(), { tasks: 2, failures: 1, threads: 1 })
  await pool.close()
  t.equal(pool.stats().threads, 0, 'closed')
  t.equal(await pool.run(2), 4, 'a task after close starts a thread again')
})

t.test('a worker that cannot load is heard and its tasks fail; the next task starts a new pool', async (t) => {
  const { 'broken.mjs': file } = scratch({ 'broken.mjs': "throw new Error('this worker cannot start')\n" })
  const heard: unknown[] = []
  const pool = createWorkerPool<number, number>({ filename: file!, threads: 1, resourceLimits: LIMITS, onError: (err) => heard.push(err) })
  t.teardown(() => pool.close())
  await t.rejects(pool.run(1))
  t.match(heard, [{ message: 'this worker cannot start' }])
  await t.rejects(pool.run(1), 'again: a new pool, failing the same way, not a hang')
  t.match(pool.stats(), { tasks: 2, failures: 2 })
})
