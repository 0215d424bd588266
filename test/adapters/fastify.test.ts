/**
 * mppkit/fastify on a real Fastify 5 server on 127.0.0.1, paid by `createPaymentFetch`
 * with the in-memory ledger method.
 */
import { request as httpRequest, type OutgoingHttpHeaders } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Readable } from 'node:stream'
import Fastify, { type FastifyInstance } from 'fastify'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { Challenge, Credential, Problem, Receipt } from '../../src/index.js'
import { createPaymentFetch } from '../../src/client/index.js'
import { createPaymentServer, type PaymentServer } from '../../src/server/index.js'
import { createLedger, type Account, type Ledger } from '../../src/testing/index.js'
import { addPayment, payment } from '../../src/adapters/fastify.js'

const PRICE = 25n // '0.25' at 2 decimals

let ledger: Ledger
let alice: Account
let server: PaymentServer
let app: FastifyInstance
let base: string
let ran: string[]
/** The Authorization values the paying client sent, and the requests that carried them. */
let sent: string[]
let paidRequests: Request[]
let pay: ReturnType<typeof createPaymentFetch>

async function start(configure: (app: FastifyInstance) => void, handlerTimeout?: number, maxBodyBytes?: number): Promise<void> {
  server = createPaymentServer({
    realm: 'api.test',
    secrets: ['s'.repeat(32)],
    methods: [ledger.server({ recipient: 'shop' })],
    ...(handlerTimeout !== undefined && { handlerTimeout }),
    ...(maxBodyBytes !== undefined && { maxBodyBytes }),
  })
  app = Fastify({ forceCloseConnections: true })
  configure(app)
  await app.listen({ port: 0, host: '127.0.0.1' })
  base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
}

function refundOf(response: Response): Record<string, string> {
  return JSON.parse(Buffer.from(response.headers.get('payment-refund')!, 'base64url').toString()) as Record<string, string>
}

beforeEach(() => {
  ledger = createLedger()
  alice = ledger.open('alice', 1_000n)
  ran = []
  sent = []
  paidRequests = []
  pay = createPaymentFetch({
    methods: [ledger.client(alice)],
    fetch: async (input, init) => {
      const request = new Request(input, init)
      const authorization = request.headers.get('authorization')
      if (authorization) {
        sent.push(authorization)
        paidRequests.push(request.clone())
      }
      return fetch(request)
    },
  })
})

afterEach(async () => {
  await app?.close()
})

