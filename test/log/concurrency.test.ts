import { sql } from 'drizzle-orm'
import t from 'tap'
import { openDatabase, rowsOf } from '../../src/db/client.js'
import { hashLeaf, verifyConsistency, verifyInclusion } from '../../src/log/merkle.js'
import { noteVerifiersFromJwks, verifyCheckpoint, type Checkpoint } from '../../src/log/note.js'
import { bearer, buildTestApp, randomCreditCode, randomTypeCode } from '../helpers/app.js'
import { DATA_SCHEMA, HOLDER_ID } from '../helpers/certs.js'

const b64 = (s: string): Buffer => Buffer.from(s, 'base64')

// Two replicas of the service, each with its own connection pool, on one PostgreSQL: their
// appends race and the primary keys let one through at each size, so there is one tree, never two forks.
t.test('two service instances on one PostgreSQL under lookup load keep one consistent tree', { skip: process.env.DATABASE_URL ? false : 'needs PostgreSQL: run with DATABASE_URL (bash .ci/with-postgres)' }, async (t) => {
  const databases = [await openDatabase({ url: process.env.DATABASE_URL }), await openDatabase({ url: process.env.DATABASE_URL })]
  t.teardown(() => Promise.all(databases.map((d) => d.close())))
  const [a, b] = [await buildTestApp(t, {}, { database: databases[0] }), await buildTestApp(t, {}, { database: databases[1], migrate: false })]
  const admin = await bearer(['admin'])
  const typeCode = randomTypeCode()
  const org = randomCreditCode()
  t.equal((await a.inject({ method: 'PUT', url: `/v1/types/${typeCode}`, headers: admin, payload: { name: '测试许可证', holderIdTypes: ['111'], issuers: [randomCreditCode()], dataSchema: DATA_SCHEMA } })).statusCode, 201)
  t.equal((await b.inject({ method: 'PUT', url: `/v1/grants/${org}`, headers: admin, payload: { name: '某区行政审批局', grants: [{ typeCode }] } })).statusCode, 201)
  const reader = await bearer(['reader'], { org, sub: 'clerk-1' })
  const before = Number((await rowsOf<{ n: string }>(databases[0]!.db, sql`select coalesce(max(size), 0)::text as n from log_checkpoints`))[0]!.n)

  const answers = await Promise.all(
    Array.from({ length: 120 }, (_, i) =>
      (i % 2 === 0 ? a : b).inject({ method: 'POST', url: '/v1/lookup', headers: reader, payload: { holder: { idType: '111', id: HOLDER_ID }, purpose: { matterCode: `M-${i}`, reason: '并发核验' } } }),
    ),
  )
  t.same([...new Set(answers.map((r) => r.statusCode))], [200], 'every lookup answered')

  const verifiers = noteVerifiersFromJwks((await a.inject({ method: 'GET', url: '/.well-known/jwks.json' })).json())
  const parse = (note: string): Checkpoint => {
    const v = verifyCheckpoint(note, verifiers)
    if (!v.ok) throw new Error(`${v.reason}: ${v.detail}`)
    return v.checkpoint
  }
  let proved = 0
  for (const res of answers) {
    const log = res.json().receipt as { leafIndex: number; leaf: string; inclusionProof: string[]; checkpoint: string }
    const cp = parse(log.checkpoint)
    if (verifyInclusion(log.leafIndex, cp.size, hashLeaf(b64(log.leaf)), log.inclusionProof.map(b64), cp.root).ok) proved++
  }
  t.equal(proved, answers.length, "every answer's proof verifies against the checkpoint it carries")
  const leaves = new Set(answers.map((r) => r.json().receipt.leafIndex as number))
  t.equal(leaves.size, answers.length, 'no two answers share a leaf')

  const notes = await rowsOf<{ size: string; note: string }>(databases[1]!.db, sql`select c.size::text as size, c.note from log_checkpoints c where c.size > ${String(before)}::bigint order by c.size`)
  const checkpoints = notes.map((n) => parse(n.note))
  t.ok(checkpoints.length >= 2, `${checkpoints.length} checkpoints signed during the load`)
  const proof = async (from: number, to: number) => {
    const res = await b.inject({ method: 'GET', url: `/v1/log/proof/consistency?from=${from}&to=${to}` })
    if (res.statusCode !== 200) throw new Error(res.body)
    return (res.json().proof as string[]).map(b64)
  }
  let consistent = 0
  for (let i = 0; i + 1 < checkpoints.length; i++) {
    const [x, y] = [checkpoints[i]!, checkpoints[i + 1]!]
    if (verifyConsistency(x.size, y.size, await proof(x.size, y.size), x.root, y.root).ok) consistent++
  }
  t.equal(consistent, checkpoints.length - 1, 'each checkpoint is consistent with the next (so with every later one)')
  const [first, last] = [checkpoints[0]!, checkpoints[checkpoints.length - 1]!]
  t.ok(verifyConsistency(first.size, last.size, await proof(first.size, last.size), first.root, last.root).ok, 'and the first with the last directly')
  const [{ n, m }] = (await rowsOf<{ n: string; m: string }>(databases[0]!.db, sql`select count(*)::text as n, (max(leaf_index) + 1)::text as m from audit_events where leaf_index is not null`)) as [{ n: string; m: string }]
  t.equal(n, m, 'leaf indexes are dense: no gap, no duplicate')
})
