/**
 * Wire interop between mppkit and mppx 0.11.0 (the reference TypeScript SDK):
 * challenges, challenge ids, credentials and receipts, in both directions, plus the
 * shared HMAC vectors and property-based round trips.
 *
 * Where mppx deviates from draft-httpauth-payment-00 the test pins the interop that
 * matters and says so in a comment marked "mppx deviation"; mppkit does not copy it.
 */
import { readFileSync } from 'node:fs'
import fc from 'fast-check'
import {
  Challenge as MppxChallenge,
  Credential as MppxCredential,
  PaymentRequest,
  Receipt as MppxReceipt,
} from 'mppx'
import { describe, expect, it } from 'vitest'
import * as Challenge from '../../src/Challenge.js'
import * as ChallengeId from '../../src/ChallengeId.js'
import * as Credential from '../../src/Credential.js'
import * as Receipt from '../../src/Receipt.js'
import { encodeCanonical } from '../../src/internal/json.js'
import { b64json, mppxAsWire, mppxIssue, OLD_SECRET, SECRET, utf8AsLatin1, type MppxShape } from './support/wire.js'

const REQUEST = {
  amount: '1000000',
  currency: '0x20c0000000000000000000000000000000000000',
  recipient: '0x742d35cc6634c0532925a3b844bc9e7595f8fe00',
  methodDetails: { chainId: 42431, feePayer: true, memo: null, splits: [1, 2.5, -3e-7] },
}
const DIGEST = 'sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:'
const EXPIRES = '2030-01-15T12:05:00Z'
const base = { realm: 'api.example.com', method: 'tempo', intent: 'charge', request: REQUEST }

/** Challenge shapes both SDKs must agree on (descriptions are ASCII or Latin-1 here). */
const SHAPES: Array<[string, MppxShape]> = [
  ['required fields only', base],
  ['empty request object', { ...base, intent: 'authorize', request: {} }],
  ['with expires', { ...base, expires: EXPIRES }],
  ['with fractional expires and an offset', { ...base, expires: '2030-01-15T12:05:00.123+02:00' }],
  ['with digest', { ...base, digest: DIGEST }],
  ['with expires and digest', { ...base, expires: EXPIRES, digest: DIGEST }],
  ['with opaque (raw base64url)', { ...base, opaque: 'eyJwaSI6InBpXzEyMyJ9' }],
  ['with meta (becomes opaque)', { ...base, meta: { pi: 'pi_123', order: '42' } }],
  ['with description', { ...base, description: 'One coffee' }],
  ['description with quotes and backslashes', { ...base, description: 'say "hi" \\ back\\slash \\"both\\"' }],
  ['description with Latin-1', { ...base, description: 'Café crème, naïve façade ©2025 ±5 ¿qué? ÿ' }],
  ['description with tab, comma, equals, semicolon', { ...base, description: 'a\tb, c=d; e' }],
  ['realm with spaces and quotes', { ...base, realm: 'my "shop" \\ api' }],
  [
    'every optional field',
    { ...base, expires: EXPIRES, digest: DIGEST, meta: { nonce: 'n1' }, description: 'Everything: "quoted" é' },
  ],
]

