import { createPrivateKey, createPublicKey } from 'node:crypto'
import { CompactSign, FlattenedSign, exportJWK } from 'jose'
import fc from 'fast-check'
import t from 'tap'
import { parseStrictJson, parseStrictJsonBytes } from '../../src/crypto/strictJson.js'
import { bearer, randomCreditCode } from '../helpers/app.js'
import { issuanceFixture, HOLDER_ID, OTHER_HOLDER_ID } from '../helpers/certs.js'

// Signed content must have one meaning (DESIGN.md §3): two parsers reading one signed payload
// must never see two different holders, so what could be read two ways is refused outright.

t.test('the strict JSON reader', async (t) => {
  t.match(parseStrictJson('{"a":1,"b":{"c":[1,{"d":2,"d":3}]}}'), { ok: false, code: 'DUPLICATE_MEMBER', pointer: '/b/c/1/d' })
  t.match(parseStrictJson('{"id":1,"\\u0069d":2}'), { ok: false, code: 'DUPLICATE_MEMBER', pointer: '/id' }, 'names compare after unescaping')
  t.match(parseStrictJson('{"a\\"b":1,"c":"}{\\"d\\":1,\\"d\\":2"}'), { ok: true }, 'quotes and braces inside strings are text')
  t.match(parseStrictJson('[{"x":1},{"x":1}]'), { ok: true }, 'the same name in two objects is fine')
  t.match(parseStrictJson(`{"${HOLDER_ID}":1,"${HOLDER_ID}":2}`), { ok: false, pointer: '/110105********002X' }, 'an ID number used as a name is masked in the pointer')
  t.match(parseStrictJson('{"a":1,}'), { ok: false, code: 'JSON_INVALID' })
  t.match(parseStrictJsonBytes(Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xc3, 0x28, 0x22, 0x7d])), { ok: false, code: 'INVALID_UTF8' })
  t.match(parseStrictJsonBytes(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{}')])), { ok: false }, 'a byte-order mark is not JSON')
  const deep = '['.repeat(50_000) + ']'.repeat(50_000)
  t.match(parseStrictJson(`{"a":${deep},"a":1}`), { ok: false, code: 'DUPLICATE_MEMBER' }, 'deep nesting does not overflow the scan')
  t.match(parseStrictJson('{"a\\\\":1,"a\\\\":2}'), { ok: false, pointer: '/a\\' }, 'a name ending in an escaped backslash')
  t.match(parseStrictJson('{"x":"\\\\","y":{"m/n~":[0,{"k":1,"k":2}]}}'), { ok: false, pointer: '/y/m~1n~0/1/k' }, 'the pointer escapes / and ~, after a value ending in a backslash')
  t.match(parseStrictJson('{"a":[1,2,{"b":"\\\\"}],"c":[[],{"a":1}],"a":3}'), { ok: false, pointer: '/a' }, 'a duplicate after nested containers is found in its own object')
})

t.test('objects with distinct names always pass, whatever their names hold', async (t) => {
  // JSON.stringify never repeats a name: any refusal here would be the scan misreading text.
  const name = fc.oneof(fc.string({ maxLength: 4 }), fc.constantFrom('"', '\\', '\\"', '{', '}', ',', '[', ']', ':', 'ü', '證'))
  const tree = fc.letrec((tie) => ({
    v: fc.oneof({ depthSize: 'small' }, fc.string({ maxLength: 4 }), fc.integer(), fc.constant(null), tie('o'), tie('a')),
    o: fc.dictionary(name, tie('v'), { maxKeys: 4 }),
    a: fc.array(tie('v'), { maxLength: 4 }),
  })).v
  fc.assert(fc.property(tree, (value) => parseStrictJson(JSON.stringify(value)).ok), { numRuns: 2000 })
  t.pass('2,000 trees read without a false duplicate')
})

