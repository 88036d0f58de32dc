import { isDeepStrictEqual } from 'node:util'
import t from 'tap'
import fc from 'fast-check'
import { creditCodeCheckChar } from '../../src/ids/creditCode.js'
import {
  CERT_ID_PREFIX, type CertId, certIdCheckChar, formatCertId, isValidCertId, nextVersion, parseCertId,
} from '../../src/ids/certId.js'

const EXAMPLE_1 = '1.2.156.3005.2.11100000000013338W009.11330105002500287C.2025052201.002.0'
const EXAMPLE_2 = '1.2.156.3005.2.11100000000013338W032.11330105002500287C.2025000001.001.1'
const PARTS_1: CertId = { typeCode: '11100000000013338W009', issuerCode: '11330105002500287C', serial: '2025052201', version: 2 }
const PARTS_2: CertId = { typeCode: '11100000000013338W032', issuerCode: '11330105002500287C', serial: '2025000001', version: 1 }
const BASE36 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ'
const CREDIT = '0123456789ABCDEFGHJKLMNPQRTUWXY'

const problemOf = (input: string) => {
  const r = parseCertId(input)
  return r.ok ? 'OK' : r.problem
}
// Replaces the segment at `index` (0-based over the dot-separated segments).
const withSegment = (text: string, index: number, value: string) =>
  text.split('.').map((s, i) => (i === index ? value : s)).join('.')

const creditCode = fc
  .string({ unit: fc.constantFrom(...CREDIT), minLength: 17, maxLength: 17 })
  .map((body) => body + creditCodeCheckChar(body))
const certId: fc.Arbitrary<CertId> = fc.record({
  typeCode: fc.tuple(creditCode, fc.integer({ min: 0, max: 999 })).map(([c, n]) => c + String(n).padStart(3, '0')),
  issuerCode: creditCode,
  serial: fc.string({ unit: fc.constantFrom(...BASE36), minLength: 1, maxLength: 64 }),
  version: fc.integer({ min: 1, max: 999 }),
})

t.test('check character (ISO 7064 MOD 37,36)', async (t) => {
  t.equal(certIdCheckChar('11100000000013338W00911330105002500287C2025052201002'), '0')
  t.equal(certIdCheckChar('11100000000013338W03211330105002500287C2025000001001'), '1')
  for (const bad of ['', 'abc', '1.2', '11100000000013338W 009']) {
    t.throws(() => certIdCheckChar(bad), TypeError, `rejects ${JSON.stringify(bad)}`)
  }
})

t.test('DESIGN.md examples', async (t) => {
  t.equal(CERT_ID_PREFIX, '1.2.156.3005.2')
  t.same(parseCertId(EXAMPLE_1), { ok: true, value: { ...PARTS_1, check: '0', text: EXAMPLE_1 } })
  t.same(parseCertId(EXAMPLE_2), { ok: true, value: { ...PARTS_2, check: '1', text: EXAMPLE_2 } })
  t.equal(formatCertId(PARTS_1), EXAMPLE_1)
  t.equal(formatCertId(PARTS_2), EXAMPLE_2)
  t.ok(isValidCertId(EXAMPLE_1))
  t.ok(isValidCertId(EXAMPLE_2))
})

t.test('FORMAT', async (t) => {
  const bad = ['', 'abc', '1.2.156.3005.2', EXAMPLE_1.slice(0, EXAMPLE_1.lastIndexOf('.')), `${EXAMPLE_1}.0`,
    `${EXAMPLE_1}.`, EXAMPLE_1.replace('.002.', '..002.'), EXAMPLE_1.replace('.002.', '.002..'), `.${EXAMPLE_1}`]
  for (const s of bad) t.equal(problemOf(s), 'FORMAT', JSON.stringify(s))
})

t.test('PREFIX', async (t) => {
  for (const prefix of ['1.2.156.3005.3', '2.2.156.3005.2', '1.2.156.3006.2', '1.2.156.03005.2', ' 1.2.156.3005.2']) {
    t.equal(problemOf(EXAMPLE_1.replace(CERT_ID_PREFIX, prefix)), 'PREFIX', prefix)
  }
})

t.test('TYPE_CODE', async (t) => {
  for (const v of ['11100000000013338X009', '11100000000013338W09', '11100000000013338W0099', '11100000000013338W0A9',
    '11100000000013338w009', '1110000000001333W8009', '11100000000013338W 09']) {
    t.equal(problemOf(withSegment(EXAMPLE_1, 5, v)), 'TYPE_CODE', v)
  }
})

t.test('ISSUER_CODE', async (t) => {
  for (const v of ['11330105002500287D', '11330105002500287c', '11330105002500287', '11330105002500287CC', 'I1330105002500287C']) {
    t.equal(problemOf(withSegment(EXAMPLE_1, 6, v)), 'ISSUER_CODE', v)
  }
})

t.test('SERIAL', async (t) => {
  t.equal(problemOf(withSegment(EXAMPLE_1, 7, 'A'.repeat(65))), 'SERIAL', '65 characters')
  for (const v of ['2025052201a', 'abc', '2025-05-22', '2025 0522', '２025']) {
    t.equal(problemOf(withSegment(EXAMPLE_1, 7, v)), 'SERIAL', v)
  }
  const longest = { ...PARTS_1, serial: 'Z9'.repeat(32) }
  t.equal(problemOf(formatCertId(longest)), 'OK', '64 characters')
})

