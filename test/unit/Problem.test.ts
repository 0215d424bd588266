import { describe, expect, it } from 'vitest'
import * as Problem from '../../src/Problem.js'

// draft-httpauth-payment §8.2 (Error Codes) and RFC 9457.
const SPEC: Array<[Problem.Code, string, number]> = [
  ['payment-required', 'Payment Required', 402],
  ['payment-insufficient', 'Payment Insufficient', 402],
  ['payment-expired', 'Payment Expired', 402],
  ['verification-failed', 'Verification Failed', 402],
  ['method-unsupported', 'Method Unsupported', 400],
  ['malformed-credential', 'Malformed Credential', 402],
  ['invalid-challenge', 'Invalid Challenge', 402],
]

describe('Problem Details (RFC 9457; draft §8)', () => {
  it('uses the canonical base URI and media type', () => {
    expect(Problem.BASE_URI).toBe('https://paymentauth.org/problems/')
    expect(Problem.CONTENT_TYPE).toBe('application/problem+json')
  })

  it('defines exactly the seven core problem types', () => {
    expect(Object.keys(Problem.TYPES).sort()).toEqual(SPEC.map(([code]) => code).sort())
  })

  for (const [code, title, status] of SPEC) {
    it(`${code} -> ${status} with type https://paymentauth.org/problems/${code}`, () => {
      expect(Problem.from(code)).toStrictEqual({ type: `https://paymentauth.org/problems/${code}`, title, status })
    })
  }

  it('method-unsupported is a 400, not a 402', () => {
    expect(Problem.from('method-unsupported').status).toBe(400)
  })

  it('adds detail and challengeId when given', () => {
    expect(Problem.from('invalid-challenge', { detail: 'challenge already used', challengeId: 'abc' })).toStrictEqual({
      type: 'https://paymentauth.org/problems/invalid-challenge',
      title: 'Invalid Challenge',
      status: 402,
      detail: 'challenge already used',
      challengeId: 'abc',
    })
    expect(Object.keys(Problem.from('payment-required', {}))).toEqual(['type', 'title', 'status'])
  })

  it('status can be overridden (e.g. 400 for two credentials)', () => {
    expect(Problem.from('malformed-credential', { status: 400 }).status).toBe(400)
  })

  it('extensions are added but cannot replace type, title or status', () => {
    const out = Problem.from('payment-insufficient', {
      extensions: { type: 'https://evil.example/x', title: 'x', status: 200, requiredTopUp: '5' },
    })
    expect(out).toStrictEqual({
      type: 'https://paymentauth.org/problems/payment-insufficient',
      title: 'Payment Insufficient',
      status: 402,
      requiredTopUp: '5',
    })
  })

  it('the body is plain JSON', () => {
    const body = Problem.from('verification-failed', { detail: 'd', challengeId: 'c' })
    expect(JSON.parse(JSON.stringify(body))).toStrictEqual(body)
  })

  describe('codeOf', () => {
    for (const [code] of SPEC) {
      it(`reads ${code} back from its type URI`, () => {
        expect(Problem.codeOf(Problem.from(code))).toBe(code)
      })
    }

    it('returns undefined for other URIs', () => {
      for (const type of [
        'about:blank',
        'https://paymentauth.org/problems/',
        'https://paymentauth.org/problems/unknown',
        'https://paymentauth.org/problems/session/invalid-signature',
        'http://paymentauth.org/problems/payment-required',
        'https://example.com/problems/payment-required',
        'https://paymentauth.org/problems/Payment-Required',
        'https://paymentauth.org/problems/payment-required/',
        'payment-required',
      ])
        expect(Problem.codeOf({ type }), type).toBeUndefined()
    })

    it('does not mistake Object.prototype members for problem codes', () => {
      for (const name of ['toString', 'constructor', '__proto__', 'hasOwnProperty', 'valueOf'])
        expect(Problem.codeOf({ type: Problem.BASE_URI + name }), name).toBeUndefined()
    })
  })
})
