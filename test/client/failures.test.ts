/**
 * When paying goes wrong, over real loopback HTTP: expired challenges are never paid,
 * a lost response after paying is not paid twice, and a refunded delivery gives the
 * budget back.
 */
import { afterEach, describe, expect, it } from 'vitest'
import * as Credential from '../../src/Credential.js'
import { MppError } from '../../src/errors.js'
import { createPaymentFetch, PaymentDeniedError, PaymentOutcomeUnknownError, type ClientEvent } from '../../src/client/index.js'
import { createPaymentServer } from '../../src/server/index.js'
import { createLedger } from '../../src/testing/index.js'
import { byPath, headerLines, listen, serve, toWebRequest, writeWebResponse, type Loopback } from '../support/loopback.js'

const SECRET = 'failure-client-test-secret-0123456789'
const T0 = Date.UTC(2030, 5, 1, 12, 0, 0)

const closers: Array<() => Promise<void>> = []
afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close()))
})

async function site(handler: Parameters<typeof serve>[0]): Promise<Loopback> {
  const loopback = await serve(handler)
  closers.push(loopback.close)
  return loopback
}

function setup(options: { now?: () => number; challengeTtl?: number } = {}) {
  const ledger = createLedger({ currency: 'usd', decimals: 2 })
  const alice = ledger.open('alice', 1_000n)
  const server = createPaymentServer({
    realm: 'api.test',
    secrets: [SECRET],
    methods: [ledger.server({ recipient: 'shop' })],
    ...(options.now && { now: options.now }),
    ...(options.challengeTtl !== undefined && { challengeTtl: options.challengeTtl }),
  })
  return { ledger, alice, server, client: ledger.client(alice) }
}

const budgetOfOne = { budgets: [{ currency: 'usd', limit: 25n, period: 'day' as const }] }

describe('expired challenges', () => {
  it('never pays one: asks again, and gives up with method-unsupported when the fresh one is expired too', async () => {
    // Challenges live 60 s on the server; the client's clock runs 2 minutes ahead.
    const { ledger, server, client } = setup({ now: () => T0, challengeTtl: 60_000 })
    const api = await site(server.route({ price: '0.25' }, () => new Response('paid')))
    const events: ClientEvent[] = []
    const pay = createPaymentFetch({ methods: [client], now: () => T0 + 120_000, onEvent: (e) => events.push(e) })

    const error = await pay(`${api.url}/x`).catch((e: unknown) => e)

    expect(error).toBeInstanceOf(MppError)
    expect((error as MppError).code).toBe('method-unsupported')
    expect(api.requests).toHaveLength(2)
    expect(api.requests.flatMap((r) => r.authorizations)).toEqual([])
    expect(events.map((e) => e.type)).toEqual(['challenge-received', 'challenge-received'])
    expect(ledger.transfers).toEqual([])
  })

  it('pays the fresh challenge when asking again yields one that is still valid', async () => {
    // The first challenge is issued at T0 (expires T0+60s), the client reads it at
    // T0+90s; the server's clock then moves to T0+100s, so the second expires T0+160s.
    let serverTime = T0
    const { ledger, server, client } = setup({ now: () => serverTime, challengeTtl: 60_000 })
    const route = server.route({ price: '0.25' }, () => new Response('paid'))
    const api = await site(async (request) => {
      const response = await route(request)
      serverTime = T0 + 100_000
      return response
    })
    const pay = createPaymentFetch({ methods: [client], now: () => T0 + 90_000 })

    const response = await pay(`${api.url}/x`)

    expect(response.status).toBe(200)
    expect(api.requests.map((r) => r.authorizations.length)).toEqual([0, 0, 1])
    const { challenge } = Credential.parse(api.requests[2]!.authorizations[0]!)
    expect(Date.parse(challenge.expires!)).toBe(T0 + 160_000)
    expect(ledger.transfers).toHaveLength(1)
  })

  it('does not send a credential for a challenge that expired while the approver was deciding', async () => {
    // One clock for server and client; a human approver takes 10 minutes to say yes,
    // and the challenge lives 5 minutes.
    let clock = T0
    const now = () => clock
    const { ledger, server, client } = setup({ now, challengeTtl: 5 * 60_000 })
    const api = await site(server.route({ price: '0.25' }, () => new Response('paid')))
    const pay = createPaymentFetch({
      methods: [client],
      now,
      policy: {
        approve: () => {
          clock += 10 * 60_000
          return true
        },
      },
    })

    await pay(`${api.url}/x`).catch(() => undefined)

    // Whatever the client does next (ask again, or give up), it must not submit the
    // challenge it now knows to be expired (draft-httpauth-payment: clients MUST NOT).
    const sent = api.requests.flatMap((r) => r.authorizations).map((a) => Credential.parse(a).challenge)
    for (const challenge of sent) expect(Date.parse(challenge.expires!), 'credential sent for an expired challenge').toBeGreaterThan(clock)
    expect(ledger.transfers.filter((t) => !t.refunded).length).toBeLessThanOrEqual(1)
  })

  it('quote() says an offer has expired', async () => {
    const { server, client } = setup({ now: () => T0, challengeTtl: 60_000 })
    const api = await site(server.route({ price: '0.25' }, () => new Response('paid')))
    const pay = createPaymentFetch({ methods: [client], now: () => T0 + 60_000 })

    const quote = await pay.quote(`${api.url}/x`)

    expect(quote.offers).toMatchObject([{ amount: 25n, refusedBecause: ['the challenge has expired'] }])
    expect(api.requests.flatMap((r) => r.authorizations)).toEqual([])
  })
})

