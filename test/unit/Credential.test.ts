import { describe, expect, it } from 'vitest'
import * as Challenge from '../../src/Challenge.js'
import * as Credential from '../../src/Credential.js'
import { MppError } from '../../src/errors.js'
import { caught, expectCode, messages } from '../support/errors.js'




const b64url = (text: string) => Buffer.from(text, 'utf8').toString('base64url')
const fromB64url = (text: string) => JSON.parse(Buffer.from(text, 'base64url').toString('utf8'))
const REQUEST = b64url('{"amount":"1000","currency":"usd","recipient":"acct_123"}')

const echo: Credential.ChallengeEcho = {
  id: 'x7Tg2pLqR9mKvNwY3hBcZa',
  realm: 'api.example.com',
  method: 'example',
  intent: 'charge',
  request: REQUEST,
  expires: '2025-01-15T12:05:00Z',
}
const credential: Credential.Credential = { challenge: echo, payload: { proof: '0xabc123' } }
const header = (json: unknown) => 'Payment ' + b64url(JSON.stringify(json))

describe('Credential.parse (draft §5.2: "Payment" 1*SP base64url-nopad)', () => {
  it('decodes the JSON object {challenge, payload, source?}', () => {
    expect(Credential.parse(header(credential))).toStrictEqual(credential)
    const withSource = { ...credential, source: 'did:pkh:eip155:42431:0x742d35cc6634c0532925a3b844bc9e7595f8fe00' }
    expect(Credential.parse(header(withSource))).toStrictEqual(withSource)
  })

  it('accepts the scheme case-insensitively and with several spaces', () => {
    const encoded = b64url(JSON.stringify(credential))
    expect(Credential.parse(`payment ${encoded}`)).toStrictEqual(credential)
    expect(Credential.parse(`PAYMENT   ${encoded}`)).toStrictEqual(credential)
  })

  it('rejects other schemes and a missing space', () => {
    const encoded = b64url(JSON.stringify(credential))
    expectCode(() => Credential.parse(`Bearer ${encoded}`), 'credential-invalid')
    expectCode(() => Credential.parse(`Payment${encoded}`), 'credential-invalid')
    expectCode(() => Credential.parse(`Payments ${encoded}`), 'credential-invalid')
    expectCode(() => Credential.parse(''), 'credential-invalid')
  })

  it('digest §8 item 20: "+" or "/" in the credential -> base64url-invalid', () => {
    // standard base64 of this JSON contains "+" and "/"
    const json = JSON.stringify({ ...credential, payload: { p: '>>>???' } })
    const standard = Buffer.from(json).toString('base64').replace(/=+$/, '')
    expect(standard).toMatch(/[+/]/)
    expectCode(() => Credential.parse(`Payment ${standard}`), 'base64url-invalid')
  })

  it('digest §8 item 21: a padded credential is refused (strict)', () => {
    let json = JSON.stringify(credential)
    while (Buffer.byteLength(json) % 3 === 0) json += ' '
    const padded = Buffer.from(json).toString('base64url') + '='.repeat(3 - (Buffer.byteLength(json) % 3))
    expectCode(() => Credential.parse(`Payment ${padded}`), 'base64url-invalid')
  })

  it('digest §8 item 22: valid base64url that is not JSON -> json-invalid; not UTF-8 -> utf8-invalid', () => {
    expectCode(() => Credential.parse(`Payment ${b64url('not json at all')}`), 'json-invalid')
    expectCode(() => Credential.parse(`Payment ${Buffer.from([0x7b, 0xff, 0x7d]).toString('base64url')}`), 'utf8-invalid')
    expectCode(() => Credential.parse('Payment '), 'json-invalid')
  })

  it('rejects a top-level value that is not an object', () => {
    for (const json of ['[]', '"x"', '1', 'null']) expectCode(() => Credential.parse(`Payment ${b64url(json)}`), 'json-not-object')
  })

  it('digest §8 item 23: payload missing, or challenge not an object -> credential-invalid', () => {
    expectCode(() => Credential.parse(header({ challenge: echo })), 'credential-invalid')
    expectCode(() => Credential.parse(header({ challenge: echo, payload: 'proof' })), 'credential-invalid')
    expectCode(() => Credential.parse(header({ challenge: echo, payload: [1] })), 'credential-invalid')
    expectCode(() => Credential.parse(header({ challenge: echo, payload: null })), 'credential-invalid')
    expectCode(() => Credential.parse(header({ payload: {} })), 'credential-invalid')
    expectCode(() => Credential.parse(header({ challenge: 'id', payload: {} })), 'credential-invalid')
    expectCode(() => Credential.parse(header({ challenge: [echo], payload: {} })), 'credential-invalid')
  })

  it('rejects a non-string source', () => {
    expectCode(() => Credential.parse(header({ ...credential, source: 42 })), 'credential-invalid')
    expectCode(() => Credential.parse(header({ ...credential, source: null })), 'credential-invalid')
  })

  it('requires id, realm, method, intent and request in the echo as non-empty strings', () => {
    for (const name of ['id', 'realm', 'method', 'intent', 'request'] as const) {
      const missing: Record<string, unknown> = { ...echo }
      delete missing[name]
      expectCode(() => Credential.parse(header({ challenge: missing, payload: {} })), 'credential-invalid')
      expectCode(() => Credential.parse(header({ challenge: { ...echo, [name]: '' }, payload: {} })), 'credential-invalid')
      expectCode(() => Credential.parse(header({ challenge: { ...echo, [name]: 1 }, payload: {} })), 'credential-invalid')
    }
  })

  it('requires expires, digest, opaque and description, when present, to be strings', () => {
    for (const name of ['expires', 'digest', 'opaque', 'description'] as const) {
      expectCode(() => Credential.parse(header({ challenge: { ...echo, [name]: 1 }, payload: {} })), 'credential-invalid')
      expectCode(() => Credential.parse(header({ challenge: { ...echo, [name]: null }, payload: {} })), 'credential-invalid')
    }
    // An empty description is text; an empty expires, digest or opaque is not a valid value.
    expect(Credential.parse(header({ challenge: { ...echo, description: '' }, payload: {} })).challenge.description).toBe('')
  })

  it('keeps unknown members (the server decides what to do with them)', () => {
    const extra = { challenge: { ...echo, future: 'x' }, payload: { nested: { a: [1, null] } }, other: true }
    expect(Credential.parse(header(extra))).toStrictEqual(extra)
  })

  it('digest §8 item 57: a 6 KB credential is processed (servers MUST take at least 4 KB)', () => {
    const big = { ...credential, payload: { signature: '0x' + 'ab'.repeat(3_000) } }
    const value = header(big)
    expect(value.length).toBeGreaterThan(6 * 1024)
    expect(Credential.parse(value)).toStrictEqual(big)
  })

  it('refuses a value longer than MAX_LENGTH with header-too-large, before decoding', () => {
    const over = 'Payment ' + '!'.repeat(Credential.MAX_LENGTH)
    expectCode(() => Credential.parse(over), 'header-too-large')
  })

  it('maxLength is inclusive and configurable', () => {
    const value = header(credential)
    expect(Credential.parse(value, { maxLength: value.length })).toStrictEqual(credential)
    expectCode(() => Credential.parse(value, { maxLength: value.length - 1 }), 'header-too-large')
    const big = header({ ...credential, payload: { p: 'x'.repeat(70_000) } })
    expect(Credential.parse(big, { maxLength: 200_000 }).payload).toEqual({ p: 'x'.repeat(70_000) })
    expectCode(() => Credential.parse(big), 'header-too-large')
  })
})

