/**
 * stripe/charge end to end (draft-stripe-charge-00; mpp-digest §3.1 and §8 items 75-79):
 * a real PaymentServer on loopback HTTP with `chargeServer`, paid by `createPaymentFetch`
 * + `chargeClient` (or by hand-built credentials to play a dishonest client), settling
 * through the REAL stripe SDK against the loopback Stripe double. Every assertion about
 * what reached "Stripe" reads `double.requests`, i.e. the wire format the SDK produced.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type Stripe from 'stripe'
import { Challenge, Credential, MppError, Receipt, isMppError } from '../../src/index.js'
import type * as Method from '../../src/Method.js'
import { decodeObject, encodeCanonical, type JsonObject } from '../../src/internal/json.js'
import { createPaymentServer, type ServerEvent } from '../../src/server/index.js'
import { createPaymentFetch, PaymentDeniedError, PaymentRejectedError } from '../../src/client/index.js'
import {
  chargeClient,
  chargeServer,
  DEFAULT_API_VERSION,
  type ChargeRequest,
  type ChargeServerOptions,
  type Connect,
  type TokenLimits,
} from '../../src/methods/stripe/index.js'
import { serve } from '../support/loopback.js'
import { authorizationFor, challengesOf, type PayOptions } from '../support/paidRequest.js'
import { startStripeDouble, type StripeDouble } from '../support/stripeDouble.js'

const SECRET = 'stripe-charge-test-secret-0123456789abcdef'
const REALM = 'api.test'
const NETWORK = 'profile_test_1MqDcVKA5fEO2tZv'
const PAYMENT_METHOD_TYPES = ['card', 'link']
const METADATA = { plan: 'pro', tier: 'gold' }
const PREVIEW = '2026-07-29.preview'
const PI = '/v1/payment_intents'
const HELPER = '/v1/test_helpers/shared_payment/granted_tokens'
const REFUNDS = '/v1/refunds'
const PROBLEMS = 'https://paymentauth.org/problems/'
const TTL = 5 * 60_000

let double: StripeDouble
const cleanup: Array<() => Promise<void>> = []

beforeEach(async () => {
  double = await startStripeDouble({ requirePreviewVersion: true })
})
afterEach(async () => {
  await Promise.all(cleanup.splice(0).map((close) => close()))
  await double.close()
})

type ShopOptions = {
  route?: Method.RouteOptions
  stripe?: Partial<ChargeServerOptions>
  /** Challenge/PaymentIntent metadata (default METADATA; null for none). */
  metadata?: Record<string, string> | null
  handler?: (request: Request) => Response | Promise<Response>
  now?: () => number
}

/** A seller with one Stripe route (1.00 usd by default) served on loopback HTTP. */
async function shop(options: ShopOptions = {}) {
  const sdk = double.stripe()
  const create = vi.spyOn(sdk.paymentIntents, 'create')
  const driver = chargeServer({
    client: sdk,
    networkId: NETWORK,
    paymentMethodTypes: PAYMENT_METHOD_TYPES,
    ...(options.metadata !== null && { metadata: options.metadata ?? METADATA }),
    ...options.stripe,
  })
  const events: ServerEvent[] = []
  const server = createPaymentServer({
    realm: REALM,
    secrets: [SECRET],
    methods: [driver],
    onEvent: (event) => events.push(event),
    ...(options.now && { now: options.now }),
  })
  const delivered: Request[] = []
  const route = options.route ?? { price: '1.00' }
  const app = server.route(route, async (request) => {
    delivered.push(request)
    return options.handler ? options.handler(request) : Response.json({ ok: true })
  })
  const api = await serve(app)
  cleanup.push(() => api.close())
  return { sdk, create, driver, server, route, app, api, events, delivered, url: `${api.url}/report` }
}

/** The mppkit client in test-helper mode: SPTs come from the double's granted-token helper. */
function helperClient(extra: { paymentMethod?: string; externalId?: string } = {}) {
  const { paymentMethod = 'pm_card_visa', externalId } = extra
  return chargeClient({ stripe: double.stripe(), paymentMethod, ...(externalId !== undefined && { externalId }) })
}

function payer(client: Method.Client<any, any> = helperClient()) {
  return createPaymentFetch({ methods: [client] })
}

/** Mints a granted SPT straight through the helper (as a payer's backend would). */
async function mintSpt(maxAmount = 100, currency = 'usd'): Promise<string> {
  const token = await double.stripe().rawRequest(
    'POST',
    HELPER,
    {
      payment_method: 'pm_card_visa',
      usage_limits: { currency, max_amount: maxAmount, expires_at: Math.floor(Date.now() / 1000) + 600 },
      seller_details: { network_id: NETWORK },
    },
    { apiVersion: PREVIEW },
  )
  return token.id as string
}

/** A client that presents a fixed token (no Stripe call of its own). */
const fixedToken = (spt: string) => chargeClient({ createToken: async () => spt })

async function challengeFrom(url: string): Promise<Challenge.Challenge> {
  const response = await fetch(url)
  expect(response.status).toBe(402)
  const [challenge, ...rest] = challengesOf(response)
  expect(rest).toHaveLength(0)
  return challenge!
}

const send = (url: string, authorization: string) => fetch(url, { headers: { authorization } })

async function expectProblem(response: Response, code: string) {
  expect(response.status).toBe(402)
  expect(response.headers.get('content-type')).toBe('application/problem+json')
  expect(response.headers.get('payment-receipt')).toBeNull()
  const problem = (await response.json()) as { type: string; detail?: string; challengeId?: string }
  expect(problem.type).toBe(PROBLEMS + code)
  const fresh = challengesOf(response)
  expect(fresh).toHaveLength(1)
  expect(problem.challengeId).toBe(fresh[0]!.id)
  return { problem, fresh: fresh[0]! }
}

function onlySpt(): string {
  const ids = [...double.spts.keys()]
  expect(ids).toHaveLength(1)
  return ids[0]!
}

function onlyPaymentIntent() {
  const intents = [...double.paymentIntents.values()]
  expect(intents).toHaveLength(1)
  return intents[0]!
}

