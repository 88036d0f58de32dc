import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { SignJWT, importPKCS8 } from 'jose'
import { EXAMPLE_KEYS_DIR } from '../../src/config.js'
import { ADMIN_ORG, buildTestApp } from '../helpers/app.js'

// RFC 8725 §3.11 explicit typing, and an `iat` no later than our clock allows.
const now = () => Math.floor(Date.now() / 1000)
const exampleJwks = JSON.parse(readFileSync(join(EXAMPLE_KEYS_DIR, 'idp.jwks.json'), 'utf8'))
const exampleKid: string = exampleJwks.keys[0].kid
const examplePrivate = readFileSync(join(EXAMPLE_KEYS_DIR, 'idp-es256.private.pem'), 'utf8')
const claims = (extra: Record<string, unknown> = {}) => ({ iss: 'zhengzhao-dev-idp', aud: 'zhengzhao', sub: 'alice', org: ADMIN_ORG, roles: ['reader'], iat: now(), exp: now() + 600, ...extra })

async function sign(payload: Record<string, unknown>, typ: string | undefined): Promise<string> {
  const header: { alg: string; kid: string; typ?: string } = { alg: 'ES256', kid: exampleKid }
  if (typ !== undefined) header.typ = typ
  return new SignJWT(payload).setProtectedHeader(header).sign(await importPKCS8(examplePrivate, 'ES256'))
}

t.test('token typ and iat', async (t) => {
  const app = await buildTestApp(t)
  const call = async (token: string) => {
    const res = await app.inject({ method: 'GET', url: '/v1/types', headers: { authorization: `Bearer ${token}` } })
    return { status: res.statusCode, code: res.statusCode === 200 ? undefined : (res.json().code as string) }
  }

  for (const typ of ['JWT', 'jwt', 'at+jwt', 'application/at+jwt', 'AT+JWT', undefined]) {
    t.test(`typ ${typ ?? '(absent)'} is an access token`, async (t) => {
      t.same(await call(await sign(claims(), typ)), { status: 200, code: undefined })
    })
  }
  // The service's own JWS kinds, and anything else, are never bearer tokens, even under a trusted key.
  for (const typ of ['zhengzhao-cert+jws', 'zhengzhao-receipt+jws', 'JOSE', 'id_token+jwt', 'dpop+jwt', '']) {
    t.test(`typ ${JSON.stringify(typ)} is refused`, async (t) => {
      t.same(await call(await sign(claims(), typ)), { status: 401, code: 'INVALID_TOKEN' })
    })
  }

  t.test('iat a year ahead is refused', async (t) => {
    t.same(await call(await sign(claims({ iat: now() + 365 * 86_400, exp: now() + 366 * 86_400 }), 'JWT')), { status: 401, code: 'INVALID_TOKEN' })
  })
  t.test('iat five minutes ahead is refused', async (t) => {
    t.same(await call(await sign(claims({ iat: now() + 300 }), 'JWT')), { status: 401, code: 'INVALID_TOKEN' })
  })
  t.test('iat within the clock skew passes', async (t) => {
    t.same(await call(await sign(claims({ iat: now() + 10 }), 'JWT')), { status: 200, code: undefined })
  })
  t.test('iat that is not a number is refused', async (t) => {
    t.same(await call(await sign(claims({ iat: 'yesterday' }), 'JWT')), { status: 401, code: 'INVALID_TOKEN' })
  })
  t.test('no iat at all passes (exp bounds the token)', async (t) => {
    t.same(await call(await sign(claims({ iat: undefined }), 'JWT')), { status: 200, code: undefined })
  })
})