t.test('VERSION', async (t) => {
  for (const v of ['000', '01', '0001', '1000', 'A01', '1e2', ' 02']) {
    t.equal(problemOf(withSegment(EXAMPLE_1, 8, v)), 'VERSION', v)
  }
})

t.test('CHECK_CHAR: every other check character is rejected', async (t) => {
  for (const c of BASE36) {
    if (c !== '0') t.equal(problemOf(withSegment(EXAMPLE_1, 9, c)), 'CHECK_CHAR', c)
  }
  for (const c of ['00', 'a', ' ', '0 ']) t.equal(problemOf(withSegment(EXAMPLE_1, 9, c)), 'CHECK_CHAR', c)
})

t.test('the first problem found is reported, in the order the parts are written', async (t) => {
  let s = withSegment(EXAMPLE_1, 9, '9')
  s = withSegment(s, 8, '000')
  t.equal(problemOf(s), 'VERSION')
  s = withSegment(s, 7, 'x')
  t.equal(problemOf(s), 'SERIAL')
  s = withSegment(s, 6, 'x')
  t.equal(problemOf(s), 'ISSUER_CODE')
  s = withSegment(s, 5, 'x')
  t.equal(problemOf(s), 'TYPE_CODE')
  t.equal(problemOf(withSegment(s, 0, '9')), 'PREFIX')
})

t.test('formatCertId is strict', async (t) => {
  const bad: Array<[string, CertId]> = [
    ['type code check', { ...PARTS_1, typeCode: '11100000000013338X009' }],
    ['type code length', { ...PARTS_1, typeCode: '11100000000013338W' }],
    ['issuer check', { ...PARTS_1, issuerCode: '11330105002500287D' }],
    ['empty serial', { ...PARTS_1, serial: '' }],
    ['lower-case serial', { ...PARTS_1, serial: 'abc' }],
    ['serial with a dot', { ...PARTS_1, serial: '2025.1' }],
    ['65-character serial', { ...PARTS_1, serial: 'A'.repeat(65) }],
    ['version 0', { ...PARTS_1, version: 0 }],
    ['version 1000', { ...PARTS_1, version: 1000 }],
    ['version 1.5', { ...PARTS_1, version: 1.5 }],
    ['version NaN', { ...PARTS_1, version: Number.NaN }],
    ['version -1', { ...PARTS_1, version: -1 }],
  ]
  for (const [name, id] of bad) t.throws(() => formatCertId(id), TypeError, name)
  t.equal(formatCertId({ ...PARTS_1, version: 999 }).split('.')[8], '999')
})

t.test('nextVersion', async (t) => {
  t.same(nextVersion(PARTS_2), { ...PARTS_2, version: 2 })
  t.equal(PARTS_2.version, 1, 'the input is not mutated')
  t.match(formatCertId(nextVersion(PARTS_2)), /\.2025000001\.002\.[0-9A-Z]$/)
  t.same(nextVersion({ ...PARTS_1, version: 998 }), { ...PARTS_1, version: 999 })
  t.throws(() => nextVersion({ ...PARTS_1, version: 999 }), RangeError)
  t.throws(() => nextVersion({ ...PARTS_1, version: 0 }), TypeError)
  t.throws(() => nextVersion({ ...PARTS_1, version: 2.5 }), TypeError)
})

t.test('property: parse(format(x)) gives back x', async (t) => {
  t.doesNotThrow(() =>
    fc.assert(
      fc.property(certId, (id) => {
        const text = formatCertId(id)
        const r = parseCertId(text)
        if (!r.ok) throw new Error(`${text}: ${r.problem}`)
        const { check, text: parsedText, ...parts } = r.value
        // Spread: fc.record builds null-prototype objects, which isDeepStrictEqual tells apart.
        return parsedText === text && text.endsWith(`.${check}`) && isDeepStrictEqual(parts, { ...id })
      }),
      { numRuns: 200 },
    ),
  )
})

t.test('property: every single-character substitution anywhere in the text is detected', async (t) => {
  t.doesNotThrow(() =>
    fc.assert(
      fc.property(certId, (id) => {
        const text = formatCertId(id)
        for (let i = 0; i < text.length; i++) {
          for (const c of `${BASE36}.`) {
            if (c === text[i]) continue
            const mutated = text.slice(0, i) + c + text.slice(i + 1)
            if (isValidCertId(mutated)) throw new Error(`undetected: ${text} -> ${mutated}`)
          }
        }
      }),
      { numRuns: 50 },
    ),
  )
})

t.test('property: MOD 37,36 alone detects every substitution in the body', async (t) => {
  const body = fc.string({ unit: fc.constantFrom(...BASE36), minLength: 1, maxLength: 120 })
  t.doesNotThrow(() =>
    fc.assert(
      fc.property(body, (b) => {
        const check = certIdCheckChar(b)
        for (let i = 0; i < b.length; i++) {
          for (const c of BASE36) {
            if (c === b[i]) continue
            const mutated = b.slice(0, i) + c + b.slice(i + 1)
            if (certIdCheckChar(mutated) === check) throw new Error(`undetected: ${b} -> ${mutated}`)
          }
        }
      }),
      { numRuns: 100 },
    ),
  )
})
