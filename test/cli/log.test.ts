import { generateKeyPairSync } from 'node:crypto'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { sql } from 'drizzle-orm'
import t from 'tap'
import { eventFixture } from '../audit/fixtures.js'
import { bearer, buildTestApp } from '../helpers/app.js'
import { HOLDER_ID, OTHER_HOLDER_ID } from '../helpers/certs.js'
import { runCli } from './fixtures/cli.js'

// The Merkle log checked from outside, as a holder, an auditor and a witness would, and the
// database tampered with in each way the issue names: every one must be caught.
t.test('zhengzhao log verify and log watch', async (t) => {
  const f = await eventFixture(t, { embedded: true }) // its own database: these tests tamper with the log
  const dir = mkdtempSync(join(tmpdir(), 'zz-log-cli-'))
  const path = (name: string) => join(dir, name)
  const holderAuth = await bearer(['holder'], { idType: '111', id: HOLDER_ID, sub: 'citizen-002X' })
  const auditor = await bearer(['auditor'])
  const auditorToken = auditor.authorization.slice('Bearer '.length)

  await f.pushFor(HOLDER_ID)
  await f.pushFor(OTHER_HOLDER_ID)
  const search = (id: string) => f.app.inject({ method: 'POST', url: '/v1/audit/events/search', headers: auditor, payload: { holder: { idType: '111', id } } })
  t.equal((await search(HOLDER_ID)).statusCode, 200)
  t.equal((await search(OTHER_HOLDER_ID)).statusCode, 200)
  const url = await f.app.listen({ port: 0, host: '127.0.0.1' })
  writeFileSync(path('jwks.json'), (await f.app.inject({ method: 'GET', url: '/.well-known/jwks.json' })).body)
  // The holder saves today's checkpoint and their access-log item.
  writeFileSync(path('saved.txt'), (await f.app.inject({ method: 'GET', url: '/v1/log/checkpoint' })).body)
  const myLog = (await f.app.inject({ method: 'GET', url: '/v1/me/access-log', headers: holderAuth })).json()
  t.ok(myLog.items[0].log, 'the access carries its leaf, salt and opening')
  writeFileSync(path('item.json'), JSON.stringify(myLog.items[0]))
  // Later events: the log grows.
  await f.pushFor(HOLDER_ID)
  t.equal((await search(HOLDER_ID)).statusCode, 200)

  t.test('an honest log verifies: saved checkpoint, consistency, the holder\'s access, every entry', async (t) => {
    const run = await runCli(['log', 'verify', '--checkpoint', path('saved.txt'), '--url', url, '--receipt', path('item.json'), '--holder-ref', myLog.holderRef, '--entries'], {
      env: { ZHENGZHAO_TOKEN: auditorToken },
    })
    t.equal(run.code, 0, run.stdout + run.stderr)
    t.match(run.stdout, /OK +consistency \d+ → \d+/)
    t.match(run.stdout, /OK +inclusion of leaf \d+ in the current tree/)
    t.match(run.stdout, /OK +entries 0…\d+: \d+ events recomputed/)
    t.match(run.stdout, /VERIFIED\n$/)
    const wrongHolder = await runCli(['log', 'verify', '--checkpoint', path('saved.txt'), '--url', url, '--receipt', path('item.json'), '--holder-ref', f.refOf(OTHER_HOLDER_ID)])
    t.equal(wrongHolder.code, 1, 'the leaf is not about another holder')
    t.match(wrongHolder.stdout, /FAIL leaf \d+ content: the leaf is not about this holder/)
  })

  t.test('offline: a lookup-style answer\'s proof against its own checkpoint and the JWKS', async (t) => {
    const cp = (await f.app.inject({ method: 'GET', url: '/v1/log/checkpoint' })).body
    const item = JSON.parse(readFileSync(path('item.json'), 'utf8'))
    const proof = (await f.app.inject({ method: 'GET', url: `/v1/log/proof/inclusion?index=${item.log.leafIndex}` })).json()
    writeFileSync(path('answer.json'), JSON.stringify({ log: { ...item.log, inclusionProof: proof.proof, treeSize: proof.treeSize, checkpoint: cp } }))
    const run = await runCli(['log', 'verify', '--checkpoint', path('saved.txt'), '--jwks', path('jwks.json'), '--receipt', path('answer.json')])
    t.equal(run.code, 0, run.stdout + run.stderr)
    const bad = JSON.parse(readFileSync(path('answer.json'), 'utf8'))
    bad.log.inclusionProof[0] = Buffer.alloc(32).toString('base64')
    writeFileSync(path('bad.json'), JSON.stringify(bad))
    const tampered = await runCli(['log', 'verify', '--checkpoint', path('saved.txt'), '--jwks', path('jwks.json'), '--receipt', path('bad.json')])
    t.equal(tampered.code, 1)
    t.match(tampered.stdout, /FAIL inclusion/)
  })

  t.test('a witness trusts the first checkpoint, then follows the log', async (t) => {
    const first = await runCli(['log', 'watch', '--state', path('witness.txt'), '--url', url, '--once'])
    t.equal(first.code, 0, first.stderr)
    await f.pushFor(OTHER_HOLDER_ID)
    const next = await runCli(['log', 'watch', '--state', path('witness.txt'), '--url', url, '--once'])
    t.equal(next.code, 0, next.stdout + next.stderr)
    t.match(next.stdout, /consistent: size \d+ → \d+/)
  })

  const db = f.database.db
  const entriesRun = () => runCli(['log', 'verify', '--checkpoint', path('saved.txt'), '--url', url, '--entries'], { env: { ZHENGZHAO_TOKEN: auditorToken } })

  t.test('an event altered in the database', async (t) => {
    await db.execute(sql`update audit_events set details = jsonb_set(details, '{outcome}', '"none"') where leaf_index = 3`)
    const run = await entriesRun()
    t.equal(run.code, 1)
    t.match(run.stdout, /FAIL entries .*leaf 3 does not match its event: the event was altered/)
  })

  t.test('two events swapped', async (t) => {
    await db.execute(sql`update audit_events set leaf_index = -leaf_index - 1 where leaf_index in (1, 2)`)
    await db.execute(sql`update audit_events set leaf_index = case leaf_index when -2 then 2 else 1 end where leaf_index in (-2, -3)`)
    const run = await entriesRun()
    t.equal(run.code, 1)
    t.match(run.stdout, /FAIL entries .*leaf 1 does not match/)
  })

  t.test("the holder's access deleted: their saved item no longer verifies", async (t) => {
    const item = JSON.parse(readFileSync(path('item.json'), 'utf8'))
    await db.execute(sql`delete from audit_events where leaf_index = ${item.log.leafIndex}`)
    const run = await runCli(['log', 'verify', '--checkpoint', path('saved.txt'), '--url', url, '--receipt', path('item.json')])
    t.equal(run.code, 1)
    t.match(run.stdout, /FAIL leaf \d+ today: the service cannot prove it \(409 LOG_ENTRY_MISMATCH\)/)
    t.match((await entriesRun()).stdout, /FAIL entries /, "and the auditor's check fails too")
  })

  t.test('the tree rebuilt from altered events and re-signed with another key', async (t) => {
    await db.execute(sql`delete from log_nodes`)
    await db.execute(sql`delete from log_checkpoints`)
    await db.execute(sql`update audit_events set leaf_index = null, salt = null`)
    const other = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()
    writeFileSync(path('other-service.pem'), other)
    const forger = await buildTestApp(t, { SERVICE_KEYS: path('other-service.pem') }, { database: f.database, migrate: false })
    await forger.transparencyLog.integrate()
    const forgedUrl = await forger.listen({ port: 0, host: '127.0.0.1' })
    const withOldKeys = await runCli(['log', 'verify', '--checkpoint', path('saved.txt'), '--url', forgedUrl, '--jwks', path('jwks.json')])
    t.equal(withOldKeys.code, 1)
    t.match(withOldKeys.stdout, /FAIL current checkpoint: NO_KNOWN_SIGNATURE/)
    const withNewKeys = await runCli(['log', 'verify', '--checkpoint', path('saved.txt'), '--url', forgedUrl])
    t.equal(withNewKeys.code, 1)
    t.match(withNewKeys.stdout, /FAIL saved checkpoint: NO_KNOWN_SIGNATURE/)
    const witness = readFileSync(path('witness.txt'), 'utf8')
    const watch = await runCli(['log', 'watch', '--state', path('witness.txt'), '--url', forgedUrl, '--jwks', path('jwks.json'), '--once'])
    t.equal(watch.code, 1)
    t.match(watch.stderr, /refusing to move on/)
    t.equal(readFileSync(path('witness.txt'), 'utf8'), witness, 'the witness keeps its last good checkpoint')
  })
})
