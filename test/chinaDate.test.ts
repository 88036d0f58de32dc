import t from 'tap'
import { chinaToday } from '../src/chinaDate.js'

t.test("China's date turns at 16:00 UTC, whatever the machine's zone", async (t) => {
  t.equal(chinaToday(new Date('2025-05-21T15:59:59.999Z')), '2025-05-21')
  t.equal(chinaToday(new Date('2025-05-21T16:00:00.000Z')), '2025-05-22')
  t.equal(chinaToday(new Date('2024-02-28T16:00:00Z')), '2024-02-29', 'a leap day')
  t.equal(chinaToday(new Date('2025-12-31T16:00:00Z')), '2026-01-01', 'a new year')
  t.match(chinaToday(), /^\d{4}-\d{2}-\d{2}$/, 'now by default')
})
