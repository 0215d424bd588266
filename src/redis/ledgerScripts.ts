/**
 * The Lua run by Redis for the spend ledger. Each script runs atomically (Redis runs
 * one script at a time), so a check and the write after it cannot interleave with
 * another client's.
 *
 * Redis' Lua numbers are doubles, exact only to 2^53, so amounts never become Lua
 * numbers: they stay non-negative decimal strings (no sign, no leading zeros) and the
 * scripts add, subtract and compare them digit by digit. A window is stored as one
 * string value `<spent> <expiresAt>` whose key expires at `expiresAt` (SET … PXAT).
 *
 * ARGV[now] is the caller's clock: the window has ended when expiresAt ≤ now, the same
 * rule the memory ledger applies; PXAT additionally lets Redis drop ended windows.
 */
const DECIMAL = `
local function cmp(a, b)
  if #a ~= #b then return (#a < #b) and -1 or 1 end
  if a == b then return 0 end
  return (a < b) and -1 or 1
end
local function add(a, b)
  local out, carry, i, j = {}, 0, #a, #b
  while i > 0 or j > 0 or carry > 0 do
    local d = carry
    if i > 0 then d = d + string.byte(a, i) - 48; i = i - 1 end
    if j > 0 then d = d + string.byte(b, j) - 48; j = j - 1 end
    out[#out + 1] = string.char(48 + d % 10)
    carry = (d >= 10) and 1 or 0
  end
  local s = string.reverse(table.concat(out))
  if s == '' then return '0' end
  return s
end
-- a - b for a >= b
local function sub(a, b)
  local out, borrow, i, j = {}, 0, #a, #b
  while i > 0 do
    local d = string.byte(a, i) - 48 - borrow
    if j > 0 then d = d - (string.byte(b, j) - 48); j = j - 1 end
    if d < 0 then d = d + 10; borrow = 1 else borrow = 0 end
    out[#out + 1] = string.char(48 + d)
    i = i - 1
  end
  local s = (string.gsub(string.reverse(table.concat(out)), '^0+', ''))
  if s == '' then return '0' end
  return s
end
-- The live window under KEYS[1] as spent, expiresAt; nil when absent or ended by now.
local function window(now)
  local value = redis.call('GET', KEYS[1])
  if not value then return nil end
  local spent, expires = string.match(value, '^(%d+) (%d+)$')
  if not spent then return redis.error_reply('ERR spend ledger value is damaged') end
  if tonumber(expires) <= now then return nil end
  return spent, expires
end
`

/** KEYS[1] = window key; ARGV = amount, limit, expiresAt, now. Returns 1 when reserved, 0 when over the limit. */
export const RESERVE = `${DECIMAL}
local amount, limit, expires, now = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
local spent, current = window(now)
if type(spent) == 'table' then return spent end
if spent then expires = current else spent = '0' end
local total = add(spent, amount)
if cmp(total, limit) > 0 then return 0 end
redis.call('SET', KEYS[1], total .. ' ' .. expires, 'PXAT', expires)
return 1
`

/** KEYS[1] = window key; ARGV = amount, now. Lowers the live window's total, not below zero. */
export const RELEASE = `${DECIMAL}
local amount, now = ARGV[1], tonumber(ARGV[2])
local spent, expires = window(now)
if type(spent) == 'table' then return spent end
if not spent then return 0 end
local total = '0'
if cmp(spent, amount) > 0 then total = sub(spent, amount) end
redis.call('SET', KEYS[1], total .. ' ' .. expires, 'PXAT', expires)
return 1
`
