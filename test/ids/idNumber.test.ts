import t from 'tap'
import fc from 'fast-check'
import { idNumberCheckChar, isValidIdNumber, maskIdNumber, parseIdNumber } from '../../src/ids/idNumber.js'

// All ID numbers here are synthetic: either the DESIGN.md examples or built with a computed check.
const NOW = new Date('2025-06-01T12:00:00Z')
const DIGITS = '0123456789'
const build = (region: string, yyyymmdd: string, seq: string) => {
  const first17 = `${region}${yyyymmdd}${seq}`
  return first17 + idNumberCheckChar(first17)
}
const problemOf = (input: string, now = NOW) => {
  const r = parseIdNumber(input, now)
  return r.ok ? 'OK' : r.problem
}

const digits = (n: number) => fc.string({ unit: fc.constantFrom(...DIGITS), minLength: n, maxLength: n })
const validId = fc
  .record({
    region: digits(6),
    date: fc.date({ min: new Date('1800-01-01T00:00:00Z'), max: new Date('2024-12-31T00:00:00Z'), noInvalidDate: true }),
    seq: digits(3),
  })
  .map(({ region, date, seq }) => {
    const iso = date.toISOString().slice(0, 10)
    return { region, iso, seq, id: build(region, iso.replaceAll('-', ''), seq) }
  })

t.test('check character (ISO 7064 MOD 11-2)', async (t) => {
  t.equal(idNumberCheckChar('11010519491231002'), 'X')
  t.equal(idNumberCheckChar('44052418800101001'), '4')
  t.equal(idNumberCheckChar('11010120000101001'), '0')
  t.equal(idNumberCheckChar('65010220240229000'), 'X')
  for (const bad of ['', '1101051949123100', '110105194912310021', '1101051949123100X', ' 1101051949123100']) {
    t.throws(() => idNumberCheckChar(bad), TypeError, `rejects ${JSON.stringify(bad)}`)
  }
})

t.test('DESIGN.md valid examples', async (t) => {
  t.same(parseIdNumber('11010519491231002X', NOW), {
    ok: true, value: '11010519491231002X', region: '110105', birthDate: '1949-12-31', sex: 'female',
  })
  t.same(parseIdNumber('440524188001010014', NOW), {
    ok: true, value: '440524188001010014', region: '440524', birthDate: '1880-01-01', sex: 'male',
  })
  t.same(parseIdNumber('110101200001010010', NOW), {
    ok: true, value: '110101200001010010', region: '110101', birthDate: '2000-01-01', sex: 'male',
  })
  t.same(parseIdNumber('65010220240229000X', NOW), {
    ok: true, value: '65010220240229000X', region: '650102', birthDate: '2024-02-29', sex: 'female',
  })
  for (const id of ['11010519491231002X', '440524188001010014', '110101200001010010', '65010220240229000X']) {
    t.ok(isValidIdNumber(id), id)
  }
})

t.test('DESIGN.md invalid examples', async (t) => {
  t.equal(problemOf('110105194912310021'), 'CHECK_CHAR')
  t.equal(problemOf('110105194902300022'), 'BIRTH_DATE')
  t.notOk(isValidIdNumber('110105194912310021'))
  t.notOk(isValidIdNumber('110105194902300022'))
})

t.test('lower-case x is accepted and stored upper-case', async (t) => {
  const r = parseIdNumber('11010519491231002x', NOW)
  t.ok(r.ok)
  if (r.ok) t.equal(r.value, '11010519491231002X')
  t.ok(isValidIdNumber('65010220240229000x'))
})

t.test('LENGTH', async (t) => {
  for (const s of ['', '1', '11010519491231002', '110105194912310020X', '1101051949123100201']) {
    t.equal(problemOf(s), 'LENGTH', JSON.stringify(s))
  }
})

t.test('CHARSET, whitespace included', async (t) => {
  const bad = [
    ' 11010519491231002X', '11010519491231002X ', '\t11010519491231002X', '11010519491231002X\n',
    '1101051949 231002X', '11010519491231002Y', '1101051949123100-X', '１1010519491231002X',
    '11010X19491231002X', 'X10105194912310020', '1101051949123100XX', 'abc',
  ]
  for (const s of bad) t.equal(problemOf(s), 'CHARSET', JSON.stringify(s))
})

t.test('BIRTH_DATE: calendar, leap years, range', async (t) => {
  const at = (yyyymmdd: string) => problemOf(build('110105', yyyymmdd, '001'))
  t.equal(at('20000229'), 'OK', '2000 is a leap year (divisible by 400)')
  t.equal(at('19000229'), 'BIRTH_DATE', '1900 is not a leap year (divisible by 100)')
  t.equal(at('20240229'), 'OK', '2024 is a leap year')
  t.equal(at('20230229'), 'BIRTH_DATE', '2023 is not a leap year')
  t.equal(at('19960229'), 'OK')
  t.equal(at('18000101'), 'OK', 'the earliest year accepted')
  t.equal(at('17991231'), 'BIRTH_DATE', 'before 1800')
  t.equal(at('00000101'), 'BIRTH_DATE')
  for (const d of ['19490001', '19491301', '19490100', '19490132', '19490431', '19490631', '19490931', '19491131', '19499999']) {
    t.equal(at(d), 'BIRTH_DATE', d)
  }
  for (const d of ['19490131', '19490430', '19491231', '19490228']) t.equal(at(d), 'OK', d)
})

