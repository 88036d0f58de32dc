import { execFileSync, spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { ConfigError, loadConfig } from '../../src/config.js'
import { hashLeaf, verifyInclusion } from '../../src/log/merkle.js'
import { noteVerifiersFromJwks, verifyCheckpoint } from '../../src/log/note.js'
import { freePort } from '../helpers/net.js'
import { untapped } from '../helpers/untapped.js'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const b64 = (s: string): Buffer => Buffer.from(s, 'base64')

t.test('WORKERS above 1 needs PostgreSQL: embedded PGlite is one process', async (t) => {
  const error = await loadConfig({ WORKERS: '2', DATABASE_URL: '' }).then(
    () => undefined,
    (e: unknown) => e,
  )
  t.ok(error instanceof ConfigError, 'refused at start')
  t.match(String((error as Error).message), /WORKERS=2 needs DATABASE_URL/)
  t.equal((await loadConfig({ DATABASE_URL: '' })).workers, 1, 'PGlite: one process by default')
})

// The workers: child processes running the server (tsx may also start an esbuild child in the
// first process, when its transform cache is cold).
const children = (pid: number): number[] => {
  let pids: number[]
  try {
    pids = execFileSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' }).split(/\s+/).filter(Boolean).map(Number)
  } catch {
    return []
  }
  return pids.filter((p) => {
    try {
      return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes('src/server.ts')
    } catch {
      return false
    }
  })
}

async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, ms = 120_000): Promise<T> {
  const end = Date.now() + ms
  for (;;) {
    const v = await Promise.resolve(probe()).catch(() => undefined)
    if (v !== undefined) return v
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 250))
  }
}

