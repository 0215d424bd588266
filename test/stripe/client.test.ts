/**
 * The stripe/charge client in test-helper mode: token minting sends seller_details (as
 * Stripe's SPT concept page does) and falls back without it when Stripe refuses it as an
 * unknown parameter; any other refusal reaches the caller.
 */
import { afterEach, describe, expect, it } from 'vitest'
import Stripe from 'stripe'
import { Challenge } from '../../src/index.js'
import { chargeClient, type ChargeRequest } from '../../src/methods/stripe/index.js'
import { startStripeDouble, type StripeDouble } from '../support/stripeDouble.js'

const HELPER = '/v1/test_helpers/shared_payment/granted_tokens'
const request: ChargeRequest = { amount: '100', currency: 'usd', methodDetails: { networkId: 'profile_1', paymentMethodTypes: ['card'] } }
const challenge = Challenge.from({ id: 'c1', realm: 'r', method: 'stripe', intent: 'charge', request })

let double: StripeDouble
afterEach(() => double.close())

const pay = (client: ReturnType<typeof chargeClient>) => client.pay({ challenge, request, signal: new AbortController().signal })

describe('test-mode token minting', () => {
  it('sends seller_details[network_id] when Stripe takes it: one request', async () => {
    double = await startStripeDouble()
    const { payload } = await pay(chargeClient({ stripe: double.stripe(), paymentMethod: 'pm_card_visa' }))
    expect(payload.spt).toMatch(/^spt_/)
    const sent = double.requestsTo(HELPER, 'POST')
    expect(sent).toHaveLength(1)
    expect(sent[0]!.params.seller_details).toEqual({ network_id: 'profile_1' })
  })

  it('falls back without seller_details when Stripe answers parameter_unknown for it', async () => {
    double = await startStripeDouble({ rejectSellerDetails: true })
    const { payload } = await pay(chargeClient({ stripe: double.stripe(), paymentMethod: 'pm_card_visa' }))
    expect(double.spts.has(payload.spt)).toBe(true)
    const sent = double.requestsTo(HELPER, 'POST')
    expect(sent.map((r) => r.status)).toEqual([400, 200])
    expect(sent[1]!.params).toEqual({ payment_method: 'pm_card_visa', usage_limits: sent[0]!.params.usage_limits })
  })

  it('does not retry other refusals (a bad key): Stripe\'s error reaches the caller', async () => {
    double = await startStripeDouble({ rejectSellerDetails: true })
    const error = await pay(chargeClient({ stripe: double.stripe({}, 'sk_live_nope_1234'), paymentMethod: 'pm_card_visa' })).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(Stripe.errors.StripeAuthenticationError)
    expect(double.requestsTo(HELPER, 'POST')).toHaveLength(1)
  })
})
