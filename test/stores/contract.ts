/**
 * The Store contract (src/server/Store.ts), one suite every store runs. A harness gives
 * a fresh, empty store, its clock, and a way to let time pass: an injected clock for
 * stores that take one (memory), real waiting for those that keep their own (Redis
 * `TIME`, PostgreSQL `clock_timestamp()`).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { Store } from '../../src/server/Store.js'

export type StoreHarness = {
  store: Store
  /** The store's clock (for real-time stores, this machine's clock, which they share). */
  now(): number
  /** Lets at least `ms` milliseconds pass for the store. */
  advance(ms: number): Promise<void>
  cleanup(): Promise<void>
}

/** A lifetime that outlives any test. */
const LONG = 60_000
/** A lifetime the suite waits out. Short, because real-time stores really wait for it. */
const SHORT = 250
/** How long an expiry may lag behind `advance` before the suite calls it a failure. */
const EXPIRY_GRACE_MS = 2_000

export function describeStoreContract(name: string, makeStore: () => Promise<StoreHarness>): void {
  describe(`Store contract: ${name}`, () => {
    let harness: StoreHarness
    let store: Store
    const at = (ms: number) => harness.now() + ms
    const entry = (key: string, value: string, ms = LONG) => ({ key, value, expiresAt: at(ms) })
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
          expect(value, `still not ${String(expected)} ${EXPIRY_GRACE_MS} ms after expiry`).toBe(expected)
          return
        }
        await new Promise((resolve) => setTimeout(resolve, delay))
      }
    }

    describe('create', () => {
      it('creates absent keys', async () => {
        expect(await store.create([entry('k', 'first')])).toEqual({ created: true })
        expect(await store.get('k')).toBe('first')
      })

      it('leaves a present key alone and returns the key and value already there', async () => {
        await store.create([entry('k', 'first')])
        expect(await store.create([entry('k', 'second')])).toEqual({ created: false, key: 'k', value: 'first' })
        expect(await store.get('k')).toBe('first')
      })

      it('all or none: one present key means none of the others is written', async () => {
        await store.create([entry('b', 'taken')])
        expect(await store.create([entry('a', '1'), entry('b', '2'), entry('c', '3')])).toEqual({ created: false, key: 'b', value: 'taken' })
        expect(await store.get('a')).toBeUndefined()
        expect(await store.get('c')).toBeUndefined()
        expect(await store.create([entry('a', '1'), entry('c', '3')])).toEqual({ created: true })
      })

      it('each entry keeps its own expiry', async () => {
        await store.create([entry('short', 's', SHORT), entry('long', 'l', LONG)])
        await harness.advance(SHORT + 1)
        await eventually(() => store.get('short'), undefined)
        expect(await store.get('long')).toBe('l')
      })

      it('an empty value still holds', async () => {
        await store.create([entry('k', '')])
        expect(await store.create([entry('k', 'x')])).toEqual({ created: false, key: 'k', value: '' })
      })

      it('refuses once the store clock reaches notAfter, writing nothing', async () => {
        expect(await store.create([entry('k', 'v')], { notAfter: at(-1) })).toEqual({ created: false, expired: true })
        expect(await store.get('k')).toBeUndefined()
        expect(await store.create([entry('k', 'v')], { notAfter: at(LONG) })).toEqual({ created: true })
      })

      it('notAfter is judged at the call: a later call past it is refused', async () => {
        const notAfter = at(SHORT)
        expect(await store.create([entry('a', 'v')], { notAfter })).toEqual({ created: true })
        await harness.advance(SHORT + 1)
        expect(await store.create([entry('b', 'v')], { notAfter })).toEqual({ created: false, expired: true })
      })

      it('claims a key again once its value expired', async () => {
        await store.create([entry('k', 'first', SHORT)])
        await harness.advance(SHORT + 1)
        await eventually(() => store.get('k'), undefined)
        expect(await store.create([entry('k', 'second')])).toEqual({ created: true })
        expect(await store.get('k')).toBe('second')
      })

      it('1,000 concurrent creates of one key: exactly one wins, every other sees its value', async () => {
        const results = await Promise.all(Array.from({ length: 1000 }, (_, i) => store.create([entry('race', `v${i}`)])))
        const winners = results.flatMap((result, i) => (result.created ? [i] : []))
        expect(winners).toHaveLength(1)
        const winner = `v${winners[0]}`
        expect(results.every((r) => r.created || ('value' in r && r.value === winner))).toBe(true)
        expect(await store.get('race')).toBe(winner)
      })

      it('concurrent creates sharing one key among different groups: exactly one group is written', async () => {
        const results = await Promise.all(
          Array.from({ length: 100 }, (_, i) => store.create([entry(`own-${i}`, 'x'), entry('shared-proof', `g${i}`)])),
        )
        const winners = results.flatMap((result, i) => (result.created ? [i] : []))
        expect(winners).toHaveLength(1)
        const owned = await Promise.all(Array.from({ length: 100 }, (_, i) => store.get(`own-${i}`)))
        expect(owned.filter((v) => v !== undefined)).toHaveLength(1)
        expect(owned[winners[0]!]).toBe('x')
      })

      it('concurrent creates of 200 different keys all win', async () => {
        const results = await Promise.all(Array.from({ length: 200 }, (_, i) => store.create([entry(`key-${i}`, `v${i}`)])))
        expect(results.every((result) => result.created)).toBe(true)
      })
    })

    describe('swap', () => {
      it('replaces the value only when it is the expected one', async () => {
        await store.create([entry('k', 'one')])
        expect(await store.swap('k', 'other', 'two')).toBe(false)
        expect(await store.get('k')).toBe('one')
        expect(await store.swap('k', 'one', 'two')).toBe(true)
        expect(await store.get('k')).toBe('two')
        expect(await store.swap('k', 'one', 'three')).toBe(false)
      })

      it('an absent or expired key never swaps', async () => {
        expect(await store.swap('missing', '', 'x')).toBe(false)
        await store.create([entry('k', 'v', SHORT)])
        await harness.advance(SHORT + 1)
        await eventually(() => store.get('k'), undefined)
        expect(await store.swap('k', 'v', 'w')).toBe(false)
        expect(await store.get('k')).toBeUndefined()
      })

      it('deletes on undefined', async () => {
        await store.create([entry('k', 'v')])
        expect(await store.swap('k', 'v', undefined)).toBe(true)
        expect(await store.get('k')).toBeUndefined()
        expect(await store.create([entry('k', 'again')])).toEqual({ created: true })
      })

      it('keeps the expiry unless one is given', async () => {
        await store.create([entry('keep', 'v', SHORT), entry('move', 'v', SHORT)])
        await store.swap('keep', 'v', 'w')
        await store.swap('move', 'v', 'w', at(LONG))
        await harness.advance(SHORT + 1)
        await eventually(() => store.get('keep'), undefined)
        expect(await store.get('move')).toBe('w')
      })

      it('200 concurrent swaps from one value: exactly one wins', async () => {
        await store.create([entry('k', 'start')])
        const results = await Promise.all(Array.from({ length: 200 }, (_, i) => store.swap('k', 'start', `v${i}`)))
        expect(results.filter(Boolean)).toHaveLength(1)
        expect(await store.get('k')).toBe(`v${results.indexOf(true)}`)
      })
    })

    describe('get / set / delete', () => {
      it('get of an absent key is undefined', async () => {
        expect(await store.get('missing')).toBeUndefined()
      })

      it('set replaces a value and its expiry', async () => {
        await store.set('k', 'long', at(LONG))
        await store.set('k', 'short', at(SHORT))
        expect(await store.get('k')).toBe('short')
        await harness.advance(SHORT + 1)
        await eventually(() => store.get('k'), undefined)
      })

      it('a value set with an expiry already past is not there', async () => {
        await store.set('k', 'v', at(-1000))
        expect(await store.get('k')).toBeUndefined()
      })

      it('delete removes a value; deleting an absent key is a no-op', async () => {
        await store.set('k', 'v', at(LONG))
        await store.delete('k')
        expect(await store.get('k')).toBeUndefined()
        await expect(store.delete('never-set')).resolves.toBeUndefined()
      })

      it('values round-trip exactly: unicode, JSON, large', async () => {
        const values = ['ünïcødé ✓ 🚀', JSON.stringify({ status: 200, body: 'eyJ9', headers: [['a', 'b']] }), 'x'.repeat(256 * 1024), ' spaced \r\n ']
        for (const [i, value] of values.entries()) {
          await store.set(`v${i}`, value, at(LONG))
          expect(await store.get(`v${i}`)).toBe(value)
        }
        await store.create([entry('c', values[0]!)])
        expect(await store.create([entry('c', 'x')])).toEqual({ created: false, key: 'c', value: values[0] })
      })
    })

    describe('key isolation', () => {
      it('keys are independent, including prefixes of one another and the key shapes the pipeline uses', async () => {
        const keys = ['a', 'ab', 'a:b', 'A', 'pay:abc', 'pay:abcd', 'proof:tempo:0xabc', 'proof:stripe:0xabc', 'idem:abc:key-1', 'ключ ✓']
        for (const key of keys) expect(await store.create([entry(key, `value of ${key}`)])).toEqual({ created: true })
        for (const key of keys) expect(await store.get(key)).toBe(`value of ${key}`)
        await store.delete('a')
        await store.set('ab', 'changed', at(LONG))
        expect(await store.get('a')).toBeUndefined()
        for (const key of keys.filter((k) => k !== 'a' && k !== 'ab')) expect(await store.get(key)).toBe(`value of ${key}`)
      })
    })
  })
}