describe('payment(gate) on Fastify routes', () => {
  beforeEach(async () => {
    await start((app) => {
      const gate = server.charge({ price: '0.25' })
      app.get('/weather', payment(gate), async (request) => {
        ran.push('weather')
        return { sunny: true, reference: request.payment?.receipt.reference }
      })
      app.post<{ Body: { city: string } }>('/echo', payment(gate), async (request) => {
        ran.push('echo')
        return { got: { city: request.body.city } }
      })
      app.post(
        '/validated',
        { ...payment(gate), schema: { body: { type: 'object', required: ['city'], properties: { city: { type: 'string' } } } } },
        async () => ({ ok: true }),
      )
      app.get('/throws', payment(gate), async () => {
        ran.push('throws')
        throw new Error('handler bug')
      })
      app.get('/missing', payment(gate), async (_request, reply) => reply.code(404).send({ error: 'no such forecast' }))
      app.get('/web', payment(gate), async () => new Response('from a Web Response', { headers: { 'content-type': 'text/plain', 'x-kind': 'web' } }))
      app.get('/stream', payment(gate), async (_request, reply) => reply.type('text/plain').send(Readable.from(['a', 'b', 'c'])))
      app.get('/public', payment(gate), async (_request, reply) => reply.header('cache-control', 'public, max-age=60').send('cached?'))
    })
  })

  it('answers an unpaid request with 402, a Payment challenge and Problem Details, without running the handler', async () => {
    const response = await fetch(`${base}/weather`)
    expect(response.status).toBe(402)
    expect(response.headers.get('www-authenticate')).toMatch(/^Payment /)
    expect(response.headers.get('content-type')).toBe(Problem.CONTENT_TYPE)
    expect(Problem.codeOf((await response.json()) as Problem.Problem)).toBe('payment-required')
    expect(ran).toEqual([])
    expect(ledger.balance('alice')).toBe(1_000n)
  })

  it('delivers a paid GET with a receipt, Cache-Control: private and request.payment, charging once', async () => {
    const response = await pay(`${base}/weather`)
    expect(response.status).toBe(200)
    const text = await response.text()
    expect(JSON.parse(text)).toEqual({ sunny: true, reference: 'ltx_1' })
    // Fastify's Content-Length survives for a body it had in memory (not chunked).
    expect(response.headers.get('content-length')).toBe(String(Buffer.byteLength(text)))
    expect(response.headers.get('cache-control')).toBe('private')
    const receipt = Receipt.parse(response.headers.get('payment-receipt')!)
    expect(receipt).toMatchObject({ status: 'success', reference: 'ltx_1' })
    expect(ran).toEqual(['weather'])
    expect(ledger.balance('alice')).toBe(1_000n - PRICE)
    expect(ledger.balance('shop')).toBe(PRICE)
  })

  it("challenges and charges HEAD on a priced GET route (Fastify's automatic HEAD route)", async () => {
    const unpaid = await fetch(`${base}/weather`, { method: 'HEAD' })
    expect(unpaid.status).toBe(402)
    expect(unpaid.headers.get('www-authenticate')).toMatch(/^Payment /)
    const paid = await pay(`${base}/weather`, { method: 'HEAD' })
    expect(paid.status).toBe(200)
    expect(paid.headers.get('payment-receipt')).toBeTruthy()
    expect(ledger.balance('alice')).toBe(1_000n - PRICE)
  })

  it('refuses a replayed credential: 402, nothing moves, the handler does not run again', async () => {
    expect((await pay(`${base}/weather`)).status).toBe(200)
    expect(sent).toHaveLength(1)
    const again = await fetch(`${base}/weather`, { headers: { authorization: sent[0]! } })
    expect(again.status).toBe(402)
    expect(Problem.codeOf((await again.json()) as Problem.Problem)).toBe('invalid-challenge')
    expect(ran).toEqual(['weather'])
    expect(ledger.balance('alice')).toBe(1_000n - PRICE)
  })

  it('hands the route the JSON body it was paid for, parsed by Fastify', async () => {
    const response = await pay(`${base}/echo`, { method: 'POST', body: JSON.stringify({ city: 'Lisbon' }), headers: { 'content-type': 'application/json' } })
    expect(response.status).toBe(200)
    expect(await response.json()).toEqual({ got: { city: 'Lisbon' } })
    expect(response.headers.get('payment-receipt')).toBeTruthy()
    expect(ledger.balance('alice')).toBe(1_000n - PRICE)
  })

  it('answers a retry with the same Idempotency-Key from the stored response, charging and running once', async () => {
    const first = await pay(`${base}/echo`, { method: 'POST', body: '{"city":"Lisbon"}', headers: { 'content-type': 'application/json' } })
    expect(first.status).toBe(200)
    const original = paidRequests[0]!
    expect(original.headers.get('idempotency-key')).toBeTruthy()
    const retry = await fetch(original)
    expect(retry.status).toBe(200)
    expect(await retry.json()).toEqual({ got: { city: 'Lisbon' } })
    expect(retry.headers.get('payment-receipt')).toBe(first.headers.get('payment-receipt'))
    expect(ran).toEqual(['echo'])
    expect(ledger.balance('alice')).toBe(1_000n - PRICE)
  })

  it('binds the payment to the body bytes: a credential paid for one body does not pay for another', async () => {
    const post = (body: string, authorization?: string) =>
      fetch(`${base}/echo`, { method: 'POST', body, headers: { 'content-type': 'application/json', ...(authorization && { authorization }) } })
    // A credential for a challenge issued for {"city":"Lisbon"}, never sent:
    const [challenge] = Challenge.parseList((await post('{"city":"Lisbon"}')).headers.get('www-authenticate')!)
    const proof = await ledger.client(alice).pay({ challenge: challenge!, request: Challenge.decodeRequest(challenge!) as never, signal: new AbortController().signal })
    const authorization = Credential.serialize(Credential.from({ challenge: challenge!, ...proof }))

    const changed = await post('{"city":"Porto"}', authorization)
    expect(changed.status).toBe(402)
    expect(Problem.codeOf((await changed.json()) as Problem.Problem)).toBe('verification-failed')
    expect(ran).toEqual([])
    expect(ledger.balance('alice')).toBe(1_000n)

    const same = await post('{"city":"Lisbon"}', authorization)
    expect(same.status).toBe(200)
    expect(await same.json()).toEqual({ got: { city: 'Lisbon' } })
    expect(ledger.balance('alice')).toBe(1_000n - PRICE)
  })

  it('refunds when the handler throws: 500, Payment-Refund, balance restored', async () => {
    const response = await pay(`${base}/throws`)
    expect(response.status).toBe(500)
    expect(response.headers.get('payment-receipt')).toBeNull()
    expect(refundOf(response)).toMatchObject({ status: 'refunded', method: 'ledger', reference: 'rltx_1' })
    await response.arrayBuffer()
    expect(ran).toEqual(['throws'])
    expect(ledger.balance('alice')).toBe(1_000n)
    expect(ledger.transfers[0]?.refunded).toBe(true)
  })

  it('refunds a 404 answered by the handler, keeping its body', async () => {
    const response = await pay(`${base}/missing`)
    expect(response.status).toBe(404)
    expect(await response.json()).toEqual({ error: 'no such forecast' })
    expect(response.headers.get('payment-receipt')).toBeNull()
    expect(refundOf(response).status).toBe('refunded')
    expect(ledger.balance('alice')).toBe(1_000n)
  })

  it('refunds a body that fails the route schema after payment (400)', async () => {
    const response = await pay(`${base}/validated`, { method: 'POST', body: '{"town":"Lisbon"}', headers: { 'content-type': 'application/json' } })
    expect(response.status).toBe(400)
    expect(refundOf(response).status).toBe('refunded')
    expect(ledger.balance('alice')).toBe(1_000n)
  })

  it('finishes a Web Response returned by the route', async () => {
    const response = await pay(`${base}/web`)
    expect(response.status).toBe(200)
    expect(await response.text()).toBe('from a Web Response')
    expect(response.headers.get('x-kind')).toBe('web')
    expect(response.headers.get('payment-receipt')).toBeTruthy()
    expect(response.headers.get('cache-control')).toBe('private')
  })

  it('finishes a streamed reply (a Node Readable) with the receipt', async () => {
    const response = await pay(`${base}/stream`)
    expect(response.status).toBe(200)
    expect(await response.text()).toBe('abc')
    expect(response.headers.get('payment-receipt')).toBeTruthy()
    expect(ledger.balance('alice')).toBe(1_000n - PRICE)
  })

  it('turns a route Cache-Control: public into private on a paid reply', async () => {
    const response = await pay(`${base}/public`)
    expect(response.status).toBe(200)
    expect(await response.text()).toBe('cached?')
    expect(response.headers.get('cache-control')).not.toMatch(/public/)
    expect(response.headers.get('cache-control')).toMatch(/private/)
  })

  it('answers 400 to two Authorization lines (read from the raw headers)', async () => {
    expect((await pay(`${base}/weather`)).status).toBe(200)
    const status = await new Promise<number>((resolve, reject) => {
      const req = httpRequest(`${base}/weather`, { headers: { authorization: [sent[0]!, sent[0]!] } as unknown as OutgoingHttpHeaders }, (res) => {
        res.resume()
        resolve(res.statusCode!)
      })
      req.on('error', reject)
      req.end()
    })
    expect(status).toBe(400)
    expect(ran).toEqual(['weather'])
  })
})

