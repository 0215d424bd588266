import { afterEach, describe, expect, it, vi } from 'vitest'
import * as Challenge from '../../src/Challenge.js'
import { MppError } from '../../src/errors.js'
import { caught, expectCode, messages } from '../support/errors.js'




const b64url = (text: string) => Buffer.from(text, 'utf8').toString('base64url')
// Hand-written JCS (members already in code-unit order), so the fixture does not come from the code under test.
const REQUEST_JSON = '{"amount":"1000","currency":"usd","recipient":"acct_123"}'
const REQUEST = b64url(REQUEST_JSON)
const OPAQUE = b64url('{"pi":"pi_123"}')
const DIGEST = 'sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:'
const EXPIRES = '2025-01-15T12:05:00Z'

const minimal: Challenge.Challenge = { id: 'x7Tg2pLqR9mKvNwY3hBcZa', realm: 'api.example.com', method: 'example', intent: 'charge', request: REQUEST }
const BASE_FIELDS = { id: minimal.id, realm: minimal.realm, method: minimal.method, intent: minimal.intent }
const full: Challenge.Challenge = {
  ...minimal,
  expires: EXPIRES,
  digest: DIGEST,
  opaque: OPAQUE,
  description: 'One "premium" call \\ 10 cents, thanks',
  extensions: { 'x-trace': 'abc', sessionhint: 'ümlaut' },
}

/** A header written by hand, params in the given order, every value quoted. */
function header(params: Record<string, string>, scheme = 'Payment'): string {
  return `${scheme} ` + Object.entries(params).map(([k, v]) => `${k}="${v}"`).join(', ')
}
const MINIMAL_HEADER = header({ id: minimal.id, realm: minimal.realm, method: minimal.method, intent: minimal.intent, request: REQUEST })

afterEach(() => {
  vi.useRealTimers()
})

// ---------------------------------------------------------------------------------------