function configurationError(run: () => unknown): MppError {
  try {
    run()
  } catch (error) {
    expect(isMppError(error, 'configuration-invalid')).toBe(true)
    return error as MppError
  }
  throw new Error('expected a configuration-invalid MppError')
}

const DESTINATION: Connect = { type: 'destination', destination: 'acct_2', onBehalfOf: true, applicationFeeAmount: 10n }
const DIRECT: Connect = { type: 'direct', account: 'acct_1', applicationFeeAmount: 10n }

describe('1. the challenge', () => {
  it('asks for the price in cents with the configured networkId, payment method types and metadata, and no Connect fields', async () => {
    const { url } = await shop({ stripe: { connect: DESTINATION } })
    const response = await fetch(url)
    expect(response.status).toBe(402)
    const body = await response.text()
    expect(JSON.parse(body).type).toBe(PROBLEMS + 'payment-required')
    const header = response.headers.get('www-authenticate')!
    const [challenge] = challengesOf(response)
    expect(challenge).toMatchObject({ realm: REALM, method: 'stripe', intent: 'charge' })
    const request = Challenge.decodeRequest(challenge!)
    expect(request).toEqual({
      amount: '100',
      currency: 'usd',
      methodDetails: { networkId: NETWORK, paymentMethodTypes: PAYMENT_METHOD_TYPES, metadata: METADATA },
    })
    const opaque = Challenge.decodeOpaque(challenge!)
    expect(Object.keys(opaque ?? {})).toEqual(['nonce'])

    // Connect settlement is server policy: never in the challenge (draft §Stripe Connect, digest item 79).
    const everything = [header, body, JSON.stringify(request), JSON.stringify(opaque), JSON.stringify(challenge)].join('\n')
    for (const leak of ['acct_1', 'acct_2', '"g1"', 'stripeAccount', 'stripe_account', 'application_fee', 'applicationFee',
      'transfer', 'on_behalf_of', 'onBehalfOf', 'connect'])
      expect(everything).not.toContain(leak)
    expect(double.requests).toHaveLength(0) // a challenge costs no Stripe call
  })

  it('puts no metadata in methodDetails when none is configured, and carries description and externalId', async () => {
    const { url } = await shop({
      metadata: null,
      stripe: { paymentMethodTypes: ['card'] },
      route: { price: '2.50', description: 'one report', externalId: 'order_42' },
    })
    const challenge = await challengeFrom(url)
    expect(Challenge.decodeRequest(challenge)).toEqual({
      amount: '250',
      currency: 'usd',
      description: 'one report',
      externalId: 'order_42',
      methodDetails: { networkId: NETWORK, paymentMethodTypes: ['card'] },
    })
    expect(challenge.description).toBe('one report')
  })

  it('charges zero-decimal currencies in whole units: jpy price "500" is amount "500"', async () => {
    const { url } = await shop({ route: { price: '500', currency: 'JPY' } })
    const request = Challenge.decodeRequest(await challengeFrom(url))
    expect(request).toMatchObject({ amount: '500', currency: 'jpy' })
    // A fraction of a yen cannot be charged exactly.
    const { server } = await shop()
    configurationError(() => server.charge({ price: '500.5', currency: 'jpy' }))
  })

  it('refuses a price under Stripe\'s minimum at route declaration, naming the minimum and suggesting batching or another method', async () => {
    const { server } = await shop() // the server itself is fine
    const error = configurationError(() => server.charge({ price: '0.10' }))
    expect(error.message).toMatch(/minimum/i)
    expect(error.message).toMatch(/USD/)
    expect(error.message).toMatch(/\b0\.50?\b/) // the minimum, 0.50 usd
    expect(error.message).toMatch(/batch/i)
    expect(error.message).toMatch(/method/i)
    configurationError(() => server.route({ amount: '49' }, () => new Response('x')))
    configurationError(() => server.charge({ price: '0.29', currency: 'gbp' })) // gbp minimum is 0.30
    expect(server.charge({ price: '0.50' })).toBeDefined() // exactly the minimum is fine
    expect(double.requests).toHaveLength(0)
  })

  /*
   * BUG (src/methods/stripe/server.ts buildRequest): a zero amount passes declaration in every
   * currency Stripe's minimum table does not list (three-decimal kwd, zero-decimal xof, ...),
   * and routes then issue challenges no SPT can ever pay (Stripe refuses a 0 amount).
   */
  it.each([['kwd'], ['xof'], ['isk']])('refuses a zero amount at route declaration (%s, no minimum listed)', async (currency) => {
    const { server } = await shop()
    configurationError(() => server.charge({ amount: '0', currency }))
  })

  it('refuses a three-decimal amount that is not a multiple of 10 (kwd) at route declaration', async () => {
    const { server } = await shop()
    const error = configurationError(() => server.charge({ price: '1.005', currency: 'kwd' }))
    expect(error.message).toMatch(/KWD/)
    expect(error.message).toMatch(/10/)
    configurationError(() => server.charge({ amount: '1235', currency: 'kwd' }))
    // Stripe lists no KWD minimum (its minimum is the settlement currency's, converted): the seller gives one.
    configurationError(() => server.charge({ price: '1.01', currency: 'kwd' }))
    const ok = await shop({ route: { price: '1.01', currency: 'kwd' }, stripe: { currencies: { minimums: { kwd: 200n } } } })
    expect(Challenge.decodeRequest(await challengeFrom(ok.url))).toMatchObject({ amount: '1010', currency: 'kwd' })
  })
})

