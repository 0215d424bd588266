/**
 * Resolves an outcome-unknown Stripe settlement from a webhook: `payment_intent.succeeded`
 * and `payment_intent.payment_failed` events, verified with the endpoint's signing secret
 * through the `stripe` SDK (docs.stripe.com/webhooks#verify-events), name the challenge
 * through the PaymentIntent's `metadata.challenge_id`.
 *
 * @example
 * const outcome = await paymentIntentOutcome({ stripe, body: await request.text(), signature: request.headers.get('stripe-signature'), secret: process.env.STRIPE_WEBHOOK_SECRET! })
 * if (outcome) await reconcile(outcome.challengeId, outcome.status)
 */
import type Stripe from 'stripe'
import { MppError } from '../../errors.js'

export type PaymentIntentOutcome = {
  readonly challengeId: string
  /** `settled` for payment_intent.succeeded, `not-settled` for payment_intent.payment_failed. */
  readonly status: 'settled' | 'not-settled'
  readonly paymentIntent: string
  readonly amount: number
  readonly currency: string
  /** The connected account of a direct charge (Connect webhooks), when there is one. */
  readonly account?: string
}

export type WebhookInput = {
  readonly stripe: Pick<Stripe, 'webhooks'>
  /** The raw request body, exactly as received. */
  readonly body: string | Uint8Array
  readonly signature: string | null | undefined
  readonly secret: string
  /** Seconds of clock skew allowed (the SDK's default is 300). */
  readonly tolerance?: number
}

/**
 * The outcome a verified event reports, or undefined for events that are not about a
 * stripe/charge PaymentIntent. A bad or missing signature is `verification-failed`; the
 * error names neither the secret nor the signature.
 */
export async function paymentIntentOutcome(input: WebhookInput): Promise<PaymentIntentOutcome | undefined> {
  if (!input.signature) throw new MppError('verification-failed', 'the Stripe webhook carries no Stripe-Signature header')
  let event: Stripe.Event
  try {
    event = await input.stripe.webhooks.constructEventAsync(input.body as string, input.signature, input.secret, input.tolerance)
  } catch {
    throw new MppError('verification-failed', 'the Stripe webhook signature does not verify')
  }
  if (event.type !== 'payment_intent.succeeded' && event.type !== 'payment_intent.payment_failed') return undefined
  const intent = event.data.object as Stripe.PaymentIntent
  const challengeId = intent.metadata?.challenge_id
  if (typeof challengeId !== 'string' || challengeId === '') return undefined
  return {
    challengeId,
    status: event.type === 'payment_intent.succeeded' ? 'settled' : 'not-settled',
    paymentIntent: intent.id,
    amount: intent.amount,
    currency: intent.currency,
    ...(typeof event.account === 'string' && { account: event.account }),
  }
}
