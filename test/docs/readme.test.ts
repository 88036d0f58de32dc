import { existsSync, readFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { loadConfig } from '../../src/config.js'
import { ERRORS } from '../../src/errors.js'

// The README is the only manual a user has: what it lists must be what the code has, both ways.
const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const read = (file: string) => readFileSync(join(ROOT, file), 'utf8')
const README = read('README.md')

/** The rows of the markdown table whose header line is `header`, as arrays of cells. */
function tableAfter(text: string, header: string): string[][] {
  const lines = text.split('\n')
  const start = lines.findIndex((l) => l.trim() === header)
  if (start < 0) return []
  const rows: string[][] = []
  for (const line of lines.slice(start + 2)) {
    if (!line.startsWith('|')) break
    rows.push(line.split(/(?<!\\)\|/).slice(1, -1).map((c) => c.trim()))
  }
  return rows
}

/** The section of the README from a `## heading` to the next one. */
function section(heading: string): string {
  const start = README.indexOf(`\n## ${heading}\n`)
  const end = README.indexOf('\n## ', start + 1)
  return start < 0 ? '' : README.slice(start, end < 0 ? undefined : end)
}

t.test('the README lists every error code of src/errors.ts with its status, and no other', async (t) => {
  const rows = tableAfter(README, '| code | status | meaning |')
  t.ok(rows.length > 0, 'the README has the error-code table (| code | status | meaning |)')
  const listed = new Map<string, number>()
  for (const [code, status] of rows) {
    const name = /^`([A-Z0-9_]+)`$/.exec(code ?? '')?.[1]
    t.ok(name, `a row names one code: ${code}`)
    if (!name) continue
    t.notOk(listed.has(name), `${name} is listed once`)
    listed.set(name, Number(status))
  }
  for (const [code, { status }] of Object.entries(ERRORS)) t.equal(listed.get(code), status, `${code} (${status}) is in the README's error-code table`)
  for (const code of listed.keys()) t.ok(Object.hasOwn(ERRORS, code), `the README's ${code} is a code of src/errors.ts`)
})

t.test('every "<status> `CODE`" the README writes is a real code with that status', async (t) => {
  const uses = [...README.matchAll(/\b([1-5][0-9]{2}) `([A-Z][A-Z0-9_]+)`/g)]
  t.ok(uses.length > 5, `${uses.length} uses`)
  for (const [, status, code] of uses) {
    t.equal(ERRORS[code as keyof typeof ERRORS]?.status, Number(status), `${status} ${code}`)
  }
})

/** Every variable src/config.ts reads: those it asks the environment for, and those its source names. */
async function configVariables(): Promise<Set<string>> {
  const asked = new Set<string>()
  const env = new Proxy({ NODE_ENV: 'test', DATA_DIR: 'memory://' } as Record<string, string | undefined>, {
    get(target, key) {
      if (typeof key === 'string') asked.add(key)
      return target[key as string]
    },
  })
  await loadConfig(env)
  const source = read('src/config.ts')
  for (const [, name] of source.matchAll(/\benv(?:\.|\[')([A-Z][A-Z0-9_]+)/g)) asked.add(name!)
  for (const [, name] of source.matchAll(/\b(?:int|bool|required)\('([A-Z][A-Z0-9_]+)'/g)) asked.add(name!)
  return asked
}

t.test('the configuration table names every variable src/config.ts reads, and no other', async (t) => {
  const read = await configVariables()
  t.ok(read.size >= 25, `${read.size} variables read`)
  const rows = tableAfter(section('Configuration'), '| variable | default | meaning |')
  const names = rows.flatMap(([cell]) => [...(cell ?? '').matchAll(/`([A-Z][A-Z0-9_]+)`/g)].map((m) => m[1]!))
  const documented = new Set(names)
  t.equal(names.length, documented.size, 'each variable has one row')
  for (const name of read) t.ok(documented.has(name), `${name} (read by src/config.ts) is in the README's configuration table`)
  for (const name of documented) t.ok(read.has(name), `the configuration table's ${name} is read by src/config.ts`)
})

t.test('every route the README and keys.example/README.md name exists with that method', async (t) => {
  const spec = read('openapi.yaml')
  const routes = new Set<string>()
  let path = ''
  for (const line of spec.split('\n')) {
    const p = /^ {2}(\/\S*):$/.exec(line)
    if (p) path = p[1]!.replace(/\{[^}]+\}/g, '{}')
    const m = /^ {4}(get|put|post|patch|delete):$/.exec(line)
    if (m && path) routes.add(`${m[1]!.toUpperCase()} ${path}`)
  }
  t.ok(routes.size >= 25, `${routes.size} routes in openapi.yaml`)
  for (const file of ['README.md', 'keys.example/README.md']) {
    for (const [, method, route] of read(file).matchAll(/`(GET|PUT|POST|PATCH|DELETE) (\/[^`\s]*)`/g)) {
      if (route!.includes('…')) continue
      // `/v1/types[/{typeCode}]`, `…/checkpoint[?size=N]`, `…?index=I`: the route without its optional parts and query.
      const bare = route!.replace(/\[[^\]]*\]/g, '').replace(/\?.*$/, '').replace(/\{[^}]+\}/g, '{}')
      t.ok(routes.has(`${method} ${bare}`), `${file}: ${method} ${route} is a route`)
    }
  }
})

t.test('links in the README and docs/ point at files in the repository', async (t) => {
  for (const file of ['README.md', 'keys.example/README.md', 'docs/scaling.md', 'docs/benchmarks.md', 'docs/log.md']) {
    if (!existsSync(join(ROOT, file))) continue
    for (const [, target] of read(file).matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^[a-z]+:/.test(target!) || target!.startsWith('#')) continue
      const local = resolve(dirname(join(ROOT, file)), target!.split('#')[0]!)
      t.ok(local.startsWith(ROOT) && existsSync(local), `${file} links ${target}, which is in the repository`)
    }
  }
  t.notMatch(README, /\.\.\/shared\/DESIGN/, 'no link to the team\'s notes, which a clone does not have')
})