describe('Credential.parse: the echoed challenge obeys the challenge field rules (draft §5.1, §5.2)', () => {
  const refused = (change: Record<string, unknown>, cause: string) => {
    const error = expectCode(() => Credential.parse(header({ challenge: { ...echo, ...change }, payload: {} })), 'credential-invalid')
    expect((error.cause as MppError | undefined)?.code, JSON.stringify(change)).toBe(cause)
    // The same echo is refused by Challenge.validate with the same cause code.
    expectCode(() => Challenge.validate({ ...echo, ...change } as Challenge.Challenge), cause as never)
  }

  it('method is 1*LOWERALPHA: "Tempo", "tempo-pay", "tempo2" and "tempo " are refused', () => {
    for (const method of ['Tempo', 'tempo-pay', 'tempo2', 'tempo ', 'TEMPO', 'témpo']) refused({ method }, 'method-invalid')
  })

  it('intent is 1*(ALPHA / DIGIT / "-")', () => {
    for (const intent of ['char ge', 'charge/x', 'charge;q=1']) refused({ intent }, 'intent-invalid')
  })

  it('request is base64url of a JSON object', () => {
    for (const request of ['!!!', b64url('[1,2]'), b64url('not json'), b64url('"text"'), REQUEST + '=']) refused({ request }, 'request-invalid')
  })

  it('opaque is base64url of a JSON object of strings', () => {
    for (const opaque of ['', 'not base64url!', b64url('opaque'), b64url('[]'), b64url('{"n":1}')]) refused({ opaque }, 'opaque-invalid')
    expect(Credential.parse(header({ challenge: { ...echo, opaque: b64url('{"order":"42"}') }, payload: {} })).challenge.opaque).toBe(b64url('{"order":"42"}'))
  })

  it('digest is an RFC 9530 dictionary of byte sequences', () => {
    const sha = Buffer.alloc(32, 7).toString('base64')
    for (const digest of ['', 'sha-256', 'sha-256=abc', 'sha-256="x"', `SHA-256=:${sha}:`]) refused({ digest }, 'digest-invalid')
    expect(Credential.parse(header({ challenge: { ...echo, digest: `sha-256=:${sha}:` }, payload: {} })).challenge.digest).toBe(`sha-256=:${sha}:`)
  })

  it('expires is an RFC 3339 date-time', () => {
    for (const expires of ['', 'tomorrow', '2025-01-15 12:05:00', '2025-13-01T00:00:00Z']) refused({ expires }, 'expires-invalid')
  })

  it('Credential.validate applies the same rules to a decoded object', () => {
    expectCode(() => Credential.validate({ challenge: { ...echo, method: 'Tempo' }, payload: {} }), 'credential-invalid')
    expect(Credential.validate({ challenge: echo, payload: {} })).toStrictEqual({ challenge: echo, payload: {} })
  })
})

