import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto'
import t from 'tap'
import { CompactSign, compactVerify } from 'jose'
import { verifyJwsSignature } from '../../src/crypto/jwsVerify.js'
import { fixtureRsaKeyPems } from '../helpers/rsaKeys.js'

// ES256, EdDSA, RS256 and PS256 are checked with node:crypto's one-shot verify (src/crypto/jwsVerify.ts),
// no longer with jose's compactVerify. Whatever jose accepts or refuses, this must too: every
// answer here is checked against jose's own on the same bytes, and each header rule jose applied
// (the pinned alg, no crit, no b64) still holds.

const pem = (key: KeyObject) => key.export({ type: 'spki', format: 'pem' }).toString()
const PAYLOAD = new TextEncoder().encode(JSON.stringify({ id: 'x', holder: { idType: '111', id: '11010519491231002X', name: '张三' } }))

// An RSA-2048 key from the test fixture (test/helpers/rsaKeys.ts): generating one costs 0.25 s.
const rsaPrivate = createPrivateKey(fixtureRsaKeyPems()[0]!)
const rsa = { privateKey: rsaPrivate, publicKey: createPublicKey(rsaPrivate) }
const keys = {
  ES256: generateKeyPairSync('ec', { namedCurve: 'P-256' }),
  EdDSA: generateKeyPairSync('ed25519'),
  RS256: rsa,
  PS256: rsa,
} as const

async function jose(jws: string, alg: string, publicKey: KeyObject): Promise<boolean> {
  return compactVerify(jws, publicKey, { algorithms: [alg] }).then(
    () => true,
    () => false,
  )
}

/** A compact JWS with any header, signed over exactly what RFC 7515 signs, for headers jose will not sign. */
function rawJws(header: Record<string, unknown>, alg: keyof typeof keys, payload = Buffer.from(PAYLOAD).toString('base64url')): string {
  const input = `${Buffer.from(JSON.stringify(header)).toString('base64url')}.${payload}`
  const { privateKey } = keys[alg]
  const signature =
    alg === 'ES256'
      ? sign('sha256', Buffer.from(input), { key: privateKey, dsaEncoding: 'ieee-p1363' })
      : alg === 'EdDSA'
        ? sign(null, Buffer.from(input), privateKey)
        : alg === 'PS256'
          ? sign('sha256', Buffer.from(input), { key: privateKey, padding: 6, saltLength: 32 })
          : sign('sha256', Buffer.from(input), privateKey)
  return `${input}.${signature.toString('base64url')}`
}

const flip = (text: string, at: number) => text.slice(0, at) + (text[at] === 'A' ? 'B' : 'A') + text.slice(at + 1)

for (const alg of ['ES256', 'EdDSA', 'RS256', 'PS256'] as const) {
  t.test(`${alg}: the same answers as jose`, async (t) => {
    const { publicKey, privateKey } = keys[alg]
    const jws = await new CompactSign(PAYLOAD).setProtectedHeader({ alg, kid: 'k1' }).sign(privateKey)
    const [h, p, s] = jws.split('.') as [string, string, string]
    const cases: [string, string][] = [
      ['as signed', jws],
      ['a payload byte changed', `${h}.${flip(p, 5)}.${s}`],
      ['a signature byte changed', `${h}.${p}.${flip(s, 10)}`],
      ['the signature not canonical base64url', `${h}.${p}.${s}A`],
      ['the signature in standard base64, padded', `${h}.${p}.${Buffer.from(s, 'base64url').toString('base64')}`],
      ['the signature padded with =', `${h}.${p}.${s}==`],
      ['two parts', `${h}.${p}`],
      ['four parts', `${jws}.${s}`],
      ['an empty payload part', `${h}..${s}`],
      ['the header of another algorithm', rawJws({ alg: alg === 'RS256' ? 'PS256' : 'RS256', kid: 'k1' }, alg)],
      ['crit in the header', rawJws({ alg, kid: 'k1', crit: ['exp'], exp: 1 }, alg)],
      ['b64 false in the header', rawJws({ alg, kid: 'k1', b64: false, crit: ['b64'] }, alg)],
      ['b64 true in the header', rawJws({ alg, kid: 'k1', b64: true }, alg)],
      ['a header that is not JSON', `${Buffer.from('{alg').toString('base64url')}.${p}.${s}`],
      ['a header that is an array', `${Buffer.from('["x"]').toString('base64url')}.${p}.${s}`],
      ['non-ASCII in the payload part', `${h}.${p}é.${s}`],
    ]
    for (const [what, candidate] of cases) {
      const ours = await verifyJwsSignature(candidate, alg, pem(publicKey), `k1-${alg}`)
      const theirs = await jose(candidate, alg, publicKey)
      t.equal(ours, what === 'as signed', `${what}: ${what === 'as signed' ? 'verifies' : 'does not verify'}`)
      // Stricter than jose, as DESIGN.md §3 asks: jose takes b64 (RFC 7797) when crit names it, b64:
      // true stated, and a signature padded with '=' (a standard-base64 one with no + or / is just
      // that); the certificate decoder refuses the first two, and this check refuses all three.
      if (!/^b64|padded/.test(what)) t.equal(ours, theirs, `${what}: as jose answers`)
    }
  })
}

