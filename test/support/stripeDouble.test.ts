import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import Stripe from 'stripe'
import { parseForm, startStripeDouble, type StripeDouble } from './stripeDouble.js'

const PREVIEW = '2026-07-29.preview'
const HELPER = '/v1/test_helpers/shared_payment/granted_tokens'

let double: StripeDouble
let stripe: Stripe

beforeAll(async () => {
  double = await startStripeDouble({ requirePreviewVersion: true })
  stripe = double.stripe()
})
afterAll(() => double.close())

async function grantSpt(limits: { currency?: string; max_amount?: number; expires_at?: number } = {}, paymentMethod = 'pm_card_visa') {
  const spt = await stripe.rawRequest(
    'POST',
    HELPER,
    {
      payment_method: paymentMethod,
      usage_limits: { currency: 'usd', max_amount: 5000, expires_at: Math.floor(Date.now() / 1000) + 600, ...limits },
      seller_details: { network_id: 'internal' },
    },
    { apiVersion: PREVIEW },
  )
  return spt.id as string
}

function chargeParams(spt: string, challengeId = 'ch_1', amount = 5000) {
  // Same shape as draft-stripe-charge-00 §Settlement (and mppx 0.11.0's createWithClient).
  return {
    amount,
    currency: 'usd',
    shared_payment_granted_token: spt,
    confirm: true,
    automatic_payment_methods: { enabled: true, allow_redirects: 'never' as const },
    metadata: { plan: 'pro', challenge_id: challengeId },
  }
}

async function rejection(p: Promise<unknown>): Promise<any> {
  try {
    await p
  } catch (e) {
    return e
  }
  throw new Error('expected a rejection')
}

describe('form parsing', () => {
  it('parses nested objects and indexed / empty-bracket arrays', () => {
    expect(parseForm('a[b][c]=x&arr[0]=1&arr[1]=2&e[]=p&e[]=q&m[k]=a%20b+c&o[0][x]=1')).toEqual({
      a: { b: { c: 'x' } },
      arr: ['1', '2'],
      e: ['p', 'q'],
      m: { k: 'a b c' },
      o: [{ x: '1' }],
    })
  })
})

