// RFC 3339 §5.6 date-time, full form only (a date, "T", a time, an offset).
const DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/

/**
 * Milliseconds since the epoch for an RFC 3339 date-time, or `undefined` when the
 * text is not one (including impossible dates such as Feb 30 or hour 24).
 * A leap second (:60) is accepted and counted as the next second.
 */
export function toEpochMs(text: string): number | undefined {
  const m = DATE_TIME.exec(text)
  if (!m) return undefined
  const [year, month, day, hour, minute, second] = [m[1], m[2], m[3], m[4], m[5], m[6]].map(Number) as [
    number, number, number, number, number, number,
  ]
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined
  if (hour > 23 || minute > 59 || second > 60) return undefined
  let offsetMinutes = 0
  if (!m[8]) {
    const oh = Number(m[10])
    const om = Number(m[11])
    if (oh > 23 || om > 59) return undefined
    offsetMinutes = (m[9] === '-' ? -1 : 1) * (oh * 60 + om)
  }
  const fraction = m[7] ? Math.floor(Number(`0${m[7]}`) * 1000) : 0
  return utc(year, month - 1, day, hour, minute, second, fraction) - offsetMinutes * 60_000
}

// Date.UTC maps years 0-99 to 1900-1999; setUTCFullYear does not (and is slower, so
// it is kept for those years only).
function utc(year: number, monthIndex: number, day: number, h: number, m: number, s: number, ms: number): number {
  if (year >= 100) return Date.UTC(year, monthIndex, day, h, m, s, ms)
  const date = new Date(0)
  date.setUTCFullYear(year, monthIndex, day)
  date.setUTCHours(h, m, s, ms)
  return date.getTime()
}

/** Formats an instant as `YYYY-MM-DDTHH:MM:SSZ` (whole seconds, UTC). */
export function format(epochMs: number): string {
  return new Date(Math.floor(epochMs / 1000) * 1000).toISOString().replace('.000Z', 'Z')
}

function daysInMonth(year: number, month: number): number {
  return new Date(utc(year, month, 0, 0, 0, 0, 0)).getUTCDate()
}