describe('2. a paid request', () => {
  it('confirms exactly one PaymentIntent: the token under payment_method_data, the advertised types allowed, the draft\'s key and metadata, the preview Stripe-Version', async () => {
    const { url, create, delivered } = await shop()
    const response = await payer()(url)
    expect(response.status).toBe(200)
    expect(await response.json()).toEqual({ ok: true })
    expect(delivered).toHaveLength(1)
    const challenge = response.payment!.challenge
    const spt = onlySpt()
    expect(spt).toMatch(/^spt_/)

    // The granted-token helper was asked for a token limited to exactly this charge.
    const [grant, ...moreGrants] = double.requestsTo(HELPER, 'POST')
    expect(moreGrants).toHaveLength(0)
    const expiresAt = Math.floor(Challenge.expiresAt(challenge)! / 1000)
    expect(expiresAt).toBeGreaterThan(Date.now() / 1000)
    expect(grant!.params).toEqual({
      payment_method: 'pm_card_visa',
      usage_limits: { currency: 'usd', max_amount: '100', expires_at: String(expiresAt) },
      seller_details: { network_id: NETWORK },
    })
    expect(grant!.headers['stripe-version']).toBe(PREVIEW)

    // What the SDK was called with (amount is a number) ...
    expect(create).toHaveBeenCalledTimes(1)
    const [params, options] = create.mock.calls[0]!
    expect(params).toEqual({
      amount: 100,
      currency: 'usd',
      confirm: true,
      payment_method_data: { shared_payment_granted_token: spt },
      allowed_payment_method_types: PAYMENT_METHOD_TYPES,
      metadata: { ...METADATA, challenge_id: challenge.id },
    })
    expect(typeof params.amount).toBe('number')
    expect(options).toEqual({ idempotencyKey: `${challenge.id}_${spt}`, apiVersion: PREVIEW })
    expect(DEFAULT_API_VERSION).toBe(PREVIEW)

    // ... and what reached Stripe on the wire.
    const [sent, ...more] = double.requestsTo(PI)
    expect(more).toHaveLength(0)
    expect(sent!.method).toBe('POST')
    expect(sent!.params).toEqual({
      amount: '100',
      currency: 'usd',
      confirm: 'true',
      payment_method_data: { shared_payment_granted_token: spt },
      allowed_payment_method_types: ['card', 'link'],
      metadata: { plan: 'pro', tier: 'gold', challenge_id: challenge.id },
    })
    expect(sent!.headers['idempotency-key']).toBe(`${challenge.id}_${spt}`)
    expect(sent!.headers['stripe-version']).toBe(PREVIEW)
    expect(sent!.headers['stripe-account']).toBeUndefined()
    expect(sent!.headers.authorization).toBe(`Bearer ${double.apiKey}`)
    expect(sent!.status).toBe(200)

    // The receipt names that PaymentIntent.
    const intent = onlyPaymentIntent()
    expect(intent).toMatchObject({ status: 'succeeded', amount: 100, amount_received: 100, currency: 'usd' })
    expect(double.spts.get(spt)!.deactivatedReason).toBe('consumed')
    const receipt = Receipt.parse(response.headers.get('payment-receipt')!)
    expect(receipt).toMatchObject({ status: 'success', method: 'stripe', reference: intent.id })
    expect(receipt.reference).toMatch(/^pi_/)
    expect(receipt.externalId).toBeUndefined()
    expect(response.payment!.receipt).toEqual(receipt)
    expect(response.headers.get('cache-control')).toMatch(/private/)
  })

  it('echoes the route\'s externalId from the payload into the receipt', async () => {
    const { url } = await shop({ route: { price: '1.00', externalId: 'order_42' } })
    const response = await payer()(url)
    expect(response.status).toBe(200)
    expect(response.payment!.receipt).toMatchObject({ externalId: 'order_42', reference: onlyPaymentIntent().id })
  })

  it('echoes a client-chosen externalId into the receipt when the route names none', async () => {
    const { url } = await shop()
    const response = await payer(helperClient({ externalId: 'agent_ref_7' }))(url)
    expect(response.status).toBe(200)
    expect(response.payment!.receipt!.externalId).toBe('agent_ref_7')
  })

  it('refuses a payload externalId that differs from the route\'s, before any Stripe call', async () => {
    const { url, delivered } = await shop({ route: { price: '1.00', externalId: 'order_42' } })
    const challenge = await challengeFrom(url)
    const authorization = await authorizationFor(challenge, fixedToken('spt_placeholder123'), {
      payload: (payload) => ({ ...payload, externalId: 'order_43' }),
    })
    const { problem } = await expectProblem(await send(url, authorization), 'verification-failed')
    expect(problem.detail).toMatch(/externalId/)
    expect(double.requests).toHaveLength(0)
    expect(delivered).toHaveLength(0)
  })

  it('pays a POST with a body (bound to the challenge by digest); the handler reads the body', async () => {
    const { url, delivered } = await shop()
    const response = await payer()(url, { method: 'POST', body: '{"q":"weather"}', headers: { 'content-type': 'application/json' } })
    expect(response.status).toBe(200)
    expect(response.payment!.challenge.digest).toMatch(/^sha-256=/)
    expect(await delivered[0]!.text()).toBe('{"q":"weather"}')
  })
})