describe('challenges mppx serializes parse in mppkit to the same fields', () => {
  it.each(SHAPES)('%s', async (_name, shape) => {
    const issued = mppxIssue(shape)
    const header = MppxChallenge.serialize(issued)

    const parsed = Challenge.parse(header)
    expect(parsed).toEqual(mppxAsWire(issued))
    expect(Challenge.decodeRequest(parsed)).toEqual(issued.request)
    if (shape.meta) expect(Challenge.decodeOpaque(parsed)).toEqual(shape.meta)

    // As fetch hands it over: a Headers value (a byte string, Latin-1 kept as is).
    const viaHeaders = new Headers({ 'www-authenticate': header }).get('www-authenticate')!
    expect(Challenge.parse(viaHeaders)).toEqual(parsed)

    // An mppkit server with the same secret accepts the mppx-issued id.
    expect(await ChallengeId.keyRing([SECRET]).verify(parsed)).toBe(true)
  })

  it('mppx deviation: characters above U+00FF go out as \\uXXXX, which RFC 9110 reads as the literal "uXXXX"', () => {
    // mppx escapes U+0100..U+FFFF as `\uXXXX` (one escape per UTF-16 unit). In RFC 9110
    // a quoted-pair is `\` + one character, so `\u2014` is the text "u2014". mppkit reads
    // it that way (it does not copy mppx's private escape). The text is display-only and
    // not bound by the id, so the payment still works; only the label is garbled.
    const issued = mppxIssue({ ...base, description: 'em—dash 😀' })
    const header = MppxChallenge.serialize(issued)
    expect(header).toContain('description="em\\u2014dash \\ud83d\\ude00"')
    const parsed = Challenge.parse(header)
    expect(parsed.description).toBe('emu2014dash ud83dude00')
    expect(parsed.id).toBe(issued.id)
  })

  it('mppx deviation: Latin-1 obs-text that happens to be valid UTF-8 is read as UTF-8 by mppkit', () => {
    // The draft says every string value is UTF-8; mppx writes U+0080..U+00FF as single
    // Latin-1 bytes. mppkit decodes obs-text as UTF-8 and falls back to Latin-1 only when
    // the bytes are not UTF-8, so an mppx description made of a valid UTF-8 byte pattern
    // (here "Ã©" = C3 A9) reads as "é". No real label looks like this.
    const parsed = Challenge.parse(MppxChallenge.serialize(mppxIssue({ ...base, description: 'Ã©' })))
    expect(parsed.description).toBe('é')
  })

  it('mppx deviation: mppx drops an empty description; mppkit keeps it', () => {
    // Both are harmless: the description is display-only.
    const header = Challenge.serialize({ ...Challenge.from({ ...base, id: 'x' }), description: '' })
    expect(Challenge.parse(header).description).toBe('')
    expect(MppxChallenge.deserialize(header).description).toBeUndefined()
  })
})

describe('challenges mppkit serializes parse in mppx to the same fields', () => {
  const ring = ChallengeId.keyRing([SECRET])
  const cases: Array<[string, Omit<Challenge.Fields, 'id'>]> = [
    ['required fields only', base],
    ['empty request object', { ...base, intent: 'authorize', request: {} }],
    ['with expires (Date)', { ...base, expires: new Date('2030-01-15T12:05:00Z') }],
    ['with fractional expires and an offset', { ...base, expires: '2030-01-15T12:05:00.123-05:30' }],
    ['with digest', { ...base, digest: DIGEST }],
    ['with opaque', { ...base, opaque: { pi: 'pi_123', nonce: 'abc' } }],
    ['with description', { ...base, description: 'One coffee' }],
    ['description with quotes and backslashes', { ...base, description: 'say "hi" \\ back\\slash \\"both\\" \\u0041' }],
    ['description with tab, comma, equals', { ...base, description: 'a\tb, c=d; e' }],
    ['realm with spaces and quotes', { ...base, realm: 'my "shop" \\ api' }],
    ['every optional field', { ...base, expires: EXPIRES, digest: DIGEST, opaque: { nonce: 'n1' }, description: 'All "of" it' }],
  ]

  it.each(cases)('%s', async (_name, fields) => {
    const issued = await ring.issue(fields)
    const header = Challenge.serialize(issued)

    const parsed = MppxChallenge.deserialize(header)
    expect(mppxAsWire(parsed)).toEqual(issued)
    expect(parsed.request).toEqual(fields.request)
    if (fields.opaque) expect(PaymentRequest.deserialize(parsed.opaque!)).toEqual(fields.opaque)
    // mppx, with the same secret, accepts the mppkit-issued id.
    expect(MppxChallenge.verify(parsed, { secretKey: SECRET })).toBe(true)

    const viaHeaders = new Headers({ 'www-authenticate': header }).get('www-authenticate')!
    expect(MppxChallenge.deserialize(viaHeaders)).toEqual(parsed)
  })

  it('mppx deviation: a non-ASCII description reaches mppx as UTF-8 bytes read as Latin-1, and survives its round trip', async () => {
    // mppkit sends non-ASCII text as UTF-8 bytes in obs-text (RFC 9110 quoted-string, and
    // the draft's "all string values use UTF-8"). mppx has no UTF-8 decoding step, so its
    // `description` is mojibake; but it re-serializes those Latin-1 characters unchanged,
    // so the bytes come back intact and mppkit reads the original text again.
    const description = 'Café ☕ em—dash 😀'
    const issued = await ring.issue({ ...base, description })
    const parsed = MppxChallenge.deserialize(Challenge.serialize(issued))
    expect(parsed.description).toBe(utf8AsLatin1(description))
    expect(MppxChallenge.verify(parsed, { secretKey: SECRET })).toBe(true)
    expect(Challenge.parse(MppxChallenge.serialize(parsed))).toEqual(issued)
  })

  it('unknown parameters: mppkit keeps them as extensions, mppx ignores them (as the draft requires)', async () => {
    const issued = { ...(await ring.issue(base)), extensions: { 'x-trace': 'abc "q"' } }
    const header = Challenge.serialize(issued)
    expect(Challenge.parse(header)).toEqual(issued)
    const parsed = MppxChallenge.deserialize(header)
    expect(Object.keys(parsed)).not.toContain('x-trace')
    expect(MppxChallenge.verify(parsed, { secretKey: SECRET })).toBe(true)
  })

  it('mppx deviation: mppx rejects a sha-512 digest and a lowercase "z" in expires, both valid per RFC 9530 / RFC 3339', () => {
    // mppkit never emits either (it digests with sha-256 and formats expiry as ...Z), so
    // this only matters for hand-built challenges; pinned so a change shows up here.
    const sha512 = `sha-512=:${Buffer.alloc(64, 1).toString('base64')}:`
    const withSha512 = Challenge.serialize(Challenge.from({ ...base, id: 'x', digest: sha512 }))
    expect(Challenge.parse(withSha512).digest).toBe(sha512)
    expect(() => MppxChallenge.deserialize(withSha512)).toThrow()
    const lowerZ = Challenge.serialize(Challenge.from({ ...base, id: 'x', expires: '2030-01-15t12:05:00z' }))
    expect(Challenge.parse(lowerZ).expires).toBe('2030-01-15t12:05:00z')
    expect(() => MppxChallenge.deserialize(lowerZ)).toThrow()
  })
})