describe('stripe double (driven by the real stripe SDK)', () => {
  it('creates and retrieves a granted SPT via the test helper', async () => {
    const expiresAt = Math.floor(Date.now() / 1000) + 600
    const spt = await grantSpt({ max_amount: 1234, expires_at: expiresAt })
    expect(spt).toMatch(/^spt_/)
    const req = double.requestsTo(HELPER, 'POST').at(-1)!
    expect(req.params).toEqual({
      payment_method: 'pm_card_visa',
      usage_limits: { currency: 'usd', max_amount: '1234', expires_at: String(expiresAt) },
      seller_details: { network_id: 'internal' },
    })
    expect(req.headers['stripe-version']).toBe(PREVIEW)
    expect(req.headers['content-type']).toBe('application/x-www-form-urlencoded')

    const got = await stripe.rawRequest('GET', `/v1/shared_payment/granted_tokens/${spt}`, undefined, { apiVersion: PREVIEW })
    expect(got).toMatchObject({
      id: spt,
      object: 'shared_payment.granted_token',
      deactivated_reason: null,
      usage_limits: { currency: 'usd', max_amount: 1234, expires_at: expiresAt },
    })
  })

  it('rejects unknown helper params the way Stripe does (mppx retries without metadata on this)', async () => {
    const err = await rejection(
      stripe.rawRequest('POST', HELPER, { payment_method: 'pm_card_visa', usage_limits: { currency: 'usd', max_amount: 1 }, metadata: { a: 'b' } }),
    )
    expect(err).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError)
    expect(err.message).toBe('Received unknown parameter: metadata')
  })

  it('confirms a destination charge with an SPT and records exact params and headers', async () => {
    const spt = await grantSpt()
    const pi = await stripe.paymentIntents.create(
      {
        ...chargeParams(spt),
        application_fee_amount: 100,
        on_behalf_of: 'acct_dest',
        transfer_data: { destination: 'acct_dest' },
        transfer_group: 'order_42',
      } as Stripe.PaymentIntentCreateParams,
      { apiVersion: PREVIEW, idempotencyKey: `ch_1_${spt}` },
    )
    expect(pi.status).toBe('succeeded')
    expect(pi.id).toMatch(/^pi_/)
    expect(pi.amount_received).toBe(5000)
    expect(pi.lastResponse.headers['idempotent-replayed']).toBeUndefined()

    const req = double.requestsTo('/v1/payment_intents', 'POST').at(-1)!
    expect(req.params).toEqual({
      amount: '5000',
      currency: 'usd',
      shared_payment_granted_token: spt,
      confirm: 'true',
      automatic_payment_methods: { enabled: 'true', allow_redirects: 'never' },
      metadata: { plan: 'pro', challenge_id: 'ch_1' },
      application_fee_amount: '100',
      on_behalf_of: 'acct_dest',
      transfer_data: { destination: 'acct_dest' },
      transfer_group: 'order_42',
    })
    expect(req.headers).toMatchObject({
      authorization: `Bearer ${double.apiKey}`,
      'stripe-version': PREVIEW,
      'idempotency-key': `ch_1_${spt}`,
    })
    expect(req.headers['stripe-account']).toBeUndefined()

    // The SPT is now consumed.
    const token = await stripe.rawRequest('GET', `/v1/shared_payment/granted_tokens/${spt}`, undefined, { apiVersion: PREVIEW })
    expect(token.deactivated_reason).toBe('consumed')
    expect(token.usage_details.amount_captured.value).toBe(5000)
  })

  it('a direct charge (Stripe-Account) is readable only under that account', async () => {
    const spt = await grantSpt()
    const pi = await stripe.paymentIntents.create(
      { ...chargeParams(spt), application_fee_amount: 100 } as Stripe.PaymentIntentCreateParams,
      { apiVersion: PREVIEW, stripeAccount: 'acct_connected' },
    )
    expect(double.requests.at(-1)!.headers['stripe-account']).toBe('acct_connected')
    const again = await stripe.paymentIntents.retrieve(pi.id, {}, { stripeAccount: 'acct_connected' })
    expect(again.status).toBe('succeeded')
    const missing = await rejection(stripe.paymentIntents.retrieve(pi.id))
    expect(missing.statusCode).toBe(404)
    expect(missing.code).toBe('resource_missing')
  })

  it('replays an idempotent request with Idempotent-Replayed: true and does not charge twice', async () => {
    const spt = await grantSpt()
    const opts = { apiVersion: PREVIEW, idempotencyKey: `ch_2_${spt}` }
    const first = await stripe.paymentIntents.create(chargeParams(spt, 'ch_2') as Stripe.PaymentIntentCreateParams, opts)
    const second = await stripe.paymentIntents.create(chargeParams(spt, 'ch_2') as Stripe.PaymentIntentCreateParams, opts)
    expect(second.id).toBe(first.id)
    expect(second.lastResponse.headers['idempotent-replayed']).toBe('true')
    expect(double.requests.at(-1)!.replayed).toBe(true)
    expect(double.spts.get(spt)!.amountCaptured).toBe(5000)
  })

  it('answers 400 idempotency_error when a key is reused with different params', async () => {
    const spt = await grantSpt()
    const opts = { apiVersion: PREVIEW, idempotencyKey: `ch_3_${spt}` }
    await stripe.paymentIntents.create(chargeParams(spt, 'ch_3') as Stripe.PaymentIntentCreateParams, opts)
    const err = await rejection(stripe.paymentIntents.create(chargeParams(spt, 'ch_3', 4999) as Stripe.PaymentIntentCreateParams, opts))
    expect(err).toBeInstanceOf(Stripe.errors.StripeIdempotencyError)
    expect(err.statusCode).toBe(400)
    expect(err.rawType).toBe('idempotency_error')
  })

  it('surfaces a decline as StripeCardError (402) with decline_code; the SPT stays usable', async () => {
    const spt = await grantSpt()
    double.setNextPaymentIntentOutcome({ error: 'card_declined', declineCode: 'insufficient_funds' })
    const err = await rejection(stripe.paymentIntents.create(chargeParams(spt) as Stripe.PaymentIntentCreateParams, { apiVersion: PREVIEW }))
    expect(err).toBeInstanceOf(Stripe.errors.StripeCardError)
    expect(err.type).toBe('StripeCardError')
    expect(err.rawType).toBe('card_error')
    expect(err.statusCode).toBe(402)
    expect(err.code).toBe('card_declined')
    expect(err.decline_code).toBe('insufficient_funds')
    expect(err.raw.payment_intent.status).toBe('requires_payment_method')
    const retry = await stripe.paymentIntents.create(chargeParams(spt) as Stripe.PaymentIntentCreateParams, { apiVersion: PREVIEW })
    expect(retry.status).toBe('succeeded')
  })

  it('declines per payment method (pm_card_chargeDeclinedInsufficientFunds) and per SPT', async () => {
    const declined = await grantSpt({}, 'pm_card_chargeDeclinedInsufficientFunds')
    const e1 = await rejection(stripe.paymentIntents.create(chargeParams(declined) as Stripe.PaymentIntentCreateParams, { apiVersion: PREVIEW }))
    expect(e1.decline_code).toBe('insufficient_funds')
    const spt = await grantSpt()
    double.setSptOutcome(spt, { status: 'processing' })
    const pi = await stripe.paymentIntents.create(chargeParams(spt) as Stripe.PaymentIntentCreateParams, { apiVersion: PREVIEW })
    expect(pi.status).toBe('processing')
  })

  it('returns requires_action with a next_action', async () => {
    const spt = await grantSpt()
    double.setNextPaymentIntentOutcome({ status: 'requires_action' })
    const pi = await stripe.paymentIntents.create(chargeParams(spt) as Stripe.PaymentIntentCreateParams, { apiVersion: PREVIEW })
    expect(pi.status).toBe('requires_action')
    expect(pi.next_action?.type).toBe('use_stripe_sdk')
  })

  it('answers api_error with 500 (StripeAPIError); the SDK retries 5xx only when maxNetworkRetries > 0', async () => {
    const spt = await grantSpt()
    double.setNextPaymentIntentOutcome({ error: 'api_error' })
    const err = await rejection(stripe.paymentIntents.create(chargeParams(spt) as Stripe.PaymentIntentCreateParams, { apiVersion: PREVIEW }))
    expect(err).toBeInstanceOf(Stripe.errors.StripeAPIError)
    expect(err.statusCode).toBe(500)

    // A retrying client resends the same auto-generated Idempotency-Key and gets the saved 500 replayed.
    double.setNextPaymentIntentOutcome({ error: 'api_error' })
    const before = double.requests.length
    const retrying = double.stripe({ maxNetworkRetries: 1 })
    const err2 = await rejection(retrying.paymentIntents.create(chargeParams(spt) as Stripe.PaymentIntentCreateParams, { apiVersion: PREVIEW }))
    expect(err2.statusCode).toBe(500)
    const sent = double.requests.slice(before)
    expect(sent).toHaveLength(2)
    expect(sent[0]!.headers['idempotency-key']).toMatch(/^stripe-node-retry-/)
    expect(sent[1]!.headers['idempotency-key']).toBe(sent[0]!.headers['idempotency-key'])
    expect(sent[1]!.replayed).toBe(true)
  })

  it('rejects unknown, used, expired and over-limit SPTs', async () => {
    const create = (p: object) => rejection(stripe.paymentIntents.create(p as Stripe.PaymentIntentCreateParams, { apiVersion: PREVIEW }))
    const unknown = await create(chargeParams('spt_nope'))
    expect([unknown.statusCode, unknown.code, unknown.param]).toEqual([400, 'resource_missing', 'shared_payment_granted_token'])

    const used = await grantSpt()
    await stripe.paymentIntents.create(chargeParams(used) as Stripe.PaymentIntentCreateParams, { apiVersion: PREVIEW })
    expect((await create(chargeParams(used))).code).toBe('token_already_used')

    const expired = await grantSpt()
    double.spts.get(expired)!.usageLimits.expires_at = Math.floor(Date.now() / 1000) - 1
    expect((await create(chargeParams(expired))).message).toMatch(/expired/)

    const small = await grantSpt({ max_amount: 100 })
    expect((await create(chargeParams(small))).code).toBe('amount_too_large')
    const eur = await grantSpt({ currency: 'eur' })
    expect((await create(chargeParams(eur))).param).toBe('currency')
  })

  it('requires a .preview Stripe-Version for shared_payment_granted_token when asked to', async () => {
    const spt = await grantSpt()
    const err = await rejection(stripe.paymentIntents.create(chargeParams(spt) as Stripe.PaymentIntentCreateParams))
    expect(err.message).toBe('Received unknown parameter: shared_payment_granted_token')
    expect(double.requests.at(-1)!.headers['stripe-version']).toBe(Stripe.API_VERSION)
  })

  it('refunds idempotently and caps refunds at the captured amount', async () => {
    const spt = await grantSpt()
    const pi = await stripe.paymentIntents.create(chargeParams(spt) as Stripe.PaymentIntentCreateParams, { apiVersion: PREVIEW })
    const r1 = await stripe.refunds.create({ payment_intent: pi.id, amount: 2000 }, { idempotencyKey: `refund_${pi.id}` })
    const r2 = await stripe.refunds.create({ payment_intent: pi.id, amount: 2000 }, { idempotencyKey: `refund_${pi.id}` })
    expect(r2.id).toBe(r1.id)
    expect(r2.lastResponse.headers['idempotent-replayed']).toBe('true')
    expect(double.requestsTo('/v1/refunds').at(-1)!.params).toEqual({ payment_intent: pi.id, amount: '2000' })
    const rest = await stripe.refunds.create({ payment_intent: pi.id })
    expect(rest.amount).toBe(3000)
    const over = await rejection(stripe.refunds.create({ payment_intent: pi.id, amount: 1 }))
    expect(over.code).toBe('charge_already_refunded')
  })

  it('requires a test-mode secret key (401 StripeAuthenticationError otherwise)', async () => {
    const none = await rejection(fetch(`${double.url}/v1/payment_intents`, { method: 'POST' }).then(async (r) => {
      throw { status: r.status, body: await r.json() }
    }))
    expect(none.status).toBe(401)
    expect(none.body.error.type).toBe('invalid_request_error')

    const err = await rejection(double.stripe({}, 'sk_live_nope').paymentIntents.retrieve('pi_x'))
    expect(err).toBeInstanceOf(Stripe.errors.StripeAuthenticationError)
    expect(err.statusCode).toBe(401)

    const basic = await fetch(`${double.url}/v1/payment_intents/pi_x`, {
      headers: { authorization: `Basic ${Buffer.from(`${double.apiKey}:`).toString('base64')}` },
    })
    expect(basic.status).toBe(404) // authenticated, just not found
  })
})

