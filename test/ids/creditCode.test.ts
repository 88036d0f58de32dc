import t from 'tap'
import fc from 'fast-check'
import { CREDIT_CODE_ALPHABET, creditCodeCheckChar, isValidCreditCode, parseCreditCode } from '../../src/ids/creditCode.js'

const ALPHABET = '0123456789ABCDEFGHJKLMNPQRTUWXY'
const VALID = ['11100000000013338W', '91370406L24894136J', '9144030071526726XG', '11330105002500287C']
const INVALID_CHECK = '91110000MA01234568'
const problemOf = (input: string) => {
  const r = parseCreditCode(input)
  return r.ok ? 'OK' : r.problem
}

const validCode = fc
  .string({ unit: fc.constantFrom(...ALPHABET), minLength: 17, maxLength: 17 })
  .map((body) => body + creditCodeCheckChar(body))

t.test('the alphabet leaves out I, O, S, V and Z', async (t) => {
  t.equal(CREDIT_CODE_ALPHABET, ALPHABET)
  t.equal(ALPHABET.length, 31)
})

t.test('check character (GB 32100 MOD 31)', async (t) => {
  t.equal(creditCodeCheckChar('11100000000013338'), 'W')
  t.equal(creditCodeCheckChar('91370406L24894136'), 'J')
  t.equal(creditCodeCheckChar('9144030071526726X'), 'G')
  t.equal(creditCodeCheckChar('11330105002500287'), 'C')
  t.equal(creditCodeCheckChar('00000000000000000'), '0', 'a zero sum gives check 0, not 31')
  for (const bad of ['', '1110000000001333', '111000000000133380', '1110000000001333I', '91370406l24894136']) {
    t.throws(() => creditCodeCheckChar(bad), TypeError, `rejects ${JSON.stringify(bad)}`)
  }
})

t.test('DESIGN.md examples', async (t) => {
  for (const code of VALID) {
    t.same(parseCreditCode(code), { ok: true, value: code })
    t.ok(isValidCreditCode(code), code)
  }
  t.same(parseCreditCode(INVALID_CHECK), { ok: false, problem: 'CHECK_CHAR', expected: 'P' })
  t.notOk(isValidCreditCode(INVALID_CHECK))
})

t.test('LENGTH', async (t) => {
  for (const s of ['', '9', '11100000000013338', '11100000000013338W0', '11100000000013338WW']) {
    t.equal(problemOf(s), 'LENGTH', JSON.stringify(s))
  }
})

t.test('CHARSET: excluded letters, lower case, whitespace', async (t) => {
  const bad = [
    '91370406l24894136j', '91370406L24894136j', '91370406l24894136J',
    ' 11100000000013338W', '11100000000013338W ', '1110000000001 338W', '\n11100000000013338W',
    '1110000000001333-W', '１1100000000013338W',
  ]
  for (const s of bad) t.equal(problemOf(s), 'CHARSET', JSON.stringify(s))
  for (const c of 'IOSVZ') {
    t.equal(problemOf(`${c}1100000000013338W`), 'CHARSET', `${c} first`)
    t.equal(problemOf(`11100000000013338${c}`), 'CHARSET', `${c} as check`)
  }
})

t.test('CHECK_CHAR: every other check character is rejected', async (t) => {
  for (const code of VALID) {
    for (const c of ALPHABET) {
      if (c !== code[17]) t.equal(problemOf(code.slice(0, 17) + c), 'CHECK_CHAR', `${code.slice(0, 17)}${c}`)
    }
  }
})

t.test('named exceptions accept only a failing check character', async (t) => {
  const pilot = new Set([INVALID_CHECK])
  t.ok(isValidCreditCode(INVALID_CHECK, pilot), 'a listed early-pilot code')
  t.notOk(isValidCreditCode(INVALID_CHECK), 'not listed: no exception')
  t.notOk(isValidCreditCode(INVALID_CHECK, new Set()), 'empty list')
  t.notOk(isValidCreditCode(INVALID_CHECK, new Set(['91110000MA01234567'])), 'only the exact code')
  t.notOk(isValidCreditCode('91110000ma01234568', new Set(['91110000ma01234568'])), 'still upper case only')
  t.notOk(isValidCreditCode('91110000MA0123456O', new Set(['91110000MA0123456O'])), 'still the alphabet')
  t.notOk(isValidCreditCode('91110000MA0123456', new Set(['91110000MA0123456'])), 'still 18 characters')
  t.ok(isValidCreditCode(VALID[0]!, pilot), 'valid codes stay valid')
  t.same(parseCreditCode(INVALID_CHECK), { ok: false, problem: 'CHECK_CHAR', expected: 'P' }, 'parse itself never exempts')
})

t.test('property: generated codes parse to themselves', async (t) => {
  t.doesNotThrow(() =>
    fc.assert(
      fc.property(validCode, (code) => {
        const r = parseCreditCode(code)
        return r.ok && r.value === code
      }),
      { numRuns: 200 },
    ),
  )
})

t.test('property: every single-character substitution is detected', async (t) => {
  t.doesNotThrow(() =>
    fc.assert(
      fc.property(validCode, (code) => {
        for (let i = 0; i < 18; i++) {
          for (const c of ALPHABET) {
            if (c === code[i]) continue
            const mutated = code.slice(0, i) + c + code.slice(i + 1)
            if (isValidCreditCode(mutated)) throw new Error(`undetected: ${code} -> ${mutated}`)
          }
        }
      }),
      { numRuns: 200 },
    ),
  )
})

t.test('property: every adjacent transposition of different characters is detected', async (t) => {
  t.doesNotThrow(() =>
    fc.assert(
      fc.property(validCode, (code) => {
        for (let i = 0; i < 17; i++) {
          if (code[i] === code[i + 1]) continue
          const swapped = code.slice(0, i) + code[i + 1] + code[i] + code.slice(i + 2)
          if (isValidCreditCode(swapped)) throw new Error(`undetected: ${code} -> ${swapped}`)
        }
      }),
      { numRuns: 200 },
    ),
  )
})
