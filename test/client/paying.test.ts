/**
 * The paying client against a real mppkit server over loopback HTTP: the happy path,
 * Accept-Payment, method selection, Idempotency-Key, pass-through, quotes and audit
 * events. Payments move money on the in-memory test ledger.
 */
import { afterEach, describe, expect, it } from 'vitest'
import * as AcceptPayment from '../../src/AcceptPayment.js'
import * as Credential from '../../src/Credential.js'
import { MppError } from '../../src/errors.js'
import { createPaymentFetch, PaymentDeniedError, type ClientEvent } from '../../src/client/index.js'
import { createPaymentServer } from '../../src/server/index.js'
import { createLedger, type Ledger } from '../../src/testing/index.js'
import { byPath, serve, type Loopback, type WebHandler } from '../support/loopback.js'

const SECRET = 'paying-client-test-secret-0123456789'

const running: Loopback[] = []
afterEach(async () => {
  await Promise.all(running.splice(0).map((site) => site.close()))
})

async function site(handler: WebHandler): Promise<Loopback> {
  const loopback = await serve(handler)
  running.push(loopback)
  return loopback
}

/** A driver under another method name: the test ledger always calls itself `ledger`. */
function renamed<T extends { readonly name: string }>(driver: T, name: string): T {
  return { ...driver, name }
}

/** A shop selling `/weather` for 0.25 usd on the test ledger, and a free `/free`. */
async function usdShop() {
  const ledger = createLedger({ currency: 'usd', decimals: 2 })
  const alice = ledger.open('alice', 1_000n)
  const server = createPaymentServer({ realm: 'api.test', secrets: [SECRET], methods: [ledger.server({ recipient: 'shop' })] })
  const api = await site(
    byPath({
      '/weather': server.route({ price: '0.25', description: 'weather' }, async (request) =>
        Response.json({ forecast: 'sun', method: request.method, body: await request.text() }),
      ),
      '/free': () => new Response('short and stout', { status: 418, headers: { 'x-teapot': 'yes', 'content-type': 'text/plain' } }),
    }),
  )
  return { ledger, alice, server, api }
}

/**
 * A shop offering two methods for `/weather`: `ledger` in usd (server's first choice)
 * and `eurledger` in eur, paying different recipients on different ledgers.
 */
async function twoCurrencyShop() {
  const usd = createLedger({ currency: 'usd', decimals: 2 })
  const eur = createLedger({ currency: 'eur', decimals: 2 })
  const aliceUsd = usd.open('alice', 1_000n)
  const aliceEur = eur.open('alice', 1_000n)
  const server = createPaymentServer({
    realm: 'api.test',
    secrets: [SECRET],
    methods: [usd.server({ recipient: 'shop-us' }), renamed(eur.server({ recipient: 'shop-eu' }), 'eurledger')],
  })
  const api = await site(byPath({ '/weather': server.route({ price: '0.25' }, () => Response.json({ forecast: 'sun' })) }))
  return {
    usd,
    eur,
    api,
    usdClient: usd.client(aliceUsd),
    eurClient: renamed(eur.client(aliceEur), 'eurledger'),
  }
}

function untouched(ledger: Ledger, account: string, balance: bigint) {
  expect(ledger.transfers).toEqual([])
  expect(ledger.balance(account)).toBe(balance)
}

/** JSON of anything, bigints as strings. */
function json(value: unknown): string {
  return JSON.stringify(value, (_key, v) => (typeof v === 'bigint' ? v.toString() : v))
}

