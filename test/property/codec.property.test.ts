/**
 * Property tests for the wire codec: round trips (parse ∘ serialize = id) and robustness
 * (arbitrary or mutated input either parses or throws an MppError, nothing else).
 */
import { isDeepStrictEqual } from 'node:util'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import * as AcceptPayment from '../../src/AcceptPayment.js'
import * as Challenge from '../../src/Challenge.js'
import * as Credential from '../../src/Credential.js'
import { MppError } from '../../src/errors.js'
import * as Receipt from '../../src/Receipt.js'
import * as Base64url from '../../src/internal/base64url.js'
import { canonicalize } from '../../src/internal/jcs.js'

const NUM_RUNS = 10_000
const params = { numRuns: NUM_RUNS }

// ---------------------------------------------------------------------------------------
// arbitraries

const b64url = (text: string) => Buffer.from(text, 'utf8').toString('base64url')
/** JSON-stable copy: what survives JSON text (drops -0, undefined). */
const jsonCopy = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T

const KNOWN = new Set(['id', 'realm', 'method', 'intent', 'request', 'expires', 'digest', 'opaque', 'description'])

/** Printable ASCII plus HTAB: everything a core parameter may carry on the wire. */
const asciiChar = fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c))
const coreText = fc.string({ unit: fc.oneof(asciiChar, fc.constantFrom('"', '\\', ',', '=', '\t', ' ')), minLength: 1, maxLength: 40 })

const tricky = fc.constantFrom('"', '\\', ',', '=', ';', ' ', '\t', 'é', '€', '日', '😀', '\u00ff', '\u0080', '\u00a0', '\u00c3', '\ufeff')
/** Free text (description, extension values): any Unicode except what a header cannot carry. */
const freeText = fc
  .string({ unit: fc.oneof({ weight: 2, arbitrary: tricky }, { weight: 3, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) }), maxLength: 40 })
  .map((s) => s.replace(/[\u0000-\u0008\u000a-\u001f\u007f]/g, '?'))

