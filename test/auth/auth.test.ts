import { createHmac, generateKeyPairSync, type KeyObject } from 'node:crypto'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { SignJWT, exportJWK, calculateJwkThumbprint, importPKCS8 } from 'jose'
import { EXAMPLE_KEYS_DIR } from '../../src/config.js'
import { ADMIN_ORG, buildTestApp, tokenFor } from '../helpers/app.js'

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url')
const now = () => Math.floor(Date.now() / 1000)
const exampleJwks = JSON.parse(readFileSync(join(EXAMPLE_KEYS_DIR, 'idp.jwks.json'), 'utf8'))
const exampleKid: string = exampleJwks.keys[0].kid
const examplePrivate = readFileSync(join(EXAMPLE_KEYS_DIR, 'idp-es256.private.pem'), 'utf8')
const claims = () => ({ iss: 'zhengzhao-dev-idp', aud: 'zhengzhao', sub: 'alice', org: ADMIN_ORG, roles: ['admin'], iat: now(), exp: now() + 600 })

async function sign(payload: Record<string, unknown>, header: Record<string, unknown> = {}, key?: KeyObject, alg = 'ES256'): Promise<string> {
  const k = key ?? (await importPKCS8(examplePrivate, 'ES256'))
  return new SignJWT(payload).setProtectedHeader({ alg, kid: exampleKid, typ: 'JWT', ...header }).sign(k)
}

t.test('bearer tokens', async (t) => {
  const app = await buildTestApp(t)
  const call = (token?: string) =>
    app.inject({ method: 'GET', url: '/v1/types', headers: token === undefined ? {} : { authorization: `Bearer ${token}` } })
  const expect401 = async (t: Test, token: string | undefined, code: string) => {
    const res = await call(token)
    t.equal(res.statusCode, 401)
    t.equal(res.headers['content-type'], 'application/problem+json; charset=utf-8')
    t.equal(res.json().code, code)
  }

  t.test('a valid token passes', async (t) => {
    const res = await call(await tokenFor(['reader']))
    t.equal(res.statusCode, 200)
  })
  t.test('no token', (t) => expect401(t, undefined, 'AUTH_REQUIRED'))
  t.test('another scheme is no bearer token', async (t) => {
    const res = await app.inject({ method: 'GET', url: '/v1/types', headers: { authorization: 'Basic YWxhZGRpbjpvcGVuc2VzYW1l' } })
    t.equal(res.statusCode, 401)
    t.equal(res.json().code, 'AUTH_REQUIRED')
  })
  t.test('a bearer header without a token', async (t) => {
    const res = await app.inject({ method: 'GET', url: '/v1/types', headers: { authorization: 'Bearer' } })
    t.equal(res.statusCode, 401)
  })
  t.test('garbage token', (t) => expect401(t, 'not.a.jwt', 'INVALID_TOKEN'))
  for (const alg of ['none', 'NONE', 'None', 'nOnE']) {
    t.test(`alg: ${alg}`, (t) => expect401(t, `${b64({ alg, typ: 'JWT' })}.${b64(claims())}.`, 'INVALID_TOKEN'))
  }
  t.test('HS256 signed with the public key as the secret', async (t) => {
    for (const secret of [readFileSync(join(EXAMPLE_KEYS_DIR, 'idp.jwks.json'), 'utf8'), JSON.stringify(exampleJwks.keys[0])]) {
      const input = `${b64({ alg: 'HS256', typ: 'JWT', kid: exampleKid })}.${b64(claims())}`
      const sig = createHmac('sha256', secret).update(input).digest('base64url')
      await expect401(t, `${input}.${sig}`, 'INVALID_TOKEN')
    }
  })
  t.test('an unknown key (unknown kid)', async (t) => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
    await expect401(t, await sign(claims(), { kid: 'someone-else' }, privateKey), 'INVALID_TOKEN')
  })
  t.test('an unknown key claiming the known kid', async (t) => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
    await expect401(t, await sign(claims(), {}, privateKey), 'INVALID_TOKEN')
  })
  t.test('expired', (t) => sign({ ...claims(), exp: now() - 120 }).then((tok) => expect401(t, tok, 'TOKEN_EXPIRED')))
  t.test('not yet valid', (t) => sign({ ...claims(), nbf: now() + 3600 }).then((tok) => expect401(t, tok, 'INVALID_TOKEN')))
  t.test('missing exp', async (t) => {
    const { exp: _exp, ...rest } = claims()
    await expect401(t, await sign(rest), 'INVALID_TOKEN')
  })
  t.test('missing sub', async (t) => {
    const { sub: _sub, ...rest } = claims()
    await expect401(t, await sign(rest), 'INVALID_TOKEN')
  })
  t.test('wrong aud', (t) => sign({ ...claims(), aud: 'someone-else' }).then((tok) => expect401(t, tok, 'INVALID_TOKEN')))
  t.test('wrong iss', (t) => sign({ ...claims(), iss: 'https://evil.example' }).then((tok) => expect401(t, tok, 'INVALID_TOKEN')))
  t.test('tampered payload', async (t) => {
    const [h, , s] = (await tokenFor(['reader'])).split('.')
    await expect401(t, `${h}.${b64({ ...claims(), roles: ['admin'] })}.${s}`, 'INVALID_TOKEN')
  })
  t.test('org claim must be a valid credit code', (t) => sign({ ...claims(), org: '91110000MA01234568' }).then((tok) => expect401(t, tok, 'INVALID_TOKEN')))
  t.test('roles must be known', (t) => sign({ ...claims(), roles: ['superuser'] }).then((tok) => expect401(t, tok, 'INVALID_TOKEN')))
  t.test('a holder token needs a valid holder id', (t) => sign({ ...claims(), roles: ['holder'], idType: '111', id: '110105194912310021' }).then((tok) => expect401(t, tok, 'INVALID_TOKEN')))

  t.test('a valid token without the needed role: 403, not 401', async (t) => {
    const res = await app.inject({
      method: 'PUT',
      url: '/v1/types/11100000000013338W099',
      headers: { authorization: `Bearer ${await tokenFor(['reader', 'issuer'])}` },
      payload: { name: 'x', holderIdTypes: ['111'], dataSchema: { type: 'object' }, issuers: [] },
    })
    t.equal(res.statusCode, 403)
    t.equal(res.json().code, 'FORBIDDEN')
  })
})