describe('Challenge.parseList (draft §5.1, RFC 9110 §11; digest §8 items 1-16)', () => {
  it('item 1: all params quoted -> parsed with the exact wire values', () => {
    const h = header({ id: 'abc', realm: 'api.example.com', method: 'tempo', intent: 'charge', expires: EXPIRES, request: REQUEST })
    expect(Challenge.parseList(h)).toStrictEqual([
      { id: 'abc', realm: 'api.example.com', method: 'tempo', intent: 'charge', request: REQUEST, expires: EXPIRES },
    ])
  })

  it('item 2: an unquoted request (base64url chars are tchars) is accepted', () => {
    const h = `Payment id="a", realm="r", method="m", intent="charge", request=${REQUEST}`
    expect(Challenge.parseList(h)[0]!.request).toBe(REQUEST)
  })

  it('accepts every parameter as a token where the grammar allows it', () => {
    const h = `Payment id=abc, realm=r, method=m, intent=charge-v2, request=${REQUEST}, opaque=${OPAQUE}`
    expect(Challenge.parseList(h)).toStrictEqual([
      { id: 'abc', realm: 'r', method: 'm', intent: 'charge-v2', request: REQUEST, opaque: OPAQUE },
    ])
  })

  it('item 3: description="a \\"b\\" \\\\ c" unescapes to a "b" \\ c', () => {
    const h = MINIMAL_HEADER + ', description="a \\"b\\" \\\\ c"'
    expect(Challenge.parseList(h)[0]!.description).toBe('a "b" \\ c')
  })

  it('item 4: a comma inside a quoted description does not split the challenge', () => {
    const list = Challenge.parseList(MINIMAL_HEADER + ', description="x, y", realm2="z"')
    expect(list).toHaveLength(1)
    expect(list[0]!.description).toBe('x, y')
    expect(list[0]!.extensions).toStrictEqual({ realm2: 'z' })
  })

  it('item 5: two challenges in one header value, in order', () => {
    const a = header({ id: 'a', realm: 'r', method: 'tempo', intent: 'charge', request: REQUEST })
    const b = header({ id: 'b', realm: 'r', method: 'stripe', intent: 'charge', request: REQUEST })
    const list = Challenge.parseList(`${a}, ${b}`)
    expect(list.map((c) => [c.id, c.method])).toEqual([
      ['a', 'tempo'],
      ['b', 'stripe'],
    ])
  })

  it('item 6: several header lines, as an array or as the ", "-join fetch produces', () => {
    const a = header({ id: 'a', realm: 'r', method: 'tempo', intent: 'charge', request: REQUEST })
    const b = header({ id: 'b', realm: 'r', method: 'stripe', intent: 'session', request: REQUEST })
    const headers = new Headers()
    headers.append('WWW-Authenticate', a)
    headers.append('WWW-Authenticate', 'Bearer realm="other"')
    headers.append('WWW-Authenticate', b)
    const joined = headers.get('www-authenticate')!
    expect(joined).toBe(`${a}, Bearer realm="other", ${b}`)
    const fromJoined = Challenge.parseList(joined)
    const fromLines = Challenge.parseList([a, 'Bearer realm="other"', b])
    expect(fromJoined.map((c) => c.id)).toEqual(['a', 'b'])
    expect(fromLines).toStrictEqual(fromJoined)
  })

  it('item 7: other schemes (auth-params and token68) are skipped', () => {
    const h = `Bearer realm="r", error="invalid_token", Basic dGVzdA==, ${MINIMAL_HEADER}, Negotiate, Digest realm="d", nonce="n"`
    expect(Challenge.parseList(h)).toStrictEqual([minimal])
  })

  it('a scheme that merely starts like "Payment" is another scheme', () => {
    const params = `id="a", realm="r", method="m", intent="charge", request="${REQUEST}"`
    expect(Challenge.parseList(`Payments ${params}`)).toEqual([])
    expect(Challenge.parseList(`Paymen ${params}`)).toEqual([])
    expect(Challenge.parseList(`Payment2 ${params}`)).toEqual([])
  })

  it('item 8: scheme and parameter names are case-insensitive; names come out lowercase', () => {
    const h = `PAYMENT ID="x", Realm="r", METHOD="m", Intent="charge", REQUEST="${REQUEST}", X-Custom="v"`
    expect(Challenge.parseList(h)).toStrictEqual([
      { id: 'x', realm: 'r', method: 'm', intent: 'charge', request: REQUEST, extensions: { 'x-custom': 'v' } },
    ])
    expect(Challenge.parseList(h.replace('PAYMENT', 'payment'))).toHaveLength(1)
  })

  it('item 9: whitespace around "=" (BWS) is accepted', () => {
    const h = `Payment id = "x" , realm =r,method= "m" ,\tintent\t=\tcharge , request = ${REQUEST}`
    expect(Challenge.parseList(h)).toStrictEqual([{ id: 'x', realm: 'r', method: 'm', intent: 'charge', request: REQUEST }])
  })

  it('item 10: a missing or empty id is rejected', () => {
    expectCode(() => Challenge.parseList(`Payment realm="r", method="m", intent="charge", request="${REQUEST}"`), 'parameter-missing')
    expectCode(() => Challenge.parseList(`Payment id="", realm="r", method="m", intent="charge", request="${REQUEST}"`), 'parameter-missing')
  })

  it('item 11: a parameter repeated in one challenge is rejected, names compared case-insensitively', () => {
    expectCode(() => Challenge.parseList(MINIMAL_HEADER + ', realm="again"'), 'parameter-duplicate')
    expectCode(() => Challenge.parseList(MINIMAL_HEADER + ', REALM="api.example.com"'), 'parameter-duplicate')
    expectCode(() => Challenge.parseList(MINIMAL_HEADER + ', x="1", X="2"'), 'parameter-duplicate')
    expectCode(() => Challenge.parseList(MINIMAL_HEADER + ', description="a", description="b"'), 'parameter-duplicate')
  })

  it('the same name in two different challenges is not a duplicate', () => {
    expect(Challenge.parseList(`${MINIMAL_HEADER}, ${MINIMAL_HEADER}`)).toHaveLength(2)
  })

  it('item 12: realm, method, intent or request missing (or empty) is rejected', () => {
    for (const name of ['realm', 'method', 'intent', 'request'] as const) {
      const params: Record<string, string> = { id: 'a', realm: 'r', method: 'm', intent: 'charge', request: REQUEST }
      delete params[name]
      expectCode(() => Challenge.parseList(header(params)), 'parameter-missing')
      expectCode(() => Challenge.parseList(header({ id: 'a', realm: 'r', method: 'm', intent: 'charge', request: REQUEST, [name]: '' })), 'parameter-missing')
    }
  })

  it('a Payment challenge with no parameters at all is rejected', () => {
    expectCode(() => Challenge.parseList('Payment'), 'parameter-missing')
    expectCode(() => Challenge.parseList('Bearer, Payment, Basic'), 'parameter-missing')
  })

  it('a Payment challenge written as a token68 is rejected', () => {
    expectCode(() => Challenge.parseList('Payment eyJhIjoxfQ'), 'header-syntax')
  })

  it('item 13: unknown parameters are kept under extensions and ignored', () => {
    const list = Challenge.parseList(`${MINIMAL_HEADER}, future="1", x-trace=tok`)
    expect(list[0]).toStrictEqual({ ...minimal, extensions: { future: '1', 'x-trace': 'tok' } })
  })

  it('item 14: method must be 1*LOWERALPHA (case-sensitive)', () => {
    for (const method of ['Tempo', 'TEMPO', 'tempo1', 'tem-po', 'tempo_x', 'témpo'])
      expectCode(() => Challenge.parseList(header({ id: 'a', realm: 'r', method, intent: 'charge', request: REQUEST })), 'method-invalid')
  })

  it('intent must be 1*(ALPHA / DIGIT / "-")', () => {
    for (const intent of ['charge_x', 'charge x', 'charge.v2', 'chärge'])
      expectCode(() => Challenge.parseList(header({ id: 'a', realm: 'r', method: 'm', intent, request: REQUEST })), 'intent-invalid')
    expect(Challenge.parseList(header({ id: 'a', realm: 'r', method: 'm', intent: 'Charge-V2-9', request: REQUEST }))).toHaveLength(1)
  })

  it('item 15: request that is not base64url of a JSON object is rejected', () => {
    const STD_BASE64 = Buffer.from('{"a":"??~"}').toString('base64')
    expect(STD_BASE64).toMatch(/\+.*=$/)
    const bad = [
      b64url('[1,2]'),
      b64url('"str"'),
      b64url('null'),
      b64url('not json'),
      STD_BASE64, // standard alphabet with "+" and padding
      STD_BASE64.replace(/=+$/, ''), // standard alphabet, unpadded
      REQUEST + '=',
      Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d]).toString('base64url'), // not UTF-8
      'e30.',
    ]
    for (const request of bad)
      expectCode(() => Challenge.parseList(header({ id: 'a', realm: 'r', method: 'm', intent: 'charge', request })), 'request-invalid')
  })

  it('item 16: expires that is not RFC 3339 is rejected', () => {
    for (const expires of ['tomorrow', '2025-01-15', '2025-01-15T12:05:00', '1736942700', '2025-02-30T00:00:00Z'])
      expectCode(() => Challenge.parseList(MINIMAL_HEADER + `, expires="${expires}"`), 'expires-invalid')
  })

  it('digest must be an RFC 9530 dictionary of byte sequences', () => {
    for (const digest of ['sha-256=abc', 'X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=', 'sha-256=:not base64:', ''])
      expectCode(() => Challenge.parseList(MINIMAL_HEADER + `, digest="${digest}"`), 'digest-invalid')
    expect(Challenge.parseList(MINIMAL_HEADER + `, digest="${DIGEST}"`)[0]!.digest).toBe(DIGEST)
  })

  it('bareDigest: true also reads the colon-less digest other SDKs write, keeping the wire string', () => {
    const bare = DIGEST.replaceAll(':', '')
    const header = MINIMAL_HEADER + `, digest="${bare}"`
    expectCode(() => Challenge.parseList(header), 'digest-invalid')
    expect(Challenge.parseList(header, { bareDigest: true })[0]!.digest).toBe(bare)
    expect(Challenge.parse(header, { bareDigest: true }).digest).toBe(bare)
    expect(Challenge.parseListSettled(header, { bareDigest: true }).errors).toEqual([])
    expect(Challenge.parseListSettled(header).challenges).toEqual([])
    // Still not anything at all.
    for (const digest of ['sha-256', 'X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=', 'sha-256=not base64', ''])
      expectCode(() => Challenge.parseList(MINIMAL_HEADER + `, digest="${digest}"`, { bareDigest: true }), 'digest-invalid')
    // What mppkit writes stays RFC 9530: from() refuses the colon-less form.
    expectCode(() => Challenge.from({ ...BASE_FIELDS, request: {}, digest: bare }), 'digest-invalid')
  })

  it('opaque must be base64url of a flat string-to-string object (digest §8 item 19)', () => {
    for (const opaque of [b64url('{"n":1}'), b64url('{"o":{"a":"b"}}'), b64url('["a"]'), b64url('{"a":null}'), 'e30=', '!!'])
      expectCode(() => Challenge.parseList(MINIMAL_HEADER + `, opaque="${opaque}"`), 'opaque-invalid')
    expect(Challenge.parseList(MINIMAL_HEADER + `, opaque="${b64url('{}')}"`)[0]!.opaque).toBe(b64url('{}'))
  })

  it('a header value that breaks the auth-param grammar is header-syntax', () => {
    expectCode(() => Challenge.parseList(MINIMAL_HEADER + ', description="unterminated'), 'header-syntax')
    expectCode(() => Challenge.parseList(MINIMAL_HEADER + ', description="line\nbreak"'), 'header-syntax')
  })

  it('throws the first error even when other challenges are valid', () => {
    const bad = header({ id: 'b', realm: 'r', method: 'BAD', intent: 'charge', request: REQUEST })
    const worse = header({ id: 'c', realm: 'r', intent: 'charge', request: REQUEST })
    expectCode(() => Challenge.parseList(`${MINIMAL_HEADER}, ${bad}, ${worse}`), 'method-invalid')
    expectCode(() => Challenge.parseList([MINIMAL_HEADER, worse, bad]), 'parameter-missing')
  })

  it('returns [] for an empty value or one with only other schemes', () => {
    expect(Challenge.parseList('')).toEqual([])
    expect(Challenge.parseList([])).toEqual([])
    expect(Challenge.parseList('Bearer realm="x"')).toEqual([])
  })

  it('handles a challenge well above 4 KB (draft §10.6: clients MUST handle 4 KB)', () => {
    const big = { amount: '1', memo: 'm'.repeat(8_000) }
    const request = b64url(JSON.stringify(big))
    const list = Challenge.parseList(header({ id: 'a', realm: 'r', method: 'm', intent: 'charge', request }))
    expect(Challenge.decodeRequest(list[0]!)).toEqual(big)
  })

  it('refuses a header line longer than MAX_HEADER_LENGTH before scanning it, and takes one exactly at the limit', () => {
    const prefix = MINIMAL_HEADER + ', description="'
    const atLimit = prefix + 'x'.repeat(Challenge.MAX_HEADER_LENGTH - prefix.length - 1) + '"'
    expect(atLimit.length).toBe(Challenge.MAX_HEADER_LENGTH)
    expect(Challenge.parseList(atLimit)).toHaveLength(1)
    const over = prefix + 'x'.repeat(Challenge.MAX_HEADER_LENGTH - prefix.length) + '"'
    expectCode(() => Challenge.parseList(over), 'header-too-large')
    // the limit applies to each line
    expect(Challenge.parseList([atLimit, atLimit])).toHaveLength(2)
    expectCode(() => Challenge.parseList([MINIMAL_HEADER, over]), 'header-too-large')
  })
})