describe('Credential.decode / validate', () => {
  it('decode takes the base64url part alone', () => {
    expect(Credential.decode(b64url(JSON.stringify(credential)))).toStrictEqual(credential)
    expectCode(() => Credential.decode('Payment ' + b64url(JSON.stringify(credential))), 'base64url-invalid')
  })

  it('validate returns its input and checks the shape', () => {
    const value = JSON.parse(JSON.stringify(credential))
    expect(Credential.validate(value)).toBe(value)
    expectCode(() => Credential.validate(null), 'json-not-object')
    expectCode(() => Credential.validate([credential]), 'json-not-object')
    expectCode(() => Credential.validate('x'), 'json-not-object')
    expectCode(() => Credential.validate({ challenge: echo }), 'credential-invalid')
  })
})

describe('Credential.serialize / encode', () => {
  it('is "Payment " + unpadded base64url of the JSON', () => {
    const out = Credential.serialize(credential)
    expect(out.startsWith('Payment ')).toBe(true)
    const encoded = out.slice('Payment '.length)
    expect(encoded).toMatch(/^[A-Za-z0-9_-]+$/)
    expect(encoded).toBe(Credential.encode(credential))
    expect(fromB64url(encoded)).toStrictEqual(credential)
  })

  it('writes source only when present, and drops members outside the credential', () => {
    const withExtra = { ...credential, source: undefined, other: 'x' } as unknown as Credential.Credential
    expect(Object.keys(fromB64url(Credential.encode(withExtra)))).toEqual(['challenge', 'payload'])
    const withSource = { ...credential, source: 'did:example:1' }
    expect(fromB64url(Credential.encode(withSource))).toStrictEqual(withSource)
  })

  it('round-trips non-ASCII payload text as UTF-8', () => {
    const c = { ...credential, payload: { note: 'Café 日本 😀', quote: '"\\' } }
    const out = Credential.serialize(c)
    expect(Buffer.from(out.slice(8), 'base64url').toString('utf8')).toBe(JSON.stringify(c))
    expect(Credential.parse(out)).toStrictEqual(c)
  })
})

