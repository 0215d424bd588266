/**
 * A {@link Store} on Redis (≥ 7.0), shared by every process that points at the same
 * server: claims are `SET key value NX PX ttl GET`, one atomic command.
 *
 * Bring your own client: anything with ioredis' `call(command, ...args)` works
 * (ioredis itself; for node-redis pass `{ call: (...a) => client.sendCommand(a) }`).
 *
 * @example
 * import Redis from 'ioredis'
 * import { redisStore } from 'mppkit/redis'
 * const store = redisStore(new Redis(process.env.REDIS_URL), { prefix: 'mpp:' })
 */
import { MppError } from '../errors.js'
import type { Store } from '../server/Store.js'

export type RedisCommander = {
  call(command: string, ...args: Array<string | number>): Promise<unknown>
}

export function redisStore(client: RedisCommander, options: { prefix?: string } = {}): Store {
  const prefix = options.prefix ?? 'mppkit:'

  async function run(command: string, ...args: Array<string | number>): Promise<unknown> {
    try {
      return await client.call(command, ...args)
    } catch (error) {
      // The cause keeps the driver's error for operators; the message names no key or value.
      throw new MppError('store-failure', `redis ${command} failed`, { cause: error })
    }
  }

  return {
    async putIfAbsent(key, value, ttlMs) {
      const previous = await run('SET', prefix + key, value, 'PX', Math.max(1, Math.ceil(ttlMs)), 'NX', 'GET')
      return previous == null ? undefined : String(previous)
    },
    async get(key) {
      const value = await run('GET', prefix + key)
      return value == null ? undefined : String(value)
    },
    async set(key, value, ttlMs) {
      await run('SET', prefix + key, value, 'PX', Math.max(1, Math.ceil(ttlMs)))
    },
    async delete(key) {
      await run('DEL', prefix + key)
    },
  }
}
