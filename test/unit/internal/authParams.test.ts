import { describe, expect, it } from 'vitest'
import { MppError } from '../../../src/errors.js'
import { parseChallenges } from '../../../src/internal/authParams.js'

function syntaxError(input: string): MppError {
  let caught: unknown
  try {
    parseChallenges(input)
  } catch (error) {
    caught = error
  }
  expect(caught, JSON.stringify(input)).toBeInstanceOf(MppError)
  expect((caught as MppError).code).toBe('header-syntax')
  return caught as MppError
}

describe('auth-param scanner (RFC 9110 §11)', () => {
  it('reads a scheme and its auth-params in order, names lowercased, values unquoted', () => {
    expect(parseChallenges('Payment ID="a", Realm=r, method="m"')).toEqual([
      { scheme: 'Payment', params: [['id', 'a'], ['realm', 'r'], ['method', 'm']] },
    ])
  })

  it('keeps the scheme as written (callers compare case-insensitively)', () => {
    expect(parseChallenges('pAyMeNt a=b')[0]!.scheme).toBe('pAyMeNt')
  })

  it('unescapes quoted-pairs and keeps commas, "=" and spaces inside quotes', () => {
    const [challenge] = parseChallenges('X a="a \\"b\\" \\\\ c", b="x, y=z", c="\\a\\ \\\t"')
    expect(challenge!.params).toEqual([
      ['a', 'a "b" \\ c'],
      ['b', 'x, y=z'],
      ['c', 'a \t'],
    ])
  })

  it('accepts BWS around "=" and OWS around commas', () => {
    const [challenge] = parseChallenges('Payment id = "x" ,realm\t=\tr ,  method =m')
    expect(challenge!.params).toEqual([
      ['id', 'x'],
      ['realm', 'r'],
      ['method', 'm'],
    ])
  })

  it('accepts the empty quoted-string', () => {
    expect(parseChallenges('Payment id=""')[0]!.params).toEqual([['id', '']])
  })

  it('splits several challenges where a token is not followed by "="', () => {
    const out = parseChallenges('Bearer realm="r", error="x", Basic dGVzdA==, Payment id="p", Negotiate')
    expect(out.map((c) => c.scheme)).toEqual(['Bearer', 'Basic', 'Payment', 'Negotiate'])
    expect(out[0]!.params).toEqual([
      ['realm', 'r'],
      ['error', 'x'],
    ])
    expect(out[1]).toEqual({ scheme: 'Basic', params: [], token68: 'dGVzdA==' })
    expect(out[2]!.params).toEqual([['id', 'p']])
    expect(out[3]).toEqual({ scheme: 'Negotiate', params: [] })
  })

  it('reads a token68 only when it is the whole element', () => {
    expect(parseChallenges('Basic a-._~+/9==')[0]!.token68).toBe('a-._~+/9==')
    expect(parseChallenges('Basic abc , Bearer')[0]!.token68).toBe('abc')
    // "a=b" is an auth-param, not the token68 "a=" followed by "b"
    expect(parseChallenges('Basic a=b')[0]).toEqual({ scheme: 'Basic', params: [['a', 'b']] })
    // BWS after "=": "abc= def" is the auth-param abc=def
    expect(parseChallenges('Basic abc= def')[0]).toEqual({ scheme: 'Basic', params: [['abc', 'def']] })
  })

  it('ignores empty list elements and surrounding whitespace (#rule, RFC 9110 §5.6.1)', () => {
    const out = parseChallenges(' , ,Payment a=b ,, , Basic ,  ')
    expect(out).toEqual([
      { scheme: 'Payment', params: [['a', 'b']] },
      { scheme: 'Basic', params: [] },
    ])
    expect(parseChallenges('')).toEqual([])
    expect(parseChallenges(' , ')).toEqual([])
  })

  it('does not deduplicate parameters (that is the caller\'s rule)', () => {
    expect(parseChallenges('Payment a=1, A=2')[0]!.params).toEqual([
      ['a', '1'],
      ['a', '2'],
    ])
  })

  it('keeps obs-text bytes and already-decoded code points in quoted-strings', () => {
    expect(parseChallenges('X d="caf\u00c3\u00a9"')[0]!.params).toEqual([['d', 'caf\u00c3\u00a9']])
    expect(parseChallenges('X d="€"')[0]!.params).toEqual([['d', '€']])
  })

  it('rejects an element that does not start with a token', () => {
    syntaxError('"Payment"')
    syntaxError('=x')
    syntaxError('Payment a=b, @')
    syntaxError('Payment a=b, ="x"')
  })

  it('rejects a scheme not followed by a space', () => {
    syntaxError('Payment"a"')
    syntaxError('Payment;a=b')
  })

  it('rejects a scheme followed by something that is neither token68 nor auth-param', () => {
    syntaxError('Payment "x"')
    syntaxError('Payment a b')
    syntaxError('Payment a ;')
  })

  it('rejects a missing value', () => {
    syntaxError('Payment a= ;')
    syntaxError('Payment a=b, c=')
    syntaxError('Payment a=b, c= ,')
  })

  it('rejects quoted-strings with control characters, bad escapes or no end', () => {
    syntaxError('Payment a="x\ny"')
    syntaxError('Payment a="x\ry"')
    syntaxError('Payment a="x\u0000y"')
    syntaxError('Payment a="x\u007fy"')
    syntaxError('Payment a="x\\\ny"')
    syntaxError('Payment a="x\\')
    syntaxError('Payment a="x')
    syntaxError('Payment a=b, c="unterminated')
  })

  it('rejects two elements without a comma between them', () => {
    syntaxError('Payment a=b c=d')
    syntaxError('Payment a="b"c')
    syntaxError('Payment a=b"c"')
  })

  it('rejects a token value containing non-tchar characters', () => {
    syntaxError('Payment a=b/c')
    syntaxError('Payment a=b==')
  })

  it('error messages name the offset, never the input text', () => {
    const marker = 'sk_live_SECRETMARKER'
    for (const input of [
      `Payment a="${marker}\n"`,
      `Payment a=${marker}/x`,
      `Payment ${marker} ${marker}`,
      `Payment a="${marker}`,
      `Payment a=${marker} b=${marker}`,
    ]) {
      const error = syntaxError(input)
      expect(error.message).not.toContain(marker)
      expect(error.message).not.toContain('SECRETMARKER')
    }
  })

  it('scans pathological input in linear time', () => {
    const started = performance.now()
    parseChallenges('Payment a="' + 'x'.repeat(500_000) + '"')
    parseChallenges('Payment ' + 'a=b,'.repeat(100_000))
    expect(() => parseChallenges('Payment a="' + '\\"'.repeat(200_000))).toThrow(MppError)
    expect(performance.now() - started).toBeLessThan(2_000)
  })
})
