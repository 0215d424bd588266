/**
 * The Store contract (src/server/Store.ts), one suite every store runs. A harness gives
 * a fresh, empty store and a way to let time pass: an injected clock for stores that
 * take one (memory), real waiting for those that keep their own time (Redis PX).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { Store } from '../../src/server/Store.js'

export type StoreHarness = {
  store: Store
  /**
   * Lets at least `ms` milliseconds pass for the store. Stores with their own clock
   * may still need a moment after this before an expiry shows; the suite polls for
   * it with a bounded loop rather than sleeping longer.
   */
  advance(ms: number): Promise<void>
  cleanup(): Promise<void>
}

/** A TTL that outlives any test. */
const LONG = 60_000
/** A TTL the suite waits out. Short, because real-time stores really wait for it. */
const SHORT = 50
/** How long an expiry may lag behind `advance` before the suite calls it a failure. */
const EXPIRY_GRACE_MS = 2_000

export function describeStoreContract(name: string, makeStore: () => Promise<StoreHarness>): void {
  describe(`Store contract: ${name}`, () => {
    let harness: StoreHarness
    let store: Store
    beforeEach(async () => {
      harness = await makeStore()
      store = harness.store
    })
    afterEach(async () => {
      await harness?.cleanup()
    })

    /** Polls `read` until it gives `expected`, for at most EXPIRY_GRACE_MS. */
    async function eventually<T>(read: () => Promise<T>, expected: T): Promise<void> {
      const deadline = Date.now() + EXPIRY_GRACE_MS
      for (let delay = 2; ; delay = Math.min(delay * 2, 50)) {
        const value = await read()
        if (Object.is(value, expected)) return
        if (Date.now() >= deadline) {
          expect(value, `still not ${String(expected)} ${EXPIRY_GRACE_MS} ms after the TTL`).toBe(expected)
          return
        }
        await new Promise((resolve) => setTimeout(resolve, delay))
      }
    }

    describe('putIfAbsent', () => {
      it('sets an absent key and returns undefined', async () => {
        expect(await store.putIfAbsent('k', 'first', LONG)).toBeUndefined()
        expect(await store.get('k')).toBe('first')
      })

      it('leaves a present key alone and returns the value already there', async () => {
        await store.putIfAbsent('k', 'first', LONG)
        expect(await store.putIfAbsent('k', 'second', LONG)).toBe('first')
        expect(await store.putIfAbsent('k', 'third', LONG)).toBe('first')
        expect(await store.get('k')).toBe('first')
      })

      it('returns the value even when it equals the one offered', async () => {
        await store.putIfAbsent('k', 'same', LONG)
        expect(await store.putIfAbsent('k', 'same', LONG)).toBe('same')
      })

      it('a claim with an empty value still holds (returns "", not undefined)', async () => {
        expect(await store.putIfAbsent('k', '', LONG)).toBeUndefined()
        expect(await store.putIfAbsent('k', 'x', LONG)).toBe('')
        expect(await store.get('k')).toBe('')
      })

      it('does not extend the TTL of the value already there', async () => {
        await store.putIfAbsent('k', 'first', SHORT)
        expect(await store.putIfAbsent('k', 'second', LONG)).toBe('first')
        await harness.advance(SHORT + 1)
        await eventually(() => store.get('k'), undefined)
      })

      it('claims a key again once its value expired', async () => {
        expect(await store.putIfAbsent('k', 'first', SHORT)).toBeUndefined()
        await harness.advance(SHORT + 1)
        await eventually(() => store.get('k'), undefined)
        expect(await store.putIfAbsent('k', 'second', LONG)).toBeUndefined()
        expect(await store.get('k')).toBe('second')
      })

      it('claims a key again after delete', async () => {
        await store.putIfAbsent('k', 'first', LONG)
        await store.delete('k')
        expect(await store.putIfAbsent('k', 'second', LONG)).toBeUndefined()
        expect(await store.get('k')).toBe('second')
      })

      it('1,000 concurrent claims of one key: exactly one wins, every other sees its value', async () => {
        const results = await Promise.all(Array.from({ length: 1000 }, (_, i) => store.putIfAbsent('race', `v${i}`, LONG)))
        const winners = results.flatMap((result, i) => (result === undefined ? [i] : []))
        expect(winners).toHaveLength(1)
        const winner = `v${winners[0]}`
        expect(results.filter((result) => result !== undefined).every((result) => result === winner)).toBe(true)
        expect(await store.get('race')).toBe(winner)
      })

      it('concurrent claims of 200 different keys all win', async () => {
        const results = await Promise.all(Array.from({ length: 200 }, (_, i) => store.putIfAbsent(`key-${i}`, `v${i}`, LONG)))
        expect(results.every((result) => result === undefined)).toBe(true)
        const values = await Promise.all(Array.from({ length: 200 }, (_, i) => store.get(`key-${i}`)))
        expect(values).toEqual(Array.from({ length: 200 }, (_, i) => `v${i}`))
      })
    })

    describe('get / set / delete', () => {
      it('get of an absent key is undefined', async () => {
        expect(await store.get('missing')).toBeUndefined()
      })

      it('set then get', async () => {
        await store.set('k', 'v', LONG)
        expect(await store.get('k')).toBe('v')
      })

      it('set replaces a value, whether it came from set or putIfAbsent', async () => {
        await store.set('k', 'one', LONG)
        await store.set('k', 'two', LONG)
        expect(await store.get('k')).toBe('two')
        await store.putIfAbsent('c', 'claimed', LONG)
        await store.set('c', 'replaced', LONG)
        expect(await store.get('c')).toBe('replaced')
        expect(await store.putIfAbsent('c', 'again', LONG)).toBe('replaced')
      })

      it('set replaces the TTL too: a long value set short expires', async () => {
        await store.set('k', 'long', LONG)
        await store.set('k', 'short', SHORT)
        await harness.advance(SHORT + 1)
        await eventually(() => store.get('k'), undefined)
      })

      it('a value set with a TTL expires; one set with a long TTL does not', async () => {
        await store.set('short', 'v', SHORT)
        await store.set('long', 'v', LONG)
        expect(await store.get('short')).toBe('v')
        await harness.advance(SHORT + 1)
        await eventually(() => store.get('short'), undefined)
        expect(await store.get('long')).toBe('v')
      })

      it('delete removes a value; deleting an absent key is a no-op', async () => {
        await store.set('k', 'v', LONG)
        await store.delete('k')
        expect(await store.get('k')).toBeUndefined()
        await expect(store.delete('k')).resolves.toBeUndefined()
        await expect(store.delete('never-set')).resolves.toBeUndefined()
      })

      it('values round-trip exactly: unicode, JSON, large', async () => {
        const values = ['ünïcødé ✓ 🚀', JSON.stringify({ status: 200, body: 'eyJ9', headers: [['a', 'b']] }), 'x'.repeat(256 * 1024), ' spaced \r\n ']
        for (const [i, value] of values.entries()) {
          await store.set(`v${i}`, value, LONG)
          expect(await store.get(`v${i}`)).toBe(value)
        }
      })
    })

    describe('key isolation', () => {
      it('keys are independent, including prefixes of one another and the key shapes the pipeline uses', async () => {
        const keys = [
          'a',
          'ab',
          'a:b',
          'A',
          'challenge:abc',
          'challenge:abcd',
          'proof:tempo:0xabc',
          'proof:stripe:0xabc',
          'idem:abc:key-1',
          'idem:abc:key-2',
          'ключ ✓',
        ]
        for (const key of keys) expect(await store.putIfAbsent(key, `value of ${key}`, LONG)).toBeUndefined()
        for (const key of keys) expect(await store.get(key)).toBe(`value of ${key}`)
        await store.delete('a')
        await store.set('ab', 'changed', LONG)
        expect(await store.get('a')).toBeUndefined()
        for (const key of keys.filter((k) => k !== 'a' && k !== 'ab')) expect(await store.get(key)).toBe(`value of ${key}`)
      })

      it('expiry of one key does not touch another', async () => {
        await store.putIfAbsent('challenge:1', 'short', SHORT)
        await store.putIfAbsent('challenge:2', 'long', LONG)
        await harness.advance(SHORT + 1)
        await eventually(() => store.get('challenge:1'), undefined)
        expect(await store.putIfAbsent('challenge:2', 'other', LONG)).toBe('long')
      })
    })
  })
}
