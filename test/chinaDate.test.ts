import t from 'tap'
import { chinaToday } from '../src/chinaDate.js'

t.test("China's date turns at 16:00 UTC, whatever the machine's zone", async (t) => {
  t.equal(chinaToday(new Date('2025-05-21T15:59:59.999Z')), '2025-05-21')
  t.equal(chinaToday(new Date('2025-05-21T16:00:00.000Z')), '2025-05-22')
  t.equal(chinaToday(new Date('2024-02-28T16:00:00Z')), '2024-02-29', 'a leap day')
  t.equal(chinaToday(new Date('2025-12-31T16:00:00Z')), '2026-01-01', 'a new year')
  t.match(chinaToday(), /^\d{4}-\d{2}-\d{2}$/, 'now by default')
})

t.test('the day kept from one call never answers for another day', async (t) => {
  // Back and forth across midnight in China, and across years, in an order that defeats a stale day.
  const instants = ['2025-05-21T15:59:59.999Z', '2025-05-21T16:00:00.000Z', '2025-05-21T15:59:59.999Z', '1969-12-31T15:59:59.999Z', '1969-12-31T16:00:00Z', '2025-05-22T15:59:59.999Z', '2025-05-22T16:00:00Z']
  const expected = ['2025-05-21', '2025-05-22', '2025-05-21', '1969-12-31', '1970-01-01', '2025-05-22', '2025-05-23']
  t.same(instants.map((i) => chinaToday(new Date(i))), expected)
  // Every hour of two years, against the plain computation.
  for (let ms = Date.UTC(2024, 0, 1); ms < Date.UTC(2026, 0, 1); ms += 3_600_000 + 1) {
    const plain = new Date(ms + 8 * 3_600_000).toISOString().slice(0, 10)
    if (chinaToday(new Date(ms)) !== plain) return t.fail(`${new Date(ms).toISOString()}: ${chinaToday(new Date(ms))}, not ${plain}`)
  }
  t.pass('every hour of 2024 and 2025 agrees')
  t.throws(() => chinaToday(new Date(NaN)), RangeError, 'an invalid date is an error, as before')
})