describe('3. verification happens before the SPT is touched', () => {
  it('an expired challenge gets 402 invalid-challenge and Stripe hears nothing', async () => {
    const clock = { now: Date.now() }
    const { url, delivered } = await shop({ now: () => clock.now })
    const challenge = await challengeFrom(url)
    const authorization = await authorizationFor(challenge, helperClient()) // a real, usable SPT
    const seen = double.requests.length
    clock.now += TTL
    const { problem, fresh } = await expectProblem(await send(url, authorization), 'invalid-challenge')
    expect(problem.detail).toMatch(/expired/)
    expect(fresh.id).not.toBe(challenge.id)
    expect(double.requests).toHaveLength(seen) // no request at all after the credential
    expect(double.requestsTo(PI)).toHaveLength(0)
    expect(delivered).toHaveLength(0)
  })

  const tamperings: Array<[string, NonNullable<PayOptions['echo']>]> = [
    ['a lowered amount', (echo) => ({ ...echo, request: encodeCanonical({ ...Challenge.decodeRequest(echo), amount: '1' }) })],
    [
      'Connect fields added to the request',
      (echo) => {
        const request = Challenge.decodeRequest(echo) as JsonObject & { methodDetails: JsonObject }
        return { ...echo, request: encodeCanonical({ ...request, methodDetails: { ...request.methodDetails, stripeAccount: 'acct_evil' } }) }
      },
    ],
    ['another networkId', (echo) => {
      const request = Challenge.decodeRequest(echo) as JsonObject & { methodDetails: JsonObject }
      return { ...echo, request: encodeCanonical({ ...request, methodDetails: { ...request.methodDetails, networkId: 'profile_evil' } }) }
    }],
    ['a changed id', (echo) => ({ ...echo, id: echo.id.slice(0, -2) + (echo.id.endsWith('AA') ? 'BB' : 'AA') })],
    ['a later expiry', (echo) => ({ ...echo, expires: new Date(Date.now() + 3600_000).toISOString() })],
  ]
  it.each(tamperings)('a challenge with %s gets 402 invalid-challenge and Stripe hears nothing', async (_name, echo) => {
    const { url, delivered } = await shop()
    const challenge = await challengeFrom(url)
    const authorization = await authorizationFor(challenge, helperClient(), { echo })
    const seen = double.requests.length
    await expectProblem(await send(url, authorization), 'invalid-challenge')
    expect(double.requests).toHaveLength(seen)
    expect(double.requestsTo(PI)).toHaveLength(0)
    expect(delivered).toHaveLength(0)
  })

  const malformed: Array<[string, JsonObject]> = [
    ['no spt', {}],
    ['an spt that is not spt_…', { spt: 'tok_visa' }],
    ['an spt with other characters', { spt: 'spt_abc/../x' }],
    ['a non-string spt', { spt: 42 }],
  ]
  it.each(malformed)('a payload with %s gets 402 malformed-credential and no Stripe call', async (_name, payload) => {
    const { url, delivered } = await shop()
    const challenge = await challengeFrom(url)
    const authorization = await authorizationFor(challenge, fixedToken('spt_placeholder123'), { payload: () => payload })
    const { problem } = await expectProblem(await send(url, authorization), 'malformed-credential')
    expect(problem.detail).toMatch(/payload/)
    expect(double.requests).toHaveLength(0)
    expect(delivered).toHaveLength(0)
  })
})

describe('4. an SPT pays one challenge, ever', () => {
  it('the same SPT on a second challenge gets 402 verification-failed; one PaymentIntent in all', async () => {
    const { url, delivered } = await shop()
    const first = await challengeFrom(url)
    const second = await challengeFrom(url)
    expect(second.id).not.toBe(first.id)
    const spt = await mintSpt(100)
    const client = fixedToken(spt)
    expect((await send(url, await authorizationFor(first, client))).status).toBe(200)
    const { problem } = await expectProblem(await send(url, await authorizationFor(second, client)), 'verification-failed')
    expect(problem.detail).toMatch(/already used/)
    expect(double.requestsTo(PI)).toHaveLength(1)
    expect(double.paymentIntents.size).toBe(1)
    expect(delivered).toHaveLength(1)
  })

  it('holds when both challenges are presented at once', async () => {
    const { url, delivered } = await shop()
    const [a, b] = [await challengeFrom(url), await challengeFrom(url)]
    const client = fixedToken(await mintSpt(100))
    const statuses = (await Promise.all([a, b].map(async (c) => send(url, await authorizationFor(c, client))))).map((r) => r.status)
    expect(statuses.sort()).toEqual([200, 402])
    expect(double.requestsTo(PI)).toHaveLength(1)
    expect(delivered).toHaveLength(1)
  })

  it('the same credential sent twice pays once (the challenge is single-use)', async () => {
    const { url, delivered } = await shop()
    const authorization = await authorizationFor(await challengeFrom(url), helperClient())
    expect((await send(url, authorization)).status).toBe(200)
    await expectProblem(await send(url, authorization), 'invalid-challenge')
    expect(double.requestsTo(PI)).toHaveLength(1)
    expect(delivered).toHaveLength(1)
  })
})

