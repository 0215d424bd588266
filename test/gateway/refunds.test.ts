import { afterEach, describe, expect, it } from 'vitest'
import { createPaymentFetch } from '../../src/client/index.js'
import { createGateway } from '../../src/gateway/index.js'
import { gatewayListener } from '../../src/gateway/node.js'
import { createPaymentServer } from '../../src/server/index.js'
import { createLedger } from '../../src/testing/index.js'
import { listen, serve } from '../support/loopback.js'
import { closedOrigin, refundOf, SECRET, START, startGateway } from './fixture.js'

const open: { close(): Promise<void> }[] = []
afterEach(async () => {
  await Promise.all(open.splice(0).map((server) => server.close()))
})

const ROUTES = [{ path: '/paid', price: { price: '0.05' } }]

async function upstreamAnswering(handler: (request: Request) => Response | Promise<Response>): Promise<string> {
  const upstream = await serve(handler)
  open.push(upstream)
  return upstream.url
}

async function through(upstream: string, config: Partial<Parameters<typeof startGateway>[1]> = {}) {
  const setup = await startGateway(upstream, { routes: ROUTES, ...config })
  open.push(setup)
  const response = await setup.pay(`${setup.url}/paid`)
  return { setup, response }
}

describe('gateway: upstream failure refunds the payer', () => {
  it('upstream unreachable (connection refused): 502, refunded', async () => {
    const { setup, response } = await through(await closedOrigin())
    expect(response.status).toBe(502)
    expect(refundOf(response)).toMatchObject({ status: 'refunded', method: 'ledger' })
    expect(setup.ledger.balance('alice')).toBe(START)
    expect(setup.ledger.transfers.map((transfer) => transfer.refunded)).toEqual([true])
  })

  it('upstream 503: passed on, refunded', async () => {
    const { setup, response } = await through(await upstreamAnswering(() => new Response('down for maintenance', { status: 503 })))
    expect(response.status).toBe(503)
    expect(await response.text()).toBe('down for maintenance')
    expect(refundOf(response)?.status).toBe('refunded')
    expect(response.headers.get('payment-receipt')).toBeNull()
    expect(setup.ledger.balance('alice')).toBe(START)
  })

  it('upstream slower than the timeout: 504, refunded, and the upstream request cancelled', async () => {
    let release!: () => void
    const hanging = new Promise<void>((resolve) => (release = resolve))
    let cancelled!: () => void
    const upstreamCancelled = new Promise<void>((resolve) => (cancelled = resolve))
    const upstream = await upstreamAnswering(async (request) => {
      request.signal.addEventListener('abort', () => cancelled())
      await hanging
      return new Response('too late')
    })
    const started = Date.now()
    // The server's own handler timeout is far later: the 504 is the gateway's.
    const { setup, response } = await through(upstream, { timeout: 300, server: { handlerTimeout: 20_000 } })
    expect(response.status).toBe(504)
    expect(Date.now() - started).toBeLessThan(5_000)
    await upstreamCancelled
    release()
    expect(refundOf(response)?.status).toBe('refunded')
    expect(setup.ledger.balance('alice')).toBe(START)
  })

  it('any non-2xx (404) refunds by default', async () => {
    const { setup, response } = await through(await upstreamAnswering(() => new Response('no such thing', { status: 404 })))
    expect(response.status).toBe(404)
    expect(refundOf(response)?.status).toBe('refunded')
    expect(setup.ledger.balance('alice')).toBe(START)
  })

  it('refundOn keeps the money for statuses it declines, but a 502 from an unreachable upstream still refunds', async () => {
    const keep404 = { refundOn: (status: number) => status >= 500 }
    const notFound = await through(await upstreamAnswering(() => new Response('no such thing', { status: 404 })), keep404)
    expect(notFound.response.status).toBe(404)
    expect(refundOf(notFound.response)).toBeUndefined()
    expect(notFound.setup.ledger.balance('alice')).toBe(START - 5n)

    const neverRefund = { refundOn: () => false }
    const down = await through(await closedOrigin(), neverRefund)
    expect(down.response.status).toBe(502)
    expect(refundOf(down.response)?.status).toBe('refunded')
    expect(down.setup.ledger.balance('alice')).toBe(START)
  })

  it('works with a payment server built elsewhere, under its own refundOn', async () => {
    const ledger = createLedger()
    const alice = ledger.open('alice', START)
    ledger.open('shop', 0n)
    const server = createPaymentServer({ realm: 'gateway.test', secrets: [SECRET], methods: [ledger.server({ recipient: 'shop' })] })
    const gateway = createGateway({ upstream: await upstreamAnswering(() => new Response('busy', { status: 503 })), server, routes: ROUTES })
    const front = await listen(gatewayListener(gateway))
    open.push(front)
    const response = await createPaymentFetch({ methods: [ledger.client(alice)] })(`${front.url}/paid`)
    expect(response.status).toBe(503)
    expect(refundOf(response)?.status).toBe('refunded')
    expect(ledger.balance('alice')).toBe(START)
  })

  it('an upstream cannot forge the payment headers', async () => {
    const { setup, response } = await through(
      await upstreamAnswering(() => new Response('ok', { headers: { 'payment-refund': 'forged', 'payment-receipt': 'forged' } })),
    )
    expect(response.status).toBe(200)
    expect(response.headers.get('payment-refund')).toBeNull()
    expect(response.headers.get('payment-receipt')).not.toBe('forged')
    expect(setup.ledger.balance('alice')).toBe(START - 5n)
  })
})