t.test('BIRTH_DATE: not in the future', async (t) => {
  t.equal(problemOf(build('110105', '20250601', '001')), 'OK', 'born today')
  t.equal(problemOf(build('110105', '20250602', '001')), 'BIRTH_DATE', 'born tomorrow')
  t.equal(problemOf(build('110105', '29991231', '001')), 'BIRTH_DATE')
  // Today is judged in China Standard Time (UTC+8).
  const born = build('110105', '20250601', '001')
  t.equal(problemOf(born, new Date('2025-05-31T16:00:00Z')), 'OK', '00:00 CST on the birth day')
  t.equal(problemOf(born, new Date('2025-05-31T15:59:59Z')), 'BIRTH_DATE', '23:59 CST the day before')
  t.notOk(isValidIdNumber(build('110105', '29991231', '001')), 'default now is the current time')
})

t.test('CHECK_CHAR: every other check character is rejected', async (t) => {
  for (const c of DIGITS) t.equal(problemOf(`11010519491231002${c}`), 'CHECK_CHAR', c)
  for (const c of '012356789X') t.equal(problemOf(`44052418800101001${c}`), 'CHECK_CHAR', c)
})

t.test('the first problem found is reported', async (t) => {
  t.equal(problemOf('1101051949123100'), 'LENGTH')
  t.equal(problemOf('11010519490230002Y'), 'CHARSET', 'charset before birth date')
  t.equal(problemOf('110105194902300021'), 'BIRTH_DATE', 'birth date before check char')
})

t.test('sex comes from the parity of the sequence', async (t) => {
  for (let last = 0; last <= 9; last++) {
    const r = parseIdNumber(build('110105', '19491231', `00${last}`), NOW)
    t.equal(r.ok && r.sex, last % 2 === 1 ? 'male' : 'female', `sequence 00${last}`)
  }
})

t.test('maskIdNumber', async (t) => {
  t.equal(maskIdNumber('11010519491231002X'), '110105********002X')
  t.equal(maskIdNumber('440524188001010014'), '440524********0014')
  t.equal(maskIdNumber(''), '')
  t.equal(maskIdNumber('a'), '*')
  t.equal(maskIdNumber('abcd'), '****')
  t.equal(maskIdNumber('abcde'), 'a***e')
  t.equal(maskIdNumber('abcdefgh'), 'ab****gh')
  t.equal(maskIdNumber('11010519491231002'), '11*************02')
  t.equal(maskIdNumber('1101051949123100201'), '11***************01')
  const short = fc.string({ unit: fc.constantFrom(...'0123456789ABXx'), maxLength: 40 }).filter((s) => s.length !== 18)
  t.doesNotThrow(() =>
    fc.assert(
      fc.property(short, (s) => {
        const masked = maskIdNumber(s)
        const revealed = [...masked].filter((c) => c !== '*').length
        return masked.length === s.length && revealed <= 4 && revealed <= s.length / 2
      }),
      { numRuns: 200 },
    ),
  )
})

t.test('property: generated IDs parse to themselves with their parts', async (t) => {
  t.doesNotThrow(() =>
    fc.assert(
      fc.property(validId, ({ region, iso, seq, id }) => {
        const r = parseIdNumber(id, NOW)
        if (!r.ok) throw new Error(`${id}: ${r.problem}`)
        const sex = Number(seq[2]) % 2 === 1 ? 'male' : 'female'
        return r.value === id && r.region === region && r.birthDate === iso && r.sex === sex
      }),
      { numRuns: 200 },
    ),
  )
})

t.test('property: every single-character substitution is detected', async (t) => {
  t.doesNotThrow(() =>
    fc.assert(
      fc.property(validId, ({ id }) => {
        for (let i = 0; i < 18; i++) {
          for (const c of i === 17 ? `${DIGITS}X` : DIGITS) {
            if (c === id[i]) continue
            const mutated = id.slice(0, i) + c + id.slice(i + 1)
            if (parseIdNumber(mutated, NOW).ok) throw new Error(`undetected: ${id} -> ${mutated}`)
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
      fc.property(validId, ({ id }) => {
        for (let i = 0; i < 17; i++) {
          if (id[i] === id[i + 1]) continue
          const swapped = id.slice(0, i) + id[i + 1] + id[i] + id.slice(i + 2)
          if (parseIdNumber(swapped, NOW).ok) throw new Error(`undetected: ${id} -> ${swapped}`)
        }
      }),
      { numRuns: 200 },
    ),
  )
})
