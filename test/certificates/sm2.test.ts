import { generateKeyPairSync, sign as nodeSign } from 'node:crypto'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { bearer, randomCreditCode } from '../helpers/app.js'
import { issuanceFixture, signJws } from '../helpers/certs.js'
import { derToRaw, opensslSm2Jws, opensslSm2Key, opensslSm2Sign, opensslSm2Verifies, rawToDer } from '../helpers/sm2.js'
import { runCli } from '../cli/fixtures/cli.js'

// The issue's "done when", end to end, with SM2 material made by openssl alone: an SM2 root, an
// SM2 intermediate and an SM2 issuer certificate register; an openssl-signed SM2 certificate
// pushes, looks up, verifies to 0, is revoked and verifies to 3; offline `zhengzhao verify` agrees.

const b64url = (data: string | Buffer) => Buffer.from(data).toString('base64url')
const N = 0xfffffffeffffffffffffffffffffffff7203df6b21c6052b53bbf40939d54123n
const be32 = (x: bigint) => Buffer.from(x.toString(16).padStart(64, '0'), 'hex')

t.test('SM2 certificates from registration to offline verification', async (t) => {
  const f = await issuanceFixture(t, {}, { sm2: true })
  t.equal(f.key.alg, 'SM2')
  const issuer = (await f.app.inject({ method: 'GET', url: `/v1/issuers/${f.issuerCode}`, headers: f.adminAuth })).json()
  t.match(issuer.keys[0], { kid: f.key.kid, algorithms: ['SM2'] }, 'the openssl-made SM2 chain registered, its kid the SM2 JWK thumbprint')

  const payload = f.payload()
  const jws = await f.sign(payload)
  const push = (certificate: string) => f.app.inject({ method: 'POST', url: '/v1/certificates', headers: f.issuerAuth, payload: { certificate } })
  const pushed = await push(jws)
  t.equal(pushed.statusCode, 201, 'the openssl-signed SM2 certificate is stored')

  const reader = randomCreditCode()
  await f.app.inject({ method: 'PUT', url: `/v1/grants/${reader}`, headers: f.adminAuth, payload: { name: '审批局', grants: [{ typeCode: f.typeCode }] } })
  const lookup = await f.app.inject({
    method: 'POST',
    url: '/v1/lookup',
    headers: await bearer(['reader'], { org: reader }),
    payload: { holder: { idType: '111', id: payload.holder.id }, typeCodes: [f.typeCode], purpose: { matterCode: 'M1', reason: '核验' } },
  })
  t.equal(lookup.statusCode, 200, 'lookup')
  t.equal(lookup.json().items.find((i: { id: string }) => i.id === payload.id)?.jws, jws, 'the lookup returns the SM2 JWS as pushed')

  const auditor = await bearer(['auditor'], { org: randomCreditCode() })
  const verify = async (body: object) => {
    const res = await f.app.inject({ method: 'POST', url: '/v1/verify', headers: auditor, payload: body })
    if (res.statusCode !== 200) t.fail(res.body)
    return res.json() as { result: number; checks: { check: string; outcome: string; reason?: string }[] }
  }
  const valid = await verify({ certificate: jws })
  t.equal(valid.result, 0)
  t.same(valid.checks.filter((c) => c.outcome === 'fail'), [], 'every check passes, the SM2 trust chain included')
  t.equal((await verify({ id: payload.id })).result, 0, 'by identifier')
  t.equal((await verify({ typeCode: payload.typeCode, number: payload.number, holder: { idType: '111', id: payload.holder.id } })).result, 0, 'by printed fields')

  // Offline, before and after revocation, against bundles fetched at each time.
  const dir = mkdtempSync(join(tmpdir(), 'zz-sm2-cli-'))
  writeFileSync(join(dir, 'cert.jws'), jws)
  writeFileSync(join(dir, 'jwks.json'), (await f.app.inject({ method: 'GET', url: '/.well-known/jwks.json' })).body)
  const bundle = async () => writeFileSync(join(dir, 'bundle.json'), (await f.app.inject({ method: 'GET', url: '/v1/trust-bundle', headers: auditor })).body)
  await bundle()
  const bundleKey = JSON.parse(Buffer.from(JSON.parse((await f.app.inject({ method: 'GET', url: '/v1/trust-bundle', headers: auditor })).body).bundle.split('.')[1], 'base64url').toString())
    .issuers.find((i: { code: string }) => i.code === f.issuerCode).keys[0]
  t.match(bundleKey.jwk, { kty: 'EC', crv: 'SM2' }, 'the trust bundle carries the SM2 key as its JWK')
  const offline = await runCli(['verify', join(dir, 'cert.jws'), '--bundle', join(dir, 'bundle.json'), '--jwks', join(dir, 'jwks.json'), '--json'])
  t.equal(offline.code, 0, offline.stderr)
  t.equal(JSON.parse(offline.stdout).results[0].verdict, 'VALID')

  const revoked = await f.app.inject({ method: 'POST', url: `/v1/certificates/${payload.id}/status`, headers: f.issuerAuth, payload: { status: 'revoked', reason: 'test' } })
  t.equal(revoked.statusCode, 200, 'revoked by its issuer')
  t.equal((await verify({ certificate: jws })).result, 3, 'revoked: result 3')
  t.equal((await verify({ id: payload.id })).result, 3)
  // Offline with the live status: the service's answer agrees.
  t.test('offline verify with live status agrees', async (t) => {
    const address = await f.app.listen({ port: 0, host: '127.0.0.1' })
    const live = await runCli(['verify', join(dir, 'cert.jws'), '--bundle', join(dir, 'bundle.json'), '--jwks', join(dir, 'jwks.json'), '--url', address, '--token', auditor.authorization.slice(7), '--json'])
    t.equal(live.code, 1, 'the live status makes it invalid')
    t.equal(JSON.parse(live.stdout).results[0].live.result, 3)
  })

  t.test('what must be refused, each with its precise code at push and its named check at verify', async (t) => {
    const p = () => f.payload()
    const header = { alg: 'SM2', kid: f.key.kid, typ: 'zhengzhao-cert+jws' }
    const input = (payload: object, h: object = header) => `${b64url(JSON.stringify(h))}.${b64url(JSON.stringify(payload))}`
    const withSig = (payload: object, sig: Buffer, h: object = header) => `${input(payload, h)}.${b64url(sig)}`
    const good = derToRaw(opensslSm2Sign(input(p()), f.key.privateKeyPem))
    const p256 = f.pki.issue({ keyType: 'p256' })
    t.equal((await f.app.inject({ method: 'POST', url: `/v1/issuers/${f.issuerCode}/keys`, headers: f.adminAuth, payload: { certificate: p256.chainPem } })).statusCode, 201, 'an SM2 root also vouches for a P-256 issuer key')
    const flipped = (() => {
      const q = p()
      const signed = input(q)
      const sig = derToRaw(opensslSm2Sign(signed, f.key.privateKeyPem))
      const payloadPart = signed.split('.')[1]!
      const bytes = Buffer.from(payloadPart, 'base64url')
      bytes[bytes.length - 3] = bytes[bytes.length - 3]! ^ 0x01
      return `${signed.split('.')[0]}.${b64url(bytes)}.${b64url(sig)}`
    })()
    const q1 = p()
    const s1 = derToRaw(opensslSm2Sign(input(q1), f.key.privateKeyPem))
    const cases: [string, string, string, string][] = [
      ['a signature made with the empty ID', opensslSm2Jws(p(), header, f.key.privateKeyPem, ''), 'SIGNATURE_INVALID', 'signature'],
      ['r = 0', withSig(q1, Buffer.concat([be32(0n), s1.subarray(32)])), 'SIGNATURE_INVALID', 'signature'],
      ['s = n', withSig(q1, Buffer.concat([s1.subarray(0, 32), be32(N)])), 'SIGNATURE_INVALID', 'signature'],
      ['DER (with a trailing byte) where r ‖ s is defined', withSig(q1, Buffer.concat([rawToDer(s1), Buffer.from([0])])), 'SIGNATURE_INVALID', 'signature'],
      ['a P-256 ECDSA signature labelled SM2', withSig(q1, nodeSign('sha256', Buffer.from(input(q1)), { key: generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey, dsaEncoding: 'ieee-p1363' })), 'SIGNATURE_INVALID', 'signature'],
      ['one flipped bit in the payload', flipped, 'SIGNATURE_INVALID', 'signature'],
      ['an ES256 header with the SM2 key', withSig(q1, good, { ...header, alg: 'ES256' }), 'ALG_KEY_MISMATCH', 'registeredKey'],
      ['an SM2 header with the P-256 key', await signJws(p(), p256.privateKeyPem, { alg: 'ES256', kid: p256.kid }).then((j) => {
        const [, pl, sig] = j.split('.')
        return `${b64url(JSON.stringify({ ...header, kid: p256.kid }))}.${pl}.${sig}`
      }), 'ALG_KEY_MISMATCH', 'registeredKey'],
    ]
    for (const [what, bad, code, check] of cases) {
      const res = await push(bad)
      t.equal(res.statusCode, 422, `${what}: 422`)
      t.ok(res.json().errors?.some((e: { code: string }) => e.code === code), `${what}: ${code} at push (${res.body.slice(0, 200)})`)
      const v = await verify({ certificate: bad })
      t.not(v.result, 0, `${what}: not valid at verify`)
      t.match(v.checks.find((c) => c.check === check), { outcome: 'fail', reason: code }, `${what}: the ${check} check fails with ${code}`)
    }
    t.equal((await push(withSig(q1, s1))).statusCode, 201, 'and the genuine signature of the same payload is accepted')
  })

  t.test('an SM2 certificate whose CA signed it with the empty ID does not register', async (t) => {
    const broken = f.pki.issue({ keyType: 'sm2', signerDistId: '' })
    const res = await f.app.inject({ method: 'POST', url: `/v1/issuers/${f.issuerCode}/keys`, headers: f.adminAuth, payload: { certificate: broken.chainPem } })
    t.equal(res.statusCode, 422, res.body)
    t.match(res.body, /NOT_TRUSTED/)
    const ok = f.pki.issue({ keyType: 'sm2' })
    t.equal((await f.app.inject({ method: 'POST', url: `/v1/issuers/${f.issuerCode}/keys`, headers: f.adminAuth, payload: { certificate: ok.chainPem } })).statusCode, 201, 'the same with the standard ID registers')
  })
})