describe('outcome unknown', () => {
  it('when the server settles and hangs up, throws PaymentOutcomeUnknownError, pays once, and keeps the budget reserved', async () => {
    const { ledger, server, client } = setup()
    const gate = server.charge({ price: '0.25' })
    const authorizations: string[] = []
    // A raw server: it runs the payment gate, and once the payment has settled it
    // destroys the socket without answering.
    const hangUp = await listen(async (req, res) => {
      authorizations.push(...headerLines(req.rawHeaders, 'authorization'))
      const result = await gate.check(toWebRequest(req, res))
      if (!result.paid) return writeWebResponse(res, result.response)
      req.socket.destroy()
    })
    closers.push(hangUp.close)
    const healthy = await site(server.route({ price: '0.25' }, () => new Response('paid')))
    const events: ClientEvent[] = []
    const pay = createPaymentFetch({ methods: [client], policy: budgetOfOne, onEvent: (e) => events.push(e) })

    const error = await pay(`${hangUp.url}/x`).catch((e: unknown) => e)

    expect(error).toBeInstanceOf(PaymentOutcomeUnknownError)
    const unknown = error as PaymentOutcomeUnknownError
    expect(unknown.code).toBe('payment-outcome-unknown')
    expect(unknown.offer).toMatchObject({ amount: 25n, currency: 'usd', display: '0.25 usd', origin: hangUp.url, recipient: 'shop' })
    expect(authorizations).toHaveLength(1)
    // It did settle: that is why the client must neither pay again nor forget it.
    expect(ledger.transfers).toHaveLength(1)
    expect(ledger.balance('alice')).toBe(975n)
    expect(events.map((e) => e.type)).toEqual(['challenge-received', 'payment-approved', 'credential-sent', 'payment-failed'])

    // The budget (one payment a day) is still taken by the unknown payment.
    const denied = await pay(`${healthy.url}/x`).catch((e: unknown) => e)
    expect(denied).toBeInstanceOf(PaymentDeniedError)
    expect((denied as PaymentDeniedError).reasons).toEqual(['the daily budget for usd would be exceeded'])
    expect(healthy.requests.flatMap((r) => r.authorizations)).toEqual([])
    expect(authorizations).toHaveLength(1)
  })
})

describe('outcome unknown, said by the server', () => {
  it('a settlement the rail did not confirm: 504 with the challenge id, PaymentOutcomeUnknownError, budget kept, a retry of the same credential told the same', async () => {
    const ledger = createLedger({ currency: 'usd', decimals: 2 })
    const alice = ledger.open('alice', 1_000n)
    const inner = ledger.server({ recipient: 'shop' })
    // The money moves, then the connection to the rail drops before it confirms.
    const flaky = { ...inner, settle: async (context: Parameters<typeof inner.settle>[0]) => {
      await inner.settle(context)
      throw new Error('socket hang up')
    } }
    const server = createPaymentServer({ realm: 'api.test', secrets: [SECRET], methods: [flaky] })
    const api = await site(server.route({ price: '0.25' }, () => new Response('paid')))
    const events: ClientEvent[] = []
    const pay = createPaymentFetch({ methods: [ledger.client(alice)], policy: budgetOfOne, onEvent: (e) => events.push(e) })

    const error = await pay(`${api.url}/x`).catch((e: unknown) => e)

    expect(error).toBeInstanceOf(PaymentOutcomeUnknownError)
    const unknown = error as PaymentOutcomeUnknownError
    const [authorization] = api.requests.flatMap((r) => r.authorizations)
    const challengeId = Credential.parse(authorization!).challenge.id
    expect(unknown.challengeId).toBe(challengeId)
    expect(unknown.response?.status).toBe(504)
    expect(unknown.response?.headers.get('retry-after')).toBe('30')
    expect(unknown.response?.headers.get('www-authenticate')).toBeNull()
    expect(unknown.response?.headers.get('payment-receipt')).toBeNull()
    expect(await unknown.response!.json()).toMatchObject({ type: 'urn:mppkit:problem:payment-outcome-unknown', status: 504, challengeId })
    expect(ledger.balance('alice')).toBe(975n)
    expect(events.at(-1)).toMatchObject({ type: 'payment-failed', status: 504 })

    // The day's budget (one payment) is still held by the payment that may have settled.
    const denied = await pay(`${api.url}/x`).catch((e: unknown) => e)
    expect(denied).toBeInstanceOf(PaymentDeniedError)

    // Retrying the same credential resolves it, never "already used" (a 402 would mean
    // nothing moved): the server looks the payment up, finds it settled, and delivers.
    const retried = await fetch(`${api.url}/x`, { headers: { authorization: authorization! } })
    expect(retried.status).toBe(200)
    expect(await retried.text()).toBe('paid')
    expect(retried.headers.get('payment-receipt')).not.toBeNull()
    expect(ledger.transfers).toHaveLength(1)
    // Delivered once: a further retry finds the challenge used.
    expect((await fetch(`${api.url}/x`, { headers: { authorization: authorization! } })).status).toBe(402)
  })

  it('a settlement refused by the method (VerificationError) is still a 402 that releases the budget', async () => {
    const ledger = createLedger({ currency: 'usd', decimals: 2 })
    const alice = ledger.open('alice', 10n) // too little: settle refuses, nothing moves
    const inner = ledger.server({ recipient: 'shop' })
    const lenient = { ...inner, verify: async (context: Parameters<typeof inner.verify>[0]) => ({ account: context.payload.account, amount: BigInt(context.request.amount) }) }
    const server = createPaymentServer({ realm: 'api.test', secrets: [SECRET], methods: [lenient] })
    const api = await site(server.route({ price: '0.25' }, () => new Response('paid')))
    const pay = createPaymentFetch({ methods: [ledger.client(alice)], policy: budgetOfOne })
    const error = await pay(`${api.url}/x`).catch((e: unknown) => e)
    expect(error).toMatchObject({ code: 'payment-failed', problem: 'payment-insufficient' })
    expect(ledger.transfers).toHaveLength(0)
  })
})

