import { createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from 'jose'
import { readExampleSigningKey, signDevToken } from '../../src/auth/devTokens.js'
import { DEV_AUDIENCE, DEV_ISSUER, EXAMPLE_KEYS_DIR } from '../../src/config.js'
import { DEV_JWKS_FILE, DEV_SERVICE_KEY_FILE, DEV_PRIVATE_KEY_FILE, generateDevKeySet } from '../../src/crypto/devKeys.js'
import { keyThumbprint, parseVerificationKeys } from '../../src/crypto/keys.js'

const exampleJwks = JSON.parse(readFileSync(join(EXAMPLE_KEYS_DIR, 'idp.jwks.json'), 'utf8')) as JSONWebKeySet
const verifyWithExample = (token: string) => jwtVerify(token, createLocalJWKSet(exampleJwks), { issuer: DEV_ISSUER, audience: DEV_AUDIENCE })

t.test('a token from the example key verifies against the example JWKS and carries the claims', async (t) => {
  const before = Math.floor(Date.now() / 1000)
  const token = await signDevToken(readExampleSigningKey(), { roles: ['reader', 'auditor'], org: '11330105002500287C', sub: 'approvals' })
  const { payload, protectedHeader } = await verifyWithExample(token)
  t.equal(protectedHeader.alg, 'ES256')
  t.equal(protectedHeader.typ, 'JWT')
  t.equal(protectedHeader.kid, exampleJwks.keys[0]!.kid, 'kid is the JWKS kid')
  t.same(payload.roles, ['reader', 'auditor'])
  t.equal(payload.org, '11330105002500287C')
  t.equal(payload.sub, 'approvals')
  t.ok(payload.iat! >= before && payload.iat! <= before + 5)
  t.equal(payload.exp! - payload.iat!, 3600, 'default lifetime is an hour')
  t.notOk('idType' in payload)
  t.notOk('id' in payload)
  t.notOk('nbf' in payload)
})

t.test('holder claims, nbf, ttl, issuer and audience are set when given', async (t) => {
  const nbf = Math.floor(Date.now() / 1000) - 10
  const token = await signDevToken(readExampleSigningKey(), {
    roles: ['holder'],
    org: '11100000000013338W',
    sub: 'citizen-1',
    idType: '111',
    id: '11010519491231002X',
    ttlSeconds: 60,
    notBefore: nbf,
    issuer: 'https://idp.gov.example',
    audience: 'other',
  })
  await t.rejects(verifyWithExample(token), 'the default iss/aud no longer match')
  const { payload } = await jwtVerify(token, createLocalJWKSet(exampleJwks), { issuer: 'https://idp.gov.example', audience: 'other' })
  t.equal(payload.idType, '111')
  t.equal(payload.id, '11010519491231002X')
  t.equal(payload.nbf, nbf)
  t.equal(payload.exp! - payload.iat!, 60)
})

t.test('extraClaims override any claim, and undefined leaves one out', async (t) => {
  const token = await signDevToken(readExampleSigningKey(), { roles: ['admin'], org: '11100000000013338W', sub: 's', extraClaims: { exp: undefined, roles: ['root'], purpose: 'x' } })
  const payload = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>
  t.notOk('exp' in payload)
  t.same(payload.roles, ['root'])
  t.equal(payload.purpose, 'x')
})

t.test('an expired token is possible for tests and fails verification', async (t) => {
  const token = await signDevToken(readExampleSigningKey(), { roles: ['admin'], org: '11100000000013338W', sub: 's', ttlSeconds: -120 })
  await t.rejects(verifyWithExample(token), { code: 'ERR_JWT_EXPIRED' })
})

t.test('Ed25519 keys sign EdDSA and RSA keys RS256, kid the thumbprint', async (t) => {
  for (const [type, alg] of [
    ['ed25519', 'EdDSA'],
    ['rsa', 'RS256'],
  ] as const) {
    const { privateKey, publicKey } = type === 'rsa' ? generateKeyPairSync('rsa', { modulusLength: 2048 }) : generateKeyPairSync('ed25519')
    const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()
    const token = await signDevToken(pem, { roles: ['issuer'], org: '11330105002500287C', sub: 'dept' })
    const header = decodeProtectedHeader(token)
    t.equal(header.alg, alg, type)
    t.equal(header.kid, await keyThumbprint(publicKey), `${type} kid`)
    const { payload } = await jwtVerify(token, publicKey, { issuer: DEV_ISSUER, audience: DEV_AUDIENCE, algorithms: [alg] })
    t.same(payload.roles, ['issuer'])
  }
})

t.test('keys that cannot sign tokens are refused', async (t) => {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'secp384r1' })
  const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()
  await t.rejects(signDevToken(pem, { roles: ['admin'], org: '11100000000013338W', sub: 's' }), /P-256/)
})

t.test('generateDevKeySet: the JWKS kid is the private key thumbprint, and the JWKS verifies its tokens', async (t) => {
  const set = await generateDevKeySet()
  t.same(Object.keys(set.files).sort(), [DEV_PRIVATE_KEY_FILE, DEV_JWKS_FILE, DEV_SERVICE_KEY_FILE].sort())
  t.match(set.files[DEV_SERVICE_KEY_FILE], /^-----BEGIN PRIVATE KEY-----\n/, 'the service key is PKCS#8 PEM')
  const pem = set.files[DEV_PRIVATE_KEY_FILE]!
  t.match(pem, /^-----BEGIN PRIVATE KEY-----\n/, 'PKCS#8 PEM')
  const jwks = JSON.parse(set.files[DEV_JWKS_FILE]!) as JSONWebKeySet
  t.equal(jwks.keys.length, 1)
  const [jwk] = jwks.keys
  t.match(jwk, { kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' })
  t.notOk('d' in jwk!, 'no private part in the JWKS')
  const thumbprint = await keyThumbprint(createPublicKey(createPrivateKey(pem)))
  t.equal(jwk!.kid, thumbprint)
  t.equal(set.kid, thumbprint)
  const [verificationKey] = await parseVerificationKeys(set.files[DEV_JWKS_FILE]!)
  t.equal(verificationKey!.thumbprint, thumbprint, 'the service reads the JWKS as this key')

  const token = await signDevToken(pem, { roles: ['reader'], org: '11330105002500287C', sub: 'r' })
  const { payload } = await jwtVerify(token, createLocalJWKSet(jwks), { issuer: DEV_ISSUER, audience: DEV_AUDIENCE })
  t.equal(payload.sub, 'r')
  await t.rejects(verifyWithExample(token), 'a fresh set is not the example set')
  t.not((await generateDevKeySet()).kid, set.kid, 'every set is new')
})

t.test('the committed keys.example set is one key pair', async (t) => {
  const thumbprint = await keyThumbprint(createPublicKey(createPrivateKey(readExampleSigningKey())))
  t.equal(exampleJwks.keys[0]!.kid, thumbprint)
  t.equal(exampleJwks.keys[0]!.alg, 'ES256')
})
