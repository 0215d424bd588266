import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { MppError } from '../../src/errors.js'
import { redisStore, type RedisCommander } from '../../src/redis/index.js'
import { redisSkip, skipNote, startRedis, type RunningRedis } from '../support/redis.js'
import { describeStoreContract } from './contract.js'

const POOL = 4

describe.skipIf(redisSkip)(`redis store on a real redis-server${skipNote}`, () => {
  let redis: RunningRedis
  let clients: Redis[] = []
  let client: Redis
  let harnesses = 0

  beforeAll(async () => {
    redis = await startRedis()
    clients = Array.from({ length: POOL }, () => new Redis(redis.url, { lazyConnect: true }))
    await Promise.all(clients.map((c) => c.connect()))
    client = clients[0]!
  })
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.quit().catch(() => c.disconnect())))
    await redis?.stop()
  })

  // Commands spread over several connections, so concurrent claims really race in
  // the server rather than queue on one socket.
  function pooled(): RedisCommander {
    let next = 0
    return { call: (command, ...args) => clients[next++ % clients.length]!.call(command, ...args) }
  }

  // Each harness gets its own prefix: an empty keyspace without FLUSHDB between tests.
  describeStoreContract('redis', async () => ({
    store: redisStore(pooled(), { prefix: `contract-${++harnesses}:` }),
    now: Date.now,
    // Redis keeps its own time (TIME, PXAT): really wait; the suite then polls, bounded.
    advance: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    cleanup: async () => {},
  }))

  const later = (ms: number) => Date.now() + ms
  const one = (key: string, value: string) => [{ key, value, expiresAt: later(60_000) }]

  describe('prefix isolation', () => {
    it('stores with different prefixes on one server do not see each other', async () => {
      const a = redisStore(client, { prefix: 'tenant-a:' })
      const b = redisStore(client, { prefix: 'tenant-b:' })
      expect(await a.create(one('pay:1', 'a'))).toEqual({ created: true })
      expect(await b.create(one('pay:1', 'b'))).toEqual({ created: true })
      expect(await a.get('pay:1')).toBe('a')
      expect(await b.get('pay:1')).toBe('b')
      await a.delete('pay:1')
      expect(await a.get('pay:1')).toBeUndefined()
      expect(await b.get('pay:1')).toBe('b')
    })

    it('keys are stored under the prefix, "mppkit:" by default, expiring at the absolute time given', async () => {
      await redisStore(client).create(one('pay:default', 'v'))
      expect(await client.call('GET', 'mppkit:pay:default')).toBe('v')
      expect(await client.call('EXISTS', 'pay:default')).toBe(0)
      const expiresAt = later(10_000)
      await redisStore(client, { prefix: 'p:' }).set('idem:x', 'v', expiresAt)
      expect(Number(await client.call('PEXPIRETIME', 'p:idem:x'))).toBe(expiresAt)
    })

    it('an unprefixed key of the same name is not a claim', async () => {
      await client.call('SET', 'pay:raw', 'outside')
      const store = redisStore(client, { prefix: 'scoped:' })
      expect(await store.get('pay:raw')).toBeUndefined()
      expect(await store.create(one('pay:raw', 'inside'))).toEqual({ created: true })
      expect(await client.call('GET', 'pay:raw')).toBe('outside')
    })

    it('works after SCRIPT FLUSH (EVALSHA falls back to EVAL)', async () => {
      const store = redisStore(client, { prefix: 'flush:' })
      await store.create(one('a', '1'))
      await client.call('SCRIPT', 'FLUSH')
      expect(await store.create(one('b', '2'))).toEqual({ created: true })
      expect(await store.swap('b', '2', '3')).toBe(true)
      expect(await store.get('b')).toBe('3')
    })
  })

  describe('clock: Redis judges expiry and notAfter, not the caller', () => {
    it('a caller whose clock is 30 minutes behind cannot create after notAfter by the server clock', async () => {
      const store = redisStore(client, { prefix: 'skew:' })
      const notAfter = Date.now() - 1 // already past, by Redis' clock (same machine)
      expect(await store.create(one('pay:late', 'v'), { notAfter })).toEqual({ created: false, expired: true })
      expect(await client.call('EXISTS', 'skew:pay:late')).toBe(0)
    })
  })

  describe('durability check on first use', () => {
    it('a server with no persistence is refused with store-not-durable, naming the fix', async () => {
      const volatile = await startRedis({ persistence: 'none' })
      const c = new Redis(volatile.url)
      try {
        const store = redisStore(c)
        const error = await store.create(one('k', 'v')).catch((e: unknown) => e)
        expect(error).toBeInstanceOf(MppError)
        expect(error).toMatchObject({ code: 'store-not-durable', message: expect.stringContaining('appendonly') })
        await expect(store.get('k')).rejects.toMatchObject({ code: 'store-not-durable' })
        expect(await c.call('EXISTS', 'mppkit:k')).toBe(0)
        // The operator's explicit opt-out.
        expect(await redisStore(c, { requireDurable: false }).create(one('k', 'v'))).toEqual({ created: true })
      } finally {
        c.disconnect()
        await volatile.stop()
      }
    })

    it('a server that evicts keys under memory pressure is refused; noeviction is accepted', async () => {
      const evicting = await startRedis({ args: ['--maxmemory', '64mb', '--maxmemory-policy', 'volatile-lru'] })
      const c = new Redis(evicting.url)
      try {
        await expect(redisStore(c).get('k')).rejects.toMatchObject({ code: 'store-not-durable', message: expect.stringContaining('noeviction') })
        await c.call('CONFIG', 'SET', 'maxmemory-policy', 'noeviction')
        expect(await redisStore(c).get('k')).toBeUndefined()
      } finally {
        c.disconnect()
        await evicting.stop()
      }
    })

    it('RDB snapshots alone count as persistence; with CONFIG refused and AOF off it refuses', async () => {
      const rdb = await startRedis({ persistence: 'none', args: ['--save', '3600 1'] })
      const c = new Redis(rdb.url)
      try {
        expect(await redisStore(c).get('k')).toBeUndefined()
        const noConfig: RedisCommander = {
          call: (command, ...args) => (command === 'CONFIG' ? Promise.reject(new Error('ERR unknown command')) : c.call(command, ...args)),
        }
        await expect(redisStore(noConfig).get('k')).rejects.toMatchObject({ code: 'store-not-durable' })
      } finally {
        c.disconnect()
        await rdb.stop()
      }
    })
  })

  describe('failures become store-failure, naming no key or value', () => {
    const KEY = 'pay:SECRET-KEY-abc123'
    const VALUE = 'k:SECRET-IDEMPOTENCY-VALUE'

    async function failure(operation: Promise<unknown>): Promise<MppError> {
      const error = await operation.then(
        () => undefined,
        (e: unknown) => e,
      )
      expect(error).toBeInstanceOf(MppError)
      const mpp = error as MppError
      expect(mpp.code).toBe('store-failure')
      expect(mpp.message).not.toContain('SECRET')
      expect(String(mpp)).not.toContain('SECRET')
      return mpp
    }

    it('a client whose call rejects (the rejection quoting the key and value)', async () => {
      const cause = new Error(`connection lost while running SET ${KEY} ${VALUE}`)
      const broken: RedisCommander = { call: async () => Promise.reject(cause) }
      const store = redisStore(broken, { prefix: 'SECRET-PREFIX:', requireDurable: false })
      for (const operation of [store.create(one(KEY, VALUE)), store.get(KEY), store.set(KEY, VALUE, later(1000)), store.swap(KEY, VALUE, 'x'), store.delete(KEY)]) {
        const error = await failure(operation)
        expect(error.cause, 'the driver error stays available to operators as the cause').toBe(cause)
      }
    })

    it('the durability check itself failing is a store-failure, and is asked again next time', async () => {
      let up = false
      const flaky: RedisCommander = { call: (command, ...args) => (up ? client.call(command, ...args) : Promise.reject(new Error(`down ${KEY}`))) }
      const store = redisStore(flaky, { prefix: 'flaky:' })
      await failure(store.get(KEY))
      up = true
      expect(await store.get(KEY)).toBeUndefined()
    })

    it('a client whose call throws synchronously', async () => {
      const broken: RedisCommander = {
        call: () => {
          throw new Error(`sync failure ${KEY} ${VALUE}`)
        },
      }
      await failure(redisStore(broken, { requireDurable: false }).create(one(KEY, VALUE)))
    })

    it('a real server error (WRONGTYPE on a key holding a list)', async () => {
      await client.call('RPUSH', `wrong:${KEY}`, 'x')
      const store = redisStore(client, { prefix: 'wrong:' })
      await failure(store.create(one(KEY, VALUE)))
      await failure(store.get(KEY))
    })

    it('a server that is gone (connection refused)', async () => {
      const down = await startRedis()
      const lonely = new Redis(down.url, { maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null, lazyConnect: true })
      await lonely.connect()
      await down.stop()
      await new Promise<void>((resolve) => (lonely.status === 'end' ? resolve() : lonely.once('end', () => resolve())))
      await failure(redisStore(lonely, { requireDurable: false }).create(one(KEY, VALUE)))
      lonely.disconnect()
    })
  })
})
