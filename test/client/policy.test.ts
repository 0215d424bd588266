/**
 * Spending policy against a real server over loopback HTTP: every refusal happens
 * before anything is sent (no Authorization header reaches the server, no balance
 * moves), and budgets hold under concurrency, across windows and after rejections.
 */
import { afterEach, describe, expect, it, vi } from 'vitest'
import { createPaymentFetch, memorySpendLedger, PaymentDeniedError, PaymentRejectedError, type Offer } from '../../src/client/index.js'
import type * as Policy from '../../src/client/Policy.js'
import { createPaymentServer } from '../../src/server/index.js'
import { createLedger } from '../../src/testing/index.js'
import { byPath, serve, type Loopback } from '../support/loopback.js'

const SECRET = 'policy-client-test-secret-0123456789'

const running: Loopback[] = []
afterEach(async () => {
  await Promise.all(running.splice(0).map((site) => site.close()))
})

/** A shop on the usd test ledger: `/p/<price>` costs that many usd, paid to `shop`. */
async function shop(options: { balance?: bigint; now?: () => number } = {}) {
  const ledger = createLedger({ currency: 'usd', decimals: 2 })
  const alice = ledger.open('alice', options.balance ?? 1_000n)
  const server = createPaymentServer({
    realm: 'api.test',
    secrets: [SECRET],
    methods: [ledger.server({ recipient: 'shop' })],
    ...(options.now && { now: options.now }),
  })
  const paid = (price: string) => server.route({ price }, () => Response.json({ paid: price }))
  const api = await serve(byPath({ '/p/0.10': paid('0.10'), '/p/0.24': paid('0.24'), '/p/0.25': paid('0.25'), '/p/0.26': paid('0.26') }))
  running.push(api)
  return { ledger, alice, api, client: ledger.client(alice) }
}

async function denial(promise: Promise<unknown>): Promise<PaymentDeniedError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(PaymentDeniedError)
  expect((error as PaymentDeniedError).code).toBe('policy-denied')
  return error as PaymentDeniedError
}

