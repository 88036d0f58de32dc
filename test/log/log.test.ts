import { sql } from 'drizzle-orm'
import t from 'tap'
import { rowsOf } from '../../src/db/client.js'
import { leafOf, parseLeaf, holderCommitment, eventCommitment, type EventBody } from '../../src/log/leaf.js'
import { hashLeaf, rootOf, verifyConsistency, verifyInclusion } from '../../src/log/merkle.js'
import { noteVerifiersFromJwks, verifyCheckpoint } from '../../src/log/note.js'
import { eventFixture } from '../audit/fixtures.js'
import { bearer } from '../helpers/app.js'
import { HOLDER_ID, HOLDER_NAME, OTHER_HOLDER_ID } from '../helpers/certs.js'

const b64 = (s: string): Buffer => Buffer.from(s, 'base64')

t.test('every change and access goes into one Merkle log with signed checkpoints and proofs', async (t) => {
  const f = await eventFixture(t, { embedded: true }) // its own database: these tests tamper with the log
  const auditor = await bearer(['auditor'])
  const jwks = (await f.app.inject({ method: 'GET', url: '/.well-known/jwks.json' })).json()
  const verifiers = noteVerifiersFromJwks(jwks)
  const checkpoint = async (size?: number) => {
    const res = await f.app.inject({ method: 'GET', url: `/v1/log/checkpoint${size ? `?size=${size}` : ''}` })
    t.equal(res.statusCode, 200, res.body)
    t.match(res.headers['content-type'], /^text\/plain/)
    const v = verifyCheckpoint(res.body, verifiers, 'zhengzhao.localhost/log')
    if (!v.ok) throw new Error(`${v.reason}: ${v.detail}`)
    return { note: res.body, ...v.checkpoint }
  }

  await f.pushFor(HOLDER_ID)
  const first = await checkpoint()
  t.ok(first.size >= 1, 'the push answered only once its event was in the tree')
  await f.pushFor(OTHER_HOLDER_ID)
  const search = await f.app.inject({ method: 'POST', url: '/v1/audit/events/search', headers: auditor, payload: { holder: { idType: '111', id: HOLDER_ID } } })
  t.equal(search.statusCode, 200, search.body)
  const latest = await checkpoint()
  t.ok(latest.size > first.size)

  t.test('a past checkpoint is served again, byte for byte', async (t) => {
    t.equal((await checkpoint(first.size)).note, first.note)
    const missing = await f.app.inject({ method: 'GET', url: `/v1/log/checkpoint?size=${latest.size + 5}` })
    t.equal(missing.statusCode, 404)
    t.equal(missing.json().code, 'CHECKPOINT_NOT_FOUND')
  })

  t.test('the auditor recomputes every leaf from its opening, and the root from the leaves', async (t) => {
    const res = await f.app.inject({ method: 'GET', url: `/v1/log/entries?start=0&end=${latest.size}`, headers: auditor })
    t.equal(res.statusCode, 200, res.body)
    const items = res.json().items as { leafIndex: number; leaf: string; salt: string; event: Record<string, unknown> }[]
    t.same(items.map((i) => i.leafIndex), Array.from({ length: latest.size }, (_, i) => i), 'every leaf, in order')
    for (const item of items) {
      const e = item.event as unknown as { at: string; kind: string; org: string | null; sub: string | null; holderRef: string | null } & EventBody
      const recomputed = leafOf(
        { at: e.at, kind: e.kind, actorOrg: e.org, actorSub: e.sub, requestId: e.request, clientRequestId: e.clientRequest, subject: e.subject, holderRef: e.holderRef, certificateIds: e.certificates, details: e.details },
        b64(item.salt),
      )
      t.equal(recomputed.toString('base64'), item.leaf, `leaf ${item.leafIndex} opens`)
    }
    t.ok(rootOf(items.map((i) => hashLeaf(b64(i.leaf)))).equals(latest.root), 'the root of the leaves is the signed root')
    t.equal((await f.app.inject({ method: 'GET', url: '/v1/log/entries?start=0' })).statusCode, 401, 'entries are for auditors')
    t.equal((await f.app.inject({ method: 'GET', url: '/v1/log/entries?start=0', headers: await bearer(['reader']) })).statusCode, 403)
  })

  t.test('inclusion proofs by index and by leaf hash, and consistency proofs, verify', async (t) => {
    const entries = (await f.app.inject({ method: 'GET', url: `/v1/log/entries?start=0&end=${latest.size}`, headers: auditor })).json().items as { leaf: string }[]
    for (let i = 0; i < latest.size; i++) {
      const res = await f.app.inject({ method: 'GET', url: `/v1/log/proof/inclusion?index=${i}&size=${latest.size}` })
      t.equal(res.statusCode, 200, res.body)
      const p = res.json()
      t.ok(verifyInclusion(i, latest.size, hashLeaf(b64(entries[i]!.leaf)), p.proof.map(b64), latest.root).ok, `leaf ${i}`)
    }
    const leafHash = hashLeaf(b64(entries[1]!.leaf)).toString('hex')
    const byHash = await f.app.inject({ method: 'GET', url: `/v1/log/proof/inclusion?leafHash=${leafHash}` })
    t.equal(byHash.json().leafIndex, 1)
    const cons = await f.app.inject({ method: 'GET', url: `/v1/log/proof/consistency?from=${first.size}&to=${latest.size}` })
    t.equal(cons.statusCode, 200, cons.body)
    t.ok(verifyConsistency(first.size, latest.size, cons.json().proof.map(b64), first.root, latest.root).ok)
    for (const [url, code] of [
      [`/v1/log/proof/inclusion?index=${latest.size}&size=${latest.size}`, 'LOG_RANGE_INVALID'],
      ['/v1/log/proof/inclusion?leafHash=' + '0'.repeat(64), 'LEAF_NOT_FOUND'],
      ['/v1/log/proof/inclusion?index=1&leafHash=' + leafHash, 'VALIDATION_FAILED'],
      ['/v1/log/proof/consistency?from=0', 'LOG_RANGE_INVALID'],
      ['/v1/log/proof/inclusion?index=01', 'VALIDATION_FAILED'],
    ] as const) {
      const res = await f.app.inject({ method: 'GET', url })
      t.equal(res.json().code, code, url)
    }
  })

  t.test('no leaf and no public log route holds an ID number, a name or a blind index', async (t) => {
    const ref = f.refOf(HOLDER_ID)
    const entries = (await f.app.inject({ method: 'GET', url: `/v1/log/entries?start=0&end=${latest.size}`, headers: auditor })).json().items as { leaf: string; salt: string; event: { holderRef: string | null } }[]
    const publicText = [
      latest.note,
      ...(await Promise.all(Array.from({ length: latest.size }, async (_, i) => (await f.app.inject({ method: 'GET', url: `/v1/log/proof/inclusion?index=${i}` })).body))),
      (await f.app.inject({ method: 'GET', url: `/v1/log/proof/consistency?from=1` })).body,
      ...entries.map((e) => b64(e.leaf).toString('utf8')),
    ].join('\n')
    for (const secret of [HOLDER_ID, OTHER_HOLDER_ID, HOLDER_NAME, ref, f.refOf(OTHER_HOLDER_ID)]) t.notOk(publicText.includes(secret), `nothing public holds ${secret.slice(0, 6)}…`)
    const aboutHolder = entries.filter((e) => e.event.holderRef === ref)
    t.ok(aboutHolder.length >= 2, 'the holder is concerned by several events')
    const commitments = aboutHolder.map((e) => parseLeaf(b64(e.leaf))!.holder)
    t.equal(new Set(commitments).size, commitments.length, 'and no two of their leaves share a value')
    for (const e of aboutHolder) t.equal(parseLeaf(b64(e.leaf))!.holder, holderCommitment(b64(e.salt), ref), 'the holder commitment opens with the salt')
    t.ok(eventCommitment)
  })

  t.test('an event altered or deleted in the database is never proved', async (t) => {
    const db = f.database.db
    const [victim] = await rowsOf<{ id: string }>(db, sql`select id::text as id from audit_events where leaf_index = 1`)
    await db.execute(sql`update audit_events set details = '{"outcome":"rewritten"}'::jsonb where id = ${victim!.id}::bigint`)
    const altered = await f.app.inject({ method: 'GET', url: '/v1/log/proof/inclusion?index=1' })
    t.equal(altered.statusCode, 409, altered.body)
    t.equal(altered.json().code, 'LOG_ENTRY_MISMATCH')
    await db.execute(sql`delete from audit_events where leaf_index = 2`)
    t.equal((await f.app.inject({ method: 'GET', url: '/v1/log/proof/inclusion?index=2' })).json().code, 'LOG_ENTRY_MISMATCH')
    const entries = (await f.app.inject({ method: 'GET', url: `/v1/log/entries?start=0&end=${latest.size}`, headers: auditor })).json().items as { leafIndex: number; leaf: string }[]
    t.notOk(entries.some((e) => e.leafIndex === 2), 'the deleted leaf is absent')
    t.notOk(rootOf(entries.map((i) => hashLeaf(b64(i.leaf)))).equals(latest.root), 'and the recomputed root no longer matches')
  })
})