describe('Challenge.parseListSettled', () => {
  const bad = header({ id: 'b', realm: 'r', method: 'BAD', intent: 'charge', request: REQUEST })
  const other = header({ id: 'c', realm: 'r', method: 'stripe', intent: 'charge', request: REQUEST })

  it('returns the valid challenges and reports each invalid one, in order', () => {
    const settled = Challenge.parseListSettled(`${MINIMAL_HEADER}, ${bad}, ${other}, Payment id="d"`)
    expect(settled.challenges.map((c) => c.id)).toEqual([minimal.id, 'c'])
    expect(settled.errors.map((e) => e.code)).toEqual(['method-invalid', 'parameter-missing'])
    for (const error of settled.errors) expect(error).toBeInstanceOf(MppError)
  })

  it('a line that breaks the grammar does not stop the other lines', () => {
    const settled = Challenge.parseListSettled([MINIMAL_HEADER, 'Payment id="open', other])
    expect(settled.challenges.map((c) => c.id)).toEqual([minimal.id, 'c'])
    expect(settled.errors.map((e) => e.code)).toEqual(['header-syntax'])
  })

  it('an oversized line is reported and the other lines are still parsed', () => {
    const settled = Challenge.parseListSettled(['x'.repeat(Challenge.MAX_HEADER_LENGTH + 1), MINIMAL_HEADER])
    expect(settled.challenges).toStrictEqual([minimal])
    expect(settled.errors.map((e) => e.code)).toEqual(['header-too-large'])
  })

  it('keeps the challenges read before a grammar error in the same line (as documented)', () => {
    // "A header that breaks the auth-param grammar yields the challenges read before it."
    const settled = Challenge.parseListSettled(`${MINIMAL_HEADER}, Bearer realm=a/b`)
    expect(settled.errors.map((e) => e.code)).toEqual(['header-syntax'])
    expect(settled.challenges).toStrictEqual([minimal])
  })

  it('returns nothing and no error for a value without Payment challenges', () => {
    expect(Challenge.parseListSettled('Basic realm="x"')).toEqual({ challenges: [], errors: [] })
  })
})

