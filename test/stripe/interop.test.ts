/**
 * stripe/charge interop with mppx 0.11.0 (the reference SDK), over loopback HTTP, both
 * servers settling through the real stripe SDK against the Stripe double:
 *   (a) an mppx client pays an mppkit route;
 *   (b) the mppkit client pays an mppx route.
 * Research notes: docs/research/stripe.md §3; the hand-run version: scratch/stripe/mppx-e2e.ts.
 *
 * Where the two differ on the wire (both within draft-stripe-charge-00's latitude or not):
 *  - idempotency key: mppkit sends `${challengeId}_${spt}` (the draft); mppx `mpp_${challengeId}_${spt}`;
 *  - PaymentIntent metadata: mppkit `challenge_id` (the draft); mppx `mpp_challenge_id` plus
 *    `machine_payment`, `mpp_sdk`, `mpp_intent`, and user metadata may override those;
 *  - createToken: mppx passes `amount` as a string and `metadata`/`paymentMethod`; mppkit passes
 *    a bigint amount and `paymentMethodTypes`;
 *  - mppx's challenge has no `opaque`; mppkit's carries a nonce in `opaque` (mppx echoes it).
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { Mppx as MppxClient, stripe as mppxStripeClient } from 'mppx/client'
import { Mppx as MppxServer, stripe as mppxStripeServer } from 'mppx/server'
import { Challenge, Credential, Receipt } from '../../src/index.js'
import { createPaymentFetch } from '../../src/client/index.js'
import { createPaymentServer } from '../../src/server/index.js'
import { chargeClient, chargeServer } from '../../src/methods/stripe/index.js'
import { serve, type WebHandler } from '../support/loopback.js'
import { challengesOf } from '../support/paidRequest.js'
import { startStripeDouble, type StripeDouble } from '../support/stripeDouble.js'

const SECRET = 'stripe-interop-test-secret-0123456789abcdef'
const REALM = 'api.test'
const NETWORK = 'internal'
const METADATA = { plan: 'pro' }
const PREVIEW = '2026-07-29.preview'
const PI = '/v1/payment_intents'
const HELPER = '/v1/test_helpers/shared_payment/granted_tokens'

let double: StripeDouble
const cleanup: Array<() => Promise<void>> = []
beforeEach(async () => {
  double = await startStripeDouble({ requirePreviewVersion: true })
})
afterEach(async () => {
  await Promise.all(cleanup.splice(0).map((close) => close()))
  await double.close()
})

async function site(handler: WebHandler) {
  const api = await serve(handler)
  cleanup.push(() => api.close())
  return api
}

function onlySpt(): string {
  const ids = [...double.spts.keys()]
  expect(ids).toHaveLength(1)
  return ids[0]!
}

/** mppx's client half, minting SPTs through the double's test helper (as mppx's CLI plugin does). */
function mppxPayer() {
  const createToken = vi.fn(async (p: { amount: string; currency: string; expiresAt: number; networkId: string | undefined; paymentMethod?: string | undefined }) => {
    const token = await double.stripe().rawRequest(
      'POST',
      HELPER,
      {
        payment_method: p.paymentMethod!,
        usage_limits: { currency: p.currency, max_amount: Number(p.amount), expires_at: p.expiresAt },
        seller_details: { network_id: p.networkId! },
      },
      { apiVersion: PREVIEW },
    )
    return token.id as string
  })
  const mppx = MppxClient.create({
    methods: [mppxStripeClient.charge({ createToken, paymentMethod: 'pm_card_visa' })],
    polyfill: false,
  })
  return { createToken, fetch: mppx.fetch }
}

/** An mppkit seller with one Stripe route. */
async function mppkitShop(route: Parameters<ReturnType<typeof createPaymentServer>['route']>[0] = { price: '1.00' }) {
  const server = createPaymentServer({
    realm: REALM,
    secrets: [SECRET],
    methods: [chargeServer({ client: double.stripe(), networkId: NETWORK, paymentMethodTypes: ['card'], metadata: METADATA })],
  })
  const delivered: string[] = []
  const api = await site(
    server.route(route, async (request) => {
      delivered.push(await request.text())
      return Response.json({ ok: true })
    }),
  )
  return { api, delivered, url: `${api.url}/report` }
}

/** An mppx seller charging 1.00 usd, as a Web handler. */
async function mppxShop() {
  const mppx = MppxServer.create({
    methods: [mppxStripeServer.charge({ client: double.stripe(), networkId: NETWORK, paymentMethodTypes: ['card'], metadata: METADATA })],
    realm: REALM,
    secretKey: SECRET,
  })
  const charge = mppx.charge({ amount: '1', currency: 'usd', decimals: 2 })
  const delivered: string[] = []
  const api = await site(async (request) => {
    const result = await charge(request)
    if (result.status === 402) return result.challenge
    delivered.push(await request.text())
    return result.withReceipt(Response.json({ ok: true }))
  })
  return { api, delivered, url: `${api.url}/report` }
}