const method = fc.stringMatching(/^[a-z]{1,12}$/)
const intent = fc.stringMatching(/^[A-Za-z0-9-]{1,16}$/)
const extensionName = fc.stringMatching(/^[a-z0-9!#$%&'*+.^_`|~-]{1,12}$/).filter((n) => !KNOWN.has(n) && n !== '__proto__')
const jsonObject = fc.dictionary(fc.string({ unit: 'binary', maxLength: 8 }), fc.jsonValue({ maxDepth: 2, stringUnit: 'binary' }), { maxKeys: 5 })
const request = jsonObject.map((o) => b64url(JSON.stringify(o)))
const rfc3339 = fc.oneof(
  fc.integer({ min: 0, max: 253_402_300_799_999 }).map((ms) => new Date(ms).toISOString()),
  fc
    .tuple(fc.integer({ min: 0, max: 253_402_300_799 }), fc.integer({ min: -23, max: 23 }), fc.integer({ min: 0, max: 59 }))
    .map(([s, h, m]) => {
      const iso = new Date(s * 1000).toISOString().slice(0, 19)
      return `${iso}${h < 0 ? '-' : '+'}${String(Math.abs(h)).padStart(2, '0')}:${String(m).padStart(2, '0')}`
    }),
)
const digest = fc
  .tuple(fc.constantFrom('sha-256', 'sha-512'), fc.uint8Array({ minLength: 32, maxLength: 64 }))
  .map(([alg, bytes]) => `${alg}=:${Buffer.from(bytes).toString('base64')}:`)
const opaque = fc.dictionary(fc.string({ unit: 'binary', maxLength: 8 }), fc.string({ unit: 'binary', maxLength: 12 }), { maxKeys: 4 }).map((o) => b64url(JSON.stringify(o)))

const challengeArb: fc.Arbitrary<Challenge.Challenge> = fc
  .record(
  {
    id: coreText,
    realm: coreText,
    method,
    intent,
    request,
    expires: rfc3339,
    digest,
    opaque,
    description: freeText,
    extensions: fc.dictionary(extensionName, freeText, { minKeys: 1, maxKeys: 3 }),
  },
  { requiredKeys: ['id', 'realm', 'method', 'intent', 'request'] },
  )
  // plain objects, as parse returns them (fast-check records have a null prototype)
  .map((c) => ({ ...c, ...(c.extensions && { extensions: { ...c.extensions } }) }))

const anyText = fc.string({ unit: 'binary', maxLength: 30 })
// The echo obeys the challenge field rules (Credential.parse applies Challenge.validate to it).
const echoArb: fc.Arbitrary<Credential.ChallengeEcho> = fc.record(
  {
    id: fc.string({ unit: 'binary', minLength: 1, maxLength: 43 }),
    realm: fc.string({ unit: 'binary', minLength: 1, maxLength: 20 }),
    method,
    intent,
    request,
    expires: rfc3339,
    digest,
    opaque,
    description: anyText,
  },
  { requiredKeys: ['id', 'realm', 'method', 'intent', 'request'] },
)
const credentialArb: fc.Arbitrary<Credential.Credential> = fc
  .record({ challenge: echoArb, payload: jsonObject, source: anyText }, { requiredKeys: ['challenge', 'payload'] })
  .map(jsonCopy)

const RECEIPT_CORE = new Set(['status', 'method', 'timestamp', 'reference'])
const receiptArb: fc.Arbitrary<Receipt.Receipt> = fc
  .tuple(method, anyText, rfc3339, fc.dictionary(fc.string({ unit: 'binary', maxLength: 10 }).filter((k) => !RECEIPT_CORE.has(k)), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 }))
  .map(([m, reference, timestamp, extra]) => jsonCopy({ ...extra, status: 'success' as const, method: m, timestamp, reference }))

const rangeArb: fc.Arbitrary<AcceptPayment.Range> = fc
  .record({
    method: fc.oneof(fc.constant('*'), method),
    intent: fc.oneof(fc.constant('*'), intent),
    q: fc.integer({ min: 0, max: 1000 }).map((k) => k / 1000),
  })
  .map((r) => ({ ...r }))

// mutations of a valid header: insert / delete / replace characters, truncate
const mutationChar = fc.oneof(
  tricky,
  fc.constantFrom('\r', '\n', '\u0000', '\u007f', '\ud800', '\udc00', 'A', '-', '_', '+', '/', '{', '}', '[', ':', 'P'),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
)
type Mutation = { kind: 'insert' | 'delete' | 'replace' | 'truncate'; at: number; ch: string }
const mutations = fc.array(
  fc.record({ kind: fc.constantFrom('insert', 'delete', 'replace', 'truncate'), at: fc.nat(), ch: mutationChar }) as fc.Arbitrary<Mutation>,
  { minLength: 1, maxLength: 4 },
)
function mutate(text: string, ops: readonly Mutation[]): string {
  let s = text
  for (const op of ops) {
    const at = op.at % (s.length + 1)
    if (op.kind === 'insert') s = s.slice(0, at) + op.ch + s.slice(at)
    else if (op.kind === 'delete') s = s.slice(0, at) + s.slice(at + 1)
    else if (op.kind === 'replace') s = s.slice(0, at) + op.ch + s.slice(at + 1)
    else s = s.slice(0, at)
  }
  return s
}

/** Deep strict equality (prototypes included); falls back to expect() only to print a diff. */
function same(actual: unknown, expected: unknown): void {
  if (!isDeepStrictEqual(actual, expected)) expect(actual).toStrictEqual(expected)
}

/** Runs fn; an MppError is fine, any other exception fails the property. */
function onlyMppErrors(fn: () => unknown): void {
  try {
    fn()
  } catch (error) {
    if (!(error instanceof MppError)) throw error
  }
}

// An independent RFC 8785 reference: explicit UTF-16 code-unit comparison, ES number form.
function compareUnits(a: string, b: string): number {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) {
    const d = a.charCodeAt(i) - b.charCodeAt(i)
    if (d !== 0) return d
  }
  return a.length - b.length
}
function referenceJcs(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value)
  if (Array.isArray(value)) return '[' + value.map(referenceJcs).join(',') + ']'
  const record = value as Record<string, unknown>
  return (
    '{' +
    Object.keys(record)
      .sort(compareUnits)
      .map((key) => JSON.stringify(key) + ':' + referenceJcs(record[key]))
      .join(',') +
    '}'
  )
}

// ---------------------------------------------------------------------------------------