describe('5. Stripe does not confirm', () => {
  /** The Stripe secrets and request details a payer must never see. */
  function stripeSecrets() {
    const [sent] = double.requestsTo(PI)
    expect(sent).toBeDefined()
    return [
      double.apiKey,
      'sk_test_',
      'Bearer',
      sent!.responseHeaders['request-id']!,
      sent!.headers['idempotency-key']!,
      sent!.headers['user-agent']!,
      sent!.headers['x-stripe-client-user-agent']!,
      PREVIEW,
      double.url,
      '127.0.0.1',
    ]
  }

  async function everythingSent(response: Response) {
    return [...response.headers].map(([name, value]) => `${name}: ${value}`).join('\n') + '\n' + (await response.clone().text())
  }

  it('requires_action: 402 verification-failed with a fresh challenge, no receipt, nothing delivered', async () => {
    const { url, delivered } = await shop()
    const challenge = await challengeFrom(url)
    const authorization = await authorizationFor(challenge, helperClient())
    double.setNextPaymentIntentOutcome({ status: 'requires_action' })
    const { problem, fresh } = await expectProblem(await send(url, authorization), 'verification-failed')
    expect(problem.detail).toMatch(/action/)
    expect(fresh.id).not.toBe(challenge.id)
    // Cancelled, so it can never complete later (under the same account it was created in).
    const intent = onlyPaymentIntent()
    expect(intent).toMatchObject({ status: 'canceled', cancellation_reason: 'abandoned' })
    const [cancel, ...more] = double.requestsTo(`${PI}/${intent.id}/cancel`, 'POST')
    expect(more).toHaveLength(0)
    expect(cancel!.headers['stripe-version']).toBe(PREVIEW)
    expect(delivered).toHaveLength(0)
  })

  it('requires_action through the paying client (pm_card_authenticationRequired) rejects the payment', async () => {
    const { url, delivered } = await shop()
    const error = await payer(helperClient({ paymentMethod: 'pm_card_authenticationRequired' }))(url).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(PaymentRejectedError)
    expect((error as PaymentRejectedError).problem).toBe('verification-failed')
    expect((error as PaymentRejectedError).response.headers.get('payment-receipt')).toBeNull()
    expect(delivered).toHaveLength(0)
  })

  it('processing: 504 outcome unknown (never a 402: it may still succeed), nothing delivered, a retry told the same', async () => {
    const { url, delivered } = await shop()
    const authorization = await authorizationFor(await challengeFrom(url), helperClient())
    double.setNextPaymentIntentOutcome({ status: 'processing' })
    const details: string[] = []
    for (const response of [await send(url, authorization), await send(url, authorization)]) {
      expect(response.status).toBe(504)
      expect(response.headers.get('retry-after')).not.toBeNull()
      expect(response.headers.get('www-authenticate')).toBeNull()
      const problem = await response.json()
      expect(problem).toMatchObject({ type: 'urn:mppkit:problem:payment-outcome-unknown', challengeId: Credential.parse(authorization).challenge.id })
      details.push(problem.detail)
    }
    expect(details[0]).toMatch(/processing/)
    // The retry asks Stripe again (the driver's lookup) rather than creating anything: still undecided.
    expect(details[1]).toMatch(/not decided/)
    expect(double.requestsTo(PI)).toHaveLength(1)
    expect(delivered).toHaveLength(0)
  })

  it('card_declined (insufficient_funds): 402 naming the decline code, never the key, request id or headers', async () => {
    const { url, delivered, events } = await shop()
    const authorization = await authorizationFor(await challengeFrom(url), helperClient())
    double.setNextPaymentIntentOutcome({ error: 'card_declined', declineCode: 'insufficient_funds' })
    const response = await send(url, authorization)
    const everything = await everythingSent(response)
    const { problem } = await expectProblem(response, 'verification-failed')
    expect(problem.detail).toContain('insufficient_funds')
    expect(double.requestsTo(PI)[0]!.status).toBe(402)
    for (const secret of stripeSecrets()) {
      expect(everything).not.toContain(secret)
      expect(JSON.stringify(events)).not.toContain(secret)
    }
    expect(everything).not.toContain('Your card was declined') // Stripe's own message is not relayed
    expect(delivered).toHaveLength(0)
  })

  it('api_error (500): 504 outcome unknown with a generic detail (the PaymentIntent may exist), nothing delivered', async () => {
    const { url, delivered, events } = await shop()
    const authorization = await authorizationFor(await challengeFrom(url), helperClient())
    double.setNextPaymentIntentOutcome({ error: 'api_error' })
    const response = await send(url, authorization)
    const everything = await everythingSent(response)
    expect(response.status).toBe(504)
    const problem = JSON.parse(everything.slice(everything.indexOf('{')))
    expect(problem.type).toBe('urn:mppkit:problem:payment-outcome-unknown')
    expect(problem.detail).toMatch(/^Stripe did not confirm the payment; the payment may have settled/)
    expect(events.map((e: { type: string }) => e.type)).toContain('payment-outcome-unknown')
    for (const secret of stripeSecrets()) expect(JSON.stringify(events)).not.toContain(secret)
    expect(double.requestsTo(PI)).toHaveLength(1) // the driver's client does not retry here
    expect(double.requestsTo(PI)[0]!.status).toBe(500)
    for (const secret of stripeSecrets()) expect(everything).not.toContain(secret)
    expect(everything).not.toMatch(/unknown error|simulated/i)
    expect(delivered).toHaveLength(0)
  })

  it('a server configured with a rejected Stripe key: 402 that names no key and no Stripe message', async () => {
    const badKey = 'sk_live_wrongkey0123456789abcd'
    const { url, delivered } = await shop({ stripe: { client: double.stripe({}, badKey) } })
    const authorization = await authorizationFor(await challengeFrom(url), helperClient())
    const response = await send(url, authorization)
    const everything = await everythingSent(response)
    await expectProblem(response, 'verification-failed')
    expect(double.requestsTo(PI)[0]!.status).toBe(401)
    for (const secret of [badKey, 'sk_live', '6789abcd', 'Invalid API Key', 'Bearer']) expect(everything).not.toContain(secret)
    expect(delivered).toHaveLength(0)
  })

  it('the advertised payment method types constrain the PaymentIntent: a card token on a link-only route is refused, nothing charged', async () => {
    const { url, delivered } = await shop({ stripe: { paymentMethodTypes: ['link'] } })
    const challenge = await challengeFrom(url)
    expect(Challenge.decodeRequest(challenge)).toMatchObject({ methodDetails: { paymentMethodTypes: ['link'] } })
    const { problem } = await expectProblem(await send(url, await authorizationFor(challenge, helperClient())), 'verification-failed')
    expect(problem.detail).toContain('payment_intent_incompatible_payment_method')
    expect(double.requestsTo(PI)[0]!.params.allowed_payment_method_types).toEqual(['link'])
    expect(double.spts.get(onlySpt())!.deactivatedReason).toBeNull()
    expect(delivered).toHaveLength(0)
  })

  it('an SPT Stripe rejects (over its limit) gets 402 with Stripe\'s code, nothing delivered', async () => {
    const { url, delivered } = await shop()
    const challenge = await challengeFrom(url)
    const { problem } = await expectProblem(await send(url, await authorizationFor(challenge, fixedToken(await mintSpt(99)))), 'verification-failed')
    expect(problem.detail).toContain('amount_too_large')
    expect(delivered).toHaveLength(0)
  })
})