describe('Credential.extract', () => {
  const a = Credential.serialize(credential)
  const b = Credential.serialize({ ...credential, payload: { proof: 'other' } })

  it('returns undefined without a Payment credential', () => {
    expect(Credential.extract(undefined)).toBeUndefined()
    expect(Credential.extract(null)).toBeUndefined()
    expect(Credential.extract('')).toBeUndefined()
    expect(Credential.extract('Bearer abc.def')).toBeUndefined()
    expect(Credential.extract('Basic dXNlcjpwYXNz')).toBeUndefined()
    expect(Credential.extract('PaymentX abc')).toBeUndefined()
  })

  it('returns the single Payment credential, also among other schemes', () => {
    expect(Credential.extract(a)).toBe(a)
    expect(Credential.extract(`  ${a}  `)).toBe(a)
    expect(Credential.extract(`Bearer abc, ${a}`)).toBe(a)
    expect(Credential.extract(`${a}, Basic dXNlcjpwYXNz`)).toBe(a)
    expect(Credential.parse(Credential.extract(`Bearer t, ${a}`)!)).toStrictEqual(credential)
  })

  it('digest §8 item 48: two Payment credentials (two lines joined by ", ") -> credential-multiple', () => {
    const headers = new Headers()
    headers.append('Authorization', a)
    headers.append('Authorization', b)
    expectCode(() => Credential.extract(headers.get('authorization')), 'credential-multiple')
    expectCode(() => Credential.extract(`${a},${a}`), 'credential-multiple')
    expectCode(() => Credential.extract(`${a}, Bearer x, payment ${b.slice(8)}`), 'credential-multiple')
  })

  it('a bare "Payment" counts as a (malformed) credential, so parse rejects it and two still conflict', () => {
    expect(Credential.extract('Payment')).toBe('Payment')
    expectCode(() => Credential.parse(Credential.extract('Payment')!), 'credential-invalid')
    expectCode(() => Credential.extract(`Payment, ${a}`), 'credential-multiple')
  })

  it('the multiple-credential error does not quote either credential', () => {
    const error = expectCode(() => Credential.extract(`${a}, ${b}`), 'credential-multiple')
    expect(error.message).not.toContain(a.slice(8, 40))
    expect(error.message).not.toContain(b.slice(8, 40))
  })

  it('a value longer than MAX_LENGTH is refused with header-too-large; one at the limit is read', () => {
    const padding = (total: number) => 'Bearer ' + 'x'.repeat(total - a.length - 'Bearer , '.length) + ', '
    const atLimit = padding(Credential.MAX_LENGTH) + a
    expect(atLimit).toHaveLength(Credential.MAX_LENGTH)
    expect(Credential.extract(atLimit)).toBe(a)
    expectCode(() => Credential.extract('x' + atLimit), 'header-too-large')
    expectCode(() => Credential.extract('Payment ' + 'A'.repeat(1024 * 1024)), 'header-too-large')
  })

  it('refuses an oversized value before scanning it: two credentials in 1 MB are too large, not multiple', () => {
    const oversized = `${a}, Bearer ${'x'.repeat(1024 * 1024)}, ${b}`
    expectCode(() => Credential.extract(oversized), 'header-too-large')
    // The same value under a larger caller limit is scanned, and its two credentials found.
    expectCode(() => Credential.extract(oversized, { maxLength: 2 * 1024 * 1024 }), 'credential-multiple')
  })

  it('takes a caller limit, and the error does not quote the value', () => {
    expect(Credential.extract(a, { maxLength: a.length })).toBe(a)
    const error = expectCode(() => Credential.extract(a, { maxLength: a.length - 1 }), 'header-too-large')
    expect(error.message).not.toContain(a.slice(8, 40))
  })
})