describe('paying a 402 over HTTP', () => {
  it('pays the challenge, gets 200 with a receipt whose reference is the ledger transfer', async () => {
    const { ledger, alice, api } = await usdShop()
    const pay = createPaymentFetch({ methods: [ledger.client(alice)] })

    const response = await pay(`${api.url}/weather`)

    expect(response.status).toBe(200)
    expect(await response.json()).toEqual({ forecast: 'sun', method: 'GET', body: '' })
    expect(ledger.transfers).toHaveLength(1)
    const [transfer] = ledger.transfers
    expect(transfer).toMatchObject({ from: 'alice', to: 'shop', amount: 25n, refunded: false })
    expect(response.payment?.receipt).toMatchObject({ status: 'success', method: 'ledger', reference: transfer!.reference })
    expect(response.payment?.offer).toMatchObject({
      origin: api.url,
      realm: 'api.test',
      method: 'ledger',
      intent: 'charge',
      amount: 25n,
      currency: 'usd',
      decimals: 2,
      recipient: 'shop',
      description: 'weather',
      display: '0.25 usd',
    })
    expect(response.payment?.challenge.id).toBe(response.payment?.offer.challengeId)
    expect(ledger.balance('alice')).toBe(975n)
    expect(ledger.balance('shop')).toBe(25n)

    // One unpaid request, then exactly one paid retry with one credential.
    expect(api.requests.map((r) => r.authorizations.length)).toEqual([0, 1])
    const credential = Credential.parse(api.requests[1]!.authorizations[0]!)
    expect(credential.challenge.id).toBe(response.payment?.challenge.id)
    expect(credential.source).toBe('ledger:alice')
  })

  it('announces its methods in preference order in Accept-Payment on the first request', async () => {
    const { api, usdClient, eurClient } = await twoCurrencyShop()

    await createPaymentFetch({ methods: [eurClient, usdClient] })(`${api.url}/weather`)
    await createPaymentFetch({ methods: [usdClient, eurClient] })(`${api.url}/weather`)

    const [eurFirst, , usdFirst] = api.requests
    const ranked = (header: string | null) =>
      AcceptPayment.rank(
        [
          { method: 'ledger', intent: 'charge' },
          { method: 'eurledger', intent: 'charge' },
        ],
        header,
      ).map((r) => r.method)
    expect(eurFirst!.authorizations).toEqual([])
    expect(AcceptPayment.parse(eurFirst!.headers.get('accept-payment')!).map((r) => `${r.method}/${r.intent}`)).toEqual([
      'eurledger/charge',
      'ledger/charge',
    ])
    expect(ranked(eurFirst!.headers.get('accept-payment'))).toEqual(['eurledger', 'ledger'])
    expect(ranked(usdFirst!.headers.get('accept-payment'))).toEqual(['ledger', 'eurledger'])
  })

  it('passes a non-402 response through untouched, with no payment attached', async () => {
    const { ledger, alice, api } = await usdShop()
    const pay = createPaymentFetch({ methods: [ledger.client(alice)] })

    const response = await pay(`${api.url}/free`)

    expect(response.status).toBe(418)
    expect(response.headers.get('x-teapot')).toBe('yes')
    expect(await response.text()).toBe('short and stout')
    expect(response.payment).toBeUndefined()
    expect(api.requests).toHaveLength(1)
    untouched(ledger, 'alice', 1_000n)
  })

  it('refuses with method-unsupported and sends nothing when the server offers no method it knows', async () => {
    const { api, usd, eur } = await twoCurrencyShop()
    const stranger = createLedger({ currency: 'usd' })
    const onlyStranger = renamed(stranger.client(stranger.open('bob', 1_000n)), 'otherledger')
    const events: ClientEvent[] = []
    const pay = createPaymentFetch({ methods: [onlyStranger], onEvent: (e) => events.push(e) })

    const error = await pay(`${api.url}/weather`).catch((e: unknown) => e)

    expect(error).toBeInstanceOf(MppError)
    expect(error).not.toBeInstanceOf(PaymentDeniedError)
    expect((error as MppError).code).toBe('method-unsupported')
    expect(api.requests).toHaveLength(1)
    expect(api.requests[0]!.authorizations).toEqual([])
    expect(events).toEqual([{ type: 'challenge-received', url: `${api.url}/weather`, offers: [], unusable: 2 }])
    expect(usd.transfers).toEqual([])
    expect(eur.transfers).toEqual([])
  })
})

