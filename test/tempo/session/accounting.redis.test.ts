/**
 * Session accounting on a real redis-server, commands spread over several connections so
 * concurrent compare-and-sets really race in the server.
 */
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe } from 'vitest'
import { redisStore, type RedisCommander } from '../../../src/redis/index.js'
import { redisSkip, skipNote, startRedis, type RunningRedis } from '../../support/redis.js'
import { describeAccountingContract } from './accountingContract.js'

const POOL = 8

describe.skipIf(redisSkip)(`session accounting on redis${skipNote}`, () => {
  let redis: RunningRedis
  let clients: Redis[] = []
  let stores = 0

  beforeAll(async () => {
    redis = await startRedis()
    clients = Array.from({ length: POOL }, () => new Redis(redis.url, { lazyConnect: true }))
    await Promise.all(clients.map((c) => c.connect()))
  })
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.quit().catch(() => c.disconnect())))
    await redis?.stop()
  })

  function pooled(): RedisCommander {
    let next = 0
    return { call: (command, ...args) => clients[next++ % clients.length]!.call(command, ...args) }
  }

  describeAccountingContract('redis', { store: () => redisStore(pooled(), { prefix: `acct-${++stores}:` }) })
})