describe('refusals send nothing', () => {
  type Case = [name: string, policy: (origin: string) => Policy.Policy, reason: string]
  const cases: Case[] = [
    ['per-request maxAmount exceeded', () => ({ maxAmount: { usd: 24n } }), 'amount 0.25 usd exceeds the per-request maximum'],
    ['currency not allowed', () => ({ currencies: ['eur'] }), 'currency usd is not allowed'],
    ['origin not on the allow list', () => ({ allow: { origins: ['https://api.test'] } }), 'origin is not on the allow list'],
    ['realm not on the allow list', () => ({ allow: { realms: ['other.test'] } }), 'realm is not on the allow list'],
    ['recipient not on the allow list', () => ({ allow: { recipients: ['someone-else'] } }), 'recipient is not on the allow list'],
    ['method not on the allow list', () => ({ allow: { methods: (m) => m === 'tempo' } }), 'method is not on the allow list'],
    ['origin on the deny list', (origin) => ({ deny: { origins: [origin] } }), 'origin is on the deny list'],
    ['realm on the deny list', () => ({ deny: { realms: ['api.test'] } }), 'realm is on the deny list'],
    ['recipient on the deny list', () => ({ deny: { recipients: (r) => r.startsWith('sh') } }), 'recipient is on the deny list'],
    ['method on the deny list', () => ({ deny: { methods: ['ledger'] } }), 'method is on the deny list'],
    ['approval hook says no', () => ({ approve: () => false }), 'the approver said no'],
    ['async approval hook says no', () => ({ approve: async () => false }), 'the approver said no'],
  ]

  it.each(cases)('%s', async (_name, policy, reason) => {
    const { ledger, api, client } = await shop()
    const pay = createPaymentFetch({ methods: [client], policy: policy(api.url) })

    const error = await denial(pay(`${api.url}/p/0.25`))

    expect(error.reasons).toEqual([reason])
    expect(error.offers).toMatchObject([{ amount: 25n, currency: 'usd', origin: api.url }])
    expect(api.requests).toHaveLength(1)
    expect(api.requests.flatMap((r) => r.authorizations)).toEqual([])
    expect(api.requests[0]!.headers.has('authorization')).toBe(false)
    expect(ledger.balance('alice')).toBe(1_000n)
    expect(ledger.transfers).toEqual([])
  })

  it('pays when every allow list matches and no deny list does', async () => {
    const { ledger, api, client } = await shop()
    const pay = createPaymentFetch({
      methods: [client],
      policy: {
        maxAmount: { usd: 25n },
        currencies: ['usd'],
        allow: { origins: [api.url], realms: ['api.test'], recipients: ['shop'], methods: (m) => m === 'ledger' },
        deny: { origins: ['https://evil.test'], realms: ['evil.test'], recipients: ['mallory'], methods: ['tempo'] },
      },
    })

    const response = await pay(`${api.url}/p/0.25`)

    expect(response.status).toBe(200)
    expect(ledger.balance('alice')).toBe(975n)
  })

  it('lists every reason when several rules refuse', async () => {
    const { api, client } = await shop()
    const pay = createPaymentFetch({ methods: [client], policy: { maxAmount: { usd: 1n }, deny: { realms: ['api.test'] } } })

    const error = await denial(pay(`${api.url}/p/0.25`))

    expect(error.reasons).toEqual(['amount 0.25 usd exceeds the per-request maximum', 'realm is on the deny list'])
  })

  it('shows the approval hook the offer: amount, currency, display and origin', async () => {
    const { api, client } = await shop()
    const approve = vi.fn((_offer: Offer) => false)
    const pay = createPaymentFetch({ methods: [client], policy: { approve } })

    await denial(pay(`${api.url}/p/0.25`))

    expect(approve).toHaveBeenCalledTimes(1)
    expect(approve.mock.calls[0]![0]).toMatchObject({
      amount: 25n,
      currency: 'usd',
      display: '0.25 usd',
      origin: api.url,
      realm: 'api.test',
      method: 'ledger',
      recipient: 'shop',
    })
  })

  describe('approveAbove', () => {
    it.each([
      ['below the threshold: not asked', '0.24', 0],
      ['at the threshold: asked', '0.25', 1],
      ['above the threshold: asked', '0.26', 1],
    ])('%s', async (_name, price, calls) => {
      const { ledger, api, client } = await shop()
      const approve = vi.fn(() => true)
      const pay = createPaymentFetch({ methods: [client], policy: { approveAbove: { usd: 25n }, approve } })

      const response = await pay(`${api.url}/p/${price}`)

      expect(response.status).toBe(200)
      expect(approve).toHaveBeenCalledTimes(calls)
      expect(ledger.transfers).toHaveLength(1)
    })

    it('at the threshold, a refusal sends nothing', async () => {
      const { ledger, api, client } = await shop()
      const approve = vi.fn(() => false)
      const pay = createPaymentFetch({ methods: [client], policy: { approveAbove: { usd: 25n }, approve } })

      const error = await denial(pay(`${api.url}/p/0.25`))

      expect(error.reasons).toEqual(['the approver said no'])
      expect(approve).toHaveBeenCalledTimes(1)
      expect(api.requests.flatMap((r) => r.authorizations)).toEqual([])
      expect(ledger.transfers).toEqual([])
    })
  })
})

