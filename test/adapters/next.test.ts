/**
 * mppkit/next. Next.js is not installed in this repository, so the route handlers run in
 * process, the way Next calls them: a Web `Request` (here also a `NextRequest`-like
 * subclass) and a context with `params` as a Promise. The paying client is
 * `createPaymentFetch` over a fetch that calls the route handler directly.
 */
import { beforeEach, describe, expect, it } from 'vitest'
import { Problem, Receipt } from '../../src/index.js'
import { MppError } from '../../src/errors.js'
import { createPaymentFetch } from '../../src/client/index.js'
import { createPaymentServer, type PaymentServer } from '../../src/server/index.js'
import { createLedger, type Account, type Ledger } from '../../src/testing/index.js'
import { withPayment } from '../../src/adapters/next.js'

const PRICE = 25n // '0.25' at 2 decimals

/** What Next hands a dynamic route's handler: `params` as a Promise (Next 15+). */
type CityContext = { params: Promise<{ city: string }> }
/** The shape Next.js checks a `route.ts` export against, for `app/api/[city]/route.ts`. */
type NextRouteExport = (request: Request, context: CityContext) => Promise<Response>

/** Stands in for `NextRequest`: a `Request` subclass with framework extras. */
class FakeNextRequest extends Request {
  get nextUrl(): URL {
    return new URL(this.url)
  }
}

let ledger: Ledger
let payer: Account
let server: PaymentServer
let ran: string[]
let sent: string[]

function pay(route: NextRouteExport, city = 'lisbon') {
  return createPaymentFetch({
    methods: [ledger.client(payer)],
    fetch: async (input, init) => {
      const request = new FakeNextRequest(input, init)
      const authorization = request.headers.get('authorization')
      if (authorization) sent.push(authorization)
      return route(request, { params: Promise.resolve({ city }) })
    },
  })
}

function refundOf(response: Response): Record<string, string> {
  return JSON.parse(Buffer.from(response.headers.get('payment-refund')!, 'base64url').toString()) as Record<string, string>
}

function make(handlerTimeout?: number): void {
  server = createPaymentServer({
    realm: 'api.test',
    secrets: ['s'.repeat(32)],
    methods: [ledger.server({ recipient: 'shop' })],
    ...(handlerTimeout !== undefined && { handlerTimeout }),
  })
}

beforeEach(() => {
  ledger = createLedger()
  payer = ledger.open('alice', 1_000n)
  ran = []
  sent = []
  make()
})

const URL_ = 'https://api.test/api/forecast/lisbon'

describe('withPayment(gate, handler) as a Next.js route handler', () => {
  const forecast = (): NextRouteExport =>
    withPayment(server.charge({ price: '0.25' }), async (request, { params }: CityContext, payment) => {
      ran.push('forecast')
      const { city } = await params
      const days = request.method === 'POST' ? ((await request.json()) as { days: number }).days : 1
      return Response.json({ city, days, reference: payment.receipt.reference })
    })

  it('answers an unpaid request with 402 and a Payment challenge, without running the handler', async () => {
    const response = await forecast()(new Request(URL_), { params: Promise.resolve({ city: 'lisbon' }) })
    expect(response.status).toBe(402)
    expect(response.headers.get('www-authenticate')).toMatch(/^Payment /)
    expect(Problem.codeOf((await response.json()) as Problem.Problem)).toBe('payment-required')
    expect(ran).toEqual([])
    expect(ledger.balance('alice')).toBe(1_000n)
  })

  it('delivers a paid GET with a receipt and Cache-Control: private, passing Next’s context through', async () => {
    const response = await pay(forecast(), 'porto')(URL_)
    expect(response.status).toBe(200)
    expect(await response.json()).toEqual({ city: 'porto', days: 1, reference: 'ltx_1' })
    expect(response.headers.get('cache-control')).toBe('private')
    expect(Receipt.parse(response.headers.get('payment-receipt')!)).toMatchObject({ status: 'success', reference: 'ltx_1' })
    expect(ledger.balance('alice')).toBe(1_000n - PRICE)
  })

  it('hands the handler the JSON body it was paid for', async () => {
    const response = await pay(forecast())(URL_, { method: 'POST', body: JSON.stringify({ days: 3 }), headers: { 'content-type': 'application/json' } })
    expect(response.status).toBe(200)
    expect(await response.json()).toEqual({ city: 'lisbon', days: 3, reference: 'ltx_1' })
    expect(ledger.balance('alice')).toBe(1_000n - PRICE)
  })

  it('refuses a replayed credential', async () => {
    const route = forecast()
    expect((await pay(route)(URL_)).status).toBe(200)
    const again = await route(new Request(URL_, { headers: { authorization: sent[0]! } }), { params: Promise.resolve({ city: 'lisbon' }) })
    expect(again.status).toBe(402)
    expect(Problem.codeOf((await again.json()) as Problem.Problem)).toBe('invalid-challenge')
    expect(ran).toEqual(['forecast'])
    expect(ledger.balance('alice')).toBe(1_000n - PRICE)
  })

  it('keeps Next’s request object for a request without a body', async () => {
    let seen: Request | undefined
    const route = withPayment(server.charge({ price: '0.25' }), (request) => {
      seen = request
      return new Response('ok')
    })
    expect((await pay(route)(URL_)).status).toBe(200)
    expect(seen).toBeInstanceOf(FakeNextRequest)
  })

  it('refunds when the handler throws: 500, Payment-Refund, balance restored', async () => {
    const route = withPayment(server.charge({ price: '0.25' }), () => {
      throw new Error('handler bug')
    })
    const response = await pay(route)(URL_)
    expect(response.status).toBe(500)
    expect(response.headers.get('payment-receipt')).toBeNull()
    expect(refundOf(response)).toMatchObject({ status: 'refunded', method: 'ledger' })
    expect(await response.text()).not.toContain('handler bug')
    expect(ledger.balance('alice')).toBe(1_000n)
  })

  it('refunds a 404 answered by the handler', async () => {
    const route = withPayment(server.charge({ price: '0.25' }), () => Response.json({ error: 'no such city' }, { status: 404 }))
    const response = await pay(route)(URL_)
    expect(response.status).toBe(404)
    expect(await response.json()).toEqual({ error: 'no such city' })
    expect(refundOf(response).status).toBe('refunded')
    expect(ledger.balance('alice')).toBe(1_000n)
  })

  it("answers 504 and refunds a handler slower than the server's handlerTimeout", async () => {
    make(50)
    const route = withPayment(server.charge({ price: '0.25' }), async () => {
      await new Promise((resolve) => setTimeout(resolve, 300))
      return new Response('too late')
    })
    const response = await pay(route)(URL_)
    expect(response.status).toBe(504)
    expect(refundOf(response).status).toBe('refunded')
    expect(ledger.balance('alice')).toBe(1_000n)
  })

  it('refuses, with a typed error and no charge, a request whose body was already read', async () => {
    const request = new Request(URL_, { method: 'POST', body: '{}' })
    await request.text()
    const error = await forecast()(request, { params: Promise.resolve({ city: 'lisbon' }) }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(MppError)
    expect((error as MppError).code).toBe('configuration-invalid')
    expect(ledger.balance('alice')).toBe(1_000n)
  })
})