describe('6. an idempotent replay from Stripe never delivers', () => {
  it('a PaymentIntent already created under the same key: 402, handler not run', async () => {
    const { url, delivered } = await shop()
    const challenge = await challengeFrom(url)
    const spt = await mintSpt(100)
    // Someone (an earlier run of this server, say) already confirmed this exact payment.
    const earlier = await double.stripe().paymentIntents.create(
      {
        amount: 100,
        currency: 'usd',
        shared_payment_granted_token: spt,
        confirm: true,
        automatic_payment_methods: { enabled: true, allow_redirects: 'never' },
        metadata: { ...METADATA, challenge_id: challenge.id },
      } as Stripe.PaymentIntentCreateParams,
      { idempotencyKey: `${challenge.id}_${spt}`, apiVersion: PREVIEW },
    )
    expect(earlier.status).toBe('succeeded')
    const { problem } = await expectProblem(await send(url, await authorizationFor(challenge, fixedToken(spt))), 'verification-failed')
    expect(problem.detail).toMatch(/already processed/)
    // That earlier PaymentIntent used other parameters (the draft's top-level token and
    // automatic_payment_methods), so under the same key Stripe answers idempotency_error
    // instead of replaying it: not this server's payment, not delivered.
    const attempts = double.requestsTo(PI)
    expect(attempts).toHaveLength(2)
    expect(attempts[1]!.status).toBe(400)
    expect(attempts[1]!.replayed).toBe(false)
    expect(double.paymentIntents.size).toBe(1)
    expect(delivered).toHaveLength(0)
  })

  it('the same key used with other parameters (idempotency_error): 402, handler not run', async () => {
    const { url, delivered } = await shop()
    const challenge = await challengeFrom(url)
    const spt = await mintSpt(200)
    await double.stripe().paymentIntents.create(
      { amount: 150, currency: 'usd', shared_payment_granted_token: spt, confirm: true } as Stripe.PaymentIntentCreateParams,
      { idempotencyKey: `${challenge.id}_${spt}`, apiVersion: PREVIEW },
    )
    await expectProblem(await send(url, await authorizationFor(challenge, fixedToken(spt))), 'verification-failed')
    expect(double.requestsTo(PI)[1]!.status).toBe(400)
    expect(delivered).toHaveLength(0)
  })
})

describe('6b. a PaymentIntent answer lost in the network', () => {
  /*
   * BUG (src/methods/stripe/server.ts settle): stripe-node retries a request whose connection
   * was closed (ECONNRESET/EPIPE) once, even with maxNetworkRetries: 0, reusing the same
   * Idempotency-Key (node_modules/stripe/esm/RequestSender.js _shouldRetry); with the SDK's
   * default maxNetworkRetries it also retries other connection errors. When the first attempt
   * was committed at Stripe, the retry gets the saved PaymentIntent with Idempotent-Replayed:
   * true, and settle() treats that as "already processed for an earlier request" -> 402.
   * But this challenge was claimed by this very request (single-use claim), so the replay is
   * its own payment: the payer is charged, nothing is delivered and nothing is refunded.
   */
  it('the SDK\'s retry replays the committed PaymentIntent: the payer was charged, so this request must be delivered', async () => {
    const { url, delivered } = await shop()
    const authorization = await authorizationFor(await challengeFrom(url), helperClient())
    double.dropNextResponse(PI)
    const response = await send(url, authorization)
    const attempts = double.requestsTo(PI)
    expect(attempts).toHaveLength(2)
    expect(attempts[0]!.dropped).toBe(true)
    expect(attempts[1]!.replayed).toBe(true)
    expect(attempts[1]!.headers['idempotency-key']).toBe(attempts[0]!.headers['idempotency-key'])
    const intent = onlyPaymentIntent()
    expect(intent.status).toBe('succeeded') // the money moved, once
    expect(double.refunds.size).toBe(0)
    // Charged once, so deliver once (today: 402 verification-failed "already processed", nothing delivered).
    expect(response.status).toBe(200)
    expect(delivered).toHaveLength(1)
    expect(Receipt.parse(response.headers.get('payment-receipt')!).reference).toBe(intent.id)
  })
})

describe('7. refund on failed delivery', () => {
  it('a handler that throws after payment: 500 with Payment-Refund refunded re_…; Stripe got POST /v1/refunds keyed refund_<pi>', async () => {
    const { url, delivered } = await shop({
      handler: () => {
        throw new Error('disk full at /var/lib/reports')
      },
    })
    const response = await payer()(url)
    expect(response.status).toBe(500)
    expect(delivered).toHaveLength(1)
    expect(response.headers.get('payment-receipt')).toBeNull()
    expect(await response.text()).not.toContain('disk full')
    const intent = onlyPaymentIntent()
    const refund = decodeObject(response.headers.get('payment-refund')!)
    expect(refund).toEqual({ status: 'refunded', method: 'stripe', reference: expect.stringMatching(/^re_/) })
    const [sent, ...more] = double.requestsTo(REFUNDS, 'POST')
    expect(more).toHaveLength(0)
    expect(sent!.params).toEqual({ payment_intent: intent.id })
    expect(sent!.headers['idempotency-key']).toBe(`refund_${intent.id}`)
    expect(sent!.headers['stripe-version']).toBe(PREVIEW)
    expect(double.refunds.get(refund.reference as string)).toMatchObject({ amount: 100, payment_intent: intent.id, status: 'succeeded' })
  })

  it('a 5xx response from the handler is refunded too, and its body kept', async () => {
    const { url } = await shop({ handler: () => new Response('upstream down', { status: 503 }) })
    const response = await payer()(url)
    expect(response.status).toBe(503)
    expect(await response.text()).toBe('upstream down')
    expect(decodeObject(response.headers.get('payment-refund')!)).toMatchObject({ status: 'refunded', method: 'stripe' })
    expect(double.refunds.size).toBe(1)
  })

  it('refunding the same settlement again is idempotent: same refund, replayed, no second refund', async () => {
    const { url, server, driver, route } = await shop()
    const gate = server.charge(route)
    const unpaid = await gate.check(new Request(url))
    expect(unpaid.paid).toBe(false)
    const challenge = challengesOf((unpaid as { response: Response }).response)[0]!
    const paid = await gate.check(new Request(url, { headers: { authorization: await authorizationFor(challenge, helperClient()) } }))
    if (!paid.paid) throw new Error(`expected a settled payment, got ${paid.response.status}`)
    const failed = await paid.fail(new Error('boom'))
    expect(failed.status).toBe(500)
    const first = decodeObject(failed.headers.get('payment-refund')!)
    const again = await driver.refund!({
      settlement: paid.settlement,
      request: paid.paymentRequest as ChargeRequest,
      challenge: paid.challenge as Challenge.Challenge,
    })
    expect(again).toEqual({ status: 'refunded', reference: first.reference })
    const sent = double.requestsTo(REFUNDS, 'POST')
    expect(sent).toHaveLength(2)
    expect(sent[1]!.headers['idempotency-key']).toBe(sent[0]!.headers['idempotency-key'])
    expect(sent[1]!.replayed).toBe(true)
    expect(double.refunds.size).toBe(1)
  })
})

