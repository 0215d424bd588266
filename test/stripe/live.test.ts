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
 *
 * Beyond the paid request it covers a decline, requires_action (cancelled), a refund on
 * failed delivery, an idempotent second settle of the same challenge, and, with
 * STRIPE_CONNECT_ACCOUNT=acct_… (a connected account of this platform), a destination charge
 * refunded with its transfer reversed.
 */
import Stripe from 'stripe'
import { describe, expect, it } from 'vitest'
import { Receipt } from '../../src/index.js'
import { createPaymentFetch, PaymentRejectedError } from '../../src/client/index.js'
import { Challenge } from '../../src/index.js'
import type * as Method from '../../src/Method.js'
import { decodeObject } from '../../src/internal/json.js'
import { createPaymentServer } from '../../src/server/index.js'
import { chargeClient, chargeServer, type ChargeRequest, type Connect } from '../../src/methods/stripe/index.js'
import { serve } from '../support/loopback.js'

const key = process.env.STRIPE_SECRET_KEY?.startsWith('sk_test_') ? process.env.STRIPE_SECRET_KEY : undefined
const networkId = process.env.STRIPE_NETWORK_ID ?? 'internal'
const connectAccount = process.env.STRIPE_CONNECT_ACCOUNT?.startsWith('acct_') ? process.env.STRIPE_CONNECT_ACCOUNT : undefined
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

  /** A seller on loopback with one route; `handler` decides delivery. */
  async function seller(stripe: Stripe, connect?: Connect, handler: () => Response = () => Response.json({ ok: true })) {
    const driver = chargeServer({ client: stripe, networkId, paymentMethodTypes: ['card'], metadata: { suite: 'mppkit-live' }, ...(connect && { connect }) })
    const server = createPaymentServer({ realm: 'mppkit-live-test', secrets: [crypto.getRandomValues(new Uint8Array(32))], methods: [driver] })
    const route = { price: '1.00', description: 'mppkit live test' }
    const api = await serve(server.route(route, handler))
    return { driver, server, route, api, url: `${api.url}/live` }
  }

  it.skipIf(!key)('decline and requires_action are rejected with 402 (the driver cancels the requires_action PaymentIntent)', async () => {
    const stripe = new Stripe(key!)
    const { api, url } = await seller(stripe)
    try {
      for (const paymentMethod of ['pm_card_chargeDeclined', 'pm_card_authenticationRequired']) {
        const error = await createPaymentFetch({ methods: [chargeClient({ stripe, paymentMethod })] })(url).catch((e: unknown) => e)
        expect(error, paymentMethod).toBeInstanceOf(PaymentRejectedError)
      }
    } finally {
      await api.close()
    }
  }, 60_000)

  it.skipIf(!key)('a failed delivery is refunded; a second settle of one challenge is the same PaymentIntent', async () => {
    const stripe = new Stripe(key!)
    const failing = await seller(stripe, undefined, () => new Response('down', { status: 503 }))
    try {
      const response = await createPaymentFetch({ methods: [chargeClient({ stripe, paymentMethod: 'pm_card_visa' })] })(failing.url)
      expect(response.status).toBe(503)
      const refund = decodeObject(response.headers.get('payment-refund')!)
      expect(refund.status).toBe('refunded')
      expect(['succeeded', 'pending']).toContain((await stripe.refunds.retrieve(refund.reference as string)).status)

      const unpaid = await failing.server.charge(failing.route).check(new Request(failing.url))
      if (unpaid.paid) throw new Error('expected a 402')
      const challenge = Challenge.parseList(unpaid.response.headers.get('www-authenticate')!)[0]!
      const request = Challenge.decodeRequest(challenge) as ChargeRequest
      const { payload } = await chargeClient({ stripe, paymentMethod: 'pm_card_visa' }).pay({ challenge, request, signal: new AbortController().signal })
      const context = { challenge, request, payload, verified: { spt: payload.spt } } as unknown as Method.SettleContext<ChargeRequest, { spt: string }, { spt: string }>
      const first = await failing.driver.settle(context)
      const second = await failing.driver.settle(context)
      expect(second.reference).toBe(first.reference)
    } finally {
      await failing.api.close()
    }
  }, 90_000)

  it.skipIf(!key || !connectAccount)('Connect destination charge (set STRIPE_CONNECT_ACCOUNT=acct_…): transfer, then a refund that reverses it', async () => {
    const stripe = new Stripe(key!)
    const shop = await seller(stripe, { type: 'destination', destination: connectAccount!, applicationFeeAmount: 10n }, () => new Response('down', { status: 503 }))
    try {
      const response = await createPaymentFetch({ methods: [chargeClient({ stripe, paymentMethod: 'pm_card_visa' })] })(shop.url)
      expect(response.status).toBe(503)
      const refund = await stripe.refunds.retrieve(decodeObject(response.headers.get('payment-refund')!).reference as string)
      expect(refund.transfer_reversal).not.toBeNull()
    } finally {
      await shop.api.close()
    }
  }, 90_000)
})
