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
    // Redis keeps its own time (PX): really wait; the suite then polls, bounded.
    advance: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    cleanup: async () => {},
  }))

  describe('prefix isolation', () => {
    it('stores with different prefixes on one server do not see each other', async () => {
      const a = redisStore(client, { prefix: 'tenant-a:' })
      const b = redisStore(client, { prefix: 'tenant-b:' })
      expect(await a.putIfAbsent('challenge:1', 'a', 60_000)).toBeUndefined()
      expect(await b.putIfAbsent('challenge:1', 'b', 60_000)).toBeUndefined()
      expect(await a.get('challenge:1')).toBe('a')
      expect(await b.get('challenge:1')).toBe('b')
      await a.delete('challenge:1')
      expect(await a.get('challenge:1')).toBeUndefined()
      expect(await b.get('challenge:1')).toBe('b')
    })

    it('keys are stored under the prefix, "mppkit:" by default, with the TTL as PX', async () => {
      await redisStore(client).putIfAbsent('challenge:default', 'v', 60_000)
      expect(await client.call('GET', 'mppkit:challenge:default')).toBe('v')
      expect(await client.call('EXISTS', 'challenge:default')).toBe(0)
      await redisStore(client, { prefix: 'p:' }).set('idem:x', 'v', 10_000)
      const pttl = Number(await client.call('PTTL', 'p:idem:x'))
      expect(pttl).toBeGreaterThan(9_000)
      expect(pttl).toBeLessThanOrEqual(10_000)
    })

    it('an unprefixed key of the same name is not a claim', async () => {
      await client.call('SET', 'challenge:raw', 'outside')
      const store = redisStore(client, { prefix: 'scoped:' })
      expect(await store.get('challenge:raw')).toBeUndefined()
      expect(await store.putIfAbsent('challenge:raw', 'inside', 60_000)).toBeUndefined()
      expect(await client.call('GET', 'challenge:raw')).toBe('outside')
    })

    it('fractional and sub-millisecond TTLs round up to at least 1 ms (PX rejects 0)', async () => {
      const store = redisStore(client, { prefix: 'ttl:' })
      await expect(store.putIfAbsent('a', 'v', 0.4)).resolves.toBeUndefined()
      await expect(store.set('b', 'v', 1500.2)).resolves.toBeUndefined()
      const pttl = Number(await client.call('PTTL', 'ttl:b'))
      expect(pttl).toBeGreaterThan(1000)
      expect(pttl).toBeLessThanOrEqual(1501)
    })
  })

  describe('failures become store-failure, naming no key or value', () => {
    const KEY = 'challenge:SECRET-KEY-abc123'
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
      expect(mpp.message).not.toContain(KEY)
      expect(mpp.message).not.toContain(VALUE)
      expect(String(mpp)).not.toContain('SECRET')
      return mpp
    }

    it('a client whose call rejects (the rejection quoting the key and value)', async () => {
      const cause = new Error(`connection lost while running SET ${KEY} ${VALUE}`)
      const broken: RedisCommander = { call: async () => Promise.reject(cause) }
      const store = redisStore(broken, { prefix: 'SECRET-PREFIX:' })
      for (const operation of [store.putIfAbsent(KEY, VALUE, 1000), store.get(KEY), store.set(KEY, VALUE, 1000), store.delete(KEY)]) {
        const error = await failure(operation)
        expect(error.cause, 'the driver error stays available to operators as the cause').toBe(cause)
      }
    })

    it('a client whose call throws synchronously', async () => {
      const broken: RedisCommander = {
        call: () => {
          throw new Error(`sync failure ${KEY} ${VALUE}`)
        },
      }
      await failure(redisStore(broken).putIfAbsent(KEY, VALUE, 1000))
    })

    it('a real server error (WRONGTYPE on a key holding a list)', async () => {
      await client.call('RPUSH', `wrong:${KEY}`, 'x')
      const store = redisStore(client, { prefix: 'wrong:' })
      await failure(store.putIfAbsent(KEY, VALUE, 1000))
      await failure(store.get(KEY))
    })

    it('a server that is gone (connection refused)', async () => {
      const down = await startRedis()
      const lonely = new Redis(down.url, { maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null, lazyConnect: true })
      await lonely.connect()
      await down.stop()
      await new Promise<void>((resolve) => (lonely.status === 'end' ? resolve() : lonely.once('end', () => resolve())))
      await failure(redisStore(lonely).putIfAbsent(KEY, VALUE, 1000))
      lonely.disconnect()
    })
  })
})