describe('method selection', () => {
  it('pays eur when eur is the only method it has', async () => {
    const { api, usd, eur, eurClient } = await twoCurrencyShop()

    const response = await createPaymentFetch({ methods: [eurClient] })(`${api.url}/weather`)

    expect(response.status).toBe(200)
    expect(response.payment?.offer).toMatchObject({ method: 'eurledger', currency: 'eur', recipient: 'shop-eu', display: '0.25 eur' })
    expect(eur.transfers).toMatchObject([{ from: 'alice', to: 'shop-eu', amount: 25n }])
    expect(response.payment?.receipt?.reference).toBe(eur.transfers[0]!.reference)
    untouched(usd, 'alice', 1_000n)
  })

  it('follows its own preference [eur, usd] over the server order [usd, eur]', async () => {
    const { api, usd, eur, usdClient, eurClient } = await twoCurrencyShop()

    const response = await createPaymentFetch({ methods: [eurClient, usdClient] })(`${api.url}/weather`)

    expect(response.payment?.offer.currency).toBe('eur')
    expect(eur.transfers).toHaveLength(1)
    untouched(usd, 'alice', 1_000n)
  })

  it('falls back to usd when policy denies eur', async () => {
    const { api, usd, eur, usdClient, eurClient } = await twoCurrencyShop()
    const events: ClientEvent[] = []
    const pay = createPaymentFetch({
      methods: [eurClient, usdClient],
      policy: { currencies: ['usd'] },
      onEvent: (e) => events.push(e),
    })

    const response = await pay(`${api.url}/weather`)

    expect(response.status).toBe(200)
    expect(response.payment?.offer).toMatchObject({ method: 'ledger', currency: 'usd', recipient: 'shop-us' })
    expect(usd.transfers).toMatchObject([{ from: 'alice', to: 'shop-us', amount: 25n }])
    untouched(eur, 'alice', 1_000n)
    const denied = events.find((e) => e.type === 'payment-denied')
    expect(denied).toMatchObject({ offer: { currency: 'eur' }, reasons: ['currency eur is not allowed'] })
    // The one credential sent was for the usd challenge.
    const sent = api.requests.flatMap((r) => r.authorizations)
    expect(sent).toHaveLength(1)
    expect(Credential.parse(sent[0]!).challenge.method).toBe('ledger')
  })
})

describe('Idempotency-Key', () => {
  it('gives a POST one key, the same on the unpaid and the paid request', async () => {
    const { ledger, alice, api } = await usdShop()
    const pay = createPaymentFetch({ methods: [ledger.client(alice)] })

    const response = await pay(`${api.url}/weather`, { method: 'POST', body: 'q=1' })

    expect(response.status).toBe(200)
    const keys = api.requests.map((r) => r.headers.get('idempotency-key'))
    expect(keys).toHaveLength(2)
    expect(keys[0]).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/)
    expect(keys[1]).toBe(keys[0])
  })

  it('gives each POST its own key', async () => {
    const { ledger, alice, api } = await usdShop()
    const pay = createPaymentFetch({ methods: [ledger.client(alice)] })

    await pay(`${api.url}/weather`, { method: 'POST', body: 'a' })
    await pay(`${api.url}/weather`, { method: 'POST', body: 'b' })

    const keys = api.requests.map((r) => r.headers.get('idempotency-key'))
    expect(keys[0]).toBe(keys[1])
    expect(keys[2]).toBe(keys[3])
    expect(keys[2]).not.toBe(keys[0])
  })

  it('sends none on a GET', async () => {
    const { ledger, alice, api } = await usdShop()
    const pay = createPaymentFetch({ methods: [ledger.client(alice)], idempotencyKey: () => 'should-not-appear' })

    const response = await pay(`${api.url}/weather`)

    expect(response.status).toBe(200)
    expect(api.requests.map((r) => r.headers.get('idempotency-key'))).toEqual([null, null])
  })

  it('keeps a key the caller provided', async () => {
    const { ledger, alice, api } = await usdShop()
    const pay = createPaymentFetch({ methods: [ledger.client(alice)], idempotencyKey: () => 'generated' })

    const response = await pay(`${api.url}/weather`, { method: 'POST', body: 'x', headers: { 'Idempotency-Key': 'caller-key-7' } })

    expect(response.status).toBe(200)
    expect(api.requests.map((r) => r.headers.get('idempotency-key'))).toEqual(['caller-key-7', 'caller-key-7'])
  })
})

