import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import t from 'tap'
import { createWorkerPool, threadExecArgv, workerModule } from '../../src/workers/pool.js'

// The one piscina set-up both pools use: the worker module beside the caller, counts of tasks
// and failures, threads started on demand and ended by close.

// The OFD pool's.
const LIMITS = { maxYoungGenerationSizeMb: 8, maxOldGenerationSizeMb: 96 }

t.test('the worker module is the .ts beside a source file and the .js beside a compiled one', async (t) => {
  t.equal(workerModule('worker', 'file:///app/src/ofd/pool.ts'), 'file:///app/src/ofd/worker.ts')
  t.equal(workerModule('sm2Worker', 'file:///app/dist/crypto/sm2Pool.js'), 'file:///app/dist/crypto/sm2Worker.js')
})

t.test('threads start without the process\'s preloads, with its other flags', async (t) => {
  t.same(
    threadExecArgv(['--import=file:///tap/import.mjs', '--enable-source-maps', '--import', 'tsx', '-r', './apm.cjs', '--require=./x.cjs', '--loader', 'ts-node/esm', '--experimental-loader=./l.mjs', '--max-old-space-size=512', '--conditions=dev']),
    ['--enable-source-maps', '--max-old-space-size=512', '--conditions=dev'],
  )
  t.same(threadExecArgv([]), [])
  // Under tap this process preloads tap's hooks and TypeScript loader; a thread of the pool does not.
  t.ok(process.execArgv.some((a) => a.startsWith('--import')), 'this process has preloads')
  const dir = mkdtempSync(join(tmpdir(), 'zz-workers-'))
  const file = join(dir, 'flags.mjs')
  writeFileSync(file, 'export default () => process.execArgv\n')
  const pool = createWorkerPool<null, string[]>({ filename: pathToFileURL(file).href, threads: 1, resourceLimits: LIMITS })
  t.teardown(() => pool.close())
  t.same(await pool.run(null), threadExecArgv(), 'the thread\'s flags are the process\'s without them')
})

t.test('a TypeScript worker module runs in a thread that has no loader of its own', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'zz-workers-'))
  writeFileSync(join(dir, 'package.json'), '{ "type": "module" }\n') // as the service's own package says
  const file = join(dir, 'typed.ts')
  writeFileSync(file, 'const triple = (n: number): number => n * 3\nexport default (n: number): [number, string[]] => [triple(n), process.execArgv]\n')
  const pool = createWorkerPool<number, [number, string[]]>({ filename: pathToFileURL(file).href, threads: 1, resourceLimits: LIMITS })
  t.teardown(() => pool.close())
  const [tripled, flags] = await pool.run(14)
  t.equal(tripled, 42, 'its types stripped by tsx, its default export the handler')
  t.notOk(flags.some((a) => a.startsWith('--import')), 'no preloaded loader in the thread')
})

t.test('tasks, failures and threads are counted; close ends the threads', async (t) => {
  t.throws(() => createWorkerPool({ filename: 'x', threads: 0, resourceLimits: LIMITS }), RangeError)
  const dir = mkdtempSync(join(tmpdir(), 'zz-workers-'))
  const file = join(dir, 'double.mjs')
  writeFileSync(file, "export default (n) => { if (n < 0) throw new Error('negative'); return n * 2 }\n")
  const pool = createWorkerPool<number, number>({ filename: pathToFileURL(file).href, threads: 1, resourceLimits: LIMITS })
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
  const dir = mkdtempSync(join(tmpdir(), 'zz-workers-'))
  const file = join(dir, 'broken.mjs')
  writeFileSync(file, "throw new Error('this worker cannot start')\n")
  const heard: unknown[] = []
  const pool = createWorkerPool<number, number>({ filename: pathToFileURL(file).href, threads: 1, resourceLimits: LIMITS, onError: (err) => heard.push(err) })
  t.teardown(() => pool.close())
  await t.rejects(pool.run(1))
  t.match(heard, [{ message: 'this worker cannot start' }])
  await t.rejects(pool.run(1), 'again: a new pool, failing the same way, not a hang')
  t.match(pool.stats(), { tasks: 2, failures: 2 })
})
