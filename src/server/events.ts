/**
 * Audit events a payment server emits. They name the challenge, method and amounts,
 * never a credential, a payload or a secret, so they are safe to log as they are.
 */
export type ServerEvent =
  | { type: 'challenge-issued'; challengeIds: string[]; route: string }
  | { type: 'credential-rejected'; problem: string; detail: string; challengeId?: string }
  | { type: 'payment-verified'; challengeId: string; method: string; intent: string }
  | { type: 'payment-refused'; challengeId: string; method: string; intent: string }
  | { type: 'payment-settled'; challengeId: string; method: string; intent: string; reference: string }
  | { type: 'payment-failed'; challengeId: string; method: string; intent: string; stage: 'verify' | 'settle'; reason: string }
  /** Settlement may or may not have moved money; the challenge stays used until it is resolved. */
  | { type: 'payment-outcome-unknown'; challengeId: string; method: string; intent: string; reason: string }
  | { type: 'payment-refunded'; challengeId: string; method: string; reference: string; result: 'refunded' | 'failed' | 'unsupported' }
  | { type: 'idempotent-replay'; challengeId: string }
  /** A retry of the same credential took over a payment its first request left unfinished (crash, hang, unknown outcome). */
  | { type: 'payment-resumed'; challengeId: string; method: string; intent: string; state: 'settling' | 'unknown' | 'settled' }
  /** The handler did not answer within `handlerTimeout`; the payment is refunded. */
  | { type: 'handler-timeout'; challengeId: string; method: string; intent: string }
  /** The payment's end state could not be written to the Store; `reconcile` or an operator must look at it. */
  | { type: 'payment-record-failed'; challengeId: string; method: string; intent: string; state: string }
