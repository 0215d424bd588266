/**
 * The payment lifecycle: the states a challenge id moves through in the Store, under
 * the key `pay:<challenge id>`. Every transition is a compare-and-set written before
 * the step it guards: `settling` before the driver moves money, `settled` (with the
 * settlement) before the handler runs, then exactly one end state.
 *
 *   (none) ── create ──▶ settling ──▶ settled ──▶ delivered
 *                          │   ▲          │
 *                          ▼   │          └──▶ refunded | refund-failed
 *                        unknown
 *
 * `settling` and `unknown` go back to (none) only when the rail says nothing moved.
 * A record whose owner's lease ran out (the process died, the handler hung) is taken
 * over by the payer's retry with the same credential and body: it settles again
 * (drivers settle idempotently) or delivers what was paid for.
 */
import type * as Credential from '../Credential.js'
import type { Store } from './Store.js'

export type PaymentState =
  /** The record is claimed; the driver is moving money (or was, when the owner died). */
  | 'settling'
  /** `settle` failed in a way that may have moved money; a retry looks it up or settles again. */
  | 'unknown'
  /** Money moved; the handler has not answered yet. */
  | 'settled'
  /** The handler answered and the payer got the response with its receipt. */
  | 'delivered'
  /** Delivery failed and the payment was given back. */
  | 'refunded'
  /** Delivery failed and the refund did too (or the method cannot refund): an operator must act. */
  | 'refund-failed'

export type PaymentRecord = {
  readonly state: PaymentState
  /** Fingerprint of the credential and body that paid: only their retries may resume it. */
  readonly fp: string
  /** Until when (epoch ms, the owner's clock) the owner is working on it; after that a retry takes over. */
  readonly lease: number
  /** Proof claims written with the record, released if nothing moved. */
  readonly proofs?: readonly string[]
  readonly settlement?: { readonly reference: string; readonly receipt?: Readonly<Record<string, unknown>>; readonly details?: unknown }
  /** When it settled (the receipt's timestamp). */
  readonly settledAt?: number
  /** Why the outcome is unknown, or why a refund failed. */
  readonly reason?: string
  /** The challenge paid (no secret in it), and which of its method's drivers took it: what `reconcile` needs without the payer. */
  readonly challenge?: Credential.ChallengeEcho
  readonly driver?: number
}

export function recordKey(challengeId: string): string {
  return `pay:${challengeId}`
}

/**
 * `delivered` is stored as a bare word: it only has to block replays until the
 * challenge expires, and millions of them may be live at once.
 */
export const DELIVERED = 'delivered'

export function encode(record: PaymentRecord): string {
  return JSON.stringify(record)
}

export function decode(value: string): PaymentRecord | typeof DELIVERED | undefined {
  if (value === DELIVERED) return DELIVERED
  try {
    const record = JSON.parse(value) as PaymentRecord
    return typeof record === 'object' && record !== null && typeof record.state === 'string' && typeof record.fp === 'string' ? record : undefined
  } catch {
    return undefined
  }
}

/**
 * Nothing moved: removes the record (only if it is still `value`) and the proof claims
 * written with it, so no trace is left for free. True when this call removed it.
 */
export async function release(store: Store, challengeId: string, value: string, record: PaymentRecord): Promise<boolean> {
  const removed = await store.swap(recordKey(challengeId), value, undefined).catch(() => false)
  if (removed) await Promise.all((record.proofs ?? []).map((key) => store.swap(key, challengeId, undefined).catch(() => false)))
  return removed
}