t.test('push and verify refuse ambiguous signed content with precise codes', async (t) => {
  const f = await issuanceFixture(t)
  const key = createPrivateKey(f.key.privateKeyPem)
  const header = { alg: 'ES256', kid: f.key.kid, typ: 'zhengzhao-cert+jws' }
  const signRaw = (payload: string | Uint8Array, h: Record<string, unknown> = header) => new CompactSign(typeof payload === 'string' ? Buffer.from(payload) : payload).setProtectedHeader(h as never).sign(key)
  const auditor = await bearer(['auditor'], { org: randomCreditCode() })

  const p = f.payload()
  const json = JSON.stringify(p)
  // Two holder members: JSON.parse keeps the last, a first-wins parser the first.
  const twoHolders = json.replace('"holder":', `"holder":${JSON.stringify({ ...p.holder, id: OTHER_HOLDER_ID })},"holder":`)
  const cases: [string, string, string, string][] = [
    ['two holder members', await signRaw(twoHolders), 'DUPLICATE_MEMBER', '/certificate/payload/holder'],
    ['a duplicate inside holder', await signRaw(json.replace('"idType":"111"', '"idType":"111","idType":"001"')), 'DUPLICATE_MEMBER', '/certificate/payload/holder/idType'],
    ['a duplicate header parameter', `${Buffer.from('{"alg":"ES256","alg":"none","kid":"x","typ":"zhengzhao-cert+jws"}').toString('base64url')}.${Buffer.from(json).toString('base64url')}.AAAA`, 'DUPLICATE_MEMBER', '/certificate/header/alg'],
    // RFC 7797: the signed payload is the base64url text itself, which also decodes as a certificate.
    ['b64 false with crit', await new FlattenedSign(Buffer.from(Buffer.from(json).toString('base64url'))).setProtectedHeader({ ...header, b64: false, crit: ['b64'] } as never).sign(key).then((f) => `${f.protected}.${Buffer.from(json).toString('base64url')}.${f.signature}`), 'HEADER_B64_NOT_ALLOWED', '/certificate/header/b64'],
    ['crit alone', `${Buffer.from(JSON.stringify({ ...header, crit: ['exp'] })).toString('base64url')}.${Buffer.from(json).toString('base64url')}.AAAA`, 'HEADER_CRIT_NOT_ALLOWED', '/certificate/header/crit'],
    ['an embedded jwk', await signRaw(json, { ...header, jwk: await exportJWK(createPublicKey(key)) }), 'HEADER_KEY_NOT_ALLOWED', '/certificate/header/jwk'],
    ['an x5c chain', await signRaw(json, { ...header, x5c: ['MIIB'] }), 'HEADER_KEY_NOT_ALLOWED', '/certificate/header/x5c'],
    ['a jku', await signRaw(json, { ...header, jku: 'https://example.org/jwks' }), 'HEADER_KEY_NOT_ALLOWED', '/certificate/header/jku'],
    ['an x5u', await signRaw(json, { ...header, x5u: 'https://example.org/cert' }), 'HEADER_KEY_NOT_ALLOWED', '/certificate/header/x5u'],
    ['bytes that are not UTF-8', await signRaw(Buffer.concat([Buffer.from(json.slice(0, -2)), Buffer.from([0xff, 0x22, 0x7d])])), 'INVALID_UTF8', '/certificate/payload'],
    ['non-canonical base64url', await signRaw(json).then((j) => j.replace(/^([^.]*)\./, (_, h: string) => `${h.slice(0, -1)}${String.fromCharCode(h.charCodeAt(h.length - 1) + 1)}.`)), 'JWS_MALFORMED', '/certificate/header'],
  ]
  for (const [what, jws, code, pointer] of cases) {
    const res = await f.app.inject({ method: 'POST', url: '/v1/certificates', headers: f.issuerAuth, payload: { certificate: jws } })
    t.equal(res.statusCode, 422, `${what}: 422`)
    t.ok((res.json().errors as { code: string; pointer: string }[]).some((e) => e.code === code && e.pointer === pointer), `${what}: ${code} at ${pointer}: ${res.body.slice(0, 300)}`)
    const v = await f.app.inject({ method: 'POST', url: '/v1/verify', headers: auditor, payload: { certificate: jws } })
    t.equal(v.statusCode, 200)
    t.equal(v.json().result, 4, `${what}: too little to verify`)
    t.match(v.json().checks[0], { check: 'format', outcome: 'fail', reason: code })
    t.notOk(v.body.includes(OTHER_HOLDER_ID) || res.body.includes(OTHER_HOLDER_ID), 'neither holder is echoed')
  }
  const stored = await f.app.inject({ method: 'POST', url: '/v1/verify', headers: auditor, payload: { id: p.id } })
  t.equal(stored.json().result, 5, 'nothing was stored')
  t.equal((await f.app.inject({ method: 'POST', url: '/v1/certificates', headers: f.issuerAuth, payload: { certificate: await signRaw(json) } })).statusCode, 201, 'the same payload, read one way, is accepted')
})