describe('stripe double: Stripe\'s rules (docs/research/stripe.md §4)', () => {
  const PI = '/v1/payment_intents'
  const create = (p: object, options: Stripe.RequestOptions = {}) =>
    stripe.paymentIntents.create(p as Stripe.PaymentIntentCreateParams, { apiVersion: PREVIEW, ...options })
  let intentsBefore = 0
  beforeEach(() => {
    intentsBefore = double.paymentIntents.size
  })
  const newIntents = () => double.paymentIntents.size - intentsBefore
  /** The SPT where the 2026-04-22 changelog puts it, with the types the seller allows. */
  function nestedParams(spt: string, extra: object = {}) {
    return { amount: 5000, currency: 'usd', confirm: true, payment_method_data: { shared_payment_granted_token: spt }, allowed_payment_method_types: ['card'], ...extra }
  }

  it('an unknown parameter, top-level or nested, is Stripe\'s parameter_unknown 400 on every endpoint the driver uses', async () => {
    const spt = await grantSpt()
    const cases: Array<[Promise<unknown>, string]> = [
      [create({ ...chargeParams(spt), shared_payment_token: spt }), 'shared_payment_token'],
      [create({ ...nestedParams(spt), payment_method_data: { shared_payment_granted_token: spt, seller: 'x' } }), 'payment_method_data[seller]'],
      [create({ ...nestedParams(spt), transfer_data: { destination: 'acct_2', group: 'g' } }), 'transfer_data[group]'],
      [stripe.refunds.create({ payment_intent: 'pi_x', reverse: true } as Stripe.RefundCreateParams), 'reverse'],
      [stripe.paymentIntents.cancel('pi_x', { reason: 'x' } as Stripe.PaymentIntentCancelParams), 'reason'],
      [stripe.paymentIntents.search({ query: "status:'succeeded'", sort: 'x' } as Stripe.PaymentIntentSearchParams), 'sort'],
    ]
    for (const [request, param] of cases) {
      const err = await rejection(request)
      expect(err).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError)
      expect([err.statusCode, err.rawType, err.code, err.param, err.message]).toEqual([400, 'invalid_request_error', 'parameter_unknown', param, `Received unknown parameter: ${param}`])
    }
    expect(newIntents()).toBe(0)
    expect(double.spts.get(spt)!.deactivatedReason).toBeNull()
  })

  it('takes the SPT under payment_method_data (2026-04-22) or top-level (concept page, mppx), never both', async () => {
    const nested = await create(nestedParams(await grantSpt()))
    expect(nested.status).toBe('succeeded')
    const spt = await grantSpt()
    const both = await rejection(create({ ...nestedParams(spt), shared_payment_granted_token: spt }))
    expect(both.code).toBe('parameters_exclusive')
    const err = await rejection(stripe.paymentIntents.create(nestedParams(spt) as unknown as Stripe.PaymentIntentCreateParams))
    expect(err.code).toBe('parameter_unknown') // preview parameter on a GA version
    expect(err.param).toBe('payment_method_data[shared_payment_granted_token]')
  })

  it('allowed_payment_method_types constrains the PaymentIntent and excludes automatic_payment_methods', async () => {
    const spt = await grantSpt()
    const both = await rejection(create({ ...nestedParams(spt), automatic_payment_methods: { enabled: true } }))
    expect([both.code, both.param]).toEqual(['parameters_exclusive', 'automatic_payment_methods'])
    const noCard = await rejection(create(nestedParams(spt, { allowed_payment_method_types: ['link'] })))
    expect(noCard.code).toBe('payment_intent_incompatible_payment_method')
    expect(double.spts.get(spt)!.deactivatedReason).toBeNull()
    const ok = await create(nestedParams(spt))
    expect(ok.payment_method_types).toEqual(['card'])
    const removed = await rejection(create({ amount: 5000, currency: 'usd', payment_method_types: ['card'] }, { apiVersion: '2026-08-26.preview' }))
    expect(removed.code).toBe('payment_method_types_no_longer_supported')
  })

  it('amounts: at most eight digits, at least the currency minimum, ISK in whole krónur, three-decimal ending in 0', async () => {
    const cases: Array<[object, string]> = [
      [{ amount: 100_000_000, currency: 'usd' }, 'amount_too_large'],
      [{ amount: 49, currency: 'usd' }, 'amount_too_small'],
      [{ amount: 150, currency: 'isk' }, 'invalid_charge_amount_no_decimal_compatible'],
      [{ amount: 1005, currency: 'kwd' }, 'invalid_charge_amount'],
    ]
    for (const [params, code] of cases) expect((await rejection(create(params))).code).toBe(code)
    expect((await create({ amount: 99_999_999, currency: 'usd' })).status).toBe('requires_payment_method')
    expect((await create({ amount: 100, currency: 'isk' })).status).toBe('requires_payment_method')
  })

  it('Connect: a direct charge cannot transfer or act on behalf; fee and transfer amount are exclusive; on_behalf_of is the destination', async () => {
    const base = { amount: 5000, currency: 'usd' }
    const direct = { stripeAccount: 'acct_1' }
    const cases: Array<[Promise<unknown>, string, string?]> = [
      [create({ ...base, transfer_data: { destination: 'acct_2' } }, direct), 'transfer_data'],
      [create({ ...base, on_behalf_of: 'acct_1' }, direct), 'on_behalf_of'],
      [create({ ...base, application_fee_amount: 10, transfer_data: { destination: 'acct_2', amount: 4000 } }), 'application_fee_amount', 'parameters_exclusive'],
      [create({ ...base, on_behalf_of: 'acct_3', transfer_data: { destination: 'acct_2' } }), 'on_behalf_of'],
      [create({ ...base, application_fee_amount: 10 }), 'application_fee_amount'],
      [create({ ...base, transfer_data: { destination: 'acct_2', amount: 5001 } }), 'transfer_data[amount]', 'amount_too_large'],
    ]
    for (const [request, param, code] of cases) {
      const err = await rejection(request)
      expect([err.statusCode, err.param]).toEqual([400, param])
      if (code) expect(err.code).toBe(code)
    }
    expect(newIntents()).toBe(0)
    expect((await create({ ...base, application_fee_amount: 10 }, direct)).status).toBe('requires_payment_method')
    expect((await create({ ...base, on_behalf_of: 'acct_2', transfer_data: { destination: 'acct_2', amount: 4000 } })).status).toBe('requires_payment_method')
  })

  it('processing later succeeds or fails; requires_action can be canceled, succeeded cannot', async () => {
    const ids: string[] = []
    for (let i = 0; i < 2; i++) {
      double.setNextPaymentIntentOutcome({ status: 'processing' })
      ids.push((await create(nestedParams(await grantSpt()))).id)
    }
    double.finishProcessing(ids[0]!, 'succeeded')
    double.finishProcessing(ids[1]!, 'failed')
    expect((await stripe.paymentIntents.retrieve(ids[0]!)).status).toBe('succeeded')
    const failed = await stripe.paymentIntents.retrieve(ids[1]!)
    expect(failed.status).toBe('requires_payment_method')
    expect(failed.last_payment_error?.code).toBe('card_declined')

    double.setNextPaymentIntentOutcome({ status: 'requires_action' })
    const action = await create(nestedParams(await grantSpt()))
    const canceled = await stripe.paymentIntents.cancel(action.id, { cancellation_reason: 'abandoned' })
    expect(canceled).toMatchObject({ status: 'canceled', cancellation_reason: 'abandoned' })
    const err = await rejection(stripe.paymentIntents.cancel(ids[0]!))
    expect([err.statusCode, err.code]).toEqual([400, 'payment_intent_unexpected_state'])
  })

  it('search finds PaymentIntents by metadata under the same account, and can lag behind writes', async () => {
    const pi = await create(nestedParams(await grantSpt(), { metadata: { challenge_id: 'find_me' } }))
    const query = "metadata['challenge_id']:'find_me'"
    expect((await stripe.paymentIntents.search({ query })).data.map((x) => x.id)).toEqual([pi.id])
    expect((await stripe.paymentIntents.search({ query }, { stripeAccount: 'acct_1' })).data).toEqual([])
    double.setStaleSearch(true)
    const late = await create(nestedParams(await grantSpt(), { metadata: { challenge_id: 'late' } }))
    expect((await stripe.paymentIntents.search({ query: "metadata['challenge_id']:'late'" })).data).toEqual([])
    double.indexSearch()
    double.setStaleSearch(false)
    expect((await stripe.paymentIntents.search({ query: "metadata['challenge_id']:'late'" })).data.map((x) => x.id)).toEqual([late.id])
    expect(double.requestsTo(`${PI}/search`, 'GET').find((r) => r.params.query === query)!.params).toEqual({ query })
  })

  it('refund statuses: pending then succeeded, failed and canceled do not count as refunded, requires_action', async () => {
    const pi = await create(nestedParams(await grantSpt()))
    double.setNextRefundStatus('failed')
    const failed = await stripe.refunds.create({ payment_intent: pi.id })
    expect(failed.status).toBe('failed')
    double.setNextRefundStatus('canceled')
    expect((await stripe.refunds.create({ payment_intent: pi.id })).status).toBe('canceled')
    double.setNextRefundStatus('requires_action')
    const action = await stripe.refunds.create({ payment_intent: pi.id, amount: 1000 })
    expect(action.status).toBe('requires_action')
    double.setNextRefundStatus('pending')
    const pending = await stripe.refunds.create({ payment_intent: pi.id, amount: 4000 })
    expect(pending.status).toBe('pending')
    double.finishRefund(pending.id, 'succeeded')
    expect(double.refunds.get(pending.id)!.status).toBe('succeeded')
    expect((await rejection(stripe.refunds.create({ payment_intent: pi.id }))).code).toBe('charge_already_refunded')
  })

  it('reverse_transfer only on a charge that transferred; refund_application_fee recorded', async () => {
    const plain = await create(nestedParams(await grantSpt()))
    const err = await rejection(stripe.refunds.create({ payment_intent: plain.id, reverse_transfer: true }))
    expect([err.statusCode, err.param]).toEqual([400, 'reverse_transfer'])
    const destination = await create(nestedParams(await grantSpt(), { application_fee_amount: 100, transfer_data: { destination: 'acct_2' } }))
    const refund = await stripe.refunds.create({ payment_intent: destination.id, reverse_transfer: true, refund_application_fee: true })
    expect(refund.transfer_reversal).toMatch(/^trr_/)
    expect(double.refunds.get(refund.id)).toMatchObject({ application_fee_refunded: true, status: 'succeeded' })
  })

  it('a key whose first request is still executing is 409 idempotency_key_in_use; afterwards it replays', async () => {
    const spt = await grantSpt()
    const options = { idempotencyKey: `ch_9_${spt}` }
    const hold = double.holdNext(PI)
    const first = create(nestedParams(spt), options)
    await hold.arrived
    const second = await rejection(create(nestedParams(spt), options))
    expect([second.statusCode, second.code]).toEqual([409, 'idempotency_key_in_use'])
    hold.release()
    const done = await first
    const third = await create(nestedParams(spt), options)
    expect(third.id).toBe(done.id)
    expect(third.lastResponse.headers['idempotent-replayed']).toBe('true')
    expect(newIntents()).toBe(1)
  })

  it('the granted-token helper can refuse seller_details (rejectSellerDetails)', async () => {
    const strict = await startStripeDouble({ rejectSellerDetails: true })
    try {
      const err = await rejection(
        strict.stripe().rawRequest('POST', HELPER, { payment_method: 'pm_card_visa', usage_limits: { currency: 'usd', max_amount: 1 }, seller_details: { network_id: 'n' } }),
      )
      expect([err.code, err.param]).toEqual(['parameter_unknown', 'seller_details'])
    } finally {
      await strict.close()
    }
  })
})
