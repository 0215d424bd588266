/**
 * The Lua scripts behind {@link redisStore}. Each runs atomically in Redis and reads
 * the server's own clock (`TIME`), so expiry and `notAfter` are judged by one clock
 * however far apart the callers' clocks are. Redis ≥ 7 replicates script effects, so
 * `TIME` in a script is safe under replication.
 */
import { sha1 } from '@noble/hashes/legacy'
import { bytesToHex } from '@noble/hashes/utils'
import * as Utf8 from '../internal/utf8.js'

export type Script = { readonly source: string; readonly sha: string }

function script(source: string): Script {
  return { source, sha: bytesToHex(sha1(Utf8.toBytes(source))) }
}

const NOW = `local t = redis.call('TIME') local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`

/**
 * KEYS: the entries' keys. ARGV: notAfter ('' for none), then value and expiresAt per key.
 * Returns {'created'}, {'expired'} or {'conflict', index, value}.
 */
export const create = script(`${NOW}
if ARGV[1] ~= '' and now >= tonumber(ARGV[1]) then return {'expired'} end
for i, key in ipairs(KEYS) do
  local value = redis.call('GET', key)
  if value then return {'conflict', i, value} end
end
for i, key in ipairs(KEYS) do
  local at = tonumber(ARGV[2 * i + 1])
  if at > now then redis.call('SET', key, ARGV[2 * i], 'PXAT', at) end
end
return {'created'}`)

/**
 * KEYS: the key. ARGV: expected, mode ('set' or 'del'), next, expiresAt ('' keeps the TTL).
 * Returns 1 when it swapped, 0 otherwise.
 */
export const swap = script(`${NOW}
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if ARGV[2] == 'del' then redis.call('DEL', KEYS[1]) return 1 end
if ARGV[4] == '' then redis.call('SET', KEYS[1], ARGV[3], 'KEEPTTL') return 1 end
local at = tonumber(ARGV[4])
if at > now then redis.call('SET', KEYS[1], ARGV[3], 'PXAT', at) else redis.call('DEL', KEYS[1]) end
return 1`)

/** KEYS: the key. ARGV: value, expiresAt. */
export const set = script(`${NOW}
local at = tonumber(ARGV[2])
if at > now then redis.call('SET', KEYS[1], ARGV[1], 'PXAT', at) else redis.call('DEL', KEYS[1]) end
return 1`)