t.test("an SM2 service key signs checkpoints and the trust bundle; openssl verifies the receipt's checkpoint", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'zz-sm2-service-'))
  const service = opensslSm2Key()
  writeFileSync(join(dir, 'service-sm2.pem'), service.privateKeyPem)
  const f = await issuanceFixture(t, { SERVICE_KEYS: join(dir, 'service-sm2.pem') }, { sm2: true })
  const jwks = (await f.app.inject({ method: 'GET', url: '/.well-known/jwks.json' })).json()
  t.match(jwks.keys[0], { kty: 'EC', crv: 'SM2', alg: 'SM2', use: 'sig' })
  const payload = f.payload()
  const jws = await f.sign(payload)
  t.equal((await f.app.inject({ method: 'POST', url: '/v1/certificates', headers: f.issuerAuth, payload: { certificate: jws } })).statusCode, 201)
  const res = await f.app.inject({ method: 'POST', url: '/v1/verify', headers: await bearer(['auditor']), payload: { certificate: jws } })
  t.equal(res.statusCode, 200, res.body)
  const receipt = res.json().receipt as { checkpoint: string }
  // An SM2 service key signs each checkpoint with a signature line of its own (type 0xff "zhengzhao/sm2-sm3").
  const [text, lines] = [receipt.checkpoint.slice(0, receipt.checkpoint.lastIndexOf('\n\n') + 1), receipt.checkpoint.slice(receipt.checkpoint.lastIndexOf('\n\n') + 2).trim().split('\n')]
  t.equal(lines.length, 1, 'one key, one signature line')
  const sig = Buffer.from(lines[0]!.split(' ')[2]!, 'base64').subarray(4)
  t.equal(sig.length, 64, 'r ‖ s')
  t.ok(opensslSm2Verifies(text, rawToDer(sig), service.publicKeyPem), "openssl verifies the checkpoint's SM2 signature")
  t.notOk(opensslSm2Verifies(text.replace(/\n\d+\n/, '\n0\n'), rawToDer(sig), service.publicKeyPem), 'and not an altered one')
  // The CLI checks the receipt and an SM2-signed bundle with the JWKS alone.
  writeFileSync(join(dir, 'jwks.json'), JSON.stringify(jwks))
  writeFileSync(join(dir, 'receipt.json'), res.body)
  const checked = await runCli(['verify', '--receipt', join(dir, 'receipt.json'), '--jwks', join(dir, 'jwks.json')])
  t.equal(checked.code, 0, checked.stdout + checked.stderr)
  const forged = { ...res.json(), receipt: { ...receipt, checkpoint: receipt.checkpoint.replace(/\n\d+\n/, '\n1\n') } }
  writeFileSync(join(dir, 'receipt.json'), JSON.stringify(forged))
  t.equal((await runCli(['verify', '--receipt', join(dir, 'receipt.json'), '--jwks', join(dir, 'jwks.json')])).code, 1, 'an altered SM2 checkpoint fails')
  writeFileSync(join(dir, 'bundle.json'), (await f.app.inject({ method: 'GET', url: '/v1/trust-bundle', headers: await bearer(['auditor']) })).body)
  writeFileSync(join(dir, 'cert.jws'), jws)
  const offline = await runCli(['verify', join(dir, 'cert.jws'), '--bundle', join(dir, 'bundle.json'), '--jwks', join(dir, 'jwks.json')])
  t.equal(offline.code, 0, offline.stdout + offline.stderr)
  t.match(offline.stdout, /signature verified with the JWKS/)
})
