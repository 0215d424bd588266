/**
 * Gates for request-dependent prices. `server.charge(route)` builds each method's
 * request once, for one price; a price computed per request gets the gate for exactly
 * the options it computed, from a small LRU cache keyed by those options. A challenge
 * is bound by its HMAC to the amount it was issued with (and by its digest to the body),
 * so one issued for a cheap request never verifies at the gate of an expensive one.
 */
import { MppError } from '../errors.js'
import type * as Method from '../Method.js'
import type { Gate, PaymentServer, Route } from '../server/index.js'

/** Gates by their route options, the least recently used dropped beyond `size`. */
export type GateCache = {
  get(options: Method.RouteOptions): Gate
  /** Forgets a gate whose options turned out unusable (its driver refused them). */
  drop(options: Method.RouteOptions): void
  readonly size: number
}

/**
 * @example
 * const gates = gateCache(server, { only: ['ledger'], bind: { route: 'POST /v1/chat' } }, 256)
 * const gate = gates.get({ amount: String(tokens * 2) })
 */
export function gateCache(server: PaymentServer, fixed: Pick<Route, 'only' | 'bind'>, size: number): GateCache {
  if (!Number.isInteger(size) || size < 1) throw new MppError('configuration-invalid', 'priceCacheSize must be a positive integer')
  const gates = new Map<string, Gate>()
  return {
    get(options) {
      const key = cacheKey(options)
      const cached = gates.get(key)
      if (cached) {
        gates.delete(key)
        gates.set(key, cached)
        return cached
      }
      // A challenge issued by an evicted gate still pays at a new gate for the same
      // options: the driver builds the same request bytes from the same options.
      const gate = server.charge({ ...options, ...fixed })
      gates.set(key, gate)
      if (gates.size > size) gates.delete(gates.keys().next().value!)
      return gate
    },
    drop(options) {
      gates.delete(cacheKey(options))
    },
    get size() {
      return gates.size
    },
  }
}

/** Canonical text for route options: keys sorted at every depth, bigints tagged. */
export function cacheKey(options: Method.RouteOptions): string {
  return JSON.stringify(sorted(options))
}

function sorted(value: unknown): unknown {
  if (typeof value === 'bigint') return { $bigint: value.toString() }
  if (Array.isArray(value)) return value.map(sorted)
  if (value !== null && typeof value === 'object')
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .filter((key) => (value as Record<string, unknown>)[key] !== undefined)
        .map((key) => [key, sorted((value as Record<string, unknown>)[key])]),
    )
  if (typeof value === 'function' || typeof value === 'symbol')
    throw new MppError('configuration-invalid', 'a computed price must be plain data (strings, numbers, bigints, objects)')
  return value
}
