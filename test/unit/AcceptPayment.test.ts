import { describe, expect, it } from 'vitest'
import * as AcceptPayment from '../../src/AcceptPayment.js'
import { MppError } from '../../src/errors.js'

function expectInvalid(fn: () => unknown) {
  let caught: unknown
  try {
    fn()
  } catch (error) {
    caught = error
  }
  expect(caught).toBeInstanceOf(MppError)
  expect((caught as MppError).code).toBe('accept-payment-invalid')
}

const offers = (...pairs: string[]) =>
  pairs.map((pair) => {
    const [method, intent] = pair.split('/') as [string, string]
    return { method, intent, pair }
  })
const order = (list: ReturnType<typeof offers>, header: string | null | undefined) => AcceptPayment.rank(list, header).map((o) => o.pair)

describe('AcceptPayment.parse (draft §7.1 ABNF, RFC 9110 §12.4.2 qvalue)', () => {
  it('reads ranges in order, q defaulting to 1', () => {
    expect(AcceptPayment.parse('tempo/charge, tempo/session, stripe/charge;q=0.5, solana/charge;q=0.3')).toStrictEqual([
      { method: 'tempo', intent: 'charge', q: 1 },
      { method: 'tempo', intent: 'session', q: 1 },
      { method: 'stripe', intent: 'charge', q: 0.5 },
      { method: 'solana', intent: 'charge', q: 0.3 },
    ])
  })

  it('reads wildcards for the method and the intent', () => {
    expect(AcceptPayment.parse('tempo/*, solana/*;q=0.6, */session;q=0.3, */*;q=0')).toStrictEqual([
      { method: 'tempo', intent: '*', q: 1 },
      { method: 'solana', intent: '*', q: 0.6 },
      { method: '*', intent: 'session', q: 0.3 },
      { method: '*', intent: '*', q: 0 },
    ])
  })

  it('digest §8 item 65: extra whitespace and an uppercase "Q" are accepted', () => {
    expect(AcceptPayment.parse('  tempo/charge ;  Q=0.5 ,\tstripe/charge\t;q=1  ')).toStrictEqual([
      { method: 'tempo', intent: 'charge', q: 0.5 },
      { method: 'stripe', intent: 'charge', q: 1 },
    ])
  })

  it('accepts every qvalue form of RFC 9110 §12.4.2', () => {
    const cases: Array<[string, number]> = [
      ['0', 0],
      ['0.', 0],
      ['0.5', 0.5],
      ['0.05', 0.05],
      ['0.123', 0.123],
      ['0.001', 0.001],
      ['0.000', 0],
      ['1', 1],
      ['1.', 1],
      ['1.0', 1],
      ['1.000', 1],
    ]
    for (const [text, q] of cases) expect(AcceptPayment.parse(`a/b;q=${text}`)[0]!.q, text).toBe(q)
  })

  it('ignores empty list elements (#rule)', () => {
    expect(AcceptPayment.parse(',tempo/charge,, ,stripe/charge,')).toHaveLength(2)
  })

  it('intents may use ALPHA, DIGIT and "-" in any case', () => {
    expect(AcceptPayment.parse('tempo/Charge-V2')[0]).toStrictEqual({ method: 'tempo', intent: 'Charge-V2', q: 1 })
  })

  it('digest §8 item 64 and other malformed values throw accept-payment-invalid', () => {
    for (const header of [
      '',
      ' , ',
      'tempo',
      'tempo;q=abc',
      'tempo/',
      '/charge',
      'tempo/charge/x',
      'Tempo/charge',
      'tempo1/charge',
      'tempo/char_ge',
      'tempo /charge',
      '*/',
      'tempo/charge;q=1.5',
      'tempo/charge;q=1.001',
      'tempo/charge;q=2',
      'tempo/charge;q=-0',
      'tempo/charge;q=.5',
      'tempo/charge;q=0.1234',
      'tempo/charge;q=',
      'tempo/charge;q = 0.5',
      'tempo/charge;q=0.5;q=0.3',
      'tempo/charge;foo=bar',
      'tempo/charge;',
      'tempo/charge q=0.5',
      'tempo/charge, stripe',
    ])
      expectInvalid(() => AcceptPayment.parse(header))
  })
})

