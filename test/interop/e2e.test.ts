/**
 * End-to-end interop over real loopback HTTP, with the custom method `testpay/charge`
 * defined on both sides (see support/testpay.ts):
 *
 *   1. the mppx client (Mppx.create({ methods, polyfill: false }).fetch) pays an mppkit
 *      server route (createPaymentServer);
 *   2. the mppkit client (createPaymentFetch) pays an mppx server route (Mppx.create).
 *
 * Each direction must end in a 200 whose Payment-Receipt the paying SDK reads, with
 * exactly one settlement on the server side.
 */
import { Challenge as MppxChallenge, Receipt as MppxReceipt } from 'mppx'
import { Mppx as MppxClient } from 'mppx/client'
import { Mppx as MppxServer, Request as MppxRequest } from 'mppx/server'
import { afterEach, describe, expect, it } from 'vitest'
import * as Challenge from '../../src/Challenge.js'
import * as Credential from '../../src/Credential.js'
import * as Receipt from '../../src/Receipt.js'
import { createPaymentFetch } from '../../src/client/index.js'
import type { ClientEvent } from '../../src/client/index.js'
import { createPaymentServer } from '../../src/server/index.js'
import { createLedger } from '../../src/testing/ledger.js'
import type { ServerEvent } from '../../src/server/index.js'
import { serve, type LoopbackServer } from './support/http.js'
import {
  mppkitTestpayClient,
  mppkitTestpayServer,
  mppxTestpayClient,
  mppxTestpayServer,
  proofFor,
  type Settlement,
} from './support/testpay.js'
import { SECRET } from './support/wire.js'

const open: LoopbackServer[] = []
afterEach(async () => {
  await Promise.all(open.splice(0).map((server) => server.close()))
})

async function listen(handler: (request: Request) => Response | Promise<Response>): Promise<LoopbackServer> {
  const server = await serve(handler)
  open.push(server)
  return server
}