describe('refunds', () => {
  it('a paid request the handler fails (500) is refunded: payment-refund header, event, ledger restored, budget released', async () => {
    const { ledger, server, client } = setup()
    const api = await site(
      byPath({
        '/broken': server.route({ price: '0.25' }, () => new Response('kaput', { status: 500 })),
        '/ok': server.route({ price: '0.25' }, () => new Response('fine')),
      }),
    )
    const events: ClientEvent[] = []
    const pay = createPaymentFetch({ methods: [client], policy: budgetOfOne, onEvent: (e) => events.push(e) })

    const response = await pay(`${api.url}/broken`)

    expect(response.status).toBe(500)
    expect(await response.text()).toBe('kaput')
    const refund = response.headers.get('payment-refund')
    expect(refund).not.toBeNull()
    expect(JSON.parse(Buffer.from(refund!, 'base64url').toString('utf8'))).toMatchObject({ status: 'refunded', method: 'ledger' })
    expect(response.payment?.offer).toMatchObject({ amount: 25n })
    expect(response.payment?.receipt).toBeUndefined()
    expect(events.filter((e) => e.type === 'payment-refunded')).toEqual([{ type: 'payment-refunded', offer: response.payment!.offer, refund }])
    expect(ledger.transfers).toMatchObject([{ amount: 25n, refunded: true }])
    expect(ledger.balance('alice')).toBe(1_000n)
    expect(ledger.balance('shop')).toBe(0n)

    // The budget allows one payment a day; the refunded one no longer counts.
    const next = await pay(`${api.url}/ok`)
    expect(next.status).toBe(200)
    expect(ledger.balance('alice')).toBe(975n)
  })
})

describe('transport security', () => {
  it('refuses to send a credential over plain http to a non-loopback host, and sends nothing', async () => {
    const ledger = createLedger()
    const payer = ledger.open('payer', 1_000n)
    // The server would refuse plain http too; it is told not to, so that this tests the client alone.
    const server = createPaymentServer({ realm: 'api.example', secrets: ['s'.repeat(32)], methods: [ledger.server({ recipient: 'shop' })], allowInsecureHttp: true })
    const handler = server.route({ price: '0.10' }, () => new Response('paid'))
    const seen: Array<string | null> = []
    const pay = createPaymentFetch({
      methods: [ledger.client(payer)],
      fetch: async (input, init) => {
        const request = new Request(input, init)
        seen.push(request.headers.get('authorization'))
        return handler(request)
      },
    })
    await expect(pay('http://api.example/x')).rejects.toMatchObject({ code: 'policy-denied' })
    expect(seen).toEqual([null])
    expect(ledger.balance('payer')).toBe(1_000n)

    const allowed = createPaymentFetch({ methods: [ledger.client(payer)], allowInsecureHttp: true, fetch: async (input, init) => handler(new Request(input, init)) })
    expect((await allowed('http://api.example/x')).status).toBe(200)
    expect((await pay('https://api.example/x')).status).toBe(200)
  })
})
