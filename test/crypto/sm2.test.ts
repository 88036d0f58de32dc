import { createPrivateKey, createPublicKey, generateKeyPairSync, sign as nodeSign } from 'node:crypto'
import t from 'tap'
import { keyThumbprint, signingAlgorithmsForKey, algorithmsForKey } from '../../src/crypto/keys.js'
import { SM2_ORDER, sm2Jwk, sm2PrivateKeyOf, sm2PublicKeyFromJwk, sm2PublicKeyOf, sm2RawToDer, sm2Sign, sm2SpkiPem, sm2Verify } from '../../src/crypto/sm2.js'
import { verifyJwsSignature } from '../../src/crypto/jwsVerify.js'
import { signCertificate } from '../../src/crypto/jws.js'
import { derToRaw, opensslSm2Key, opensslSm2Sign, opensslSm2Verifies, rawToDer } from '../helpers/sm2.js'

const { privateKeyPem, publicKeyPem } = opensslSm2Key()
const pub = sm2PublicKeyOf(createPublicKey(publicKeyPem))!
const priv = sm2PrivateKeyOf(createPrivateKey(privateKeyPem))!
const message = Buffer.from('营业执照 2025000001', 'utf8')
const be32 = (x: bigint) => Buffer.from(x.toString(16).padStart(64, '0'), 'hex')

t.test('keys made by openssl genpkey -algorithm SM2', async (t) => {
  t.ok(pub, 'the SPKI reads as an SM2 key')
  t.same(priv.publicKey.x, pub.x, 'the private key derives the same public key')
  t.same(signingAlgorithmsForKey(createPublicKey(publicKeyPem)), ['SM2'])
  t.same(signingAlgorithmsForKey(createPrivateKey(privateKeyPem)), ['SM2'])
  t.type(algorithmsForKey(createPublicKey(publicKeyPem)), 'string', 'SM2 never signs identity-provider tokens')
  t.equal(sm2PublicKeyOf(generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey), undefined, 'a P-256 key is not SM2')
  const inProcess = generateKeyPairSync('ec', { namedCurve: 'SM2' })
  t.same(signingAlgorithmsForKey(inProcess.privateKey), ['SM2'], 'a key node:crypto made in process (type ec, curve SM2) is SM2 too')
  t.ok(sm2Verify(sm2PublicKeyOf(inProcess.publicKey)!, message, sm2Sign(sm2PrivateKeyOf(inProcess.privateKey)!, message), 'raw'))
  t.equal(sm2SpkiPem(pub).replace(/\s/g, ''), publicKeyPem.replace(/\s/g, ''), 'our SPKI is byte for byte openssl\'s')
  const jwk = sm2Jwk(pub)
  t.same(Object.keys(jwk).sort(), ['crv', 'kty', 'x', 'y'])
  t.equal(Buffer.from(jwk.x, 'base64url').length, 32)
  t.same(sm2PublicKeyFromJwk(jwk).y, pub.y)
  t.throws(() => sm2PublicKeyFromJwk({ ...jwk, y: jwk.x }), 'a point off the curve is refused')
  t.throws(() => sm2PublicKeyFromJwk({ ...jwk, d: 'AA' }), 'a private JWK is refused')
  t.throws(() => sm2PublicKeyFromJwk({ ...jwk, x: jwk.x + 'A' }), 'coordinates are exactly 32 bytes')
  // RFC 7638 over the members in lexicographic order, computed here by hand.
  const { createHash } = await import('node:crypto')
  const expected = createHash('sha256').update(`{"crv":"SM2","kty":"EC","x":"${jwk.x}","y":"${jwk.y}"}`).digest('base64url')
  t.equal(await keyThumbprint(createPublicKey(publicKeyPem)), expected, 'kid is the RFC 7638 thumbprint of the SM2 JWK')
})

t.test('interoperates with openssl dgst -sm3 -sigopt distid:1234567812345678 both ways', async (t) => {
  const der = opensslSm2Sign(message, privateKeyPem)
  t.ok(sm2Verify(pub, message, der, 'der'), 'openssl\'s DER signature verifies')
  t.ok(sm2Verify(pub, message, derToRaw(der), 'raw'), 'and as r ‖ s')
  for (let i = 0; i < 3; i++) {
    // Three rounds: the second and later use the key's precomputed table.
    const ours = sm2Sign(priv, message)
    t.equal(ours.length, 64)
    t.ok(opensslSm2Verifies(message, rawToDer(ours), publicKeyPem), `openssl accepts our signature (round ${i + 1})`)
    t.ok(sm2Verify(pub, message, ours, 'raw'))
    t.same(Buffer.from(sm2RawToDer(ours)), rawToDer(ours), 'our DER is openssl\'s DER')
  }
})