describe('challenge ids: same inputs and secret give the same id, and each side verifies the other', () => {
  const bindings: Array<[string, MppxShape]> = [
    ['required fields only', base],
    ['expires', { ...base, expires: EXPIRES }],
    ['digest', { ...base, digest: DIGEST }],
    ['opaque', { ...base, opaque: encodeCanonical({ b: '2', a: '1' }) }],
    ['meta (= opaque of its JCS)', { ...base, meta: { b: '2', a: '1' } }],
    ['all', { ...base, expires: EXPIRES, digest: DIGEST, meta: { nonce: 'n' } }],
    ['description is not bound', { ...base, description: 'not bound' }],
    ['unicode in request', { ...base, request: { label: 'café ☕ 😀', n: 1e21, m: 0.1, z: -0 } }],
  ]

  it.each(bindings)('%s', async (_name, shape) => {
    const issued = mppxIssue(shape)
    const binding = mppxAsWire(issued)
    // mppx Challenge.from({...secretKey}) == mppkit ChallengeId.compute
    expect(await ChallengeId.compute(SECRET, binding)).toBe(issued.id)

    const ring = ChallengeId.keyRing([SECRET])
    const minted = await ring.sign(binding)
    expect(minted).toBe(issued.id)
    // mppx verifies an id mppkit computed...
    expect(MppxChallenge.verify({ ...issued, id: minted }, { secretKey: SECRET })).toBe(true)
    // ...and mppkit verifies the one mppx computed.
    expect(await ring.verify(binding)).toBe(true)

    // Tampering is caught by both.
    const cheaper = mppxIssue({ ...shape, request: { ...shape.request, amount: '1' } })
    expect(await ring.verify({ ...mppxAsWire(cheaper), id: issued.id })).toBe(false)
    expect(MppxChallenge.verify({ ...cheaper, id: issued.id }, { secretKey: SECRET })).toBe(false)
    expect(MppxChallenge.verify(issued, { secretKey: OLD_SECRET })).toBe(false)
    expect(await ChallengeId.keyRing([OLD_SECRET]).verify(binding)).toBe(false)
  })

  it('a rotated mppkit ring still verifies ids mppx issued with the previous secret', async () => {
    const issued = mppxIssue({ ...base, expires: EXPIRES }, OLD_SECRET)
    expect(await ChallengeId.keyRing([SECRET, OLD_SECRET]).verify(mppxAsWire(issued))).toBe(true)
    expect(await ChallengeId.keyRing([SECRET]).verify(mppxAsWire(issued))).toBe(false)
  })

  it('the description does not change the id on either side', async () => {
    const a = mppxIssue({ ...base, description: 'A' })
    const b = mppxIssue({ ...base, description: 'B' })
    expect(a.id).toBe(b.id)
    expect((await ChallengeId.keyRing([SECRET]).issue({ ...base, description: 'A' })).id).toBe(
      (await ChallengeId.keyRing([SECRET]).issue({ ...base, description: 'B' })).id,
    )
  })
})

