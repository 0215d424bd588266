/**
 * A {@link Store} on Redis (≥ 7.0), shared by every process that points at the same
 * server. Each operation is one Lua script judged by Redis' own clock, so servers with
 * skewed clocks agree on expiry. Keys of one payment (its record and proof claims) are
 * written together: on Redis Cluster give the prefix a hash tag, or use one primary.
 *
 * On first use it checks that the server persists and never evicts (a forgotten claim
 * lets a credential pay twice) and refuses with `store-not-durable` otherwise.
 *
 * Bring your own client: anything with ioredis' `call(command, ...args)` works
 * (ioredis itself; for node-redis pass `{ call: (...a) => client.sendCommand(a) }`).
 *
 * @example
 * import Redis from 'ioredis'
 * import { redisStore } from 'mppkit/redis'
 * const store = redisStore(new Redis(process.env.REDIS_URL), { prefix: 'mpp:' })
 */
import { isMppError, MppError } from '../errors.js'
import type { Store } from '../server/Store.js'
import { assertDurable } from './durability.js'
import * as Scripts from './scripts.js'

export { redisSpendLedger, type RedisSpendLedgerOptions } from './ledger.js'

export type RedisCommander = {
  call(command: string, ...args: Array<string | number>): Promise<unknown>
}

export type RedisStoreOptions = {
  /** Prepended to every key (default `mppkit:`). */
  prefix?: string
  /**
   * Refuse to run on a server that persists nothing or evicts keys (default true).
   * Turn off only for a Redis you accept may forget payments (tests, a cache tier).
   */
  requireDurable?: boolean
}

export function redisStore(client: RedisCommander, options: RedisStoreOptions = {}): Store {
  const prefix = options.prefix ?? 'mppkit:'
  let durable: Promise<void> | undefined = options.requireDurable === false ? Promise.resolve() : undefined

  async function run(command: string, ...args: Array<string | number>): Promise<unknown> {
    try {
      return await client.call(command, ...args)
    } catch (error) {
      // The cause keeps the driver's error for operators; the message names no key or value.
      throw new MppError('store-failure', `redis ${command} failed`, { cause: error })
    }
  }

  async function ready(): Promise<void> {
    durable ??= assertDurable(run).catch((error: unknown) => {
      // A refusal stands; an unreachable server is asked again next time.
      if (!isMppError(error, 'store-not-durable')) durable = undefined
      throw error
    })
    return durable
  }

  async function evaluate(script: Scripts.Script, keys: readonly string[], args: ReadonlyArray<string | number>): Promise<unknown> {
    await ready()
    try {
      return await client.call('EVALSHA', script.sha, keys.length, ...keys, ...args)
    } catch (error) {
      if (!/NOSCRIPT/.test(String((error as Error)?.message))) throw new MppError('store-failure', 'redis EVALSHA failed', { cause: error })
      return run('EVAL', script.source, keys.length, ...keys, ...args)
    }
  }

  return {
    async create(entries, { notAfter } = {}) {
      const args = [notAfter === undefined ? '' : Math.floor(notAfter), ...entries.flatMap((e) => [e.value, Math.ceil(e.expiresAt)])]
      const reply = (await evaluate(Scripts.create, entries.map((e) => prefix + e.key), args)) as unknown[]
      if (reply[0] === 'created') return { created: true }
      if (reply[0] === 'expired') return { created: false, expired: true }
      return { created: false, key: entries[Number(reply[1]) - 1]!.key, value: String(reply[2]) }
    },
    async get(key) {
      await ready()
      const value = await run('GET', prefix + key)
      return value == null ? undefined : String(value)
    },
    async swap(key, expected, next, expiresAt) {
      const args = [expected, next === undefined ? 'del' : 'set', next ?? '', expiresAt === undefined ? '' : Math.ceil(expiresAt)]
      return Number(await evaluate(Scripts.swap, [prefix + key], args)) === 1
    },
    async set(key, value, expiresAt) {
      await evaluate(Scripts.set, [prefix + key], [value, Math.ceil(expiresAt)])
    },
    async delete(key) {
      await ready()
      await run('DEL', prefix + key)
    },
  }
}