t.test('a key that does not fit the algorithm does not verify', async (t) => {
  const small = generateKeyPairSync('rsa', { modulusLength: 1024 })
  const input = `${Buffer.from(JSON.stringify({ alg: 'RS256' })).toString('base64url')}.${Buffer.from(PAYLOAD).toString('base64url')}`
  const smallJws = `${input}.${sign('sha256', Buffer.from(input), small.privateKey).toString('base64url')}`
  t.equal(await verifyJwsSignature(smallJws, 'RS256', pem(small.publicKey), 'small'), false, 'RSA below 2048 bits')
  t.equal(await jose(smallJws, 'RS256', small.publicKey), false, 'jose refuses it too')

  const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' })
  const esInput = `${Buffer.from(JSON.stringify({ alg: 'ES256' })).toString('base64url')}.${Buffer.from(PAYLOAD).toString('base64url')}`
  const p384Jws = `${esInput}.${sign('sha256', Buffer.from(esInput), { key: p384.privateKey, dsaEncoding: 'ieee-p1363' }).toString('base64url')}`
  t.equal(await verifyJwsSignature(p384Jws, 'ES256', pem(p384.publicKey), 'p384'), false, 'ES256 with a P-384 key')

  const derJws = `${esInput}.${sign('sha256', Buffer.from(esInput), keys.ES256.privateKey).toString('base64url')}`
  t.equal(await verifyJwsSignature(derJws, 'ES256', pem(keys.ES256.publicKey), 'der'), false, 'an ES256 signature in DER, not r ‖ s')
  t.equal(await jose(derJws, 'ES256', keys.ES256.publicKey), false)

  t.equal(await verifyJwsSignature(rawJws({ alg: 'EdDSA' }, 'EdDSA'), 'EdDSA', pem(keys.RS256.publicKey), 'rsa-as-ed'), false, 'an RSA key named for EdDSA')
  t.equal(await verifyJwsSignature(rawJws({ alg: 'RS256' }, 'RS256'), 'RS256', '-----BEGIN PUBLIC KEY-----\nnot a key\n-----END PUBLIC KEY-----\n', 'broken'), false, 'a PEM that does not parse')

  const ed448 = generateKeyPairSync('ed448')
  const edInput = `${Buffer.from(JSON.stringify({ alg: 'EdDSA' })).toString('base64url')}.${Buffer.from(PAYLOAD).toString('base64url')}`
  const ed448Jws = `${edInput}.${sign(null, Buffer.from(edInput), ed448.privateKey).toString('base64url')}`
  t.equal(await verifyJwsSignature(ed448Jws, 'EdDSA', pem(ed448.publicKey), 'ed448'), false, 'Ed448 under EdDSA: issuers register Ed25519 keys only')
  t.equal(await jose(ed448Jws, 'EdDSA', ed448.publicKey), false, 'as jose answered')
})