type Vector = {
  name: string
  secret: string
  realm: string
  method: string
  intent: string
  request: string
  requestJson?: Record<string, unknown>
  requestForm: string
  expires?: string
  digest?: string
  opaque?: string
  opaqueJson?: Record<string, string>
  description?: string
  expectedId: string
  hmacInput: string
  reproduced: boolean
}

describe('shared HMAC vectors (test/interop/fixtures/hmac-vectors.json)', () => {
  const vectors = JSON.parse(readFileSync(new URL('./fixtures/hmac-vectors.json', import.meta.url), 'utf8')) as Vector[]
  const reproduced = vectors.filter((v) => v.reproduced)

  it('has the reproduced vectors', () => {
    expect(reproduced.length).toBe(30)
  })

  it.each(reproduced.map((v) => [v.name, v] as const))('%s', async (_name, v) => {
    const binding = {
      realm: v.realm,
      method: v.method,
      intent: v.intent,
      request: v.request,
      ...(v.expires !== undefined && { expires: v.expires }),
      ...(v.digest !== undefined && { digest: v.digest }),
      ...(v.opaque !== undefined && { opaque: v.opaque }),
    }
    expect(ChallengeId.input(binding)).toBe(v.hmacInput)
    expect(await ChallengeId.compute(v.secret, binding)).toBe(v.expectedId)
    const isJcs = v.requestJson !== undefined && v.requestForm.startsWith('JSON object; wire/HMAC value is base64url(JCS')
    if (isJcs) {
      expect(encodeCanonical(v.requestJson!)).toBe(v.request)
      if (v.opaqueJson) expect(encodeCanonical(v.opaqueJson)).toBe(v.opaque)
      // mppx re-encodes request with JCS, so it only reproduces the JCS vectors.
      const viaMppx = MppxChallenge.from({
        realm: v.realm,
        method: v.method,
        intent: v.intent,
        request: v.requestJson!,
        ...(v.expires !== undefined && { expires: v.expires }),
        ...(v.digest !== undefined && { digest: v.digest }),
        ...(v.opaque !== undefined && { opaque: v.opaque }),
        secretKey: v.secret,
      })
      expect(viaMppx.id).toBe(v.expectedId)
    }
  })
})

