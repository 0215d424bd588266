/**
 * The core stripe/charge paid flow against REAL Stripe test mode: an mppkit server on
 * loopback HTTP confirming a PaymentIntent with a Shared Payment Token that the mppkit
 * client mints through Stripe's granted-token test helper.
 *
 * Runs only when STRIPE_SECRET_KEY is a test-mode secret key (sk_test_…): it never
 * touches live mode. The account needs the Shared Payment Token preview; set
 * STRIPE_NETWORK_ID to its Business Network profile id if `internal` is not accepted.
 *
 *   STRIPE_SECRET_KEY=sk_test_… npx vitest run test/stripe/live.test.ts
 */
import Stripe from 'stripe'
import { describe, expect, it } from 'vitest'
import { Receipt } from '../../src/index.js'
import { createPaymentFetch } from '../../src/client/index.js'
import { createPaymentServer } from '../../src/server/index.js'
import { chargeClient, chargeServer } from '../../src/methods/stripe/index.js'
import { serve } from '../support/loopback.js'

const key = process.env.STRIPE_SECRET_KEY?.startsWith('sk_test_') ? process.env.STRIPE_SECRET_KEY : undefined
const networkId = process.env.STRIPE_NETWORK_ID ?? 'internal'
if (!key)
  console.info(
    process.env.STRIPE_SECRET_KEY
      ? 'live Stripe test skipped: STRIPE_SECRET_KEY is not a test-mode key (sk_test_…); live keys are never used'
      : 'live Stripe test skipped: set STRIPE_SECRET_KEY=sk_test_… to run it against Stripe test mode',
  )

describe('stripe/charge against Stripe', () => {
  it.skipIf(!key)('live Stripe test mode (set STRIPE_SECRET_KEY=sk_test_… to run)', async () => {
    const stripe = new Stripe(key!)
    const server = createPaymentServer({
      realm: 'mppkit-live-test',
      secrets: [crypto.getRandomValues(new Uint8Array(32))],
      methods: [chargeServer({ client: stripe, networkId, paymentMethodTypes: ['card'], metadata: { suite: 'mppkit-live' } })],
    })
    let delivered = 0
    const api = await serve(server.route({ price: '1.00', description: 'mppkit live test' }, () => {
      delivered++
      return Response.json({ ok: true })
    }))
    try {
      const pay = createPaymentFetch({ methods: [chargeClient({ stripe, paymentMethod: 'pm_card_visa' })] })
      const response = await pay(`${api.url}/live`)
      expect(response.status, await response.clone().text()).toBe(200)
      expect(delivered).toBe(1)
      const receipt = Receipt.parse(response.headers.get('payment-receipt')!)
      expect(receipt.reference).toMatch(/^pi_/)
      const intent = await stripe.paymentIntents.retrieve(receipt.reference)
      expect(intent).toMatchObject({ status: 'succeeded', amount: 100, currency: 'usd', livemode: false })
      expect(intent.metadata).toMatchObject({ suite: 'mppkit-live', challenge_id: response.payment!.challenge.id })
    } finally {
      await api.close()
    }
  }, 60_000)
})
