import { createPublicKey } from 'node:crypto'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import t from 'tap'
import { verifyJwsSignature } from '../../src/crypto/jwsVerify.js'
import { sm2PublicKeyOf } from '../../src/crypto/sm2.js'
import { createSm2Pool, installedSm2PoolStats, installSm2Pool } from '../../src/crypto/sm2Pool.js'
import { opensslSm2Jws, opensslSm2Key } from '../helpers/sm2.js'

// SM2 verification on worker threads gives exactly the main thread's answers; a worker that
// fails is "does not verify"; installing a pool routes verifyJwsSignature through it.

const issuer = opensslSm2Key()
const other = opensslSm2Key()
const key = sm2PublicKeyOf(createPublicKey(issuer.publicKeyPem))!
const otherKey = sm2PublicKeyOf(createPublicKey(other.publicKeyPem))!
const jws = opensslSm2Jws({ n: 1, name: '张三' }, { alg: 'SM2' }, issuer.privateKeyPem)
const [h, p, s] = jws.split('.') as [string, string, string]
const tampered = `${h}.${Buffer.from(JSON.stringify({ n: 1, name: '李四' })).toString('base64url')}.${s}`
const emptyId = opensslSm2Jws({ n: 1, name: '张三' }, { alg: 'SM2' }, issuer.privateKeyPem, '')

t.test('the pool answers as the main thread does', async (t) => {
  const pool = createSm2Pool(2)
  t.teardown(() => pool.close())
  t.same(pool.stats(), { tasks: 0, failures: 0, threads: 0 }, 'no thread before the first verification')
  const cases: [string, string, typeof key, boolean][] = [
    ['valid', jws, key, true],
    ['payload changed', tampered, key, false],
    ['signed with the empty ID', emptyId, key, false],
    ['another key', jws, otherKey, false],
    ['signature cut short', `${h}.${p}.${s.slice(0, -2)}`, key, false],
    ['not a JWS', 'a.b', key, false],
  ]
  // Several rounds: a key's table is built on its second use, in each thread.
  for (let round = 0; round < 3; round++) {
    const answers = await Promise.all(cases.map(([, j, k]) => pool.verify(j, k)))
    t.same(answers, cases.map(([, , , expected]) => expected), `round ${round}: ${cases.map(([name]) => name).join(', ')}`)
  }
  t.match(pool.stats(), { tasks: cases.length * 3, failures: 0 }, 'every verification ran in the pool')
  t.ok(pool.stats().threads >= 1 && pool.stats().threads <= 2, 'at most the threads asked for')
  await pool.close()
  t.equal(pool.stats().threads, 0, 'closed')
  t.equal(await pool.verify(jws, key), true, 'a verification after close starts the workers again')
})

t.test('a worker that fails is "does not verify", never an error', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'zz-sm2pool-'))
  const broken = join(dir, 'broken.mjs')
  writeFileSync(broken, "throw new Error('this worker cannot start')\n")
  const heard: unknown[] = []
  const pool = createSm2Pool(1, (err) => heard.push(err), pathToFileURL(broken).href)
  t.teardown(() => pool.close())
  t.same(await Promise.all([pool.verify(jws, key), pool.verify(jws, key)]), [false, false], 'a worker that cannot load')
  t.match(heard, [{ message: 'this worker cannot start' }], 'the failure is reported')
  const crashing = join(dir, 'crashing.mjs')
  writeFileSync(crashing, 'export default () => { process.exit(1) }\n')
  const crash = createSm2Pool(1, undefined, pathToFileURL(crashing).href)
  t.teardown(() => crash.close())
  t.equal(await crash.verify(jws, key), false, 'a worker that dies in a task')
  t.match(pool.stats(), { tasks: 2, failures: 2 })
  t.match(crash.stats(), { tasks: 1, failures: 1 })
})

t.test('an installed pool is where verifyJwsSignature sends SM2', async (t) => {
  const installed = installSm2Pool(2)
  t.teardown(() => installed.close())
  t.equal(await verifyJwsSignature(jws, 'SM2', issuer.publicKeyPem, 'k1'), true)
  t.equal(await verifyJwsSignature(tampered, 'SM2', issuer.publicKeyPem, 'k1'), false)
  t.equal(installedSm2PoolStats().tasks, 2, 'both went to the workers')
  await installed.close()
  t.same(installedSm2PoolStats(), { tasks: 0, failures: 0, threads: 0 }, 'closed: no pool installed')
  t.equal(await verifyJwsSignature(jws, 'SM2', issuer.publicKeyPem, 'k1'), true, 'back on the main thread')
  t.equal(await verifyJwsSignature(tampered, 'SM2', issuer.publicKeyPem, 'k1'), false)

  const off = installSm2Pool(0)
  t.equal(off.pool, undefined, '0 threads: no pool')
  t.equal(await verifyJwsSignature(jws, 'SM2', issuer.publicKeyPem, 'k1'), true)
  await off.close()
})
