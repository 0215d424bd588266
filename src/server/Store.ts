/**
 * The state a payment server keeps: the lifecycle record of each payment, the claims
 * on payment proofs, and stored responses for `Idempotency-Key` replays.
 *
 * Every operation is atomic, in one process and across processes sharing a backend.
 * Expiry times are absolute (milliseconds since the epoch) and judged by the store's
 * own clock where it has one (Redis `TIME`, PostgreSQL `clock_timestamp()`), so servers
 * whose clocks disagree still agree on what has expired.
 */
export interface Store {
  /**
   * Creates every entry, all or none: only when no key holds a live value and, when
   * `notAfter` is given, the store's clock is still before it (a challenge cannot be
   * claimed after it expired, whatever the caller's clock says).
   */
  create(entries: readonly StoreEntry[], options?: { readonly notAfter?: number }): Promise<CreateResult>
  /** The value at `key`, or `undefined` when absent or expired. */
  get(key: string): Promise<string | undefined>
  /**
   * Compare-and-set: replaces `key`'s value with `next` (or deletes it, for `undefined`)
   * only when its live value is exactly `expected`. The expiry is kept unless `expiresAt`
   * is given. True when it swapped.
   */
  swap(key: string, expected: string, next: string | undefined, expiresAt?: number): Promise<boolean>
  /** Sets `key` to `value` until `expiresAt`, replacing what was there. */
  set(key: string, value: string, expiresAt: number): Promise<void>
  delete(key: string): Promise<void>
}

export type StoreEntry = { readonly key: string; readonly value: string; readonly expiresAt: number }

export type CreateResult =
  | { readonly created: true }
  /** One key already holds a live value: nothing was written. */
  | { readonly created: false; readonly key: string; readonly value: string }
  /** The store's clock is at or past `notAfter`: nothing was written. */
  | { readonly created: false; readonly expired: true }
