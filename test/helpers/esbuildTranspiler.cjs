// ts-node's transpiler for the test suite (test/helpers/tsconfig.tap.json): esbuild, which tsx
// uses too, instead of TypeScript's own transpileModule. ts-node transpiled src/ afresh in every
// test process, about 4 s of CPU per test file; esbuild does it in a fraction. Types are checked
// once by `npm run typecheck`, as before.
const { transformSync } = require('esbuild')

const tsconfigRaw = { compilerOptions: { target: 'ES2022', verbatimModuleSyntax: true, useDefineForClassFields: true } }

exports.create = () => ({
  transpile(input, { fileName }) {
    const out = transformSync(input, { loader: fileName.endsWith('x') ? 'tsx' : 'ts', format: 'esm', target: 'es2022', sourcemap: 'external', sourcefile: fileName, tsconfigRaw })
    return { outputText: out.code, sourceMapText: out.map }
  },
})
