#!/usr/bin/env node
// Runs the compiled CLI in dist/ when it is current (an installed package; a checkout after
// `npm run build` or `npm start`), and the TypeScript sources through tsx in a checkout whose
// src/ changed since the last build: slower to start, never out of date.
import { distState } from './build.js'

const source = new URL('../src/cli/main.ts', import.meta.url)

function canResolve(specifier) {
  try {
    import.meta.resolve(specifier)
    return true
  } catch {
    return false
  }
}

async function loadMain() {
  const dist = distState()
  if (dist.current || (dist.built && !canResolve('tsx/esm/api'))) return import('../dist/cli/main.js')
  if (!canResolve('tsx/esm/api')) {
    process.stderr.write('zhengzhao: dist/ is not built and tsx is not installed: run npm install, then npm run build\n')
    process.exit(2)
  }
  const { register } = await import('tsx/esm/api')
  register()
  return import(source.href)
}

const { main } = await loadMain()
process.exitCode = await main(process.argv.slice(2))
