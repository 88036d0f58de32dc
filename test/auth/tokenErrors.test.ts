import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { SignJWT, importPKCS8 } from 'jose'
import { EXAMPLE_KEYS_DIR } from '../../src/config.js'
import { ADMIN_ORG, buildTestApp, logCapture } from '../helpers/app.js'

const now = () => Math.floor(Date.now() / 1000)
const kid: string = JSON.parse(readFileSync(join(EXAMPLE_KEYS_DIR, 'idp.jwks.json'), 'utf8')).keys[0].kid
const privateKey = await importPKCS8(readFileSync(join(EXAMPLE_KEYS_DIR, 'idp-es256.private.pem'), 'utf8'), 'ES256')

async function token(change: Record<string, unknown>): Promise<string> {
  const claims: Record<string, unknown> = { iss: 'zhengzhao-dev-idp', aud: 'zhengzhao', sub: 'alice', org: ADMIN_ORG, roles: ['admin'], iat: now() - 7200, exp: now() + 600, ...change }
  for (const [k, v] of Object.entries(claims)) if (v === undefined) delete claims[k]
  return new SignJWT(claims).setProtectedHeader({ alg: 'ES256', kid, typ: 'JWT' }).sign(privateKey)
}

t.test('a refused token says which claim failed: in the problem, and in the server log with what the token carried, never the token', async (t) => {
  const logs = logCapture()
  const app = await buildTestApp(t, { LOG_LEVEL: 'info' }, { logStream: logs.stream })
  const call = async (tok: string) => {
    const res = await app.inject({ method: 'GET', url: '/v1/types', headers: { authorization: `Bearer ${tok}` } })
    return { status: res.statusCode, code: res.json().code as string, detail: res.json().detail as string }
  }
  const cases: [Record<string, unknown>, string, RegExp, string][] = [
    [{ aud: 'someone-else' }, 'INVALID_TOKEN', /"aud" claim is not this service's audience \(AUTH_AUDIENCE\)/, 'aud'],
    [{ iss: 'https://other-idp.example' }, 'INVALID_TOKEN', /"iss" claim is not the configured identity provider \(AUTH_ISSUER\)/, 'iss'],
    [{ exp: now() - 3600 }, 'TOKEN_EXPIRED', /expired at \d{4}-\d\d-\d\dT[\d:.]+Z \(its "exp" claim\)/, 'exp'],
    [{ sub: undefined }, 'INVALID_TOKEN', /has no "sub" claim/, 'sub'],
  ]
  const tokens: string[] = []
  for (const [change, code, detail, claim] of cases) {
    const tok = await token(change)
    tokens.push(tok)
    const res = await call(tok)
    t.equal(res.status, 401, claim)
    t.equal(res.code, code, claim)
    t.match(res.detail, detail, claim)
    const line = logs
      .text()
      .split('\n')
      .filter((l) => l.includes('bearer token refused'))
      .map((l) => JSON.parse(l) as { token: { failedClaim: string; iss?: string; aud?: string }; expected: { iss: string; aud: string } })
      .at(-1)
    t.equal(line?.token.failedClaim, claim, `the log names ${claim}`)
    t.same(line?.expected, { iss: 'zhengzhao-dev-idp', aud: 'zhengzhao' })
  }
  t.match(logs.text(), /"aud":"someone-else"/, 'the log shows what the token carried')
  t.match(logs.text(), /"iss":"https:\/\/other-idp\.example"/)
  for (const tok of tokens) t.notOk(logs.text().includes(tok.split('.')[2]!), 'never the token')
})
