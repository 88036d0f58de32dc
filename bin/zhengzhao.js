#!/usr/bin/env node
// Runs the TypeScript sources through tsx in a checkout, or the compiled build in the image.
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

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
  if (existsSync(fileURLToPath(source)) && canResolve('tsx/esm/api')) {
    const { register } = await import('tsx/esm/api')
    register()
    return import(source.href)
  }
  return import('../dist/cli/main.js')
}

const { main } = await loadMain()
process.exitCode = await main(process.argv.slice(2))
