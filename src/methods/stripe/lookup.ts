/**
 * What became of a settlement whose outcome was not known (Method.Server.lookup): the
 * PaymentIntent a challenge created is found by Search on its `metadata.challenge_id`
 * (docs.stripe.com/api/payment_intents/search), then read as settled, pending or not settled.
 *
 * Search lags writes (docs.stripe.com/search#data-freshness: usually under a minute), so
 * "nothing found" is not proof: the token is asked instead. A Shared Payment Token that is
 * still unused was never confirmed by any PaymentIntent, so nothing moved; a consumed one
 * whose PaymentIntent search does not show yet is pending.
 */
import type Stripe from 'stripe'
import type * as Method from '../../Method.js'
import { stripeFailure } from './stripeErrors.js'

export type LookupOptions = {
  readonly client: Pick<Stripe, 'paymentIntents'> & Partial<Pick<Stripe, 'rawRequest'>>
  readonly apiVersion: string
  readonly stripeAccount: string | undefined
  readonly challengeId: string
  readonly spt: string
  /** Turns the succeeded PaymentIntent into the settlement (checks amount and currency). */
  readonly settle: (intent: Stripe.PaymentIntent) => Method.Settlement
}

/** A Search query literal: single-quoted, with quotes and backslashes escaped. */
const literal = (value: string) => `'${value.replace(/[\\']/g, (c) => `\\${c}`)}'`

export async function lookupPaymentIntent(o: LookupOptions): Promise<Method.LookupResult> {
  const options = { apiVersion: o.apiVersion, ...(o.stripeAccount !== undefined && { stripeAccount: o.stripeAccount }) }
  let found: Stripe.PaymentIntent[]
  try {
    const result = await o.client.paymentIntents.search({ query: `metadata['challenge_id']:${literal(o.challengeId)}` }, options)
    found = result.data.filter((intent) => intent.metadata?.challenge_id === o.challengeId)
  } catch (error) {
    throw stripeFailure(error)
  }
  const succeeded = found.find((intent) => intent.status === 'succeeded')
  if (succeeded) return { status: 'settled', settlement: o.settle(succeeded) }
  if (found.some((intent) => intent.status === 'processing')) return { status: 'pending' }
  for (const intent of found.filter((i) => i.status === 'requires_action'))
    await o.client.paymentIntents.cancel(intent.id, { cancellation_reason: 'abandoned' }, options).catch(() => undefined)
  if (found.length > 0) return { status: 'not-settled', reason: `the PaymentIntent is ${found[0]!.status}, not succeeded` }
  return tokenState(o, options)
}

async function tokenState(o: LookupOptions, options: Stripe.RequestOptions): Promise<Method.LookupResult> {
  if (!o.client.rawRequest) return { status: 'pending' } // cannot tell without the token
  let token: { deactivated_reason?: unknown }
  try {
    token = (await o.client.rawRequest('GET', `/v1/shared_payment/granted_tokens/${encodeURIComponent(o.spt)}`, undefined, options)) as typeof token
  } catch (error) {
    throw stripeFailure(error)
  }
  if (token.deactivated_reason === 'consumed') return { status: 'pending' } // its PaymentIntent is not searchable yet
  return { status: 'not-settled', reason: 'no PaymentIntent was confirmed with this token' }
}
