/**
 * The stripe/charge driver's settle and lookup, called directly against the strict
 * Stripe double: settle is idempotent per challenge (a second call after a crash finds
 * the same PaymentIntent), `processing` is outcome-unknown and lookup resolves it later,
 * `requires_action` is cancelled, and Stripe's answer is checked against the challenge.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type Stripe from 'stripe'
import { Challenge } from '../../src/index.js'
import * as Method from '../../src/Method.js'
import { createPaymentServer } from '../../src/server/index.js'
import { chargeServer, type ChargeRequest, type ChargeServerOptions } from '../../src/methods/stripe/index.js'
import { challengesOf } from '../support/paidRequest.js'
import { startStripeDouble, type StripeDouble } from '../support/stripeDouble.js'

const PREVIEW = '2026-07-29.preview'
const PI = '/v1/payment_intents'
const NETWORK = 'profile_test_1'

let double: StripeDouble
beforeEach(async () => {
  double = await startStripeDouble({ requirePreviewVersion: true })
})
afterEach(() => double.close())

/** A driver, a challenge it issued for 1.00 usd, and a fresh SPT for it. */
async function setup(extra: Partial<ChargeServerOptions> = {}) {
  const sdk = double.stripe()
  const driver = chargeServer({ client: sdk, networkId: NETWORK, paymentMethodTypes: ['card'], ...extra })
  const server = createPaymentServer({ realm: 'api.test', secrets: ['settlement-test-secret-0123456789abcdef'], methods: [driver] })
  const unpaid = await server.charge({ price: '1.00' }).check(new Request('https://api.test/x'))
  if (unpaid.paid) throw new Error('expected a 402')
  const challenge = challengesOf(unpaid.response)[0]!
  const request = Challenge.decodeRequest(challenge) as ChargeRequest
  const token = await sdk.rawRequest(
    'POST',
    '/v1/test_helpers/shared_payment/granted_tokens',
    { payment_method: 'pm_card_visa', usage_limits: { currency: 'usd', max_amount: 100, expires_at: Math.floor(Date.now() / 1000) + 600 } },
    { apiVersion: PREVIEW },
  )
  const spt = token.id as string
  const context = { challenge, request, verified: { spt }, payload: { spt } } as unknown as Method.SettleContext<ChargeRequest, { spt: string }, { spt: string }>
  return { sdk, driver, challenge, request, spt, context }
}

async function failure(p: Promise<unknown>): Promise<unknown> {
  try {
    await p
  } catch (error) {
    return error
  }
  throw new Error('expected a rejection')
}

describe('settle is idempotent per challenge', () => {
  it('a second settle for the same challenge and token returns the same PaymentIntent (Stripe replays it): one charge', async () => {
    const { driver, context } = await setup()
    const first = await driver.settle(context)
    const second = await driver.settle(context)
    expect(second.reference).toBe(first.reference)
    const sent = double.requestsTo(PI, 'POST')
    expect(sent).toHaveLength(2)
    expect(sent[1]!.replayed).toBe(true)
    expect(sent[1]!.params).toEqual(sent[0]!.params)
    expect(double.paymentIntents.size).toBe(1)
  })

  it('a second settle after processing -> succeeded reads the PaymentIntent again instead of Stripe\'s saved "processing"', async () => {
    const { driver, context } = await setup()
    double.setNextPaymentIntentOutcome({ status: 'processing' })
    expect(await failure(driver.settle(context))).toBeInstanceOf(Method.OutcomeUnknownError)
    const [intent] = [...double.paymentIntents.values()]
    double.finishProcessing(intent!.id, 'succeeded')
    const settled = await driver.settle(context)
    expect(settled.reference).toBe(intent!.id)
    expect(double.requestsTo(`${PI}/${intent!.id}`, 'GET')).toHaveLength(1)
  })

  it('two settles of one challenge at once: the second is told the outcome is unknown (409 idempotency_key_in_use), never "nothing moved"', async () => {
    const { driver, context } = await setup()
    const hold = double.holdNext(PI)
    const first = driver.settle(context)
    await hold.arrived
    const error = await failure(driver.settle(context))
    expect(error).toBeInstanceOf(Method.OutcomeUnknownError)
    expect(double.requestsTo(PI, 'POST')[1]!.status).toBe(409)
    hold.release()
    expect((await first).reference).toMatch(/^pi_/)
  })

  it('refuses a PaymentIntent whose amount or currency differs from the challenge', async () => {
    const { sdk, driver, context } = await setup()
    const other = double.stripe()
    for (const change of [{ amount: 99 }, { currency: 'eur' }]) {
      const create = vi.spyOn(sdk.paymentIntents, 'create').mockImplementationOnce(async (p, o) => ({ ...(await other.paymentIntents.create(p, o)), ...change }) as Stripe.Response<Stripe.PaymentIntent>)
      const error = await failure(driver.settle(context))
      expect(error).toBeInstanceOf(Method.VerificationError)
      expect((error as Method.VerificationError).reason).toMatch(/different amount or currency/)
      create.mockRestore()
    }
  })
})