describe('round trips: parse(serialize(x)) deep-equals x', () => {
  it('Challenge (quotes, backslashes, non-ASCII descriptions, extensions, optional fields)', () => {
    fc.assert(
      fc.property(challengeArb, (challenge) => {
        same(Challenge.parse(Challenge.serialize(challenge)), challenge)
      }),
      params,
    )
  })

  it('Challenge lists: one ", "-joined value or an array of lines, order kept, other schemes skipped', () => {
    const other = fc.constantFrom('Bearer realm="x", error="invalid_token"', 'Basic dGVzdA==', 'Negotiate', 'Digest realm="d", nonce="n, m"')
    fc.assert(
      fc.property(fc.array(fc.oneof(challengeArb, other), { minLength: 1, maxLength: 4 }), (items) => {
        const lines = items.map((item) => (typeof item === 'string' ? item : Challenge.serialize(item)))
        const expected = items.filter((item): item is Challenge.Challenge => typeof item !== 'string')
        same(Challenge.parseList(lines.join(', ')), expected)
        same(Challenge.parseList(lines), expected)
      }),
      params,
    )
  })

  it('Credential', () => {
    fc.assert(
      fc.property(credentialArb, (credential) => {
        const header = Credential.serialize(credential)
        expect(header).toMatch(/^Payment [A-Za-z0-9_-]+$/)
        same(Credential.parse(header), credential)
        expect(Credential.extract(header)).toBe(header)
      }),
      params,
    )
  })

  it('Receipt', () => {
    fc.assert(
      fc.property(receiptArb, (receipt) => {
        same(Receipt.parse(Receipt.serialize(receipt)), receipt)
      }),
      params,
    )
  })

  it('AcceptPayment ranges (q with up to 3 decimals)', () => {
    fc.assert(
      fc.property(fc.array(rangeArb, { minLength: 1, maxLength: 6 }), (ranges) => {
        same(AcceptPayment.parse(AcceptPayment.serialize(ranges)), ranges)
      }),
      params,
    )
  })

  it('base64url: encode agrees with Buffer and decode inverts it', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), (bytes) => {
        const text = Base64url.encode(bytes)
        expect(text).toBe(Buffer.from(bytes).toString('base64url'))
        expect(Base64url.decode(text)).toEqual(bytes)
      }),
      params,
    )
  })

  it('base64url: decode accepts only canonical text (encode(decode(s)) === s) and throws base64url-invalid otherwise', () => {
    const alphabetish = fc.string({ unit: fc.constantFrom(...'ABCDQRSgwxyz0189-_=+/ .'.split('')), maxLength: 16 })
    fc.assert(
      fc.property(alphabetish, (text) => {
        let bytes: Uint8Array
        try {
          bytes = Base64url.decode(text)
        } catch (error) {
          expect(error).toBeInstanceOf(MppError)
          expect((error as MppError).code).toBe('base64url-invalid')
          return
        }
        expect(Base64url.encode(bytes)).toBe(text)
      }),
      params,
    )
  })

  it('JCS is idempotent: canonicalize(JSON.parse(canonicalize(x))) === canonicalize(x)', () => {
    fc.assert(
      fc.property(fc.jsonValue({ stringUnit: 'binary' }), (value) => {
        const once = canonicalize(value)
        expect(canonicalize(JSON.parse(once))).toBe(once)
      }),
      params,
    )
  })

  it('JCS orders members by UTF-16 code units at every depth (independent reference)', () => {
    const keys = fc.string({ unit: fc.oneof(fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }), fc.constantFrom('a', 'b', '1', '10', '\u00e9', '\ufb33', '😀')), maxLength: 4 })
    const value = fc.letrec((tie) => ({
      node: fc.oneof({ depthSize: 'small' }, fc.jsonValue({ maxDepth: 0, stringUnit: 'binary' }), tie('object'), fc.array(tie('node'), { maxLength: 3 })),
      object: fc.dictionary(keys, tie('node'), { maxKeys: 5 }),
    }))
    fc.assert(
      fc.property(value.object, (object) => {
        expect(canonicalize(object)).toBe(referenceJcs(object))
      }),
      params,
    )
  })
})