describe('8. Stripe Connect, from server configuration only', () => {
  /*
   * Before issue 15 these tests used a Stripe-Account direct charge together with
   * transfer_data, on_behalf_of, an application fee and a transfer amount: a combination
   * Stripe rejects (the strict double now does too). Direct and destination charges are
   * separate configurations now.
   */
  it('a destination charge: transfer_data, on_behalf_of = destination, the fee, a transfer_group per request; no Stripe-Account', async () => {
    const { url, create } = await shop({ stripe: { connect: DESTINATION } })
    const response = await payer()(url)
    expect(response.status).toBe(200)
    const challenge = response.payment!.challenge
    const spt = onlySpt()
    const [sent] = double.requestsTo(PI)
    expect(sent!.params).toEqual({
      amount: '100',
      currency: 'usd',
      confirm: 'true',
      payment_method_data: { shared_payment_granted_token: spt },
      allowed_payment_method_types: ['card', 'link'],
      metadata: { ...METADATA, challenge_id: challenge.id },
      application_fee_amount: '10',
      transfer_data: { destination: 'acct_2' },
      on_behalf_of: 'acct_2',
      transfer_group: challenge.id,
    })
    expect(sent!.headers['stripe-account']).toBeUndefined()
    expect(create.mock.calls[0]![1]).toEqual({ idempotencyKey: `${challenge.id}_${spt}`, apiVersion: PREVIEW })
    expect(response.payment!.receipt!.reference).toBe(onlyPaymentIntent().id)

    // The next request gets its own transfer group.
    await payer()(url)
    const groups = double.requestsTo(PI).map((r) => r.params.transfer_group)
    expect(new Set(groups).size).toBe(2)
  })

  it('a destination charge without onBehalfOf sends no on_behalf_of; a transfer amount instead of a fee', async () => {
    const { url } = await shop({ route: { price: '2.00' }, stripe: { connect: { type: 'destination', destination: 'acct_2', transferAmount: (amount) => amount - 20n } } })
    expect((await payer()(url)).status).toBe(200)
    const params = double.requestsTo(PI)[0]!.params
    expect(params).toMatchObject({ amount: '200', transfer_data: { destination: 'acct_2', amount: '180' } })
    expect(params.on_behalf_of).toBeUndefined()
    expect(params.application_fee_amount).toBeUndefined()
  })

  it('a direct charge: Stripe-Account and the fee only; refunded under the same account with the fee given back', async () => {
    const { url, create } = await shop({
      route: { price: '2.00' },
      stripe: { connect: { type: 'direct', account: 'acct_1', applicationFeeAmount: (amount) => amount / 10n } },
      handler: () => {
        throw new Error('after payment')
      },
    })
    const response = await payer()(url)
    expect(response.status).toBe(500)
    const sent = double.requestsTo(PI)[0]!
    expect(sent.headers['stripe-account']).toBe('acct_1')
    expect(sent.params).toMatchObject({ amount: '200', application_fee_amount: '20' })
    for (const absent of ['transfer_data', 'on_behalf_of', 'transfer_group']) expect(sent.params[absent]).toBeUndefined()
    expect(create.mock.calls[0]![1]).toMatchObject({ stripeAccount: 'acct_1' })
    const [refund] = double.requestsTo(REFUNDS)
    expect(refund!.headers['stripe-account']).toBe('acct_1')
    expect(refund!.params).toEqual({ payment_intent: onlyPaymentIntent().id, refund_application_fee: 'true' })
    expect(decodeObject(response.headers.get('payment-refund')!).status).toBe('refunded')
  })

  it('refunding a destination charge reverses the transfer and the fee, so the platform does not pay it alone', async () => {
    const { url } = await shop({ stripe: { connect: DESTINATION }, handler: () => new Response('down', { status: 503 }) })
    const response = await payer()(url)
    expect(response.status).toBe(503)
    const [refund] = double.requestsTo(REFUNDS)
    expect(refund!.params).toEqual({ payment_intent: onlyPaymentIntent().id, reverse_transfer: 'true', refund_application_fee: 'true' })
    expect(refund!.headers['stripe-account']).toBeUndefined()
    const reference = decodeObject(response.headers.get('payment-refund')!).reference as string
    expect(double.refunds.get(reference)!.transfer_reversal).toMatch(/^trr_/)
  })

  it('a destination charge with a transfer amount and no fee reverses the transfer only', async () => {
    const { url } = await shop({ stripe: { connect: { type: 'destination', destination: 'acct_2', transferAmount: 90n } }, handler: () => new Response('x', { status: 500 }) })
    await payer()(url)
    expect(double.requestsTo(REFUNDS)[0]!.params).toEqual({ payment_intent: onlyPaymentIntent().id, reverse_transfer: 'true' })
  })

  const badAmounts: Array<[string, Connect]> = [
    ['a fee above the amount', { type: 'direct', account: 'acct_1', applicationFeeAmount: 101n }],
    ['a negative fee', { type: 'destination', destination: 'acct_2', applicationFeeAmount: -1n }],
    ['a transfer above the amount', { type: 'destination', destination: 'acct_2', transferAmount: 101n }],
    ['a negative transfer', { type: 'destination', destination: 'acct_2', transferAmount: -5n }],
    ['a fee function above the amount', { type: 'direct', account: 'acct_1', applicationFeeAmount: (amount) => amount * 2n }],
  ]
  it.each(badAmounts)('%s is configuration-invalid at route declaration', (_name, connect) => {
    const server = createPaymentServer({
      realm: REALM,
      secrets: [SECRET],
      methods: [chargeServer({ client: double.stripe(), networkId: NETWORK, paymentMethodTypes: ['card'], connect })],
    }) // the server itself is fine: the amounts depend on the route's price
    const error = configurationError(() => server.charge({ price: '1.00' }))
    expect(error.message).toMatch(/between 0 and the charged amount/)
    expect(double.requests).toHaveLength(0)
  })

  it('a fee equal to the amount is allowed', async () => {
    // Was `{ applicationFeeAmount: 100n }` alone: Stripe takes a fee only on a direct or destination charge.
    const { server } = await shop({ stripe: { connect: { type: 'direct', account: 'acct_1', applicationFeeAmount: 100n } } })
    expect(server.charge({ price: '1.00' })).toBeDefined()
  })

  const badConfigurations: Array<[string, unknown, RegExp]> = [
    ['a direct account that is not acct_…', { type: 'direct', account: 'cus_123' }, /acct_/],
    ['an empty account id', { type: 'direct', account: 'acct_' }, /acct_/],
    ['a header injection', { type: 'direct', account: 'acct_1\r\nX-Evil: 1' }, /acct_/],
    ['a destination that is not acct_…', { type: 'destination', destination: 'ba_123' }, /acct_/],
    ['a fee together with a transfer amount', { type: 'destination', destination: 'acct_2', applicationFeeAmount: 1n, transferAmount: 50n }, /not both/],
    ['on_behalf_of another account', { type: 'destination', destination: 'acct_2', onBehalfOf: 'acct_3' }, /destination/],
    ['a direct charge with a transfer', { type: 'direct', account: 'acct_1', transferAmount: 50n }, /transferAmount/],
    ['the pre-issue-15 shape', { stripeAccount: 'acct_1', transferData: { destination: 'acct_2' } }, /direct.*destination/],
  ]
  it.each(badConfigurations)('%s is configuration-invalid at server creation', (_name, connect, message) => {
    const error = configurationError(() =>
      createPaymentServer({
        realm: REALM,
        secrets: [SECRET],
        methods: [chargeServer({ client: double.stripe(), networkId: NETWORK, paymentMethodTypes: ['card'], connect: connect as Connect })],
      }),
    )
    expect(error.message).toMatch(message)
  })
})

