import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { writeReport, type RunReport } from '../../bench/report.js'

// A real run's data, as the committed report carries it.
const committed = readFileSync(new URL('../../docs/benchmarks.md', import.meta.url), 'utf8')
const data = /<!-- bench-data (\S+) -->/.exec(committed)
const real = JSON.parse(Buffer.from(data![1]!, 'base64').toString('utf8')) as RunReport

t.test('each run rewrites its own section, keeps the others and the analysis, and rebuilds the summary', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'zhengzhao-report-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const file = join(dir, 'benchmarks.md')
  const small = { ...real, rows: 100_000, variant: '' }
  const large = { ...real, rows: 10_000_000, variant: '' }

  writeReport(file, large)
  writeReport(file, small)
  let text = readFileSync(file, 'utf8')
  t.ok(text.indexOf('<!-- bench-section postgres-100000 -->') < text.indexOf('<!-- bench-section postgres-10000000 -->'), 'sections ordered by rows')
  t.match(text, /\| PostgreSQL, 100,000 certificates \|/)
  t.match(text, /\| PostgreSQL, 10,000,000 certificates \|/)

  // A hand-written analysis survives the next run; a repeat replaces its section, not adds one.
  writeFileSync(file, text.replace('<!-- bench-section', '<!-- analysis -->\nWhat limits lookup: measured.\n<!-- /analysis -->\n\n<!-- bench-section'))
  writeReport(file, { ...small, lookup: { ...small.lookup, rps: 12_345 } })
  text = readFileSync(file, 'utf8')
  t.match(text, 'What limits lookup: measured.')
  t.equal(text.match(/<!-- bench-section postgres-100000 -->/g)?.length, 1)
  t.match(text, '| 12,345 |', 'the summary shows the new figure')
  t.equal(text.match(/<!-- analysis -->/g)?.length, 1)

  // Variants get their own section.
  writeReport(file, { ...small, variant: 'tsx' })
  t.match(readFileSync(file, 'utf8'), /\| PostgreSQL, 100,000 certificates \(tsx\) \|/)
})
