#!/usr/bin/env node
// Compiles src/ to dist/ (tsc), and tells whether dist/ is current: bin/zhengzhao.js and
// `npm start` run the compiled JavaScript, which starts in a fraction of tsx's time.
//   node bin/build.js              build (incremental: only what changed is emitted again)
//   node bin/build.js --if-stale   build only when a file under src/ is newer than the last build
//                                  (type errors are then warnings); with no TypeScript compiler
//                                  (npm ci --omit=dev) use dist/ as it is
//   node bin/build.js --clean      remove dist/ first (what `npm pack` ships)
import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const SRC = join(ROOT, 'src')
const DIST = join(ROOT, 'dist')
// Written after every successful build: its time is the build's. tsc --incremental leaves
// unchanged outputs untouched, so no file of dist/ itself says when the last build ran.
const STAMP = join(DIST, '.built')
const ENTRY_POINTS = ['server.js', 'cli/main.js']

/** The newest modification time of any file under `dir` (0 when there is none). */
function newestIn(dir) {
  let newest = 0
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue
    const mtime = statSync(join(entry.parentPath ?? entry.path, entry.name)).mtimeMs
    if (mtime > newest) newest = mtime
  }
  return newest
}

/** True when dist/ holds the entry points; `current` too when no file of src/ changed since the last build. */
export function distState(root = ROOT) {
  const dist = join(root, 'dist')
  const built = ENTRY_POINTS.every((f) => existsSync(join(dist, f)))
  if (!built) return { built: false, current: false }
  // An installed package has no src/: what it ships is what there is.
  if (!existsSync(join(root, 'src'))) return { built: true, current: true }
  const stamp = join(dist, '.built')
  if (!existsSync(stamp)) return { built: true, current: false }
  return { built: true, current: newestIn(join(root, 'src')) <= statSync(stamp).mtimeMs }
}

function tscPath() {
  try {
    return createRequire(import.meta.url).resolve('typescript/bin/tsc')
  } catch {
    return undefined
  }
}

function build({ clean, strict }) {
  const tsc = tscPath()
  if (!tsc) {
    process.stderr.write('zhengzhao build: no TypeScript compiler (install the dev dependencies: npm install)\n')
    return 2
  }
  if (clean) rmSync(DIST, { recursive: true, force: true })
  // The stamp's time is taken before compiling, so a source saved during the build still counts as newer.
  const started = Date.now()
  const args = [tsc, '-p', join(ROOT, 'tsconfig.json'), '--incremental', '--tsBuildInfoFile', join(DIST, '.tsbuildinfo')]
  const res = spawnSync(process.execPath, args, { stdio: 'inherit', cwd: ROOT })
  // tsc's exit 2: type errors, every file emitted all the same. dist/ then holds what tsx would
  // run, so it is current; only a strict build (npm run build, npm pack) fails on it.
  if (res.status !== 0 && res.status !== 2) {
    process.stderr.write(`zhengzhao build: tsc failed (exit ${res.status ?? res.signal}); dist/ is not marked current\n`)
    return 1
  }
  writeFileSync(STAMP, `${new Date(started).toISOString()}\n`)
  utimesSync(STAMP, new Date(), new Date(started))
  const seconds = ((Date.now() - started) / 1000).toFixed(1)
  if (res.status === 2) {
    process.stderr.write(`zhengzhao build: compiled src/ to dist/ in ${seconds} s, with the type errors above\n`)
    return strict ? 1 : 0
  }
  process.stderr.write(`zhengzhao build: compiled src/ to dist/ in ${seconds} s\n`)
  return 0
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const args = process.argv.slice(2)
  const unknown = args.filter((a) => a !== '--if-stale' && a !== '--clean')
  if (unknown.length > 0) {
    process.stderr.write(`zhengzhao build: unknown option ${unknown.join(' ')} (--if-stale, --clean)\n`)
    process.exitCode = 2
  } else if (args.includes('--if-stale')) {
    const state = distState()
    if (state.current) process.exitCode = 0
    else if (state.built && !tscPath()) {
      process.stderr.write('zhengzhao build: src/ changed since dist/ was built, but there is no TypeScript compiler: running dist/ as it is\n')
    } else process.exitCode = build({ clean: false, strict: false })
  } else process.exitCode = build({ clean: args.includes('--clean'), strict: true })
}