t.test('WORKERS=2 on PostgreSQL: two worker processes share the port, the primary appends the log for both, a dead worker is replaced, SIGTERM stops them all', { skip: process.env.DATABASE_URL ? false : 'needs PostgreSQL: run with DATABASE_URL (bash .ci/with-postgres)' }, async (t) => {
  t.setTimeout(300_000)
  // Imported here: on PGlite this test skips, and the service's modules would cost the skipping
  // process about 2 s of CPU.
  const { bearer, randomCreditCode, randomTypeCode } = await import('../helpers/app.js')
  const { DATA_SCHEMA, HOLDER_ID, payloadFor, signJws } = await import('../helpers/certs.js')
  const { createTestPki } = await import('../helpers/pki.js')
  // An issuer pushes through the workers too: its certificates travel to the primary with their events.
  const pki = createTestPki()
  const anchors = join(mkdtempSync(join(tmpdir(), 'zz-cluster-')), 'anchors.pem')
  writeFileSync(anchors, pki.anchorsPem)
  const port = await freePort()
  const url = `http://127.0.0.1:${port}`
  const child = spawn(...untapped(process.execPath, ['--import', 'tsx', 'src/server.ts']), {
    cwd: ROOT,
    env: { ...process.env, NODE_ENV: 'development', TRUST_ANCHORS: anchors, WORKERS: '2', PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn', RATE_LIMIT_MAX: '0', SM2_THREADS: '0', OFD_THREADS: '1' },
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  let stderr = ''
  child.stderr!.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-20_000)))
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL')
  })
  await until('the service to be ready', async () => ((await fetch(`${url}/readyz`)).ok ? true : undefined))
  const workers = await until('two workers', () => (children(child.pid!).length === 2 ? children(child.pid!) : undefined))
  t.equal(workers.length, 2, 'two worker processes under the primary')

  const admin = await bearer(['admin'])
  const typeCode = randomTypeCode()
  const org = randomCreditCode()
  const put = (path: string, body: unknown) => fetch(`${url}${path}`, { method: 'PUT', headers: { ...admin, 'content-type': 'application/json' }, body: JSON.stringify(body) })
  t.equal((await put(`/v1/types/${typeCode}`, { name: '测试许可证', holderIdTypes: ['111'], issuers: [randomCreditCode()], dataSchema: DATA_SCHEMA })).status, 201)
  t.equal((await put(`/v1/grants/${org}`, { name: '某区行政审批局', grants: [{ typeCode }] })).status, 201)
  const reader = await bearer(['reader'], { org, sub: 'clerk-1' })
  const lookup = (i: number) =>
    fetch(`${url}/v1/lookup`, { method: 'POST', headers: { ...reader, 'content-type': 'application/json' }, body: JSON.stringify({ holder: { idType: '111', id: HOLDER_ID }, purpose: { matterCode: `M-${i}`, reason: '集群核验' } }) })

  const answers = await Promise.all(Array.from({ length: 40 }, async (_, i) => {
    const res = await lookup(i)
    return { status: res.status, body: (await res.json()) as { receipt: { leafIndex: number; leaf: string; inclusionProof: string[]; checkpoint: string } } }
  }))
  t.same([...new Set(answers.map((a) => a.status))], [200], 'every lookup answered')
  t.equal(new Set(answers.map((a) => a.body.receipt.leafIndex)).size, answers.length, 'no two answers share a leaf')
  const verifiers = noteVerifiersFromJwks((await (await fetch(`${url}/.well-known/jwks.json`)).json()) as Parameters<typeof noteVerifiersFromJwks>[0])
  const proved = answers.filter(({ body: { receipt } }) => {
    const cp = verifyCheckpoint(receipt.checkpoint, verifiers)
    return cp.ok && verifyInclusion(receipt.leafIndex, cp.checkpoint.size, hashLeaf(b64(receipt.leaf)), receipt.inclusionProof.map(b64), cp.checkpoint.root).ok
  })
  t.equal(proved.length, answers.length, "every answer's proof verifies against the checkpoint it carries")
  // The whole receipt as an auditor checks it offline: the worker rebuilt its event from what the
  // primary packed (src/cluster.ts unpackAppend), so the event must open the leaf's commitments.
  const { verifyReceipt } = await import('../../src/verify/receipt.js')
  const jwks = (await (await fetch(`${url}/.well-known/jwks.json`)).json()) as Parameters<typeof verifyReceipt>[1]
  const opened = await Promise.all(answers.map(({ body }) => verifyReceipt(JSON.stringify(body), jwks).then(() => true, (err: Error) => err.message)))
  t.same([...new Set(opened)], [true], "every answer's receipt verifies whole: checkpoint, inclusion, and the event opening its leaf")

  // Pushes: each first version is stored by the primary's statement, with its event in the tree.
  const issuerCode = randomCreditCode()
  const key = pki.issue({ keyType: 'p256' })
  t.equal((await put(`/v1/types/${typeCode}`, { name: '测试许可证', holderIdTypes: ['111'], issuers: [issuerCode], dataSchema: DATA_SCHEMA })).status, 200)
  t.equal((await put(`/v1/issuers/${issuerCode}`, { name: '测试发证机关', typeCodes: [typeCode], certificates: [key.chainPem] })).status, 201)
  const issuer = await bearer(['issuer'], { org: issuerCode })
  const payloads = Array.from({ length: 8 }, () => payloadFor({ typeCode, issuerCode }))
  const pushed = await Promise.all(payloads.map(async (p) => {
    const certificate = await signJws(p, key.privateKeyPem, { alg: key.alg, kid: key.kid })
    const res = await fetch(`${url}/v1/certificates`, { method: 'POST', headers: { ...issuer, 'content-type': 'application/json' }, body: JSON.stringify({ certificate }) })
    return res.status
  }))
  t.same(pushed, payloads.map(() => 201), 'every push stored')
  const { openTestDatabase } = await import('../helpers/database.js')
  const database = await openTestDatabase({ url: process.env.DATABASE_URL })
  t.teardown(() => database.close())
  const { sql } = await import('drizzle-orm')
  const { rowsOf } = await import('../../src/db/client.js')
  const ids = payloads.map((p) => p.id)
  const stored = await rowsOf<{ id: string; leaf_index: string | null }>(database.db, sql`select c.id, e.leaf_index::text as leaf_index from certificates c join audit_events e on e.subject = c.id and e.kind = 'certificate.issued' where c.id = any(${sql.param(ids)}::text[])`)
  t.same(stored.map((r) => r.id).sort(), [...ids].sort(), 'each certificate stored once, with its issuance event')
  t.same(stored.filter((r) => r.leaf_index === null), [], 'every issuance event in the tree')

  process.kill(workers[0]!, 'SIGKILL')
  const replaced = await until('a new worker', () => {
    const now = children(child.pid!)
    return now.length === 2 && !now.includes(workers[0]!) ? now : undefined
  })
  t.equal(replaced.length, 2, 'the dead worker was replaced')
  const after = await Promise.all(Array.from({ length: 6 }, (_, i) => lookup(100 + i).then((r) => r.status)))
  t.same([...new Set(after)], [200], 'the service answers on after losing a worker')

  child.kill('SIGTERM')
  const code = await exited
  if (code !== 0) t.comment(stderr)
  t.equal(code, 0, 'the primary exits cleanly once its workers have drained')
  t.same(replaced.filter((pid) => { try { process.kill(pid, 0); return true } catch { return false } }), [], 'no worker left behind')
})
