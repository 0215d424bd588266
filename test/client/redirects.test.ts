/**
 * Redirects of a paid request, over real loopback HTTP: the credential goes only to
 * the origin that asked for it. Two servers on two ports are two origins.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { createPaymentFetch } from '../../src/client/index.js'
import { createPaymentServer } from '../../src/server/index.js'
import { createLedger } from '../../src/testing/index.js'
import { byPath, serve, type Loopback } from '../support/loopback.js'

const SECRET = 'redirect-client-test-secret-0123456789'

const running: Loopback[] = []
afterEach(async () => {
  await Promise.all(running.splice(0).map((site) => site.close()))
})

async function site(handler: Parameters<typeof serve>[0]): Promise<Loopback> {
  const loopback = await serve(handler)
  running.push(loopback)
  return loopback
}

/** Echoes what it received: method, body, content type and whether a credential came. */
async function landing(request: Request): Promise<Response> {
  return Response.json({
    at: new URL(request.url).pathname,
    method: request.method,
    body: await request.text(),
    contentType: request.headers.get('content-type'),
  })
}

/** A shop whose paid `/start` answers with a redirect to `location(shop origin)`. */
async function redirectingShop(status: number, location: (origin: string) => string) {
  const ledger = createLedger({ currency: 'usd', decimals: 2 })
  const alice = ledger.open('alice', 1_000n)
  const server = createPaymentServer({ realm: 'api.test', secrets: [SECRET], methods: [ledger.server({ recipient: 'shop' })] })
  let origin = ''
  const api = await site(
    byPath({
      '/start': server.route({ price: '0.25' }, () => new Response(null, { status, headers: { location: location(origin) } })),
      '/landing': landing,
    }),
  )
  origin = api.url
  return { ledger, api, pay: createPaymentFetch({ methods: [ledger.client(alice)] }) }
}

describe('redirects after paying', () => {
  it('a 307 to another origin is followed without the Authorization header', async () => {
    const elsewhere = await site(landing)
    const { ledger, api, pay } = await redirectingShop(307, () => `${elsewhere.url}/landing`)

    const response = await pay(`${api.url}/start`, { method: 'POST', body: 'the body' })

    expect(response.status).toBe(200)
    expect(await response.json()).toEqual({ at: '/landing', method: 'POST', body: 'the body', contentType: 'text/plain;charset=UTF-8' })
    expect(api.requests.map((r) => r.authorizations.length)).toEqual([0, 1])
    expect(elsewhere.requests).toHaveLength(1)
    expect(elsewhere.requests[0]!.authorizations).toEqual([])
    expect(elsewhere.requests[0]!.headers.has('authorization')).toBe(false)
    expect(ledger.transfers).toHaveLength(1)
  })

  it('a 307 to the same origin keeps the Authorization header', async () => {
    const { api, pay } = await redirectingShop(307, () => '/landing')

    const response = await pay(`${api.url}/start`, { method: 'POST', body: 'the body' })

    expect(response.status).toBe(200)
    expect(await response.json()).toMatchObject({ at: '/landing', method: 'POST', body: 'the body' })
    expect(api.requests.map((r) => r.path)).toEqual(['/start', '/start', '/landing'])
    const credential = api.requests[1]!.authorizations
    expect(credential).toHaveLength(1)
    expect(api.requests[2]!.authorizations).toEqual(credential)
  })

  it('a 303 turns the POST into a GET without the body or its Content-Type (fetch spec, HTTP redirect fetch step 12)', async () => {
    const { api, pay } = await redirectingShop(303, () => '/landing')

    const response = await pay(`${api.url}/start`, { method: 'POST', body: '{"a":1}', headers: { 'content-type': 'application/json' } })

    expect(response.status).toBe(200)
    const landed = api.requests[2]!
    expect(landed.method).toBe('GET')
    expect(await landed.body).toHaveLength(0)
    expect(landed.headers.get('content-type')).toBeNull()
  })

  it('a 402 from the redirect target does not give back the budget of the payment that settled', async () => {
    // The paid /start settles and redirects to another paid site, which answers 402
    // to a request without its own credential. The 402 is not about our payment.
    const ledger = createLedger({ currency: 'usd', decimals: 2 })
    const alice = ledger.open('alice', 1_000n)
    const other = createPaymentServer({ realm: 'cdn.test', secrets: [SECRET], methods: [ledger.server({ recipient: 'cdn' })] })
    const cdn = await site(other.route({ price: '0.25' }, () => new Response('asset')))
    const server = createPaymentServer({ realm: 'api.test', secrets: [SECRET], methods: [ledger.server({ recipient: 'shop' })] })
    const api = await site(
      byPath({
        '/start': server.route({ price: '0.25' }, () => new Response(null, { status: 307, headers: { location: `${cdn.url}/asset` } })),
        '/ok': server.route({ price: '0.25' }, () => new Response('ok')),
      }),
    )
    const pay = createPaymentFetch({
      methods: [ledger.client(alice)],
      policy: { budgets: [{ currency: 'usd', limit: 25n, period: 'day' }] },
    })

    await pay(`${api.url}/start`).catch(() => undefined)
    // A 307 carries no receipt, so by default the server refunds it (refundOn: any non-2xx).
    expect(ledger.transfers).toMatchObject([{ to: 'shop', amount: 25n, refunded: true }])
    await pay(`${api.url}/ok`).catch(() => undefined)

    // A budget of 0.25 a day must never let 0.50 leave the account.
    const spent = ledger.transfers.filter((t) => t.from === 'alice' && !t.refunded).reduce((sum, t) => sum + t.amount, 0n)
    expect(spent).toBeLessThanOrEqual(25n)
  })

  it('a redirect the caller asked not to follow is returned as is', async () => {
    const elsewhere = await site(landing)
    const { api, pay } = await redirectingShop(307, () => `${elsewhere.url}/landing`)

    const response = await pay(`${api.url}/start`, { redirect: 'manual' })

    expect(response.status).toBe(307)
    expect(response.headers.get('location')).toBe(`${elsewhere.url}/landing`)
    expect(elsewhere.requests).toHaveLength(0)
  })
})
