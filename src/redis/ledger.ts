/**
 * A {@link SpendLedger} on Redis (≥ 7.0), shared by every agent that points at the same
 * server and kept across restarts (as far as the server persists). Reserve and release
 * are Lua scripts, each one atomic step (see `ledgerScripts.ts`): N processes paying
 * against one budget spend at most that budget. Amounts travel and are stored as
 * decimal strings, never floats. A window's key expires at its end (PXAT).
 *
 * Every call has a deadline (default 2 s): a Redis that is down or stuck fails the call
 * with `store-failure`, so the paying client refuses to pay rather than hang.
 *
 * Bring your own client: anything with ioredis' `call(command, ...args)`.
 *
 * @example
 * import Redis from 'ioredis'
 * import { redisSpendLedger } from 'mppkit/redis'
 * const spendLedger = redisSpendLedger(new Redis(process.env.REDIS_URL), { prefix: 'agents:' })
 */
import { sha1 } from '@noble/hashes/legacy'
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils'
import { checkAmount, checkKey, checkReserve } from '../client/ledgers/arguments.js'
import { deadlineOf, withDeadline, type LedgerOptions } from '../client/ledgers/deadline.js'
import type { SpendLedger } from '../client/SpendLedger.js'
import { MppError } from '../errors.js'
import type { RedisCommander } from './index.js'
import { RELEASE, RESERVE } from './ledgerScripts.js'

export type RedisSpendLedgerOptions = LedgerOptions & {
  /** Prepended to every key (default `mppkit:spend:`). */
  prefix?: string
}

type Script = { source: string; sha: string }
const script = (source: string): Script => ({ source, sha: bytesToHex(sha1(utf8ToBytes(source))) })
const reserveScript = script(RESERVE)
const releaseScript = script(RELEASE)

export function redisSpendLedger(client: RedisCommander, options: RedisSpendLedgerOptions = {}): SpendLedger {
  const prefix = options.prefix ?? 'mppkit:spend:'
  const now = options.now ?? Date.now
  const deadlineMs = deadlineOf(options)

  /** EVALSHA, loading the script with EVAL when this server has not seen it yet. */
  async function run(what: Script, key: string, ...args: string[]): Promise<unknown> {
    try {
      return await client.call('EVALSHA', what.sha, 1, prefix + key, ...args)
    } catch (error) {
      if (!/NOSCRIPT/.test(String((error as Error)?.message ?? error))) throw error
      return client.call('EVAL', what.source, 1, prefix + key, ...args)
    }
  }

  return {
    async reserve(key, amount, limit, expiresAt) {
      checkKey(key)
      checkReserve(amount, limit, expiresAt)
      // Over the limit on its own: refused without a round trip (and keeps a negative limit out of Lua).
      if (amount > limit) return false
      const reply = await withDeadline('reserve', deadlineMs, () =>
        run(reserveScript, key, amount.toString(), limit.toString(), String(expiresAt), String(now())),
      )
      if (reply !== 1 && reply !== 0) throw new MppError('store-failure', 'redis spend ledger gave an unexpected reply')
      return reply === 1
    },
    async release(key, amount) {
      checkKey(key)
      checkAmount(amount)
      await withDeadline('release', deadlineMs, () => run(releaseScript, key, amount.toString(), String(now())))
    },
    async spent(key) {
      checkKey(key)
      const value = await withDeadline('read', deadlineMs, () => client.call('GET', prefix + key))
      if (value == null) return 0n
      const match = /^(0|[1-9][0-9]*) ([0-9]+)$/.exec(String(value))
      if (!match) throw new MppError('store-failure', 'redis spend ledger value is damaged')
      return Number(match[2]) > now() ? BigInt(match[1]!) : 0n
    },
  }
}