t.test('what must not verify', async (t) => {
  const der = opensslSm2Sign(message, privateKeyPem)
  const raw = derToRaw(der)
  const r = BigInt('0x' + raw.subarray(0, 32).toString('hex'))
  const s = BigInt('0x' + raw.subarray(32).toString('hex'))
  const cases: [string, Uint8Array, 'raw' | 'der', Uint8Array?][] = [
    ['a signature made with the empty ID (OpenSSL 3.0\'s default)', opensslSm2Sign(message, privateKeyPem, ''), 'der'],
    ['r = 0', Buffer.concat([be32(0n), be32(s)]), 'raw'],
    ['s = 0', Buffer.concat([be32(r), be32(0n)]), 'raw'],
    ['r = n', Buffer.concat([be32(SM2_ORDER), be32(s)]), 'raw'],
    ['s = n', Buffer.concat([be32(r), be32(SM2_ORDER)]), 'raw'],
    ['r and s swapped', Buffer.concat([be32(s), be32(r)]), 'raw'],
    ['s > n', Buffer.concat([be32(r), be32(2n ** 256n - 1n)]), 'raw'],
    ['DER with a trailing byte', Buffer.concat([der, Buffer.from([0])]), 'der'],
    ['DER with a non-minimal length', Buffer.concat([Buffer.from([0x30, 0x81, der[1]!]), der.subarray(2)]), 'der'],
    ['DER where raw is defined', der, 'raw'],
    ['raw where DER is defined', raw, 'der'],
    ['63 bytes', raw.subarray(1), 'raw'],
    ['65 bytes', Buffer.concat([raw, Buffer.from([0])]), 'raw'],
    ['one flipped bit in the message', raw, 'raw', Buffer.from(message.map((b, i) => (i === 3 ? b ^ 1 : b)))],
    ['empty', Buffer.alloc(0), 'der'],
  ]
  for (const [what, sig, format, msg] of cases) t.notOk(sm2Verify(pub, msg ?? message, sig, format), what)
  // A P-256 ECDSA signature over the same bytes, presented as SM2 to an SM2 key.
  const p256 = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const ecdsa = nodeSign('sha256', message, { key: p256.privateKey, dsaEncoding: 'ieee-p1363' })
  t.notOk(sm2Verify(pub, message, ecdsa, 'raw'), 'a P-256 ECDSA signature')
})

t.test('SM2 JWS: signed by us and by openssl, verified strictly', async (t) => {
  const key = createPrivateKey(privateKeyPem)
  const jws = await signCertificate({ hello: '世界' }, key)
  const [h, p, sig] = jws.split('.')
  t.match(JSON.parse(Buffer.from(h!, 'base64url').toString()), { alg: 'SM2', typ: 'zhengzhao-cert+jws', kid: await keyThumbprint(createPublicKey(publicKeyPem)) })
  t.ok(opensslSm2Verifies(`${h}.${p}`, rawToDer(Buffer.from(sig!, 'base64url')), publicKeyPem), 'openssl verifies the JWS we signed')
  t.ok(await verifyJwsSignature(jws, 'SM2', publicKeyPem))
  t.notOk(await verifyJwsSignature(`${h}.${p}.${sig}A`, 'SM2', publicKeyPem), 'a non-canonical base64url signature')
  t.notOk(await verifyJwsSignature(`${h}.${p}.${Buffer.from(rawToDer(Buffer.from(sig!, 'base64url'))).toString('base64url')}`, 'SM2', publicKeyPem), 'a DER signature in a JWS')
  t.notOk(await verifyJwsSignature(jws, 'ES256', publicKeyPem), 'an SM2 key never verifies as ES256')
  const p256 = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  t.notOk(await verifyJwsSignature(jws, 'SM2', p256.publicKey.export({ type: 'spki', format: 'pem' }).toString()), 'a P-256 key never verifies as SM2')
})