describe('paid replies that never reach onSend', () => {
  it('refunds a hijacked reply (no receipt can be attached to it)', async () => {
    await start((app) => {
      app.get('/raw', payment(server.charge({ price: '0.25' })), async (_request, reply) => {
        reply.hijack()
        reply.raw.writeHead(200, { 'content-type': 'text/plain' }).end('written raw')
      })
    })
    const response = await pay(`${base}/raw`)
    expect(response.status).toBe(200)
    expect(await response.text()).toBe('written raw')
    expect(response.headers.get('payment-receipt')).toBeNull()
    await expect.poll(() => ledger.balance('alice')).toBe(1_000n)
    expect(ledger.transfers[0]?.refunded).toBe(true)
  })

  it('refunds when the client goes away before the handler answers', async () => {
    let release: () => void = () => {}
    const held = new Promise<void>((resolve) => (release = resolve))
    let entered: () => void = () => {}
    const running = new Promise<void>((resolve) => (entered = resolve))
    await start((app) => {
      app.get('/held', payment(server.charge({ price: '0.25' })), async () => {
        entered()
        await held
        return 'finally'
      })
    })
    const controller = new AbortController()
    const pending = pay(`${base}/held`, { signal: controller.signal }).catch((error: unknown) => error)
    await running
    expect(ledger.balance('alice')).toBe(1_000n - PRICE)
    controller.abort()
    await pending
    await expect.poll(() => ledger.balance('alice')).toBe(1_000n)
    release()
  })
})