describe('mppx client -> mppkit server', () => {
  async function mppkitShop(description?: string) {
    const settlements: Settlement[] = []
    const events: ServerEvent[] = []
    const shop = createPaymentServer({
      realm: 'shop.example',
      secrets: [SECRET],
      methods: [mppkitTestpayServer(settlements, { recipient: 'acct_shop' })],
      onEvent: (event) => events.push(event),
    })
    const handler = shop.route(
      { amount: '1000', currency: 'usd', ...(description !== undefined && { description }) },
      async (request, payment) =>
        Response.json({ data: 'paid content', paidBy: payment.credential.source, body: await request.text() }),
    )
    const server = await listen(handler)
    return { settlements, events, server }
  }

  it.each([
    ['GET', undefined],
    ['POST with a body (bound by digest)', '{"question":"why?"}'],
  ] as const)('%s: pays, gets 200 and a receipt mppx reads; settles once', async (_name, body) => {
    const { settlements, events, server } = await mppkitShop('One coffee')
    const mppx = MppxClient.create({ methods: [mppxTestpayClient('did:example:mppx-payer')], polyfill: false })

    const response = await mppx.fetch(`${server.origin}/coffee`, {
      method: body === undefined ? 'GET' : 'POST',
      ...(body !== undefined && { body, headers: { 'content-type': 'application/json' } }),
    })

    expect(response.status).toBe(200)
    expect(await response.json()).toEqual({ data: 'paid content', paidBy: 'did:example:mppx-payer', body: body ?? '' })
    expect(response.headers.get('cache-control')).toBe('private')
    const receipt = MppxReceipt.fromResponse(response)
    expect(receipt).toMatchObject({ method: 'testpay', reference: 'tp_1', status: 'success' })
    // mppx's receipt schema is loose: mppkit's extra member survives.
    expect((receipt as Record<string, unknown>).challengeId).toBe(settlements[0]?.challengeId)

    // Settled exactly once, for the route's price, by the mppx payer.
    expect(settlements).toEqual([
      { challengeId: expect.any(String), amount: '1000', currency: 'usd', payer: 'did:example:mppx-payer' },
    ])
    expect(events.filter((e) => e.type === 'payment-settled')).toHaveLength(1)
    expect(events.filter((e) => e.type === 'credential-rejected' && e.problem !== 'payment-required')).toEqual([])

    // Two requests: the unpaid one (with Accept-Payment) and the paid retry.
    expect(server.seen).toHaveLength(2)
    expect(server.seen[0]!.headers['accept-payment']).toBe('testpay/charge')
    expect(server.seen[0]!.headers.authorization).toBeUndefined()
    const credential = Credential.parse(String(server.seen[1]!.headers.authorization))
    expect(credential.challenge.id).toBe(settlements[0]!.challengeId)
    expect(credential.challenge.realm).toBe('shop.example')
    if (body !== undefined) expect(credential.challenge.digest).toMatch(/^sha-256=:/)
  })

  it('a replayed mppx credential is refused and nothing settles twice', async () => {
    const { settlements, server } = await mppkitShop()
    const mppx = MppxClient.create({ methods: [mppxTestpayClient()], polyfill: false })
    expect((await mppx.fetch(`${server.origin}/coffee`)).status).toBe(200)
    const authorization = String(server.seen[1]!.headers.authorization)

    const replay = await fetch(`${server.origin}/coffee`, { headers: { authorization } })
    expect(replay.status).toBe(402)
    expect(((await replay.json()) as { type: string }).type).toBe('https://paymentauth.org/problems/invalid-challenge')
    expect(replay.headers.get('payment-receipt')).toBeNull()
    // The fresh challenge in the 402 is one mppx can read.
    expect(MppxChallenge.fromResponse(replay).method).toBe('testpay')
    expect(settlements).toHaveLength(1)
  })

  it('an mppkit route offering two methods: mppx negotiates with Accept-Payment and pays the one it knows', async () => {
    const settlements: Settlement[] = []
    const ledger = createLedger()
    const shop = createPaymentServer({
      realm: 'shop.example',
      secrets: [SECRET],
      methods: [ledger.server({ recipient: 'shop' }), mppkitTestpayServer(settlements)],
    })
    const server = await listen(shop.route({ amount: '7', currency: 'usd' }, () => new Response('ok')))
    // Without Accept-Payment both challenges go out in one header; mppx reads both.
    const offered = MppxChallenge.deserializeList((await fetch(`${server.origin}/x`)).headers.get('www-authenticate')!)
    expect(offered.map((c) => c.method)).toEqual(['ledger', 'testpay'])

    const mppx = MppxClient.create({ methods: [mppxTestpayClient()], polyfill: false })
    const response = await mppx.fetch(`${server.origin}/x`)
    expect(response.status).toBe(200)
    expect(MppxReceipt.fromResponse(response).method).toBe('testpay')
    expect(settlements).toHaveLength(1)
    expect(ledger.transfers).toHaveLength(0)
  })

  it('a non-ASCII description (UTF-8 obs-text) reaches the mppx client and the payment still goes through', async () => {
    // mppx reads the UTF-8 bytes as Latin-1 (mppx deviation, see codec.test.ts) and
    // echoes that text; the description is not bound by the id, so payment succeeds.
    const { settlements, server } = await mppkitShop('Café ☕')
    const mppx = MppxClient.create({ methods: [mppxTestpayClient()], polyfill: false })
    const response = await mppx.fetch(`${server.origin}/coffee`)
    expect(response.status).toBe(200)
    const credential = Credential.parse(String(server.seen[1]!.headers.authorization))
    expect(credential.challenge.description).toBe(Buffer.from('Café ☕', 'utf8').toString('latin1'))
    expect(settlements).toHaveLength(1)
  })
})