t.test('several keys, chosen by kid, from a JWKS file and PEM files', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'zz-keys-'))
  const ed = generateKeyPairSync('ed25519')
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 })
  const edJwk = await exportJWK(ed.publicKey)
  const edKid = 'ed-key-1'
  writeFileSync(join(dir, 'multi.jwks.json'), JSON.stringify({ keys: [exampleJwks.keys[0], { ...edJwk, kid: edKid }] }))
  writeFileSync(join(dir, 'rsa.pem'), rsa.publicKey.export({ type: 'spki', format: 'pem' }))
  const rsaKid = await calculateJwkThumbprint(await exportJWK(rsa.publicKey), 'sha256')
  const app = await buildTestApp(t, { AUTH_KEYS: `${join(dir, 'multi.jwks.json')},${join(dir, 'rsa.pem')}` })
  const call = async (token: string) => (await app.inject({ method: 'GET', url: '/v1/types', headers: { authorization: `Bearer ${token}` } })).statusCode

  t.equal(await call(await tokenFor(['reader'])), 200, 'ES256 example key')
  t.equal(await call(await sign(claims(), { kid: edKid }, ed.privateKey, 'EdDSA')), 200, 'EdDSA key by kid')
  t.equal(await call(await sign(claims(), { kid: rsaKid }, rsa.privateKey, 'RS256')), 200, 'RS256 PEM key by thumbprint kid')
  t.equal(await call(await sign(claims(), { kid: edKid }, rsa.privateKey, 'RS256')), 401, 'RS256 token naming the EdDSA key')
  t.equal(await call(await sign(claims(), { kid: rsaKid }, rsa.privateKey, 'PS256')), 401, 'PS256 is not in the default allow-list')
})

t.test('a token without kid is accepted only when exactly one key is configured', async (t) => {
  const app = await buildTestApp(t)
  const res = await app.inject({ method: 'GET', url: '/v1/types', headers: { authorization: `Bearer ${await sign(claims(), { kid: undefined })}` } })
  t.equal(res.statusCode, 200)
})
