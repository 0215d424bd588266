import { MppError } from '../errors.js'
import type { Offer } from './Policy.js'

/** No payment was made: policy, a budget or the approver refused every offer. */
export class PaymentDeniedError extends MppError {
  constructor(
    readonly offers: readonly Offer[],
    readonly reasons: readonly string[],
  ) {
    super('policy-denied', `payment refused by policy: ${reasons.join('; ')}`)
  }
}

/**
 * A credential was sent and no answer came back (the network failed, or the request
 * was aborted). The payment may have settled: the client does not pay again, and
 * `offer` says what may have been paid.
 */
export class PaymentOutcomeUnknownError extends MppError {
  constructor(
    readonly offer: Offer,
    options: {
      cause?: unknown
      /** The id of the challenge that was paid: retry with the same credential to resolve the outcome. */
      challengeId?: string
      /** The server's answer when it said the outcome is unknown (absent when no answer came). */
      response?: Response
    } = {},
  ) {
    super(
      'payment-outcome-unknown',
      options.response
        ? `the server could not confirm the payment of ${offer.display}; it may have settled`
        : `no response after paying ${offer.display}; the payment may have settled`,
      options.cause === undefined ? undefined : { cause: options.cause },
    )
    this.challengeId = options.challengeId
    this.response = options.response
  }
  readonly challengeId: string | undefined
  readonly response: Response | undefined
}

/** The server refused the payment it was sent (a 402 after paying); nothing settled, per the protocol. */
export class PaymentRejectedError extends MppError {
  constructor(
    readonly offer: Offer,
    readonly response: Response,
    readonly problem: string | undefined,
  ) {
    super('payment-failed', `server rejected the payment${problem ? ` (${problem})` : ''}`)
  }
}