describe('budgets', () => {
  it('lets exactly 10 of 50 concurrent payments through a budget of 10 payments', async () => {
    const { ledger, api, client } = await shop({ balance: 10_000n })
    const pay = createPaymentFetch({ methods: [client], policy: { budgets: [{ currency: 'usd', limit: 250n, period: 'day' }] } })

    const results = await Promise.allSettled(Array.from({ length: 50 }, () => pay(`${api.url}/p/0.25`)))

    const paid = results.filter((r) => r.status === 'fulfilled')
    const refused = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []))
    expect(paid).toHaveLength(10)
    for (const r of paid) expect(r.value.status).toBe(200)
    expect(refused).toHaveLength(40)
    for (const error of refused) {
      expect(error).toBeInstanceOf(PaymentDeniedError)
      expect((error as PaymentDeniedError).reasons).toEqual(['the daily budget for usd would be exceeded'])
    }
    expect(ledger.transfers).toHaveLength(10)
    expect(ledger.balance('alice')).toBe(10_000n - 10n * 25n)
    expect(ledger.balance('shop')).toBe(250n)
    expect(api.requests.flatMap((r) => r.authorizations)).toHaveLength(10)
  })

  it('opens a new window at midnight UTC: day 1 spending does not count on day 2', async () => {
    let clock = Date.UTC(2030, 2, 1, 10, 0, 0)
    const now = () => clock
    const { ledger, api, client } = await shop({ now })
    const pay = createPaymentFetch({ methods: [client], now, policy: { budgets: [{ currency: 'usd', limit: 25n, period: 'day' }] } })

    expect((await pay(`${api.url}/p/0.25`)).status).toBe(200)
    clock = Date.UTC(2030, 2, 1, 23, 59, 59, 999)
    expect((await denial(pay(`${api.url}/p/0.25`))).reasons).toEqual(['the daily budget for usd would be exceeded'])
    clock = Date.UTC(2030, 2, 2, 0, 0, 0)
    expect((await pay(`${api.url}/p/0.25`)).status).toBe(200)
    await denial(pay(`${api.url}/p/0.25`))

    expect(ledger.transfers).toHaveLength(2)
    expect(ledger.balance('alice')).toBe(950n)
  })

  it('counts hourly and daily budgets together, all or nothing', async () => {
    let clock = Date.UTC(2030, 2, 1, 10, 0, 0)
    const now = () => clock
    const { ledger, api, client } = await shop({ now })
    const spendLedger = memorySpendLedger({ now })
    const pay = createPaymentFetch({
      methods: [client],
      now,
      spendLedger,
      policy: {
        budgets: [
          { currency: 'usd', limit: 25n, period: 'hour' },
          { currency: 'usd', limit: 60n, period: 'day' },
        ],
      },
    })

    await pay(`${api.url}/p/0.25`)
    expect((await denial(pay(`${api.url}/p/0.10`))).reasons).toEqual(['the hourly budget for usd would be exceeded'])
    clock += 3600_000
    await pay(`${api.url}/p/0.25`)
    clock += 3600_000
    // 50 spent today: 0.25 would pass the hourly budget but not the daily one ...
    expect((await denial(pay(`${api.url}/p/0.25`))).reasons).toEqual(['the daily budget for usd would be exceeded'])
    // ... and the refused attempt did not keep its hourly reservation.
    await pay(`${api.url}/p/0.10`)

    expect(ledger.transfers.map((t) => t.amount)).toEqual([25n, 25n, 10n])
  })

  it('releases the reservation of a payment the server rejects', async () => {
    // 0.10 usd in the account, a budget of 0.25: paying 0.25 fails at the server.
    const { ledger, api, client } = await shop({ balance: 10n })
    const pay = createPaymentFetch({ methods: [client], policy: { budgets: [{ currency: 'usd', limit: 25n, period: 'day' }] } })

    const error = await pay(`${api.url}/p/0.25`).then(
      () => undefined,
      (e: unknown) => e,
    )

    expect(error).toBeInstanceOf(PaymentRejectedError)
    const rejected = error as PaymentRejectedError
    expect(rejected.code).toBe('payment-failed')
    expect(rejected.problem).toBe('payment-insufficient')
    expect(rejected.response.status).toBe(402)
    expect(rejected.offer).toMatchObject({ amount: 25n, currency: 'usd' })
    expect(api.requests.flatMap((r) => r.authorizations)).toHaveLength(1)
    expect(ledger.transfers).toEqual([])

    // 0.10 fits the budget only if the rejected 0.25 was given back.
    const response = await pay(`${api.url}/p/0.10`)
    expect(response.status).toBe(200)
    expect(ledger.balance('alice')).toBe(0n)
  })
})
