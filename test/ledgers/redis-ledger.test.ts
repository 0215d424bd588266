/**
 * The Redis ledger's own guarantees, beyond the shared contract, on a real
 * redis-server: windows expire by Redis' clock at their absolute end (PXAT), values are
 * decimal strings, the script is (re)loaded when the server lost it, and a server that
 * stops answering fails calls with store-failure at the deadline instead of hanging.
 */
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { isMppError } from '../../src/errors.js'
import { redisSpendLedger } from '../../src/redis/ledger.js'
import { redisSkip, skipNote, startRedis, type RunningRedis } from '../support/redis.js'
import { spendInChildren } from './children.js'

describe.skipIf(redisSkip)(`redis spend ledger specifics${skipNote}`, () => {
  let redis: RunningRedis
  let client: Redis
  let n = 0
  const prefix = () => `specifics-${++n}:`

  beforeAll(async () => {
    redis = await startRedis()
    client = new Redis(redis.url)
  })
  afterAll(async () => {
    client?.disconnect()
    await redis?.stop()
  })

  it('stores "<spent> <expiresAt>" as decimal strings and expires the key at the window end (PXAT)', async () => {
    const p = prefix()
    const end = Date.now() + 3_600_000
    const ledger = redisSpendLedger(client, { prefix: p })
    expect(await ledger.reserve('usd:day', 2n ** 70n, 2n ** 71n, end)).toBe(true)
    expect(await client.call('GET', `${p}usd:day`)).toBe(`${2n ** 70n} ${end}`)
    expect(await client.call('PEXPIRETIME', `${p}usd:day`)).toBe(end)
    await ledger.release('usd:day', 1n)
    expect(await client.call('PEXPIRETIME', `${p}usd:day`)).toBe(end)
  })

  it('a window whose end passed by the server clock is gone, whatever the caller clock says', async () => {
    const p = prefix()
    const ledger = redisSpendLedger(client, { prefix: p, now: () => 0 })
    expect(await ledger.reserve('k', 5n, 10n, Date.now() + 50)).toBe(true)
    const deadline = Date.now() + 2_000
    while ((await client.call('EXISTS', `${p}k`)) === 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
    expect(await ledger.spent('k')).toBe(0n)
    expect(await ledger.reserve('k', 10n, 10n, Date.now() + 60_000)).toBe(true)
  })

  it('reloads its script after SCRIPT FLUSH (EVALSHA → NOSCRIPT → EVAL)', async () => {
    const ledger = redisSpendLedger(client, { prefix: prefix() })
    await ledger.reserve('k', 1n, 10n, Date.now() + 60_000)
    await client.call('SCRIPT', 'FLUSH')
    expect(await ledger.reserve('k', 2n, 10n, Date.now() + 60_000)).toBe(true)
    await client.call('SCRIPT', 'FLUSH')
    await ledger.release('k', 1n)
    expect(await ledger.spent('k')).toBe(2n)
  })

  it('refuses a damaged value with store-failure', async () => {
    const p = prefix()
    await client.call('SET', `${p}k`, '12.5 99999999999999')
    const ledger = redisSpendLedger(client, { prefix: p })
    for (const call of [() => ledger.reserve('k', 1n, 100n, Date.now() + 60_000), () => ledger.release('k', 1n), () => ledger.spent('k')])
      expect(isMppError(await call().catch((e: unknown) => e), 'store-failure')).toBe(true)
    expect(await client.call('GET', `${p}k`)).toBe('12.5 99999999999999')
  })

  it('a redis-server that stops answering fails every call with store-failure at the deadline', async () => {
    const own = await startRedis()
    const stuck = new Redis(own.url)
    try {
      const ledger = redisSpendLedger(stuck, { prefix: prefix(), deadlineMs: 200 })
      expect(await ledger.reserve('k', 1n, 10n, Date.now() + 60_000)).toBe(true)
      process.kill(own.pid, 'SIGSTOP')
      for (const call of [() => ledger.reserve('k', 1n, 10n, Date.now() + 60_000), () => ledger.release('k', 1n), () => ledger.spent('k')]) {
        const started = performance.now()
        const error = await call().catch((e: unknown) => e)
        const elapsed = performance.now() - started
        expect(isMppError(error, 'store-failure')).toBe(true)
        expect((error as Error).message).toMatch(/^spend ledger (reserve|release|read) did not finish within 200 ms$/)
        expect(elapsed).toBeGreaterThanOrEqual(190)
        expect(elapsed).toBeLessThan(1_000)
      }
    } finally {
      process.kill(own.pid, 'SIGCONT')
      stuck.disconnect()
      await own.stop()
    }
  })

  it('a client error becomes store-failure with the cause kept and nothing of the call in the message', async () => {
    const failing = { call: async () => Promise.reject(new Error('connection reset; key usd:day')) }
    const error = await redisSpendLedger(failing).reserve('usd:day', 1n, 10n, Date.now() + 1000).catch((e: unknown) => e)
    expect(isMppError(error, 'store-failure')).toBe(true)
    expect((error as Error).message).toBe('spend ledger reserve failed')
    expect(((error as Error).cause as Error).message).toContain('connection reset')
  })
})

describe.skipIf(redisSkip)(`the cross-process proof can see an overspend${skipNote}`, () => {
  it('control: the same 4 × 25 storm on a read-then-write ledger grants more than the budget', async () => {
    const redis = await startRedis()
    try {
      const amount = 2n ** 53n + 1n
      const outcome = await spendInChildren(
        { kind: 'redis-racy', target: redis.url, namespace: 'racy:' },
        { processes: 4, payments: 25, key: 'budget', amount, limit: 37n * amount, expiresAt: Date.now() + 60_000 },
      )
      const granted = outcome.granted.reduce((a, b) => a + b, 0)
      // If this ever fails, the storm stopped racing and the contract's proof shows nothing.
      expect(granted).toBeGreaterThan(37)
      console.info(`[ledger control] a read-then-write ledger granted ${granted} of a 37-payment budget`)
    } finally {
      await redis.stop()
    }
  }, 120_000)
})