describe('Challenge.parse', () => {
  it('returns the single Payment challenge among other schemes', () => {
    expect(Challenge.parse(`Bearer realm="r", ${MINIMAL_HEADER}`)).toStrictEqual(minimal)
    expect(Challenge.parse(['Basic realm="x"', MINIMAL_HEADER])).toStrictEqual(minimal)
  })

  it('none -> challenge-not-found; several -> challenge-ambiguous', () => {
    expectCode(() => Challenge.parse('Bearer realm="r"'), 'challenge-not-found')
    expectCode(() => Challenge.parse(''), 'challenge-not-found')
    expectCode(() => Challenge.parse(`${MINIMAL_HEADER}, ${MINIMAL_HEADER}`), 'challenge-ambiguous')
    expectCode(() => Challenge.parse([MINIMAL_HEADER, MINIMAL_HEADER]), 'challenge-ambiguous')
  })

  it('an invalid challenge throws its own code rather than not-found', () => {
    expectCode(() => Challenge.parse('Payment id="a"'), 'parameter-missing')
  })
})

describe('Challenge.serialize', () => {
  it('writes lowercase names and quoted values in a fixed order', () => {
    expect(Challenge.serialize(minimal)).toBe(
      `Payment id="${minimal.id}", realm="api.example.com", method="example", intent="charge", request="${REQUEST}"`,
    )
  })

  it('writes optional parameters only when present, then extensions', () => {
    const out = Challenge.serialize(full)
    expect(out).toBe(
      `Payment id="${minimal.id}", realm="api.example.com", method="example", intent="charge", request="${REQUEST}", ` +
        `expires="${EXPIRES}", digest="${DIGEST}", opaque="${OPAQUE}", ` +
        `description="One \\"premium\\" call \\\\ 10 cents, thanks", x-trace="abc", sessionhint="${Buffer.from('ümlaut').toString('latin1')}"`,
    )
    expect(Challenge.serialize(minimal)).not.toMatch(/expires|digest|opaque|description/)
  })

  it('round-trips every field through parse', () => {
    expect(Challenge.parse(Challenge.serialize(full))).toStrictEqual(full)
    expect(Challenge.parse(Challenge.serialize(minimal))).toStrictEqual(minimal)
  })

  it('escapes quotes and backslashes in core parameters too', () => {
    const odd = { ...minimal, id: 'a"b\\c', realm: '"\\' }
    const out = Challenge.serialize(odd)
    expect(out).toContain('id="a\\"b\\\\c"')
    expect(out).toContain('realm="\\"\\\\"')
    expect(Challenge.parse(out)).toStrictEqual(odd)
  })

  it('allows HTAB and SP, which qdtext permits', () => {
    const spaced = { ...minimal, realm: ' a\tb ', description: '\tx y\t' }
    expect(Challenge.parse(Challenge.serialize(spaced))).toStrictEqual(spaced)
  })

  const unsafe = ['\r', '\n', '\r\n', '\u0000', '\u007f', '\u0001', '\u001f', '\u000b']
  for (const name of ['id', 'realm', 'method', 'intent', 'request', 'expires', 'digest', 'opaque', 'description'] as const) {
    it(`refuses CR, LF, NUL, DEL and other controls in ${name} (no header splitting)`, () => {
      for (const c of unsafe) {
        const value = `ok${c}Set-Cookie: x=1`
        const error = expectCode(() => Challenge.serialize({ ...minimal, [name]: value }), 'header-unsafe')
        expect(error.message).not.toContain('Set-Cookie')
      }
    })
  }

  it('refuses controls in extension values and C1/DEL in descriptions', () => {
    expectCode(() => Challenge.serialize({ ...minimal, extensions: { x: 'a\r\nb' } }), 'header-unsafe')
    expectCode(() => Challenge.serialize({ ...minimal, extensions: { x: '\u0000' } }), 'header-unsafe')
    expectCode(() => Challenge.serialize({ ...minimal, description: 'a\u007fb' }), 'header-unsafe')
  })

  for (const name of ['id', 'realm', 'method', 'intent', 'request', 'expires', 'digest', 'opaque'] as const) {
    it(`refuses non-ASCII in the core parameter ${name} (Latin-1 and beyond)`, () => {
      for (const c of ['\u00e9', '\u00ff', '\u0080', '\u20ac', '\u{1f600}'])
        expectCode(() => Challenge.serialize({ ...minimal, [name]: `a${c}` }), 'header-unsafe')
    })
  }

  it('refuses extension names that are not lowercase tokens or that shadow core parameters', () => {
    for (const name of ['X-Trace', 'has space', '', 'a=b', 'quo"te', 'é', 'id', 'realm', 'description', 'opaque'])
      expectCode(() => Challenge.serialize({ ...minimal, extensions: { [name]: 'v' } }), 'header-unsafe')
  })

  it('sends a non-ASCII description as its UTF-8 bytes (obs-text) and parses it back', () => {
    const description = 'Café – 日本語 😀 "q" \\'
    const out = Challenge.serialize({ ...minimal, description })
    const expectedBytes = Buffer.from(description, 'utf8').toString('latin1').replace(/["\\]/g, (c) => '\\' + c)
    expect(out.endsWith(`, description="${expectedBytes}"`)).toBe(true)
    for (let i = 0; i < out.length; i++) expect(out.charCodeAt(i)).toBeLessThanOrEqual(0xff)
    expect(Challenge.parse(out).description).toBe(description)
  })

  it('a description whose bytes are Latin-1 (not UTF-8) parses as those characters and re-serializes as UTF-8', () => {
    // "café" sent by a legacy server as ISO-8859-1: the byte 0xE9 alone is not UTF-8.
    const legacy = MINIMAL_HEADER + ', description="caf\u00e9 \u00a3"'
    const parsed = Challenge.parse(legacy)
    expect(parsed.description).toBe('café £')
    const out = Challenge.serialize(parsed)
    expect(out).toContain('description="caf\u00c3\u00a9 \u00c2\u00a3"')
    expect(Challenge.parse(out)).toStrictEqual(parsed)
  })

  it('a description already holding code points above U+00FF (decoded by the caller) is kept', () => {
    expect(Challenge.parse(MINIMAL_HEADER + ', description="10 € only"').description).toBe('10 € only')
  })

  it('does not silently alter a description holding a lone surrogate (fail closed)', () => {
    // JCS rejects lone surrogates (jcs-invalid); a header value has no way to carry one either.
    expectCode(() => Challenge.serialize({ ...minimal, description: 'pay \ud800 now' }), 'header-unsafe')
  })

  it('keeps an unknown parameter named "__proto__" through a round trip', () => {
    const withProto = { ...minimal, extensions: JSON.parse('{"__proto__":"x","other":"y"}') as Record<string, string> }
    expect(Challenge.serialize(withProto)).toContain(', __proto__="x", other="y"')
    const parsed = Challenge.parse(Challenge.serialize(withProto))
    expect(Object.keys(parsed.extensions ?? {})).toEqual(['__proto__', 'other'])
    expect(Object.getPrototypeOf(parsed.extensions)).toBe(Object.prototype)
  })

  it('serializeList joins challenges so that parseList reads them back in order', () => {
    const second = { ...minimal, id: 'second', method: 'stripe', description: 'a, b' }
    const out = Challenge.serializeList([full, second])
    expect(out).toBe(`${Challenge.serialize(full)}, ${Challenge.serialize(second)}`)
    expect(Challenge.parseList(out)).toStrictEqual([full, second])
    expect(Challenge.serializeList([])).toBe('')
  })
})

describe('Challenge.from', () => {
  it('encodes request as unpadded base64url(JCS(request)) (digest §8 item 17)', () => {
    const challenge = Challenge.from({ ...BASE_FIELDS, request: { b: 1, a: { d: 2, c: 3 } } })
    expect(challenge.request).toBe(b64url('{"a":{"c":3,"d":2},"b":1}'))
    expect(challenge.request).not.toContain('=')
  })

  it('encodes opaque as base64url(JCS(map)) and keeps description and extensions', () => {
    const challenge = Challenge.from({
      ...BASE_FIELDS,
      request: { recipient: 'acct_123', currency: 'usd', amount: '1000' },
      opaque: { z: '1', pi: 'pi_123' },
      description: 'd',
      extensions: { x: 'y' },
    })
    expect(challenge).toStrictEqual({
      ...minimal,
      request: REQUEST,
      opaque: b64url('{"pi":"pi_123","z":"1"}'),
      description: 'd',
      extensions: { x: 'y' },
    })
  })

  it('formats a Date expiry as RFC 3339 in whole seconds, UTC', () => {
    const challenge = Challenge.from({ ...BASE_FIELDS, request: {}, expires: new Date(Date.UTC(2025, 0, 15, 12, 5, 0, 999)) })
    expect(challenge.expires).toBe('2025-01-15T12:05:00Z')
  })

  it('keeps a string expiry verbatim', () => {
    expect(Challenge.from({ ...BASE_FIELDS, request: {}, expires: '2025-01-15T13:05:00.5+01:00' }).expires).toBe('2025-01-15T13:05:00.5+01:00')
  })

  it('leaves absent optional fields absent (not undefined)', () => {
    const challenge = Challenge.from({ ...BASE_FIELDS, request: {} })
    expect(Object.keys(challenge).sort()).toEqual(['id', 'intent', 'method', 'realm', 'request'])
  })

  it('validates like parse', () => {
    expectCode(() => Challenge.from({ ...BASE_FIELDS, method: 'Tempo', request: {} }), 'method-invalid')
    expectCode(() => Challenge.from({ ...BASE_FIELDS, intent: 'a b', request: {} }), 'intent-invalid')
    expectCode(() => Challenge.from({ ...BASE_FIELDS, id: '', request: {} }), 'parameter-missing')
    expectCode(() => Challenge.from({ ...BASE_FIELDS, request: {}, expires: 'soon' }), 'expires-invalid')
    expectCode(() => Challenge.from({ ...BASE_FIELDS, request: {}, digest: 'sha-256=x' }), 'digest-invalid')
    // digest §8 item 19: an opaque with a non-string value is never emitted
    expectCode(() => Challenge.from({ ...BASE_FIELDS, request: {}, opaque: { n: 1 } as unknown as Record<string, string> }), 'opaque-invalid')
  })

  it('refuses a request JCS cannot represent', () => {
    expectCode(() => Challenge.from({ ...BASE_FIELDS, request: { amount: NaN } }), 'jcs-invalid')
    expectCode(() => Challenge.from({ ...BASE_FIELDS, request: { memo: '\udc00' } }), 'jcs-invalid')
  })

  it('refuses an invalid Date with expires-invalid instead of a RangeError', () => {
    expectCode(() => Challenge.from({ ...BASE_FIELDS, request: {}, expires: new Date(Number.NaN) }), 'expires-invalid')
  })
})

describe('Challenge.validate', () => {
  it('returns the very object it was given when valid', () => {
    const value = { ...full }
    expect(Challenge.validate(value)).toBe(value)
  })

  it('rejects a missing, empty or non-string required member with parameter-missing', () => {
    for (const name of ['id', 'realm', 'method', 'intent', 'request'] as const) {
      for (const value of [undefined, '', 5, null, ['x']]) {
        const challenge = { ...minimal, [name]: value } as unknown as Challenge.Challenge
        expectCode(() => Challenge.validate(challenge), 'parameter-missing')
      }
    }
  })

  it('rejects bad method, intent, request, expires, digest and opaque with their own codes', () => {
    expectCode(() => Challenge.validate({ ...minimal, method: 'a1' }), 'method-invalid')
    expectCode(() => Challenge.validate({ ...minimal, intent: 'ch@rge' }), 'intent-invalid')
    expectCode(() => Challenge.validate({ ...minimal, request: b64url('[]') }), 'request-invalid')
    expectCode(() => Challenge.validate({ ...minimal, expires: '2025-13-01T00:00:00Z' }), 'expires-invalid')
    expectCode(() => Challenge.validate({ ...minimal, digest: 'sha-256=:%%:' }), 'digest-invalid')
    expectCode(() => Challenge.validate({ ...minimal, opaque: b64url('{"a":true}') }), 'opaque-invalid')
  })

  it('rejects non-string optional members from JSON with a typed error', () => {
    // validate is documented for objects "from elsewhere (JSON, a credential echo, user code)"
    expectCode(() => Challenge.validate({ ...minimal, expires: 1736942700 } as unknown as Challenge.Challenge), 'expires-invalid')
    expectCode(() => Challenge.validate({ ...minimal, opaque: 5 } as unknown as Challenge.Challenge), 'opaque-invalid')
    expectCode(() => Challenge.validate({ ...minimal, digest: 5 } as unknown as Challenge.Challenge), 'digest-invalid')
  })

  it('rejects a non-string description (it could never be serialized)', () => {
    expect(caught(() => Challenge.validate({ ...minimal, description: 5 } as unknown as Challenge.Challenge))).toBeInstanceOf(MppError)
  })
})

describe('Challenge.decodeRequest / decodeOpaque', () => {
  it('decodeRequest returns the JSON object', () => {
    expect(Challenge.decodeRequest(minimal)).toEqual({ amount: '1000', currency: 'usd', recipient: 'acct_123' })
  })

  it('decodeRequest throws request-invalid and keeps the lower-level error as cause', () => {
    const error = expectCode(() => Challenge.decodeRequest({ request: 'e30=' }), 'request-invalid')
    expect(error.cause).toBeInstanceOf(MppError)
    expect((error.cause as MppError).code).toBe('base64url-invalid')
    expect((expectCode(() => Challenge.decodeRequest({ request: b64url('1') }), 'request-invalid').cause as MppError).code).toBe('json-not-object')
    expect((expectCode(() => Challenge.decodeRequest({ request: b64url('{') }), 'request-invalid').cause as MppError).code).toBe('json-invalid')
  })

  it('decodeOpaque: undefined without opaque, the map with it', () => {
    expect(Challenge.decodeOpaque({})).toBeUndefined()
    expect(Challenge.decodeOpaque({ opaque: OPAQUE })).toEqual({ pi: 'pi_123' })
    expect(Challenge.decodeOpaque({ opaque: b64url('{}') })).toEqual({})
  })

  it('decodeOpaque rejects non-objects and non-string members', () => {
    expectCode(() => Challenge.decodeOpaque({ opaque: 'e30=' }), 'opaque-invalid')
    expectCode(() => Challenge.decodeOpaque({ opaque: b64url('"s"') }), 'opaque-invalid')
    expectCode(() => Challenge.decodeOpaque({ opaque: b64url('{"a":"b","c":2}') }), 'opaque-invalid')
    expectCode(() => Challenge.decodeOpaque({ opaque: b64url('{"a":["b"]}') }), 'opaque-invalid')
  })
})

describe('Challenge.expiresAt / isExpired', () => {
  const at = Date.UTC(2025, 0, 15, 12, 5, 0)

  it('expiresAt gives epoch ms, or undefined without expires', () => {
    expect(Challenge.expiresAt({ expires: EXPIRES })).toBe(at)
    expect(Challenge.expiresAt({ expires: '2025-01-15T13:05:00+01:00' })).toBe(at)
    expect(Challenge.expiresAt({})).toBeUndefined()
  })

  it('expiresAt throws expires-invalid for a bad value', () => {
    expectCode(() => Challenge.expiresAt({ expires: 'never' }), 'expires-invalid')
  })

  it('isExpired: now == expires is expired (digest §1.10: now >= expires)', () => {
    expect(Challenge.isExpired({ expires: EXPIRES }, at - 1)).toBe(false)
    expect(Challenge.isExpired({ expires: EXPIRES }, at)).toBe(true)
    expect(Challenge.isExpired({ expires: EXPIRES }, at + 1)).toBe(true)
  })

  it('isExpired honours sub-second expiries', () => {
    expect(Challenge.isExpired({ expires: '2025-01-15T12:05:00.250Z' }, at + 249)).toBe(false)
    expect(Challenge.isExpired({ expires: '2025-01-15T12:05:00.250Z' }, at + 250)).toBe(true)
  })

  it('a challenge without expires never expires', () => {
    expect(Challenge.isExpired({}, Number.MAX_SAFE_INTEGER)).toBe(false)
  })

  it('isExpired defaults now to the clock', () => {
    vi.useFakeTimers()
    vi.setSystemTime(at - 1)
    expect(Challenge.isExpired({ expires: EXPIRES })).toBe(false)
    vi.setSystemTime(at)
    expect(Challenge.isExpired({ expires: EXPIRES })).toBe(true)
  })

  it('isExpired throws for an invalid expires rather than treating it as unexpired', () => {
    expectCode(() => Challenge.isExpired({ expires: '2025-01-15' }, 0), 'expires-invalid')
  })
})

describe('Challenge errors never quote header values', () => {
  const MARKER = 'sk_live_51SECRETMARKER'
  const lower = MARKER.toLowerCase()

  const cases: Array<[string, string]> = [
    ['bad method', header({ id: MARKER, realm: MARKER, method: `X${MARKER}`, intent: 'charge', request: REQUEST })],
    ['bad intent', header({ id: MARKER, realm: 'r', method: 'm', intent: `${MARKER}!`, request: REQUEST })],
    ['bad request', header({ id: 'a', realm: 'r', method: 'm', intent: 'charge', request: `${MARKER}=` })],
    ['request not an object', header({ id: 'a', realm: 'r', method: 'm', intent: 'charge', request: b64url(`["${MARKER}"]`) })],
    ['request not JSON', header({ id: 'a', realm: 'r', method: 'm', intent: 'charge', request: b64url(`{${MARKER}`) })],
    ['bad expires', MINIMAL_HEADER + `, expires="${MARKER}"`],
    ['bad digest', MINIMAL_HEADER + `, digest="sha-256=:${MARKER}:"`],
    ['bad opaque', MINIMAL_HEADER + `, opaque="${b64url(`{"k":["${MARKER}"]}`)}"`],
    ['missing id', `Payment realm="${MARKER}", method="m", intent="charge", request="${REQUEST}"`],
    ['token68', `Payment ${MARKER}`],
    ['unterminated', `Payment id="${MARKER}`],
    ['control char', `Payment id="${MARKER}\r\n"`],
    ['token value', `Payment id=${MARKER}/x`],
    ['duplicate known', MINIMAL_HEADER + `, id="${MARKER}"`],
    ['duplicate unknown name', MINIMAL_HEADER + `, ${lower}="1", ${lower}="2"`],
  ]
  for (const [name, value] of cases) {
    it(name, () => {
      const error = caught(() => Challenge.parseList(value))
      expect(error).toBeInstanceOf(MppError)
      expect(messages(error)).not.toContain(MARKER)
      expect(messages(error).toLowerCase()).not.toContain(lower)
      expect(messages(error)).not.toContain('SECRETMARKER')
    })
  }

  it('serialize refusals do not quote the value', () => {
    const error = caught(() => Challenge.serialize({ ...minimal, realm: `${MARKER}\n` }))
    expect(error).toBeInstanceOf(MppError)
    expect(messages(error)).not.toContain(MARKER)
  })
})
