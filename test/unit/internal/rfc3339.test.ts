import { describe, expect, it } from 'vitest'
import { format, toEpochMs } from '../../../src/internal/rfc3339.js'

describe('RFC 3339 §5.6 date-time', () => {
  it('parses a UTC date-time', () => {
    expect(toEpochMs('2025-01-15T12:05:00Z')).toBe(Date.UTC(2025, 0, 15, 12, 5, 0))
  })

  it('applies numeric offsets (time-numoffset)', () => {
    const utc = Date.UTC(2025, 0, 15, 12, 5, 0)
    expect(toEpochMs('2025-01-15T13:05:00+01:00')).toBe(utc)
    expect(toEpochMs('2025-01-15T06:35:00-05:30')).toBe(utc)
    expect(toEpochMs('2025-01-15T12:05:00+00:00')).toBe(utc)
    // §4.3 "-00:00": UTC with unknown local offset, same instant
    expect(toEpochMs('2025-01-15T12:05:00-00:00')).toBe(utc)
    expect(toEpochMs('2025-01-16T11:04:00+22:59')).toBe(utc)
  })

  it('accepts lowercase "t" and "z" (§5.6 NOTE)', () => {
    expect(toEpochMs('2025-01-15t12:05:00z')).toBe(Date.UTC(2025, 0, 15, 12, 5, 0))
  })

  it('reads time-secfrac to the millisecond, truncating extra digits', () => {
    const base = Date.UTC(2025, 0, 15, 12, 5, 0)
    expect(toEpochMs('2025-01-15T12:05:00.5Z')).toBe(base + 500)
    expect(toEpochMs('2025-01-15T12:05:00.25Z')).toBe(base + 250)
    expect(toEpochMs('2025-01-15T12:05:00.123Z')).toBe(base + 123)
    expect(toEpochMs('2025-01-15T12:05:00.123999999Z')).toBe(base + 123)
    expect(toEpochMs('2025-01-15T12:05:00.000001Z')).toBe(base)
    for (let ms = 0; ms < 1000; ms += 7) {
      const text = `2025-01-15T12:05:00.${String(ms).padStart(3, '0')}Z`
      expect(toEpochMs(text)).toBe(base + ms)
    }
  })

  it('accepts a leap second (second 60, §5.7) as the following second', () => {
    expect(toEpochMs('2016-12-31T23:59:60Z')).toBe(Date.UTC(2017, 0, 1, 0, 0, 0))
  })

  it('honours leap years: Feb 29 exists in 2024 and 2000 but not 2025 or 1900', () => {
    expect(toEpochMs('2024-02-29T00:00:00Z')).toBe(Date.UTC(2024, 1, 29))
    expect(toEpochMs('2000-02-29T00:00:00Z')).toBe(Date.UTC(2000, 1, 29))
    expect(toEpochMs('2025-02-29T00:00:00Z')).toBeUndefined()
    expect(toEpochMs('1900-02-29T00:00:00Z')).toBeUndefined()
  })

  it('does not map years 0000-0099 into the 1900s', () => {
    const date = new Date(0)
    date.setUTCFullYear(50, 0, 1)
    date.setUTCHours(0, 0, 0, 0)
    expect(toEpochMs('0050-01-01T00:00:00Z')).toBe(date.getTime())
    expect(toEpochMs('0000-01-01T00:00:00Z')).toBe(-62167219200000)
  })

  it('rejects impossible calendar values', () => {
    for (const text of [
      '2025-00-10T00:00:00Z',
      '2025-13-10T00:00:00Z',
      '2025-01-00T00:00:00Z',
      '2025-01-32T00:00:00Z',
      '2025-04-31T00:00:00Z',
      '2025-02-30T00:00:00Z',
      '2025-01-15T24:00:00Z',
      '2025-01-15T12:60:00Z',
      '2025-01-15T12:05:61Z',
      '2025-01-15T12:05:00+24:00',
      '2025-01-15T12:05:00+01:60',
    ])
      expect(toEpochMs(text), text).toBeUndefined()
  })

  it('rejects text outside the date-time grammar', () => {
    for (const text of [
      '',
      '2025-01-15', // full-date only
      '12:05:00Z', // full-time only
      '2025-01-15T12:05:00', // no time-offset
      '2025-01-15T12:05Z', // no seconds
      '2025-01-15 12:05:00Z', // space separator (not in the §5.6 ABNF)
      '2025-1-15T12:05:00Z',
      '25-01-15T12:05:00Z',
      '+2025-01-15T12:05:00Z',
      '2025-01-15T12:05:00.Z', // secfrac needs a digit
      '2025-01-15T12:05:00+0100',
      '2025-01-15T12:05:00+01',
      ' 2025-01-15T12:05:00Z',
      '2025-01-15T12:05:00Z ',
      '2025-01-15T12:05:00Z\n',
      '２０２５-01-15T12:05:00Z', // fullwidth digits are not DIGIT
      'Wed, 15 Jan 2025 12:05:00 GMT',
      '1736942700',
    ])
      expect(toEpochMs(text), JSON.stringify(text)).toBeUndefined()
  })

  it('format writes whole seconds in UTC with a "Z"', () => {
    expect(format(Date.UTC(2025, 0, 15, 12, 5, 0))).toBe('2025-01-15T12:05:00Z')
    expect(format(Date.UTC(2025, 0, 15, 12, 5, 0, 999))).toBe('2025-01-15T12:05:00Z')
    expect(format(0)).toBe('1970-01-01T00:00:00Z')
    // floors toward the past, never rounds an instant into the next second
    expect(format(-1)).toBe('1969-12-31T23:59:59Z')
  })

  it('format output parses back to the same whole second', () => {
    for (const ms of [0, 1, 999, 1_000, 1_736_942_700_123, 253_402_300_799_000, -62_135_596_800_000]) {
      expect(toEpochMs(format(ms))).toBe(Math.floor(ms / 1000) * 1000)
    }
  })
})