describe('multi-challenge headers', () => {
  const shapes: MppxShape[] = [
    { ...base, expires: EXPIRES },
    { ...base, method: 'stripe', request: { amount: '50', currency: 'usd' }, description: 'card, "visa"' },
    { ...base, method: 'testpay', meta: { k: 'v' }, digest: DIGEST },
    { ...base, method: 'altpay', intent: 'session', request: {} },
  ]

  it('an mppx list (with other schemes mixed in) parses in mppkit, in order', async () => {
    const issued = shapes.map((shape) => mppxIssue(shape))
    const header = ['Bearer realm="x", error="invalid_token"', ...issued.map(MppxChallenge.serialize), 'Basic realm="y"'].join(', ')
    const parsed = Challenge.parseList(header)
    expect(parsed).toEqual(issued.map(mppxAsWire))
    const ring = ChallengeId.keyRing([SECRET])
    for (const challenge of parsed) expect(await ring.verify(challenge)).toBe(true)
  })

  it('an mppkit list (with other schemes mixed in) parses in mppx, in order', async () => {
    const ring = ChallengeId.keyRing([SECRET])
    const issued = await Promise.all(
      shapes.map(({ meta, opaque: _opaque, ...fields }) => ring.issue({ ...fields, ...(meta && { opaque: meta }) })),
    )
    const header = `Basic realm="legacy", ${Challenge.serializeList(issued)}, Bearer realm="z"`
    const parsed = MppxChallenge.deserializeList(header)
    expect(parsed.map(mppxAsWire)).toEqual(issued)
    for (const challenge of parsed) expect(MppxChallenge.verify(challenge, { secretKey: SECRET })).toBe(true)
    // mppx's deserialize takes the first Payment challenge.
    expect(mppxAsWire(MppxChallenge.deserialize(header))).toEqual(issued[0])
  })

  it('several WWW-Authenticate lines, joined by Headers as fetch joins them, parse on both sides', async () => {
    const ring = ChallengeId.keyRing([SECRET])
    const fromMppkit = await ring.issue({ ...base, method: 'testpay' })
    const fromMppx = mppxIssue({ ...base, method: 'stripe' })
    const headers = new Headers()
    headers.append('www-authenticate', Challenge.serialize(fromMppkit))
    headers.append('www-authenticate', 'Bearer realm="b"')
    headers.append('www-authenticate', MppxChallenge.serialize(fromMppx))
    const joined = headers.get('www-authenticate')!
    expect(Challenge.parseList(joined)).toEqual([fromMppkit, mppxAsWire(fromMppx)])
    expect(MppxChallenge.deserializeList(joined).map(mppxAsWire)).toEqual([fromMppkit, mppxAsWire(fromMppx)])
  })
})

describe('credentials', () => {
  const payload = { proof: '0xabc123', nested: { n: 1, list: ['a', 'é'] } }

  it.each(SHAPES)('mppx -> mppkit: %s', async (_name, shape) => {
    const challenge = mppxIssue(shape)
    const authorization = MppxCredential.serialize({ challenge, payload, source: 'did:example:alice' })

    const parsed = Credential.parse(authorization)
    // The echo carries the wire strings: request as JCS base64url, opaque as sent.
    expect(parsed.challenge).toEqual(mppxAsWire(challenge))
    expect(parsed.payload).toEqual(payload)
    expect(parsed.source).toBe('did:example:alice')
    // What an mppkit server checks first: the id binds the echoed fields.
    expect(await ChallengeId.keyRing([SECRET]).verify(parsed.challenge)).toBe(true)
    expect(Credential.extract(`Bearer abc, ${authorization}`)).toBe(authorization)
  })

  it.each(SHAPES)('mppkit -> mppx: %s', async (_name, shape) => {
    const { meta, opaque, ...fields } = shape
    const challenge = await ChallengeId.keyRing([SECRET]).issue({
      ...fields,
      ...(meta && { opaque: meta }),
      ...(opaque !== undefined && { opaque: PaymentRequest.deserialize(opaque) as Record<string, string> }),
    })
    const authorization = Credential.serialize(Credential.from({ challenge, payload, source: 'did:example:bob' }))

    const parsed = MppxCredential.deserialize(authorization)
    const wire = mppxAsWire(parsed.challenge)
    // A Latin-1 description is the one field mppkit and mppx render differently; it
    // travels inside JSON here, so both see the same Unicode text.
    expect(wire).toEqual(challenge)
    expect(parsed.payload).toEqual(payload)
    expect(parsed.source).toBe('did:example:bob')
    expect(MppxChallenge.verify(parsed.challenge, { secretKey: SECRET })).toBe(true)
    // mppkit's credential is unpadded base64url of JSON, as the draft's ABNF requires.
    expect(authorization).toMatch(/^Payment [A-Za-z0-9_-]+$/)
  })

  it('mppx deviation: mppx accepts a credential without payload; mppkit refuses it (payload is required)', () => {
    const challenge = mppxAsWire(mppxIssue(base))
    const noPayload = `Payment ${b64json({ challenge })}`
    expect(MppxCredential.deserialize(noPayload).payload).toBeUndefined()
    expect(() => Credential.parse(noPayload)).toThrow(/payload/)
  })

  it('mppx deviation: mppx accepts padded standard base64; mppkit requires unpadded base64url', () => {
    const challenge = mppxAsWire(mppxIssue(base))
    const padded = `Payment ${Buffer.from(JSON.stringify({ challenge, payload: { p: '?>?' } })).toString('base64')}`
    expect(MppxCredential.deserialize(padded).payload).toEqual({ p: '?>?' })
    expect(() => Credential.parse(padded)).toThrow()
  })
})

