/**
 * Whether a Redis server keeps what the payment store writes: a claim forgotten by a
 * restart without persistence, or evicted under memory pressure, lets a paid
 * credential pay again. Checked once, on first use.
 */
import { MppError } from '../errors.js'

type Run = (command: string, ...args: Array<string | number>) => Promise<unknown>

/** Resolves when the server persists (AOF, or RDB snapshots) and never evicts keys; throws `store-not-durable` otherwise. */
export async function assertDurable(run: Run): Promise<void> {
  const memory = fields(String(await run('INFO', 'memory')))
  const persistence = fields(String(await run('INFO', 'persistence')))
  const maxmemory = Number(memory.get('maxmemory') ?? '0')
  const policy = memory.get('maxmemory_policy') ?? 'noeviction'
  if (maxmemory > 0 && policy !== 'noeviction')
    throw notDurable(`evicts keys under memory pressure (maxmemory-policy ${policy}); set maxmemory-policy noeviction`)
  if (persistence.get('aof_enabled') === '1') return
  // INFO does not say whether RDB snapshots are scheduled; CONFIG does, where it is allowed.
  let save: unknown
  try {
    save = await run('CONFIG', 'GET', 'save')
  } catch {
    throw notDurable('has AOF off, and CONFIG GET save is not allowed to tell whether RDB snapshots are on; enable appendonly')
  }
  const schedule = Array.isArray(save) ? String(save[1] ?? '') : ''
  if (schedule.trim() === '') throw notDurable('persists nothing (appendonly no, save ""); a restart would forget every claim: enable appendonly')
}

function notDurable(why: string): MppError {
  return new MppError(
    'store-not-durable',
    `the Redis server ${why}. Paid credentials could be accepted again after a restart or eviction. ` +
      'Pass { requireDurable: false } to redisStore only if you accept that risk.',
  )
}

function fields(info: string): Map<string, string> {
  const map = new Map<string, string>()
  for (const line of info.split(/\r?\n/)) {
    const colon = line.indexOf(':')
    if (colon > 0 && !line.startsWith('#')) map.set(line.slice(0, colon), line.slice(colon + 1).trim())
  }
  return map
}
