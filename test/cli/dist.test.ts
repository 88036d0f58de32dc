import { mkdirSync, utimesSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t, { type Test } from 'tap'

// bin/build.js is plain JavaScript (it runs before anything is compiled): loaded untyped.
const { distState } = (await import('../../bin/build.js' as string)) as { distState(root: string): { built: boolean; current: boolean } }

function tree(t: Test, files: Record<string, number>): string {
  const root = t.testdir()
  for (const [name, age] of Object.entries(files)) {
    mkdirSync(join(root, name, '..'), { recursive: true })
    writeFileSync(join(root, name), '')
    const at = new Date(Date.now() - age * 1000)
    utimesSync(join(root, name), at, at)
  }
  return root
}

const BUILT = { 'dist/server.js': 50, 'dist/cli/main.js': 50 }

t.test('dist/ is current only when built since src/ last changed', async (t) => {
  t.same(distState(tree(t, { 'src/server.ts': 100 })), { built: false, current: false }, 'never built')
  t.same(distState(tree(t, { 'src/server.ts': 100, 'dist/server.js': 50 })), { built: false, current: false }, 'an entry point missing')
  t.same(distState(tree(t, { 'src/server.ts': 100, ...BUILT })), { built: true, current: false }, 'built by something else than bin/build.js: no stamp')
  t.same(distState(tree(t, { 'src/server.ts': 100, 'src/cli/main.ts': 90, ...BUILT, 'dist/.built': 60 })), { built: true, current: true }, 'built after the last edit')
  t.same(distState(tree(t, { 'src/server.ts': 100, 'src/cli/sign.ts': 10, ...BUILT, 'dist/.built': 60 })), { built: true, current: false }, 'a file edited since, however deep')
  t.same(distState(tree(t, BUILT)), { built: true, current: true }, 'an installed package: no src/, dist/ is all there is')
})