describe('(a) an mppx 0.11.0 client pays an mppkit Stripe route', () => {
  it('GET: 200 with an mppkit receipt naming the PaymentIntent; mppkit\'s idempotency key and metadata', async () => {
    const { url, api, delivered } = await mppkitShop()
    const payer = mppxPayer()
    const response = await payer.fetch(url)
    expect(response.status).toBe(200)
    expect(await response.json()).toEqual({ ok: true })
    expect(delivered).toHaveLength(1)

    const [challenge] = challengesOf(await fetch(url)) // the shape mppx was offered
    expect(Challenge.decodeRequest(challenge!)).toEqual({
      amount: '100',
      currency: 'usd',
      methodDetails: { networkId: NETWORK, paymentMethodTypes: ['card'], metadata: METADATA },
    })

    // mppx's createToken gets amount as a string, plus metadata and paymentMethod.
    expect(payer.createToken).toHaveBeenCalledTimes(1)
    expect(payer.createToken.mock.calls[0]![0]).toMatchObject({
      amount: '100',
      currency: 'usd',
      networkId: NETWORK,
      metadata: METADATA,
      paymentMethod: 'pm_card_visa',
    })

    // mppx echoed mppkit's challenge exactly (incl. the opaque nonce), so the HMAC held.
    const paid = api.requests.find((r) => r.authorizations.length > 0)!
    const credential = Credential.parse(paid.authorizations[0]!)
    expect(credential.payload).toEqual({ spt: onlySpt() })
    expect(credential.challenge.opaque).toBeDefined()

    const spt = onlySpt()
    const [sent, ...more] = double.requestsTo(PI)
    expect(more).toHaveLength(0)
    // mppkit settles, so the draft's key and metadata (not mppx's `mpp_` key / `mpp_challenge_id`).
    expect(sent!.headers['idempotency-key']).toBe(`${credential.challenge.id}_${spt}`)
    expect(sent!.params.metadata).toEqual({ ...METADATA, challenge_id: credential.challenge.id })
    expect(sent!.headers['stripe-version']).toBe(PREVIEW)

    const receipt = Receipt.parse(response.headers.get('payment-receipt')!)
    expect(receipt).toMatchObject({ method: 'stripe', status: 'success', reference: [...double.paymentIntents.keys()][0] })
    expect(receipt.reference).toMatch(/^pi_/)
  })

  it('POST with a body: mppx echoes the digest binding and the handler gets the body', async () => {
    const { url, delivered } = await mppkitShop()
    const response = await mppxPayer().fetch(url, { method: 'POST', body: '{"q":1}', headers: { 'content-type': 'application/json' } })
    expect(response.status).toBe(200)
    expect(delivered).toEqual(['{"q":1}'])
    expect(double.requestsTo(PI)).toHaveLength(1)
  })

  it('a route externalId is echoed by mppx in the payload and comes back in the receipt', async () => {
    const { url } = await mppkitShop({ price: '1.00', externalId: 'order_42' })
    const response = await mppxPayer().fetch(url)
    expect(response.status).toBe(200)
    expect(Receipt.parse(response.headers.get('payment-receipt')!).externalId).toBe('order_42')
  })
})

describe('(b) the mppkit client pays an mppx 0.11.0 Stripe route', () => {
  it('200 with mppx\'s receipt; mppx settles with its `mpp_` idempotency key and `mpp_challenge_id` metadata', async () => {
    const { url, delivered } = await mppxShop()
    const pay = createPaymentFetch({ methods: [chargeClient({ stripe: double.stripe(), paymentMethod: 'pm_card_visa' })] })
    const response = await pay(url)
    expect(response.status).toBe(200)
    expect(await response.json()).toEqual({ ok: true })
    expect(delivered).toHaveLength(1)

    const challenge = response.payment!.challenge
    // mppx's challenge: the same request shape (no `decimals` on the wire), no opaque.
    expect(Challenge.decodeRequest(challenge)).toEqual({
      amount: '100',
      currency: 'usd',
      methodDetails: { networkId: NETWORK, paymentMethodTypes: ['card'], metadata: METADATA },
    })
    expect(challenge.opaque).toBeUndefined()

    const spt = onlySpt()
    expect(double.requestsTo(HELPER)[0]!.params.usage_limits).toEqual({
      currency: 'usd',
      max_amount: '100',
      expires_at: String(Math.floor(Challenge.expiresAt(challenge)! / 1000)),
    })
    const [sent, ...more] = double.requestsTo(PI)
    expect(more).toHaveLength(0)
    expect(sent!.params).toMatchObject({
      amount: '100',
      currency: 'usd',
      confirm: 'true',
      shared_payment_granted_token: spt,
      automatic_payment_methods: { enabled: 'true', allow_redirects: 'never' },
    })
    // mppx differs from the draft here: key prefix `mpp_`, and `mpp_challenge_id` instead of `challenge_id`.
    expect(sent!.headers['idempotency-key']).toBe(`mpp_${challenge.id}_${spt}`)
    expect(sent!.params.metadata).toEqual({
      machine_payment: 'true',
      mpp_sdk: 'mppx/0.11.0',
      mpp_intent: 'charge',
      mpp_challenge_id: challenge.id,
      ...METADATA,
    })
    expect(sent!.headers['stripe-version']).toBe(PREVIEW)

    const receipt = response.payment!.receipt!
    expect(receipt).toMatchObject({ method: 'stripe', status: 'success', reference: [...double.paymentIntents.keys()][0] })
    expect(receipt.reference).toMatch(/^pi_/)
  })

  it('replaying the mppkit client\'s credential at mppx: 402, one PaymentIntent (mppx relies on Stripe\'s Idempotent-Replayed)', async () => {
    const { url, api, delivered } = await mppxShop()
    const pay = createPaymentFetch({ methods: [chargeClient({ stripe: double.stripe(), paymentMethod: 'pm_card_visa' })] })
    expect((await pay(url)).status).toBe(200)
    const authorization = api.requests.find((r) => r.authorizations.length > 0)!.authorizations[0]!
    const replay = await fetch(url, { headers: { authorization } })
    expect(replay.status).toBe(402)
    const problem = (await replay.json()) as { type: string }
    expect(problem.type).toBe('https://paymentauth.org/problems/verification-failed')
    expect(double.paymentIntents.size).toBe(1)
    expect(double.requestsTo(PI).at(-1)!.replayed).toBe(true) // mppx asked Stripe again; mppkit would not (single-use challenge)
    expect(delivered).toHaveLength(1)
  })
})