describe('mppkit client -> mppx server', () => {
  async function mppxShop(description?: string) {
    const settlements: Settlement[] = []
    const mppx = MppxServer.create({ methods: [mppxTestpayServer(settlements)], secretKey: SECRET, realm: 'api.example.com' })
    const route = mppx.testpay.charge({
      amount: '1000',
      currency: 'usd',
      recipient: 'acct_1',
      ...(description !== undefined && { description }),
    })
    const handler = async (request: Request): Promise<Response> => {
      const result = await route(request)
      if (result.status === 402) return result.challenge
      return result.withReceipt(Response.json({ data: 'paid content', body: await request.text() }))
    }
    // The neutral adapter (support/http.ts); the last test uses mppx's own node adapter.
    const server = await listen(handler)
    return { settlements, server, handler }
  }

  it.each([
    ['GET', undefined],
    ['POST with a body', 'hello'],
  ] as const)('%s: pays, gets 200 and a receipt mppkit parses; settles once', async (_name, body) => {
    const { settlements, server } = await mppxShop('One coffee')
    const events: ClientEvent[] = []
    const pay = createPaymentFetch({
      methods: [mppkitTestpayClient('did:example:mppkit-payer')],
      policy: { maxAmount: { usd: 5000n } },
      onEvent: (event) => events.push(event),
    })

    const response = await pay(`${server.origin}/coffee`, {
      method: body === undefined ? 'GET' : 'POST',
      ...(body !== undefined && { body }),
    })

    expect(response.status).toBe(200)
    expect(await response.json()).toEqual({ data: 'paid content', body: body ?? '' })
    const receiptHeader = response.headers.get('payment-receipt')!
    expect(Receipt.parse(receiptHeader)).toMatchObject({ method: 'testpay', reference: 'tp_1', status: 'success' })
    expect(response.payment?.receipt).toEqual(Receipt.parse(receiptHeader))
    expect(response.payment?.offer).toMatchObject({ amount: 1000n, currency: 'usd', recipient: 'acct_1', description: 'One coffee' })

    expect(settlements).toEqual([
      { challengeId: response.payment!.challenge.id, amount: '1000', currency: 'usd', payer: 'did:example:mppkit-payer' },
    ])
    expect(events.map((e) => e.type)).toEqual(['challenge-received', 'payment-approved', 'credential-sent', 'receipt-received'])
    expect(server.seen).toHaveLength(2)
    expect(server.seen[0]!.headers['accept-payment']).toBe('testpay/charge')
  })

  it('the mppx challenge parses in mppkit exactly as mppx reads it', async () => {
    const { server, settlements } = await mppxShop('Café crème')
    const unpaid = await fetch(`${server.origin}/coffee`)
    expect(unpaid.status).toBe(402)
    const header = unpaid.headers.get('www-authenticate')!
    const ours = Challenge.parse(header)
    const theirs = MppxChallenge.fromResponse(unpaid)
    expect(ours.id).toBe(theirs.id)
    expect(ours.realm).toBe('api.example.com')
    expect(Challenge.decodeRequest(ours)).toEqual(theirs.request)
    expect(ours.expires).toBe(theirs.expires)
    // Latin-1 text crosses HTTP as single bytes; mppkit reads it back unchanged.
    expect(ours.description).toBe('Café crème')
    expect(theirs.description).toBe('Café crème')
    expect(settlements).toHaveLength(0)
  })

  it('a replayed mppkit credential is refused by the mppx server (its method keeps the single-use state)', async () => {
    const { settlements, server } = await mppxShop()
    const pay = createPaymentFetch({ methods: [mppkitTestpayClient()] })
    const first = await pay(`${server.origin}/coffee`)
    expect(first.status).toBe(200)
    const authorization = String(server.seen[1]!.headers.authorization)
    const replay = await fetch(`${server.origin}/coffee`, { headers: { authorization } })
    expect(replay.status).toBe(402)
    expect(settlements).toHaveLength(1)
    // The credential mppkit built is one mppx decodes, with proof and payer intact.
    const credential = Credential.parse(authorization)
    expect(credential.payload).toEqual({ proof: proofFor(credential.challenge.id, '1000', 'usd'), payer: 'did:example:mppkit-payer' })
  })
})

describe('the loopback servers speak the mppx node adapter too', () => {
  it('mppkit client pays an mppx route served by mppx Request.toNodeListener', async () => {
    const settlements: Settlement[] = []
    const mppx = MppxServer.create({ methods: [mppxTestpayServer(settlements)], secretKey: SECRET, realm: 'api.example.com' })
    const route = mppx.testpay.charge({ amount: '250', currency: 'usd' })
    const { createServer } = await import('node:http')
    const server = createServer(
      MppxRequest.toNodeListener(async (request: Request) => {
        const result = await route(request)
        return result.status === 402 ? result.challenge : result.withReceipt(new Response('ok'))
      }),
    )
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    try {
      const port = (server.address() as { port: number }).port
      const response = await createPaymentFetch({ methods: [mppkitTestpayClient()] })(`http://127.0.0.1:${port}/x`)
      expect(response.status).toBe(200)
      expect(await response.text()).toBe('ok')
      expect(response.payment?.receipt?.method).toBe('testpay')
      expect(settlements).toHaveLength(1)
    } finally {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  })
})