describe('requires_action', () => {
  it('cancels the PaymentIntent (under the direct charge\'s account) and answers VerificationError', async () => {
    const { driver, context } = await setup({ connect: { type: 'direct', account: 'acct_9' } })
    double.setNextPaymentIntentOutcome({ status: 'requires_action' })
    const error = await failure(driver.settle(context))
    expect(error).toBeInstanceOf(Method.VerificationError)
    const [intent] = [...double.paymentIntents.values()]
    expect(intent!.status).toBe('canceled')
    expect(double.requestsTo(`${PI}/${intent!.id}/cancel`, 'POST')[0]!.headers['stripe-account']).toBe('acct_9')
  })
})

describe('lookup', () => {
  it('processing: pending; then settled once the network confirms, with the same settlement settle gives', async () => {
    const { driver, context } = await setup()
    double.setNextPaymentIntentOutcome({ status: 'processing' })
    await failure(driver.settle(context))
    expect(await driver.lookup!(context)).toEqual({ status: 'pending' })
    const [intent] = [...double.paymentIntents.values()]
    double.finishProcessing(intent!.id, 'succeeded')
    const found = await driver.lookup!(context)
    expect(found).toEqual({ status: 'settled', settlement: { reference: intent!.id, details: { paymentIntent: intent!.id } } })
    const search = double.requestsTo(`${PI}/search`, 'GET').at(-1)!
    expect(search.params).toEqual({ query: `metadata['challenge_id']:'${context.challenge.id}'` })
    expect(search.headers['stripe-version']).toBe(PREVIEW)
  })

  it('processing that fails: not-settled', async () => {
    const { driver, context } = await setup()
    double.setNextPaymentIntentOutcome({ status: 'processing' })
    await failure(driver.settle(context))
    double.finishProcessing([...double.paymentIntents.keys()][0]!, 'failed')
    expect(await driver.lookup!(context)).toMatchObject({ status: 'not-settled', reason: expect.stringMatching(/requires_payment_method/) })
  })

  it('a request that never created a PaymentIntent (api_error): not-settled, because the token is still unused', async () => {
    const { driver, context, spt } = await setup()
    double.setNextPaymentIntentOutcome({ error: 'api_error' })
    expect(await failure(driver.settle(context))).toBeInstanceOf(Method.OutcomeUnknownError)
    expect(await driver.lookup!(context)).toMatchObject({ status: 'not-settled' })
    expect(double.requestsTo(`/v1/shared_payment/granted_tokens/${spt}`, 'GET')).toHaveLength(1)
  })

  it('search lagging behind a confirmed payment: pending (the token is consumed), then settled once indexed', async () => {
    const { driver, context } = await setup()
    double.setStaleSearch(true)
    const settled = await driver.settle(context)
    expect(await driver.lookup!(context)).toEqual({ status: 'pending' })
    double.indexSearch()
    expect(await driver.lookup!(context)).toMatchObject({ status: 'settled', settlement: { reference: settled.reference } })
  })

  it('a requires_action PaymentIntent is cancelled and reported not-settled', async () => {
    const { driver, context, sdk, spt } = await setup()
    // An earlier attempt that left requires_action behind (its cancel was lost).
    const other = double.stripe()
    double.setNextPaymentIntentOutcome({ status: 'requires_action' })
    const intent = await other.paymentIntents.create(
      { amount: 100, currency: 'usd', confirm: true, payment_method_data: { shared_payment_granted_token: spt }, metadata: { challenge_id: context.challenge.id } } as unknown as Stripe.PaymentIntentCreateParams,
      { apiVersion: PREVIEW },
    )
    expect(await driver.lookup!(context)).toMatchObject({ status: 'not-settled' })
    expect((await sdk.paymentIntents.retrieve(intent.id)).status).toBe('canceled')
  })

  it('a direct charge is looked up under its connected account', async () => {
    const { driver, context } = await setup({ connect: { type: 'direct', account: 'acct_9' } })
    const settled = await driver.settle(context)
    expect(await driver.lookup!(context)).toMatchObject({ status: 'settled', settlement: { reference: settled.reference, details: { stripeAccount: 'acct_9' } } })
    expect(double.requestsTo(`${PI}/search`, 'GET')[0]!.headers['stripe-account']).toBe('acct_9')
  })

  it('a PaymentIntent of another challenge is never taken for this one', async () => {
    const { driver, context } = await setup()
    const other = await setup()
    await other.driver.settle(other.context)
    expect((await driver.lookup!(context)).status).toBe('not-settled')
  })
})