describe('receipts', () => {
  it('mppx -> mppkit', () => {
    const receipt = {
      method: 'testpay',
      reference: 'tp_1',
      status: 'success' as const,
      timestamp: new Date('2030-01-15T12:05:00.123Z').toISOString(),
      externalId: 'order-42',
      extra: { nested: true },
    }
    const header = MppxReceipt.serialize(receipt)
    expect(Receipt.parse(header)).toEqual(receipt)
  })

  it('mppkit -> mppx', () => {
    const receipt = Receipt.from({ method: 'testpay', reference: 'tp_2', timestamp: new Date('2030-01-15T12:05:00Z'), externalId: 'order-43', challengeId: 'abc' })
    const header = Receipt.serialize(receipt)
    expect(header).toMatch(/^[A-Za-z0-9_-]+$/)
    expect(MppxReceipt.deserialize(header)).toEqual({ ...receipt })
  })

  it('both refuse a receipt whose status is not "success"', () => {
    const header = b64json({ method: 'testpay', reference: 'r', status: 'failed', timestamp: '2030-01-15T12:05:00Z' })
    expect(() => Receipt.parse(header)).toThrow()
    expect(() => MppxReceipt.deserialize(header)).toThrow()
  })
})

// ---------------------------------------------------------------------------------------
// property-based cross-checks

const printable = (options: { minLength?: number; maxLength?: number } = {}) =>
  fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), ...options })
const token = (pattern: RegExp) => fc.stringMatching(pattern)
const jsonRequest = fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 6 })
const expiresArb = fc
  .record({
    at: fc.date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date('2099-12-31T23:59:59Z'), noInvalidDate: true }),
    fraction: fc.boolean(),
    offset: fc.option(fc.tuple(fc.constantFrom('+', '-'), fc.integer({ min: 0, max: 23 }), fc.integer({ min: 0, max: 59 })), { nil: undefined }),
  })
  .map(({ at, fraction, offset }) => {
    let text = at.toISOString()
    if (!fraction) text = text.replace(/\.\d{3}Z$/, 'Z')
    if (offset) text = text.replace(/Z$/, `${offset[0]}${String(offset[1]).padStart(2, '0')}:${String(offset[2]).padStart(2, '0')}`)
    return text
  })
const digestArb = fc
  .tuple(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.option(fc.uint8Array({ minLength: 64, maxLength: 64 }), { nil: undefined }))
  .map(([sha256, sha512]) => {
    const first = `sha-256=:${Buffer.from(sha256).toString('base64')}:`
    return sha512 ? `${first}, sha-512=:${Buffer.from(sha512).toString('base64')}:` : first
  })
// Any Unicode text a header can carry: no C0 controls but tab, no DEL. Non-empty,
// since mppx drops an empty description (see above).
const descriptionArb = fc
  .string({ unit: 'binary', minLength: 1, maxLength: 40 })
  .filter((text) => !/[\x00-\x08\x0a-\x1f\x7f]/.test(text))

const fieldsArb = fc.record(
  {
    id: printable({ minLength: 1, maxLength: 50 }),
    realm: printable({ minLength: 1, maxLength: 40 }),
    method: token(/^[a-z]{1,12}$/),
    intent: token(/^[A-Za-z0-9-]{1,12}$/),
    request: jsonRequest,
    expires: expiresArb,
    digest: digestArb,
    opaque: fc.dictionary(fc.string({ maxLength: 8 }), fc.string({ maxLength: 12 }), { maxKeys: 4 }),
    description: descriptionArb,
  },
  { requiredKeys: ['id', 'realm', 'method', 'intent', 'request'] },
)

