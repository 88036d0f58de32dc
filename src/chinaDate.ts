// China Standard Time is UTC+8 all year (no daylight saving since 1991), so a fixed offset is exact
// for every instant the service judges (now, a push, a verification): no time-zone database, and
// one Date per call on paths that run per certificate. Intl with Asia/Shanghai would add nothing.
const CHINA_OFFSET_MS = 8 * 3600_000

/**
 * The calendar date (YYYY-MM-DD) in China at `now`: certificates are issued and valid on these
 * dates, and an ID number's birth date may be no later than this. The one helper for that idea.
 */
export function chinaToday(now: Date = new Date()): string {
  const t = now.getTime()
  // A push checks dates several times per certificate: the day's text is kept with the instants it holds for.
  if (t >= day.from && t < day.until) return day.text
  const shifted = t + CHINA_OFFSET_MS
  const start = shifted - (((shifted % DAY_MS) + DAY_MS) % DAY_MS)
  const text = new Date(start).toISOString().slice(0, 10)
  day = { text, from: start - CHINA_OFFSET_MS, until: start - CHINA_OFFSET_MS + DAY_MS }
  return text
}

const DAY_MS = 86_400_000
// The last day asked for, as UTC instants [from, until); empty at first.
let day = { text: '', from: 0, until: 0 }
