import { createHmac, randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import * as Challenge from '../../src/Challenge.js'
import * as ChallengeId from '../../src/ChallengeId.js'
import { MppError } from '../../src/errors.js'

/** Independent HMAC-SHA256 per draft §5.1.3 with node:crypto. */
function hmacId(secret: string | Uint8Array, slots: Array<string | undefined>): string {
  expect(slots).toHaveLength(7)
  return createHmac('sha256', secret)
    .update(slots.map((s) => s ?? '').join('|'), 'utf8')
    .digest('base64url')
}

// digest §1.6 self-computed vectors (secret = UTF-8 "test-secret")
const REQUEST_JSON =
  '{"amount":"1000000","currency":"0x20c0000000000000000000000000000000000000","methodDetails":{"chainId":42431},"recipient":"0x742d35cc6634c0532925a3b844bc9e7595f8fe00"}'
const REQUEST =
  'eyJhbW91bnQiOiIxMDAwMDAwIiwiY3VycmVuY3kiOiIweDIwYzAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAiLCJtZXRob2REZXRhaWxzIjp7ImNoYWluSWQiOjQyNDMxfSwicmVjaXBpZW50IjoiMHg3NDJkMzVjYzY2MzRjMDUzMjkyNWEzYjg0NGJjOWU3NTk1ZjhmZTAwIn0'
const BASE = { realm: 'api.example.com', method: 'tempo', intent: 'charge', request: REQUEST }
const VECTOR_A = { ...BASE, expires: '2025-01-15T12:05:00Z' }
const VECTOR_B = {
  ...VECTOR_A,
  digest: 'sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:',
  opaque: Buffer.from('{"pi":"pi_123"}').toString('base64url'),
}
const VECTOR_C = { ...BASE }

const SECRET = 'k'.repeat(32)
const OLD = new Uint8Array(randomBytes(32))
const NEW = new Uint8Array(randomBytes(48))

async function rejectsWith(promiseOrFn: Promise<unknown> | (() => unknown), code: string): Promise<MppError> {
  let error: unknown
  try {
    await (typeof promiseOrFn === 'function' ? promiseOrFn() : promiseOrFn)
  } catch (e) {
    error = e
  }
  expect(error).toBeInstanceOf(MppError)
  expect((error as MppError).code).toBe(code)
  return error as MppError
}

describe('ChallengeId vectors (digest §1.6; draft §5.1.3.1)', () => {
  it('the vector request is base64url(JCS(request)) without padding', () => {
    expect(Buffer.from(REQUEST_JSON).toString('base64url')).toBe(REQUEST)
    expect(Challenge.from({ id: 'x', ...BASE, request: JSON.parse(REQUEST_JSON) }).request).toBe(REQUEST)
  })

  it('vector A (expires only) -> EzjN7iiiX36xH3i79S8P08h0ir2jTrAcbI0If54ui-o', async () => {
    expect(await ChallengeId.compute('test-secret', VECTOR_A)).toBe('EzjN7iiiX36xH3i79S8P08h0ir2jTrAcbI0If54ui-o')
  })

  it('vector B (expires, digest, opaque) -> 89yKEu1yzRI0HBMFkYoiyYeNgc8bQa9eUCBbR5ViA7Q', async () => {
    expect(await ChallengeId.compute('test-secret', VECTOR_B)).toBe('89yKEu1yzRI0HBMFkYoiyYeNgc8bQa9eUCBbR5ViA7Q')
  })

  it('vector C (no optional fields) -> ejyLMFGQ-TquS7TDnZKuqAiLY1AdlVclwA8WbXQV3U8', async () => {
    expect(await ChallengeId.compute('test-secret', VECTOR_C)).toBe('ejyLMFGQ-TquS7TDnZKuqAiLY1AdlVclwA8WbXQV3U8')
  })

  it('the vectors agree with node:crypto HMAC over the seven slots', async () => {
    for (const v of [VECTOR_A, VECTOR_B, VECTOR_C] as ChallengeId.Binding[])
      expect(await ChallengeId.compute('test-secret', v)).toBe(
        hmacId('test-secret', [v.realm, v.method, v.intent, v.request, v.expires, v.digest, v.opaque]),
      )
  })

  it('input() always has seven slots; absent optionals are empty', () => {
    expect(ChallengeId.input(VECTOR_C)).toBe(`api.example.com|tempo|charge|${REQUEST}|||`)
    expect(ChallengeId.input({ ...BASE, digest: 'd' })).toBe(`api.example.com|tempo|charge|${REQUEST}||d|`)
    expect(ChallengeId.input({ ...BASE, opaque: 'o' })).toBe(`api.example.com|tempo|charge|${REQUEST}|||o`)
    expect(ChallengeId.input(VECTOR_B).split('|')).toEqual([
      'api.example.com',
      'tempo',
      'charge',
      REQUEST,
      VECTOR_B.expires,
      VECTOR_B.digest,
      VECTOR_B.opaque,
    ])
  })

  it('expires-only and digest-only bindings differ (fixed positional slots)', async () => {
    expect(await ChallengeId.compute('test-secret', { ...BASE, expires: 'x' })).not.toBe(
      await ChallengeId.compute('test-secret', { ...BASE, digest: 'x' }),
    )
  })

  it('compute takes secret bytes, and a string secret as its UTF-8 bytes', async () => {
    expect(await ChallengeId.compute(new TextEncoder().encode('test-secret'), VECTOR_A)).toBe('EzjN7iiiX36xH3i79S8P08h0ir2jTrAcbI0If54ui-o')
    expect(await ChallengeId.compute('sécret-ü', VECTOR_A)).toBe(hmacId(Buffer.from('sécret-ü', 'utf8'), [...Object.values(VECTOR_A), undefined, undefined]))
    expect(await ChallengeId.compute(OLD, VECTOR_A)).toBe(hmacId(OLD, [...Object.values(VECTOR_A), undefined, undefined]))
  })

  it('hashes non-ASCII realms as UTF-8', async () => {
    const binding = { ...BASE, realm: 'bücher.example' }
    expect(await ChallengeId.compute(SECRET, binding)).toBe(hmacId(SECRET, [binding.realm, 'tempo', 'charge', REQUEST, '', '', '']))
  })
})

describe('ChallengeId.keyRing', () => {
  it('refuses an empty ring', async () => {
    await rejectsWith(() => ChallengeId.keyRing([]), 'secret-invalid')
  })

  it('refuses secrets shorter than 32 bytes, counting bytes not characters', async () => {
    expect(ChallengeId.MIN_SECRET_BYTES).toBe(32)
    await rejectsWith(() => ChallengeId.keyRing(['test-secret']), 'secret-invalid')
    await rejectsWith(() => ChallengeId.keyRing(['x'.repeat(31)]), 'secret-invalid')
    await rejectsWith(() => ChallengeId.keyRing([new Uint8Array(31)]), 'secret-invalid')
    await rejectsWith(() => ChallengeId.keyRing([SECRET, 'short']), 'secret-invalid')
    await rejectsWith(() => ChallengeId.keyRing(['']), 'secret-invalid')
    expect(() => ChallengeId.keyRing(['x'.repeat(32)])).not.toThrow()
    expect(() => ChallengeId.keyRing([new Uint8Array(32)])).not.toThrow()
    // 11 characters of 3 UTF-8 bytes each = 33 bytes
    expect(() => ChallengeId.keyRing(['€'.repeat(11)])).not.toThrow()
    await rejectsWith(() => ChallengeId.keyRing(['€'.repeat(10)]), 'secret-invalid')
  })

  it('key ring errors never contain the secret', () => {
    const secret = 'whsec_SECRETMARKER'
    let error: unknown
    try {
      ChallengeId.keyRing([SECRET, secret])
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(MppError)
    expect(String((error as Error).message)).not.toContain(secret)
    expect(String((error as Error).message)).not.toContain('SECRETMARKER')
    expect(JSON.stringify(error)).not.toContain('SECRETMARKER')
  })

  it('sign uses the first (current) secret', async () => {
    const ring = ChallengeId.keyRing([NEW, OLD])
    expect(await ring.sign(VECTOR_B)).toBe(await ChallengeId.compute(NEW, VECTOR_B))
    expect(await ring.sign(VECTOR_B)).toBe(hmacId(NEW, [...Object.values(VECTOR_B)]))
  })

  it('issue builds a challenge whose id is compute() over its fields and that verifies', async () => {
    const ring = ChallengeId.keyRing([SECRET])
    const challenge = await ring.issue({
      realm: 'api.example.com',
      method: 'tempo',
      intent: 'charge',
      request: JSON.parse(REQUEST_JSON),
      expires: new Date(Date.UTC(2025, 0, 15, 12, 5, 0)),
      digest: VECTOR_B.digest,
      opaque: { pi: 'pi_123' },
      description: 'one call',
    })
    expect(challenge).toMatchObject({ ...VECTOR_B, description: 'one call' })
    expect(challenge.id).toBe(await ChallengeId.compute(SECRET, challenge))
    expect(challenge.id).toBe(hmacId(SECRET, [...Object.values(VECTOR_B)]))
    expect(await ring.verify(challenge)).toBe(true)
    expect(Challenge.validate(challenge)).toBe(challenge)
    // survives the wire
    expect(await ring.verify(Challenge.parse(Challenge.serialize(challenge)))).toBe(true)
  })

  it('issue validates its fields like Challenge.from', async () => {
    const ring = ChallengeId.keyRing([SECRET])
    await rejectsWith(ring.issue({ realm: 'r', method: 'Tempo', intent: 'charge', request: {} }), 'method-invalid')
  })

  describe('verify', () => {
    const ring = ChallengeId.keyRing([SECRET])
    let issued: Challenge.Challenge
    const issue = async () =>
      (issued ??= await ring.issue({
        realm: 'api.example.com',
        method: 'tempo',
        intent: 'charge',
        request: { amount: '1', currency: 'usd' },
        expires: '2025-01-15T12:05:00Z',
        digest: VECTOR_B.digest,
        opaque: { pi: 'pi_123' },
        description: 'shown to the payer',
      }))

    it('accepts the untouched challenge', async () => {
      expect(await ring.verify(await issue())).toBe(true)
    })

    const tampered: Array<[string, (c: Challenge.Challenge) => Record<string, unknown>]> = [
      ['realm changed', (c) => ({ ...c, realm: 'api.example.org' })],
      ['method changed', (c) => ({ ...c, method: 'stripe' })],
      ['intent changed', (c) => ({ ...c, intent: 'session' })],
      ['request amount changed (digest §8 item 28)', (c) => ({ ...c, request: Buffer.from('{"amount":"100","currency":"usd"}').toString('base64url') })],
      ['request re-encoded with another key order', (c) => ({ ...c, request: Buffer.from('{"currency":"usd","amount":"1"}').toString('base64url') })],
      ['expires extended (item 29)', (c) => ({ ...c, expires: '2025-01-15T13:05:00Z' })],
      ['expires same instant, other spelling', (c) => ({ ...c, expires: '2025-01-15T13:05:00+01:00' })],
      ['expires removed', (c) => ({ ...c, expires: undefined })],
      ['digest changed', (c) => ({ ...c, digest: 'sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:' })],
      ['digest removed (item 31)', (c) => ({ ...c, digest: undefined })],
      ['opaque altered (item 30)', (c) => ({ ...c, opaque: Buffer.from('{"pi":"pi_999"}').toString('base64url') })],
      ['opaque removed (item 30)', (c) => ({ ...c, opaque: undefined })],
      ['id of another challenge', (c) => ({ ...c, id: 'EzjN7iiiX36xH3i79S8P08h0ir2jTrAcbI0If54ui-o' })],
      ['id bit flipped', (c) => ({ ...c, id: (c.id[0] === 'A' ? 'B' : 'A') + c.id.slice(1) })],
    ]
    for (const [name, change] of tampered) {
      it(`rejects: ${name}`, async () => {
        expect(await ring.verify(change(await issue()) as unknown as Challenge.Challenge)).toBe(false)
      })
    }

    it('an optional field added to a challenge issued without it fails', async () => {
      const bare = await ring.issue({ realm: 'r', method: 'tempo', intent: 'charge', request: { a: '1' } })
      expect(await ring.verify(bare)).toBe(true)
      expect(await ring.verify({ ...bare, expires: '2099-01-01T00:00:00Z' })).toBe(false)
      expect(await ring.verify({ ...bare, digest: VECTOR_B.digest })).toBe(false)
      expect(await ring.verify({ ...bare, opaque: VECTOR_B.opaque })).toBe(false)
    })

    it('digest §8 item 32: description is not bound (changed or removed still verifies)', async () => {
      const c = await issue()
      expect(await ring.verify({ ...c, description: 'something else entirely' } as Challenge.Challenge)).toBe(true)
      const { description: _removed, ...without } = c
      expect(await ring.verify(without)).toBe(true)
    })

    it('extensions are not bound', async () => {
      expect(await ring.verify({ ...(await issue()), extensions: { x: 'y' } } as Challenge.Challenge)).toBe(true)
    })

    const malformed: Array<[string, string]> = [
      ['empty', ''],
      ['not base64url', '!!!!'],
      ['standard base64 with "+" "/"', '47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU'],
      ['padded', 'EzjN7iiiX36xH3i79S8P08h0ir2jTrAcbI0If54ui-o='],
      ['length 1 mod 4', 'AAAAA'],
      ['non-canonical trailing bits', 'EzjN7iiiX36xH3i79S8P08h0ir2jTrAcbI0If54ui-p'],
      ['31 bytes', Buffer.alloc(31, 7).toString('base64url')],
      ['33 bytes', Buffer.alloc(33, 7).toString('base64url')],
      ['64 bytes', Buffer.alloc(64, 7).toString('base64url')],
      ['non-ASCII', 'é'.repeat(43)],
      ['whitespace', ' EzjN7iiiX36xH3i79S8P08h0ir2jTrAcbI0If54ui-o'],
    ]
    for (const [name, id] of malformed) {
      it(`a malformed id (${name}) is false, not an exception`, async () => {
        await expect(ring.verify({ ...(await issue()), id })).resolves.toBe(false)
      })
    }

    it('the right MAC in another spelling (standard base64) is refused', async () => {
      const c = await issue()
      const standard = Buffer.from(c.id, 'base64url').toString('base64').replace(/=+$/, '')
      expect(standard).not.toBe(c.id) // fixture: this id contains "_"
      expect(await ring.verify({ ...c, id: standard })).toBe(false)
      expect(await ring.verify({ ...c, id: standard + '=' })).toBe(false)
    })
  })

  describe('rotation (digest §1.6; items 33-35)', () => {
    it('[new, old] verifies ids signed by old and by new', async () => {
      const old = ChallengeId.keyRing([OLD])
      const rotated = ChallengeId.keyRing([NEW, OLD])
      const byOld = await old.issue({ ...VECTOR_C, request: { a: '1' } })
      const byNew = await rotated.issue({ ...VECTOR_C, request: { a: '1' } })
      expect(byNew.id).not.toBe(byOld.id)
      expect(await rotated.verify(byOld)).toBe(true)
      expect(await rotated.verify(byNew)).toBe(true)
    })

    it('[new] alone no longer verifies ids signed by old', async () => {
      const byOld = await ChallengeId.keyRing([OLD]).issue({ ...VECTOR_C, request: { a: '1' } })
      expect(await ChallengeId.keyRing([NEW]).verify(byOld)).toBe(false)
    })

    it('another server\'s secret does not verify', async () => {
      const ours = ChallengeId.keyRing([NEW, OLD])
      const theirs = await ChallengeId.keyRing([new Uint8Array(randomBytes(32))]).issue({ ...VECTOR_C, request: { a: '1' } })
      expect(await ours.verify(theirs)).toBe(false)
    })

    it('the old secret position in the ring does not matter for verification', async () => {
      const byOld = await ChallengeId.keyRing([OLD]).issue({ ...VECTOR_C, request: { a: '1' } })
      const ring = ChallengeId.keyRing([NEW, new Uint8Array(randomBytes(32)), OLD])
      expect(await ring.verify(byOld)).toBe(true)
    })
  })
})