describe('property: random valid challenges', () => {
  it('round-trip mppkit -> mppx -> mppkit with the same fields (1,000 runs)', () => {
    fc.assert(
      fc.property(fieldsArb, (fields) => {
        const challenge = Challenge.from(fields)
        const header = Challenge.serialize(challenge)

        const viaMppx = MppxChallenge.deserialize(header)
        // mppx's view: the same fields (a non-ASCII description as its UTF-8 bytes in Latin-1).
        expect(mppxAsWire(viaMppx)).toEqual({
          ...challenge,
          ...(challenge.description !== undefined && { description: utf8AsLatin1(challenge.description) }),
        })
        expect(viaMppx.request).toEqual(JSON.parse(JSON.stringify(fields.request)))

        const back = Challenge.parse(MppxChallenge.serialize(viaMppx))
        expect(back).toEqual(challenge)
      }),
      { numRuns: 1000 },
    )
  })

  it('mppx -> mppkit: random mppx challenges parse in mppkit to the same fields (1,000 runs)', () => {
    // Descriptions: ASCII plus U+00C0..U+00FF. Leaving out U+0080..U+00BF (UTF-8
    // continuation bytes) keeps clear of the Latin-1-that-is-valid-UTF-8 case pinned above.
    const latin1 = fc.string({
      unit: fc.oneof(fc.integer({ min: 0x20, max: 0x7e }), fc.constant(0x09), fc.integer({ min: 0xc0, max: 0xff })).map((c) => String.fromCharCode(c)),
      minLength: 1,
      maxLength: 40,
    })
    const shapeArb = fc.record(
      {
        realm: printable({ minLength: 1, maxLength: 40 }),
        method: token(/^[a-z]{1,12}$/),
        intent: token(/^[A-Za-z0-9-]{1,12}$/),
        request: jsonRequest,
        expires: expiresArb,
        digest: digestArb,
        meta: fc.dictionary(fc.string({ maxLength: 8 }), fc.string({ maxLength: 12 }), { maxKeys: 4 }),
        description: latin1,
      },
      { requiredKeys: ['realm', 'method', 'intent', 'request'] },
    )
    fc.assert(
      fc.property(shapeArb, (shape) => {
        const issued = mppxIssue(shape)
        const header = MppxChallenge.serialize(issued)
        const parsed = Challenge.parse(header)
        expect(parsed).toEqual(mppxAsWire(issued))
        // (JSON has no -0: the wire carries 0, so compare with the JSON form.)
        expect(Challenge.decodeRequest(parsed)).toEqual(JSON.parse(JSON.stringify(issued.request)))
        // mppkit re-serializes to a header mppx reads back to the same challenge, except
        // that mppkit sends the description as UTF-8, which mppx reads as Latin-1.
        const original = MppxChallenge.deserialize(header)
        expect(MppxChallenge.deserialize(Challenge.serialize(parsed))).toEqual({
          ...original,
          ...(original.description !== undefined && { description: utf8AsLatin1(original.description) }),
        })
      }),
      { numRuns: 1000 },
    )
  })

  it('ids: mppkit and mppx compute the same id and accept each other\'s (1,000 runs)', async () => {
    const ring = ChallengeId.keyRing([SECRET])
    await fc.assert(
      fc.asyncProperty(fieldsArb, async ({ id: _id, opaque, ...fields }) => {
        const shape: MppxShape = { ...fields, ...(opaque && { meta: opaque }) }
        const fromMppx = mppxIssue(shape)
        const fromMppkit = await ring.issue({ ...fields, ...(opaque && { opaque }) })
        expect(fromMppkit.id).toBe(fromMppx.id)
        expect(fromMppkit.request).toBe(PaymentRequest.serialize(fromMppx.request))
        expect(await ring.verify(mppxAsWire(fromMppx))).toBe(true)
        expect(MppxChallenge.verify(MppxChallenge.deserialize(Challenge.serialize(fromMppkit)), { secretKey: SECRET })).toBe(true)
      }),
      { numRuns: 1000 },
    )
  })
})
