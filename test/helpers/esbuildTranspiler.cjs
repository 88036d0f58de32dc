// ts-node's transpiler for the test suite (test/helpers/tsconfig.tap.json): esbuild, which tsx
// uses too, instead of TypeScript's own transpileModule. ts-node transpiled src/ afresh in every
// test process, about 4 s of CPU per test file; esbuild does it in a fraction, and its output is
// kept in os.tmpdir() by content hash, so each test process only reads it. Types are checked
// once by `npm run typecheck`, as before.
const { createHash, randomBytes } = require('node:crypto')
const { mkdirSync, readFileSync, renameSync, writeFileSync } = require('node:fs')
const { tmpdir } = require('node:os')
const { join } = require('node:path')
const { transformSync, version } = require('esbuild')

const tsconfigRaw = { compilerOptions: { target: 'ES2022', verbatimModuleSyntax: true, useDefineForClassFields: true } }
const cacheDir = join(tmpdir(), `zhengzhao-test-esbuild-${version}`)

exports.create = () => {
  mkdirSync(cacheDir, { recursive: true })
  return {
    transpile(input, { fileName }) {
      const file = join(cacheDir, createHash('sha256').update(fileName).update('\0').update(input).digest('hex') + '.json')
      try {
        return JSON.parse(readFileSync(file, 'utf8'))
      } catch {
        const out = transformSync(input, { loader: fileName.endsWith('x') ? 'tsx' : 'ts', format: 'esm', target: 'es2022', sourcemap: 'external', sourcefile: fileName, tsconfigRaw })
        const result = { outputText: out.code, sourceMapText: out.map }
        // Another process or worker thread may write the same entry: each writes its own file and
        // renames it into place; a cache that cannot be written only costs the next process time.
        try {
          const tmp = `${file}.${randomBytes(8).toString('hex')}.tmp`
          writeFileSync(tmp, JSON.stringify(result))
          renameSync(tmp, file)
        } catch {}
        return result
      }
    },
  }
}
