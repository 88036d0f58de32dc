// China Standard Time is UTC+8 all year (no daylight saving since 1991), so a fixed offset is exact
// for every instant the service judges (now, a push, a verification): no time-zone database, and
// one Date per call on paths that run per certificate. Intl with Asia/Shanghai would add nothing.
const CHINA_OFFSET_MS = 8 * 3600_000

/**
 * The calendar date (YYYY-MM-DD) in China at `now`: certificates are issued and valid on these
 * dates, and an ID number's birth date may be no later than this. The one helper for that idea.
 */
export function chinaToday(now: Date = new Date()): string {
  return new Date(now.getTime() + CHINA_OFFSET_MS).toISOString().slice(0, 10)
}
