/**
 * stripe/charge refunds and Stripe's refund statuses (docs.stripe.com/api/refunds/object):
 * `pending` is a refund in progress (refunded), `requires_action`, `failed` and `canceled`
 * are not refunded; the pipeline's Payment-Refund header says which.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { decodeObject } from '../../src/internal/json.js'
import { createPaymentServer } from '../../src/server/index.js'
import { createPaymentFetch } from '../../src/client/index.js'
import { chargeClient, chargeServer, refundResult } from '../../src/methods/stripe/index.js'
import { serve } from '../support/loopback.js'
import { startStripeDouble, type RefundStatus, type StripeDouble } from '../support/stripeDouble.js'

let double: StripeDouble
const closers: Array<() => Promise<void>> = []
beforeEach(async () => {
  double = await startStripeDouble({ requirePreviewVersion: true })
})
afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close()))
  await double.close()
})

/** A route whose handler fails after payment, so every paid request is refunded. */
async function failingShop() {
  const server = createPaymentServer({
    realm: 'api.test',
    secrets: ['refund-test-secret-0123456789abcdef'],
    methods: [chargeServer({ client: double.stripe(), networkId: 'profile_1', paymentMethodTypes: ['card'] })],
  })
  const api = await serve(server.route({ price: '1.00' }, () => new Response('down', { status: 503 })))
  closers.push(() => api.close())
  const pay = createPaymentFetch({ methods: [chargeClient({ stripe: double.stripe(), paymentMethod: 'pm_card_visa' })] })
  return async () => decodeObject((await pay(`${api.url}/x`)).headers.get('payment-refund')!)
}

describe('refund statuses', () => {
  const cases: Array<[RefundStatus, string]> = [
    ['succeeded', 'refunded'],
    ['pending', 'refunded'],
    ['requires_action', 'failed'],
    ['failed', 'failed'],
    ['canceled', 'failed'],
  ]
  it.each(cases)('a refund Stripe creates as %s is reported %s', async (status, reported) => {
    const refund = await failingShop()
    double.setNextRefundStatus(status)
    const header = await refund()
    expect(header.status).toBe(reported)
    const [created] = [...double.refunds.values()]
    expect(created!.status).toBe(status)
    if (reported === 'refunded') expect(header.reference).toBe(created!.id)
  })

  it('refundResult names the refund and its status, never a token or key', () => {
    expect(refundResult({ id: 're_1', status: 'pending' })).toEqual({ status: 'refunded', reference: 're_1' })
    expect(refundResult({ id: 're_2', status: 'requires_action' })).toEqual({ status: 'failed', reason: expect.stringMatching(/re_2 needs action from the payer/) })
    expect(refundResult({ id: 're_3', status: 'canceled' })).toEqual({ status: 'failed', reason: 'refund re_3 canceled' })
    expect(refundResult({ id: 're_4', status: null })).toEqual({ status: 'failed', reason: 'refund re_4 has no status' })
  })
})
