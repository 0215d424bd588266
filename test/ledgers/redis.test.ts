import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe } from 'vitest'
import type { RedisCommander } from '../../src/redis/index.js'
import { redisSpendLedger } from '../../src/redis/ledger.js'
import { redisSkip, skipNote, startRedis, type RunningRedis } from '../support/redis.js'
import { describeLedgerContract } from './contract.js'

const POOL = 4

describe.skipIf(redisSkip)(`redis spend ledger on a real redis-server${skipNote}`, () => {
  let redis: RunningRedis
  let clients: Redis[] = []
  let harnesses = 0

  beforeAll(async () => {
    redis = await startRedis()
    clients = Array.from({ length: POOL }, () => new Redis(redis.url, { lazyConnect: true }))
    await Promise.all(clients.map((c) => c.connect()))
  })
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.quit().catch(() => c.disconnect())))
    await redis?.stop()
  })

  // Calls spread over several connections, so concurrent reservations race in the server.
  function pooled(): RedisCommander {
    let next = 0
    return { call: (command, ...args) => clients[next++ % clients.length]!.call(command, ...args) }
  }

  describeLedgerContract('redis', { durable: true }, async () => {
    const prefix = `ledger-${++harnesses}:`
    return {
      open: ({ now, deadlineMs }) => redisSpendLedger(pooled(), { prefix, now, ...(deadlineMs && { deadlineMs }) }),
      child: { kind: 'redis', target: redis.url, namespace: prefix },
      cleanup: async () => {},
    }
  })
})