describe('Credential.echo / from', () => {
  const challenge = Challenge.from({
    id: 'abc',
    realm: 'api.example.com',
    method: 'tempo',
    intent: 'charge',
    request: { amount: '1' },
    expires: '2025-01-15T12:05:00Z',
    digest: 'sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:',
    opaque: { pi: 'pi_123' },
    description: 'desc',
    extensions: { future: 'x' },
  })

  it('echo copies the wire fields unchanged and drops extensions', () => {
    const out = Credential.echo(challenge)
    expect(out).toStrictEqual({
      id: 'abc',
      realm: 'api.example.com',
      method: 'tempo',
      intent: 'charge',
      request: challenge.request,
      expires: '2025-01-15T12:05:00Z',
      digest: 'sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:',
      opaque: challenge.opaque,
      description: 'desc',
    })
    expect(out).not.toBe(challenge)
  })

  it('echo leaves absent optional fields absent', () => {
    const out = Credential.echo({ id: 'a', realm: 'r', method: 'm', intent: 'i', request: REQUEST })
    expect(Object.keys(out)).toEqual(['id', 'realm', 'method', 'intent', 'request'])
  })

  it('from builds a credential that serializes and parses back, echoing a parsed challenge', () => {
    const parsed = Challenge.parse(Challenge.serialize(challenge))
    const built = Credential.from({ challenge: parsed, payload: { spt: 'spt_1' }, source: 'did:x' })
    expect(built).toStrictEqual({ challenge: Credential.echo(challenge), payload: { spt: 'spt_1' }, source: 'did:x' })
    expect(Credential.parse(Credential.serialize(built))).toStrictEqual(built)
    expect('source' in Credential.from({ challenge: parsed, payload: {} })).toBe(false)
  })
})

describe('Credential errors never quote the credential', () => {
  const MARKER = 'spt_SECRETMARKER_1Nq'
  const bad: Array<[string, string]> = [
    ['not base64url', `Payment ${MARKER}!!`],
    ['padded', `Payment ${b64url(JSON.stringify({ challenge: echo, payload: { spt: MARKER } }))}==`],
    ['not JSON', `Payment ${b64url(`{"payload":{"spt":"${MARKER}"`)}`],
    ['not an object', `Payment ${b64url(`["${MARKER}"]`)}`],
    ['no challenge', header({ payload: { spt: MARKER } })],
    ['bad echo', header({ challenge: { ...echo, id: 5 }, payload: { spt: MARKER } })],
    ['bad source', header({ challenge: echo, payload: { spt: MARKER }, source: { s: MARKER } })],
    ['wrong scheme', `Bearer ${MARKER}`],
    ['too large', `Payment ${MARKER}${'A'.repeat(Credential.MAX_LENGTH)}`],
  ]
  for (const [name, value] of bad) {
    it(name, () => {
      const error = caught(() => Credential.parse(value))
      expect(error).toBeInstanceOf(MppError)
      expect(messages(error)).not.toContain(MARKER)
      expect(messages(error)).not.toContain(value.slice(8, 30))
    })
  }
})
