/** Challenges decoded for people, in process: expiry both ways, units from the request, undecodable requests, terminal safety. */
import { describe as group, expect, it } from 'vitest'
import * as Challenge from '../../src/Challenge.js'
import { describe, inspectResponse } from '../../src/cli/describe.js'
import { inspectionText, printable } from '../../src/cli/inspectText.js'
import { duration, relative } from '../../src/cli/time.js'

const NOW = Date.UTC(2026, 0, 1, 12)
const challenge = (fields: Partial<Parameters<typeof Challenge.from>[0]>) =>
  Challenge.from({ id: 'id1', realm: 'r', method: 'ledger', intent: 'charge', request: { amount: '1234', currency: 'pts' }, ...fields })

group('describe', () => {
  it('uses decimals the request states, else base units', async () => {
    expect((await describe(challenge({ request: { amount: '1234', currency: 'pts', decimals: 3 } }), NOW)).amount?.display).toBe('1.234 pts')
    expect((await describe(challenge({ request: { amount: '1234', currency: 'pts', methodDetails: { decimals: 1 } } }), NOW)).amount?.display).toBe('123.4 pts')
    expect((await describe(challenge({}), NOW)).amount?.display).toBe('1234 pts (base units)')
    expect((await describe(challenge({ method: 'stripe', request: { amount: '500', currency: 'jpy' } }), NOW)).amount?.display).toBe('500 JPY')
    expect((await describe(challenge({ request: { amount: '12.5', currency: 'pts' } }), NOW)).amount).toBeUndefined()
  })

  it('shows expiry absolute and relative, expired or not', async () => {
    const soon = await describe(challenge({ expires: new Date(NOW + 90_000) }), NOW)
    expect(soon.expires).toEqual({ at: '2026-01-01T12:01:30.000Z', expired: false, inMs: 90_000 })
    const past = await describe(challenge({ expires: new Date(NOW - 5_000) }), NOW)
    expect(past.expires?.expired).toBe(true)
    const text = inspectionText({ url: 'u', status: 402, challenges: [soon, past], malformed: [] }, NOW)
    expect(text).toContain('expires     2026-01-01T12:01:30.000Z (in 1m 30s)')
    expect(text).toContain('expires     2026-01-01T11:59:55.000Z (expired 5s ago)')
  })

  it('a request that does not decode is reported unusable, not thrown', async () => {
    const bad = { ...challenge({}), request: 'bm90IGpzb24' }
    const described = await describe(bad, NOW)
    expect(described.problem).toBe('request is not base64url of a JSON object')
    expect(inspectionText({ url: 'u', status: 402, challenges: [described], malformed: [] }, NOW)).toContain('unusable    request is not base64url')
  })

  it('counts challenges that do not parse at all', async () => {
    const response = new Response(null, { status: 402, headers: { 'www-authenticate': 'Payment id="x"' } })
    const inspection = await inspectResponse('u', response, NOW)
    expect(inspection.challenges).toHaveLength(0)
    expect(inspection.malformed).toHaveLength(1)
  })

  it('escapes control characters from the server before they reach a terminal', () => {
    expect(printable('ok\u001b[2J\u0007\u009b')).toBe('ok\\u001b[2J\\u0007\\u009b')
  })

  it('formats durations in at most two units', () => {
    expect(duration(59_000)).toBe('59s')
    expect(duration(3_725_000)).toBe('1h 2m')
    expect(duration(90_061_000)).toBe('1d 1h')
    expect(relative(NOW - 1000, NOW)).toBe('1s ago')
  })
})