describe('AcceptPayment.parse size limit', () => {
  const range = 'tempo/charge;q=0.5, '
  const sized = (length: number) => range.repeat(Math.floor(length / range.length)) + 'x/y'.padEnd(length % range.length, ' ')

  it('reads a value of exactly MAX_LENGTH characters', () => {
    const header = sized(AcceptPayment.MAX_LENGTH)
    expect(header).toHaveLength(AcceptPayment.MAX_LENGTH)
    expect(AcceptPayment.parse(header).length).toBeGreaterThan(100)
  })

  it('refuses one character more with header-too-large', () => {
    let error: unknown
    try {
      AcceptPayment.parse(sized(AcceptPayment.MAX_LENGTH + 1))
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(MppError)
    expect((error as MppError).code).toBe('header-too-large')
  })

  it('refuses before scanning: a malformed 1 MB value is too large, not malformed', () => {
    const header = 'tempo/charge;q=abc, '.repeat(52_429)
    expect(() => AcceptPayment.parse(header)).toThrowError(expect.objectContaining({ code: 'header-too-large' }))
    expect(() => AcceptPayment.parse(header, { maxLength: header.length })).toThrowError(expect.objectContaining({ code: 'accept-payment-invalid' }))
  })

  it('rank ignores an oversized header as it ignores a malformed one: server order', () => {
    const list = offers('stripe/charge', 'tempo/charge')
    const preferTempo = 'stripe/charge;q=0.5, tempo/charge'
    expect(order(list, preferTempo)).toEqual(['tempo/charge', 'stripe/charge'])
    const oversized = preferTempo + ','.repeat(AcceptPayment.MAX_LENGTH)
    expect(order(list, oversized)).toEqual(['stripe/charge', 'tempo/charge'])
  })
})

describe('AcceptPayment.serialize', () => {
  it('omits q=1 and writes other weights', () => {
    expect(
      AcceptPayment.serialize([
        { method: 'tempo', intent: 'charge', q: 1 },
        { method: 'stripe', intent: '*', q: 0.5 },
        { method: '*', intent: '*', q: 0 },
      ]),
    ).toBe('tempo/charge, stripe/*;q=0.5, */*;q=0')
  })

  it('writes at most three decimals', () => {
    expect(AcceptPayment.serialize([{ method: 'a', intent: 'b', q: 0.12345 }])).toBe('a/b;q=0.123')
    expect(AcceptPayment.serialize([{ method: 'a', intent: 'b', q: 0.1 + 0.2 }])).toBe('a/b;q=0.3')
    expect(AcceptPayment.serialize([{ method: 'a', intent: 'b', q: 0.9999 }])).toBe('a/b')
  })

  it('never turns a positive weight into q=0 ("do not use")', () => {
    const out = AcceptPayment.serialize([{ method: 'a', intent: 'b', q: 0.0004 }])
    expect(AcceptPayment.parse(out)[0]!.q).toBeGreaterThan(0)
  })

  it('parses back what it writes', () => {
    const ranges = [
      { method: 'tempo', intent: 'charge', q: 1 },
      { method: '*', intent: 'session', q: 0.3 },
      { method: 'stripe', intent: '*', q: 0 },
      { method: 'x', intent: 'y', q: 0.007 },
    ]
    expect(AcceptPayment.parse(AcceptPayment.serialize(ranges))).toStrictEqual(ranges)
  })

  it('refuses invalid ranges and weights', () => {
    for (const range of [
      { method: 'Tempo', intent: 'charge', q: 1 },
      { method: 'tempo', intent: 'a b', q: 1 },
      { method: 'tempo,x', intent: 'charge', q: 1 },
      { method: 'tempo', intent: 'charge;q=0', q: 1 },
      { method: '', intent: 'charge', q: 1 },
      { method: 'tempo', intent: 'charge', q: 1.01 },
      { method: 'tempo', intent: 'charge', q: -0.1 },
      { method: 'tempo', intent: 'charge', q: Number.NaN },
    ])
      expectInvalid(() => AcceptPayment.serialize([range]))
  })
})

describe('AcceptPayment.weight: exact > method/* > */intent > */* (digest §7 item 7)', () => {
  const ranges = AcceptPayment.parse('*/*;q=0.1, */charge;q=0.2, tempo/*;q=0.3, tempo/charge;q=0.4')

  it('takes the weight of the most specific matching range', () => {
    expect(AcceptPayment.weight(ranges, 'tempo', 'charge')).toBe(0.4)
    expect(AcceptPayment.weight(ranges, 'tempo', 'session')).toBe(0.3)
    expect(AcceptPayment.weight(ranges, 'stripe', 'charge')).toBe(0.2)
    expect(AcceptPayment.weight(ranges, 'stripe', 'session')).toBe(0.1)
  })

  it('specificity does not depend on the order of the ranges', () => {
    const reversed = [...ranges].reverse()
    expect(AcceptPayment.weight(reversed, 'tempo', 'charge')).toBe(0.4)
    expect(AcceptPayment.weight(reversed, 'tempo', 'session')).toBe(0.3)
    expect(AcceptPayment.weight(reversed, 'stripe', 'charge')).toBe(0.2)
    expect(AcceptPayment.weight(reversed, 'stripe', 'session')).toBe(0.1)
  })

  it('method/* beats */intent whichever is listed first', () => {
    expect(AcceptPayment.weight(AcceptPayment.parse('tempo/*;q=0.3, */charge;q=0.9'), 'tempo', 'charge')).toBe(0.3)
    expect(AcceptPayment.weight(AcceptPayment.parse('*/charge;q=0.9, tempo/*;q=0.3'), 'tempo', 'charge')).toBe(0.3)
  })

  it('a more specific q=0 excludes what a wildcard admits, and vice versa', () => {
    expect(AcceptPayment.weight(AcceptPayment.parse('tempo/*, tempo/session;q=0'), 'tempo', 'session')).toBe(0)
    expect(AcceptPayment.weight(AcceptPayment.parse('*/*;q=0, tempo/charge;q=0.2'), 'tempo', 'charge')).toBe(0.2)
  })

  it('the first listed wins among equally specific ranges', () => {
    expect(AcceptPayment.weight(AcceptPayment.parse('tempo/charge;q=0.5, tempo/charge;q=0.9'), 'tempo', 'charge')).toBe(0.5)
  })

  it('no matching range -> 0; matching is case-sensitive', () => {
    expect(AcceptPayment.weight(AcceptPayment.parse('tempo/charge'), 'stripe', 'charge')).toBe(0)
    expect(AcceptPayment.weight(AcceptPayment.parse('tempo/Charge'), 'tempo', 'charge')).toBe(0)
    expect(AcceptPayment.weight([], 'tempo', 'charge')).toBe(0)
  })
})

describe('AcceptPayment.rank (draft §7.1 server behaviour; digest §8 items 58-65)', () => {
  const all = offers('tempo/session', 'stripe/charge', 'tempo/charge', 'stripe/session')

  it('item 58: no header -> the full set in server order (a copy)', () => {
    expect(order(all, null)).toEqual(['tempo/session', 'stripe/charge', 'tempo/charge', 'stripe/session'])
    expect(order(all, undefined)).toEqual(['tempo/session', 'stripe/charge', 'tempo/charge', 'stripe/session'])
    const copy = AcceptPayment.rank(all, null)
    expect(copy).not.toBe(all)
    expect(copy[0]).toBe(all[0])
  })

  it('item 59: "stripe/charge;q=0.5, tempo/charge" -> tempo first', () => {
    expect(order(offers('stripe/charge', 'tempo/charge'), 'stripe/charge;q=0.5, tempo/charge')).toEqual(['tempo/charge', 'stripe/charge'])
  })

  it('item 60: "tempo/*, tempo/session;q=0" drops tempo/session (and unmatched offers)', () => {
    expect(order(all, 'tempo/*, tempo/session;q=0')).toEqual(['tempo/charge'])
  })

  it('item 61: equal q keeps server order', () => {
    expect(order(offers('stripe/charge', 'tempo/charge'), 'tempo/charge, stripe/charge')).toEqual(['stripe/charge', 'tempo/charge'])
    expect(order(all, '*/*')).toEqual(['tempo/session', 'stripe/charge', 'tempo/charge', 'stripe/session'])
  })

  it('item 62: "*/session;q=0.3, stripe/charge" -> stripe/charge, then the sessions in server order', () => {
    expect(order(all, '*/session;q=0.3, stripe/charge')).toEqual(['stripe/charge', 'tempo/session', 'stripe/session'])
  })

  it('item 63: nothing matches with q>0 -> the normal set, so a 402 always has a challenge', () => {
    expect(order(all, 'solana/charge')).toEqual(['tempo/session', 'stripe/charge', 'tempo/charge', 'stripe/session'])
    expect(order(offers('tempo/charge'), 'tempo/charge;q=0')).toEqual(['tempo/charge'])
    expect(order(all, '*/*;q=0')).toHaveLength(4)
  })

  it('item 64: a malformed header ("tempo;q=abc") is ignored', () => {
    expect(order(all, 'tempo;q=abc')).toEqual(['tempo/session', 'stripe/charge', 'tempo/charge', 'stripe/session'])
    expect(order(all, '')).toHaveLength(4)
  })

  it('item 65: whitespace and "Q=" in a ranking header', () => {
    expect(order(offers('stripe/charge', 'tempo/charge'), '  stripe/charge ; Q=0.5 ,  tempo/charge ')).toEqual(['tempo/charge', 'stripe/charge'])
  })

  it('sorts by descending q across several weights', () => {
    const list = offers('a/x', 'b/x', 'c/x', 'd/x', 'e/x')
    expect(order(list, 'a/x;q=0.1, b/x;q=0.9, c/x;q=0.5, d/x;q=0.9, e/x;q=0.001')).toEqual(['b/x', 'd/x', 'c/x', 'a/x', 'e/x'])
  })

  it('does not modify the input and keeps the offer objects', () => {
    const list = offers('stripe/charge', 'tempo/charge')
    const before = [...list]
    const ranked = AcceptPayment.rank(list, 'tempo/charge')
    expect(list).toEqual(before)
    expect(ranked[0]).toBe(list[1])
  })

  it('keeps duplicate offers in server order', () => {
    const list = offers('tempo/charge', 'stripe/charge', 'tempo/charge')
    const ranked = AcceptPayment.rank(list, 'tempo/*;q=0.5, stripe/charge;q=0.4')
    expect(ranked).toEqual([list[0], list[2], list[1]])
  })
})