describe('quote()', () => {
  it('returns every offer with the reasons policy would refuse it, and sends no credential', async () => {
    const { api, usd, eur, usdClient, eurClient } = await twoCurrencyShop()
    const pay = createPaymentFetch({ methods: [eurClient, usdClient], policy: { maxAmount: { eur: 10n }, deny: { recipients: ['nobody'] } } })

    const quote = await pay.quote(`${api.url}/weather`)

    expect(quote.status).toBe(402)
    expect(quote.offers).toHaveLength(2)
    expect(quote.offers[0]).toMatchObject({
      method: 'eurledger',
      currency: 'eur',
      amount: 25n,
      display: '0.25 eur',
      recipient: 'shop-eu',
      origin: api.url,
      refusedBecause: ['amount 0.25 eur exceeds the per-request maximum'],
    })
    expect(quote.offers[1]).toMatchObject({ method: 'ledger', currency: 'usd', amount: 25n, refusedBecause: [] })
    expect(api.requests).toHaveLength(1)
    expect(api.requests[0]!.authorizations).toEqual([])
    untouched(usd, 'alice', 1_000n)
    untouched(eur, 'alice', 1_000n)
  })

  it('reports the status and no offers for a resource that is not for sale', async () => {
    const { ledger, alice, api } = await usdShop()

    const quote = await createPaymentFetch({ methods: [ledger.client(alice)] }).quote(`${api.url}/free`)

    expect(quote).toEqual({ status: 418, offers: [] })
  })
})

describe('audit events', () => {
  it('tell the whole story of a payment and never carry the credential, the key or the signature', async () => {
    const { ledger, alice, api } = await usdShop()
    const events: ClientEvent[] = []
    const pay = createPaymentFetch({ methods: [ledger.client(alice)], onEvent: (e) => events.push(e) })

    const response = await pay(`${api.url}/weather`, { method: 'POST', body: 'hello' })

    expect(response.status).toBe(200)
    expect(events.map((e) => e.type)).toEqual(['challenge-received', 'payment-approved', 'credential-sent', 'receipt-received'])
    const [received, approved, sent, receipt] = events
    expect(received).toMatchObject({ url: `${api.url}/weather`, unusable: 0, offers: [{ amount: 25n, currency: 'usd' }] })
    expect(approved).toMatchObject({ offer: { display: '0.25 usd', recipient: 'shop' } })
    expect(sent).toMatchObject({ offer: { challengeId: response.payment!.challenge.id } })
    expect(receipt).toEqual({ type: 'receipt-received', offer: response.payment!.offer, reference: ledger.transfers[0]!.reference, status: 200 })

    const authorization = api.requests[1]!.authorizations[0]!
    const token = authorization.slice('Payment '.length)
    const { signature } = Credential.parse(authorization).payload as { signature: string }
    const secrets = {
      authorization,
      token,
      accountKey: Buffer.from(alice.key).toString('base64url'),
      accountKeyBase64: Buffer.from(alice.key).toString('base64'),
      signature,
    }
    for (const event of events) {
      const text = json(event)
      for (const [name, secret] of Object.entries(secrets)) expect(text.includes(secret), `${event.type} contains the ${name}`).toBe(false)
    }
  })

  it('keep secrets out of denial and failure events too', async () => {
    const { ledger, alice, api } = await usdShop()
    const events: ClientEvent[] = []
    const denying = createPaymentFetch({ methods: [ledger.client(alice)], policy: { maxAmount: { usd: 1n } }, onEvent: (e) => events.push(e) })
    await expect(denying(`${api.url}/weather`)).rejects.toBeInstanceOf(PaymentDeniedError)
    expect(events.map((e) => e.type)).toEqual(['challenge-received', 'payment-denied'])
    expect(json(events)).not.toContain(Buffer.from(alice.key).toString('base64url'))
  })
})