describe('9. createToken hook mode', () => {
  it('the hook gets exactly the charge limits and the challenge, and its token is the one charged', async () => {
    const { url } = await shop()
    const seen: TokenLimits[] = []
    const client = chargeClient({
      createToken: async (limits) => {
        seen.push(limits)
        const token = await double.stripe().rawRequest(
          'POST',
          HELPER,
          {
            payment_method: 'pm_card_visa',
            usage_limits: { currency: limits.currency, max_amount: Number(limits.amount), expires_at: limits.expiresAt },
            seller_details: { network_id: limits.networkId },
          },
          { apiVersion: PREVIEW },
        )
        return token.id as string
      },
    })
    const response = await payer(client)(url)
    expect(response.status).toBe(200)
    const challenge = response.payment!.challenge
    expect(seen).toHaveLength(1)
    expect(Object.keys(seen[0]!).sort()).toEqual(['amount', 'challenge', 'currency', 'expiresAt', 'networkId', 'paymentMethodTypes'])
    expect(seen[0]).toEqual({
      amount: 100n,
      currency: 'usd',
      expiresAt: Math.floor(Challenge.expiresAt(challenge)! / 1000),
      networkId: NETWORK,
      paymentMethodTypes: PAYMENT_METHOD_TYPES,
      challenge,
    })
    expect(double.requestsTo(PI)[0]!.params.payment_method_data).toEqual({ shared_payment_granted_token: onlySpt() })
  })

  it.each(['tok_visa', 'pm_card_visa', 'spt_', 'spt_abc def', 'spt_x\r\nx', ''])(
    'a hook returning %j makes the client throw; no credential is sent',
    async (returned) => {
      const { url, api, delivered } = await shop()
      const pay = payer(chargeClient({ createToken: async () => returned }))
      const error = await pay(url).catch((e: unknown) => e)
      expect(isMppError(error, 'payment-failed')).toBe(true)
      expect(api.requests).toHaveLength(1) // only the unpaid request
      expect(api.requests.every((r) => r.authorizations.length === 0)).toBe(true)
      expect(double.requests).toHaveLength(0)
      expect(delivered).toHaveLength(0)
    },
  )

  it('a hook that throws: the error reaches the caller; no credential is sent', async () => {
    const { url, api } = await shop()
    const pay = payer(chargeClient({ createToken: async () => Promise.reject(new Error('agent backend offline')) }))
    await expect(pay(url)).rejects.toThrow('agent backend offline')
    expect(api.requests.every((r) => r.authorizations.length === 0)).toBe(true)
  })

  it('a payment the spending policy refuses never asks for a token', async () => {
    const { url, api } = await shop()
    const createToken = vi.fn(async () => 'spt_never')
    const pay = createPaymentFetch({ methods: [chargeClient({ createToken })], policy: { maxAmount: { usd: 99n } } })
    await expect(pay(url)).rejects.toBeInstanceOf(PaymentDeniedError)
    expect(createToken).not.toHaveBeenCalled()
    expect(api.requests).toHaveLength(1)
  })

  it('the client reports the offer in base units with the currency\'s decimals (for policy)', async () => {
    const { url } = await shop({ route: { price: '500', currency: 'jpy' } })
    const quote = await payer(fixedToken('spt_unused')).quote(url)
    expect(quote.offers).toHaveLength(1)
    expect(quote.offers[0]).toMatchObject({ method: 'stripe', intent: 'charge', amount: 500n, currency: 'jpy', decimals: 0, display: '500 jpy' })
  })
})

describe('credential shape', () => {
  it('the credential the client sends carries only {spt} (plus externalId when there is one)', async () => {
    const { url, api } = await shop()
    const response = await payer()(url)
    expect(response.status).toBe(200)
    const paid = api.requests.find((r) => r.authorizations.length > 0)!
    const credential = Credential.parse(paid.authorizations[0]!)
    expect(credential.payload).toEqual({ spt: onlySpt() })
    expect(credential.challenge.id).toBe(response.payment!.challenge.id)
  })
})
