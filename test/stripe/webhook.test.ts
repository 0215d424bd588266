/**
 * The webhook helper: signature verified through the stripe SDK, payment_intent.succeeded /
 * payment_failed mapped to the challenge named in metadata.
 */
import { describe, expect, it } from 'vitest'
import Stripe from 'stripe'
import { isMppError } from '../../src/index.js'
import { paymentIntentOutcome } from '../../src/methods/stripe/index.js'

const stripe = new Stripe('sk_test_webhook_0000')
const SECRET = 'whsec_test_secret_0123456789'

function event(type: string, metadata: Record<string, string> = { challenge_id: 'chal_1' }, account?: string) {
  return JSON.stringify({
    id: 'evt_1', object: 'event', type, api_version: '2026-07-29.preview', created: 1, livemode: false, pending_webhooks: 1, request: null,
    ...(account && { account }),
    data: { object: { id: 'pi_1', object: 'payment_intent', amount: 100, currency: 'usd', status: type.endsWith('succeeded') ? 'succeeded' : 'requires_payment_method', metadata } },
  })
}
const signed = (body: string, secret = SECRET) => stripe.webhooks.generateTestHeaderString({ payload: body, secret })

async function refusal(p: Promise<unknown>) {
  const error = await p.catch((e: unknown) => e)
  expect(isMppError(error, 'verification-failed')).toBe(true)
  return (error as Error).message
}

describe('paymentIntentOutcome', () => {
  it('payment_intent.succeeded: settled, for the challenge in metadata', async () => {
    const body = event('payment_intent.succeeded')
    expect(await paymentIntentOutcome({ stripe, body, signature: signed(body), secret: SECRET })).toEqual({
      challengeId: 'chal_1', status: 'settled', paymentIntent: 'pi_1', amount: 100, currency: 'usd',
    })
  })

  it('payment_intent.payment_failed: not-settled; a Connect event names its account', async () => {
    const body = event('payment_intent.payment_failed', { challenge_id: 'chal_2' }, 'acct_9')
    expect(await paymentIntentOutcome({ stripe, body, signature: signed(body), secret: SECRET })).toMatchObject({ challengeId: 'chal_2', status: 'not-settled', account: 'acct_9' })
  })

  it('other events, and PaymentIntents without a challenge id, are not ours: undefined', async () => {
    for (const body of [event('payment_intent.processing'), event('charge.refunded'), event('payment_intent.succeeded', {})])
      expect(await paymentIntentOutcome({ stripe, body, signature: signed(body), secret: SECRET })).toBeUndefined()
  })

  it('a wrong secret, a changed body or no signature is verification-failed, naming neither secret nor signature', async () => {
    const body = event('payment_intent.succeeded')
    const signature = signed(body)
    for (const message of [
      await refusal(paymentIntentOutcome({ stripe, body, signature: signed(body, 'whsec_other'), secret: SECRET })),
      await refusal(paymentIntentOutcome({ stripe, body: body.replace('chal_1', 'chal_X'), signature, secret: SECRET })),
      await refusal(paymentIntentOutcome({ stripe, body, signature: undefined, secret: SECRET })),
    ]) {
      expect(message).not.toContain(SECRET)
      expect(message).not.toContain(signature.split(',v1=')[1]!)
    }
  })
})
