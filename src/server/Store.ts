/**
 * The state a payment server keeps: single-use claims (challenge ids, payment
 * proofs) and cached responses for `Idempotency-Key` replays. Every operation is
 * atomic per key, in one process and across processes sharing one backend.
 */
export interface Store {
  /**
   * Sets `key` to `value` for `ttlMs` when it is absent or expired, atomically.
   * Returns `undefined` when this call set it, or the value already there.
   */
  putIfAbsent(key: string, value: string, ttlMs: number): Promise<string | undefined>
  /** The value at `key`, or `undefined` when absent or expired. */
  get(key: string): Promise<string | undefined>
  /** Sets `key` to `value` for `ttlMs`, replacing what was there. */
  set(key: string, value: string, ttlMs: number): Promise<void>
  delete(key: string): Promise<void>
}