describe('addPayment(instance, gate): every route of a scope', () => {
  it('charges inside the scope and leaves routes outside it free', async () => {
    await start((app) => {
      app.get('/free', async () => 'free')
      void app.register(async (paid) => {
        addPayment(paid, server.charge({ price: '0.25' }))
        paid.get('/paid', async (request) => ({ reference: request.payment?.receipt.reference }))
      })
    })
    expect((await fetch(`${base}/free`)).status).toBe(200)
    expect((await fetch(`${base}/paid`)).status).toBe(402)
    const response = await pay(`${base}/paid`)
    expect(response.status).toBe(200)
    expect(await response.json()).toEqual({ reference: 'ltx_1' })
    expect(ledger.balance('alice')).toBe(1_000n - PRICE)
  })
})

describe('a body larger than the server hashes', () => {
  it('gets the 413 answer on an intact connection, and nothing is charged', async () => {
    await start((app) => {
      app.post('/upload', payment(server.charge({ price: '0.25' })), async () => 'stored')
    }, undefined, 1024)
    const response = await fetch(`${base}/upload`, { method: 'POST', body: 'x'.repeat(64 * 1024), headers: { 'content-type': 'text/plain' } })
    expect(response.status).toBe(413)
    await response.arrayBuffer()
    expect(ledger.balance('alice')).toBe(1_000n)
  })
})

describe("a body larger than the route's bodyLimit", () => {
  it('is refused with 413 before any challenge, so nothing is charged and refunded', async () => {
    await start((app) => {
      app.post('/small', { ...payment(server.charge({ price: '0.25' })), bodyLimit: 100 }, async () => 'stored')
    })
    const response = await pay(`${base}/small`, { method: 'POST', body: 'x'.repeat(1000), headers: { 'content-type': 'text/plain' } })
    expect(response.status).toBe(413)
    expect(sent).toEqual([])
    expect(ledger.transfers).toEqual([])
  })
})

describe("the server's handlerTimeout", () => {
  it('answers 504 and refunds a handler that is too slow; its late reply is dropped', async () => {
    let late: () => void = () => {}
    const finished = new Promise<void>((resolve) => (late = resolve))
    await start((app) => {
      app.get('/slow', payment(server.charge({ price: '0.25' })), async (_request, reply) => {
        await new Promise((resolve) => setTimeout(resolve, 300))
        late()
        return reply.send('too late')
      })
    }, 50)
    const response = await pay(`${base}/slow`)
    expect(response.status).toBe(504)
    expect(refundOf(response).status).toBe('refunded')
    await response.arrayBuffer()
    expect(ledger.balance('alice')).toBe(1_000n)
    await finished
  })
})
