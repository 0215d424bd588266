import { getHeapStatistics, setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { describe, expect, it } from 'vitest'
import { Challenge, Credential } from '../../src/index.js'
import { MppError } from '../../src/errors.js'
import { createPaymentServer } from '../../src/server/index.js'
import { memoryStore } from '../../src/server/stores/memory.js'
import type { Store } from '../../src/server/Store.js'
import { createLedger } from '../../src/testing/index.js'
import { describeStoreContract } from './contract.js'

describeStoreContract('memory', async () => {
  let now = 1_700_000_000_000
  return {
    store: memoryStore({ now: () => now }),
    now: () => now,
    advance: async (ms) => {
      now += ms
    },
    cleanup: async () => {},
  }
})

const HOUR = 3600_000

/** The old claim shape on the new contract: undefined when this call created `key`, else the value there. */
async function claim(store: Store, key: string, value: string, expiresAt: number): Promise<string | undefined> {
  const result = await store.create([{ key, value, expiresAt }])
  return result.created ? undefined : 'value' in result ? result.value : 'expired'
}

describe('memory store: expiry on the injected clock', () => {
  it('a value lives until just before its expiry and is gone at it', async () => {
    let now = 0
    const store = memoryStore({ now: () => now })
    await claim(store, 'k', 'v', 1000)
    now = 999
    expect(await store.get('k')).toBe('v')
    expect(await claim(store, 'k', 'w', 1000)).toBe('v')
    now = 1000
    expect(await store.get('k')).toBeUndefined()
    expect(await claim(store, 'k', 'w', 1000)).toBeUndefined()
  })
})

describe('memory store: maxEntries fails closed', () => {
  function fullStore() {
    const clock = { now: 0 }
    const store = memoryStore({ maxEntries: 3, now: () => clock.now })
    return { store, clock }
  }

  it('refuses a new claim with store-failure when full of live entries, and keeps every live claim', async () => {
    const { store } = fullStore()
    for (const key of ['a', 'b', 'c']) expect(await claim(store, key, key, HOUR)).toBeUndefined()
    const refused = await claim(store, 'd', 'd', HOUR).catch((error: unknown) => error)
    expect(refused).toBeInstanceOf(MppError)
    expect(refused).toMatchObject({ code: 'store-failure' })
    await expect(store.set('e', 'e', HOUR)).rejects.toMatchObject({ code: 'store-failure' })
    // Nothing was evicted to make room: every claim still holds, and 'd' was never set.
    for (const key of ['a', 'b', 'c']) expect(await claim(store, key, 'replay', HOUR)).toBe(key)
    expect(await store.get('d')).toBeUndefined()
  })

  it('when full, a claim of a key already held still answers with its value (no error)', async () => {
    const { store } = fullStore()
    for (const key of ['a', 'b', 'c']) await claim(store, key, key, HOUR)
    expect(await claim(store, 'b', 'x', HOUR)).toBe('b')
  })

  it('when full, set may replace an existing key (the count does not grow)', async () => {
    const { store } = fullStore()
    for (const key of ['a', 'b', 'c']) await claim(store, key, key, HOUR)
    await store.set('b', 'B', HOUR)
    expect(await store.get('b')).toBe('B')
  })

  it('makes room from expired entries only, wherever they sit', async () => {
    const { store, clock } = fullStore()
    await claim(store, 'long-1', 'x', HOUR)
    await claim(store, 'long-2', 'x', HOUR)
    await claim(store, 'short', 'x', 1000)
    clock.now = 1000
    expect(await claim(store, 'new', 'x', HOUR)).toBeUndefined()
    expect(await store.get('long-1')).toBe('x')
    expect(await store.get('long-2')).toBe('x')
    await expect(claim(store, 'one-more', 'x', HOUR)).rejects.toMatchObject({ code: 'store-failure' })
  })

  it('through the pipeline, a full store answers 503 and nothing is charged', async () => {
    const ledger = createLedger()
    const alice = ledger.open('alice', 1000n)
    const pay = ledger.client(alice)
    const server = createPaymentServer({
      realm: 'api.test',
      secrets: ['s'.repeat(32)],
      methods: [ledger.server({ recipient: 'shop' })],
      store: memoryStore({ maxEntries: 1 }),
    })
    const handler = server.route({ price: '0.25' }, () => Response.json({ ok: true }))
    const paid = async () => {
      const first = await handler(new Request('https://api.test/x'))
      const [challenge] = Challenge.parseList(first.headers.get('www-authenticate')!)
      const payment = await pay.pay({ challenge: challenge!, request: Challenge.decodeRequest(challenge!) as never, signal: new AbortController().signal })
      const authorization = Credential.serialize(Credential.from({ challenge: challenge!, ...payment }))
      return handler(new Request('https://api.test/x', { headers: { authorization } }))
    }
    expect((await paid()).status).toBe(200) // takes the one slot
    const refused = await paid()
    expect(refused.status).toBe(503)
    expect(await refused.json()).toMatchObject({ detail: expect.stringContaining('nothing was charged') })
    expect(ledger.balance('alice')).toBe(975n)
    expect(ledger.transfers).toHaveLength(1)
  })
})

describe('memory store: memory stays bounded by the live set', () => {
  // Heap after a full GC is the honest measure: expired entries nobody reads again are
  // invisible to get() but still cost memory. GC is exposed at runtime, no CLI flag.
  setFlagsFromString('--expose-gc')
  const gc = runInNewContext('gc') as () => void
  const heapUsed = () => {
    gc()
    gc()
    return getHeapStatistics().used_heap_size
  }
  const MB = 1024 * 1024
  /** A million claims of TTL 1 s over ~17 minutes hold ~1,000 live: far below this. */
  const BOUND = 8 * MB
  // Claim keys shaped like the pipeline's: `pay:` + a 43-character id.
  const claimKey = (i: number) => `pay:${i.toString(36).padStart(43, '0')}`

  async function claims(store: ReturnType<typeof memoryStore>, count: number, clock: () => number, tick: () => void, onCheckpoint: () => void) {
    let refused = 0
    for (let i = 0; i < count; i++) {
      if ((await claim(store, claimKey(i), '-', clock() + 1000)) !== undefined) refused++
      tick()
      if ((i + 1) % 100_000 === 0) onCheckpoint()
    }
    expect(refused, 'every claim key is fresh, so every claim wins').toBe(0)
  }

  it('a million claims with TTL 1 s on an advancing clock: heap growth stays under 8 MB', async () => {
    let now = 0
    const store = memoryStore({ now: () => now })
    const base = heapUsed()
    let worst = 0
    await claims(store, 1_000_000, () => now, () => (now += 1), () => (worst = Math.max(worst, heapUsed() - base)))
    expect(worst, `heap grew ${(worst / MB).toFixed(1)} MB`).toBeLessThan(BOUND)
    // The last second's claims are all still held.
    expect(await claim(store, claimKey(999_999), 'x', now + 1000)).toBe('-')
  }, 60_000)

  it('control: the same measure sees 100,000 live claims (clock frozen) grow the heap past the bound', async () => {
    const store = memoryStore({ now: () => 0 })
    const base = heapUsed()
    await claims(store, 100_000, () => 0, () => {}, () => {})
    const grown = heapUsed() - base
    expect(grown, `heap grew ${(grown / MB).toFixed(1)} MB`).toBeGreaterThan(BOUND)
    expect(await store.get(claimKey(0))).toBe('-') // keeps the store reachable until measured
  }, 60_000)

  // The pipeline mixes TTLs: challenge claims live minutes, `proof:` claims 400 days,
  // `idem:` responses 24 h. BUG: the sweep only looks at the 8 oldest entries, so once
  // 8 long-lived entries sit at the front, expired claims behind them are never freed
  // until the store reaches maxEntries (1,000,000 by default).
  it('with long-lived entries inserted first (proofs, idempotent responses), expired claims are still freed', async () => {
    let now = 0
    const store = memoryStore({ now: () => now })
    for (let i = 0; i < 8; i++) await claim(store, `proof:tempo:${i}`, 'challenge', 400 * 24 * HOUR)
    const base = heapUsed()
    let worst = 0
    await claims(store, 200_000, () => now, () => (now += 1), () => (worst = Math.max(worst, heapUsed() - base)))
    expect(worst, `heap grew ${(worst / MB).toFixed(1)} MB with ~1,000 live claims`).toBeLessThan(BOUND)
  }, 60_000)
})