describe('robustness: any input either parses or throws an MppError', () => {
  const offers = [
    { method: 'tempo', intent: 'charge' },
    { method: 'stripe', intent: 'session' },
  ]

  function exerciseAll(text: string): void {
    onlyMppErrors(() => Challenge.parseList(text))
    onlyMppErrors(() => Challenge.parse(text))
    const settled = Challenge.parseListSettled([text, text])
    for (const error of settled.errors) if (!(error instanceof MppError)) throw error
    onlyMppErrors(() => Credential.parse(text))
    onlyMppErrors(() => Credential.parse('Payment ' + text))
    onlyMppErrors(() => Credential.extract(text))
    onlyMppErrors(() => Receipt.parse(text))
    onlyMppErrors(() => AcceptPayment.parse(text))
    expect(AcceptPayment.rank(offers, text).length).toBeGreaterThan(0)
  }

  it('random strings', () => {
    const text = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 80 }),
      fc.string({ unit: fc.oneof(asciiChar, tricky, mutationChar), maxLength: 80 }),
      fc.string({ unit: fc.constantFrom(...'Payment id=",\\ realm tempo/*;q=0.5 eyJ9-_:'.split('')), maxLength: 80 }),
    )
    fc.assert(fc.property(text, (s) => exerciseAll(s)), params)
  })

  it('mutations of valid challenge headers', () => {
    fc.assert(
      fc.property(fc.array(challengeArb, { minLength: 1, maxLength: 2 }), mutations, (challenges, ops) => {
        const text = mutate(Challenge.serializeList(challenges), ops)
        onlyMppErrors(() => Challenge.parseList(text))
        const settled = Challenge.parseListSettled(text)
        for (const error of settled.errors) if (!(error instanceof MppError)) throw error
        // whatever parses is a valid challenge that serializes (or is refused) cleanly
        for (const challenge of settled.challenges) {
          expect(Challenge.validate(challenge)).toBe(challenge)
          onlyMppErrors(() => Challenge.serialize(challenge))
        }
      }),
      params,
    )
  })

  it('mutations of valid credentials, in the base64url text and in the JSON before encoding', () => {
    fc.assert(
      fc.property(credentialArb, mutations, fc.boolean(), (credential, ops, inJson) => {
        const header = inJson ? 'Payment ' + b64url(mutate(JSON.stringify(credential), ops)) : mutate(Credential.serialize(credential), ops)
        onlyMppErrors(() => Credential.parse(header))
        onlyMppErrors(() => Credential.extract(header))
      }),
      params,
    )
  })

  it('mutations of valid receipts, in the base64url text and in the JSON before encoding', () => {
    fc.assert(
      fc.property(receiptArb, mutations, fc.boolean(), (receipt, ops, inJson) => {
        const header = inJson ? b64url(mutate(JSON.stringify(receipt), ops)) : mutate(Receipt.serialize(receipt), ops)
        onlyMppErrors(() => Receipt.parse(header))
      }),
      params,
    )
  })

  it('mutations of valid Accept-Payment values', () => {
    fc.assert(
      fc.property(fc.array(rangeArb, { minLength: 1, maxLength: 4 }), mutations, (ranges, ops) => {
        const text = mutate(AcceptPayment.serialize(ranges), ops)
        onlyMppErrors(() => AcceptPayment.parse(text))
        expect(AcceptPayment.rank(offers, text).length).toBeGreaterThan(0)
      }),
      params,
    )
  })

  it('Challenge.validate on JSON-shaped objects (e.g. a credential echo)', () => {
    const member = fc.oneof(coreText, fc.jsonValue({ maxDepth: 1 }))
    const shaped = fc.record(
      {
        id: member,
        realm: member,
        method: fc.oneof(method, fc.jsonValue({ maxDepth: 1 })),
        intent: fc.oneof(intent, fc.jsonValue({ maxDepth: 1 })),
        request: fc.oneof(request, fc.jsonValue({ maxDepth: 1 })),
        expires: fc.oneof(rfc3339, fc.jsonValue({ maxDepth: 1 })),
        digest: fc.oneof(digest, fc.jsonValue({ maxDepth: 1 })),
        opaque: fc.oneof(opaque, fc.jsonValue({ maxDepth: 1 })),
      },
      { requiredKeys: [] },
    )
    fc.assert(
      fc.property(shaped, (value) => {
        onlyMppErrors(() => Challenge.validate(value as unknown as Challenge.Challenge))
      }),
      params,
    )
  })
})
