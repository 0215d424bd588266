/**
 * One suite, every adapter (node `withPayment`, node `nodeHandler` + `server.route`,
 * Express, Hono), each behind a real server on 127.0.0.1 driven by real fetch.
 */
import { createServer, request as httpRequest, type OutgoingHttpHeaders, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { once } from 'node:events'
import express from 'express'
import { Hono } from 'hono'
import { stream as honoStream } from 'hono/streaming'
import { serve } from '@hono/node-server'
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest'
import { Challenge, Credential, Problem, Receipt } from '../../src/index.js'
import { createPaymentServer, type Gate, type PaymentServer } from '../../src/server/index.js'
import { createLedger, type Ledger } from '../../src/testing/index.js'
import { nodeHandler, toWebRequest, withPayment, writeWebResponse } from '../../src/adapters/node.js'
import { payment as expressPayment } from '../../src/adapters/express.js'
import { payment as honoPayment, type PaymentVariables } from '../../src/adapters/hono.js'

const PRICE = 25n // '0.25' at 2 decimals

type Fixture = { ledger: Ledger; server: PaymentServer; pay: (response: Response) => Promise<string> }

function fixture(): Fixture {
  const ledger = createLedger()
  const alice = ledger.open('alice', 1_000n)
  const payer = ledger.client(alice)
  const server = createPaymentServer({ realm: 'api.test', secrets: ['s'.repeat(32)], methods: [ledger.server({ recipient: 'shop' })] })
  const pay = async (response: Response) => {
    expect(response.status).toBe(402)
    const [challenge] = Challenge.parseList(response.headers.get('www-authenticate')!)
    const payment = await payer.pay({ challenge: challenge!, request: Challenge.decodeRequest(challenge!) as never, signal: new AbortController().signal })
    return Credential.serialize(Credential.from({ challenge: challenge!, ...payment }))
  }
  return { ledger, server, pay }
}

// The routes every adapter serves, in its own idiom:
//   GET  /weather  -> 200 {"sunny":true}
//   POST /echo     -> 200 {"got": <parsed JSON body>}
//   GET  /broken   -> 500 answered by the handler
//   GET  /throws   -> the handler throws
type App = (gate: Gate, server: PaymentServer) => Promise<Server>

async function listen(server: Server): Promise<Server> {
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return server
}

const apps: Record<string, App> = {
  'node withPayment': (gate) =>
    listen(
      createServer(
        withPayment(gate, async (req, res) => {
          if (req.url === '/weather') return void res.setHeader('content-type', 'application/json').end(JSON.stringify({ sunny: true }))
          if (req.url === '/echo') {
            let text = ''
            for await (const chunk of req) text += chunk
            return void res.setHeader('content-type', 'application/json').end(JSON.stringify({ got: JSON.parse(text) }))
          }
          if (req.url === '/broken') return void res.writeHead(500).end('broken')
          throw new Error('handler bug')
        }),
      ),
    ),
  'node nodeHandler + route': (_gate, server) =>
    listen(
      createServer(
        nodeHandler(
          server.route({ price: '0.25' }, async (request) => {
            const path = new URL(request.url).pathname
            if (path === '/weather') return Response.json({ sunny: true })
            if (path === '/echo') return Response.json({ got: await request.json() })
            if (path === '/broken') return new Response('broken', { status: 500 })
            throw new Error('handler bug')
          }),
        ),
      ),
    ),
  express: async (gate) => {
    const app = express()
    app.get('/weather', expressPayment(gate), (_req, res) => void res.json({ sunny: true }))
    app.post('/echo', expressPayment(gate), express.json(), (req, res) => void res.json({ got: req.body as unknown }))
    app.get('/broken', expressPayment(gate), (_req, res) => void res.status(500).send('broken'))
    app.get('/throws', expressPayment(gate), () => {
      throw new Error('handler bug')
    })
    return listen(createServer(app))
  },
  hono: async (gate) => {
    const app = new Hono<{ Variables: PaymentVariables }>()
    app.use(honoPayment(gate))
    app.get('/weather', (c) => c.json({ sunny: true }))
    app.post('/echo', async (c) => c.json({ got: await c.req.json() }))
    app.get('/broken', (c) => c.text('broken', 500))
    app.get('/throws', () => {
      throw new Error('handler bug')
    })
    const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }) as Server
    await once(server, 'listening')
    return server
  },
}

const open: Server[] = []
afterAll(async () => {
  for (const server of open) {
    server.closeAllConnections()
    server.close()
  }
})

async function start(app: App, gate: Gate, server: PaymentServer): Promise<string> {
  const listening = await app(gate, server)
  open.push(listening)
  return `http://127.0.0.1:${(listening.address() as AddressInfo).port}`
}

/** GET with two `Authorization` lines on the wire (fetch would join them into one). */
function getWithTwoAuthorizations(url: string, values: string[]): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: 'GET', headers: { authorization: values } as unknown as OutgoingHttpHeaders }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => (body += chunk))
      res.on('end', () => resolve({ status: res.statusCode!, body }))
    })
    req.on('error', reject)
    req.end()
  })
}

describe.each(Object.entries(apps))('%s', (_name, app) => {
  let f: Fixture
  let base: string
  beforeEach(async () => {
    f = fixture()
    base = await start(app, f.server.charge({ price: '0.25' }), f.server)
  })

  it('answers an unpaid request with 402, a Payment challenge and Problem Details', async () => {
    const response = await fetch(`${base}/weather`)
    expect(response.status).toBe(402)
    expect(response.headers.get('www-authenticate')).toMatch(/^Payment /)
    expect(response.headers.get('content-type')).toBe(Problem.CONTENT_TYPE)
    expect(response.headers.get('cache-control')).toBe('no-store')
    const body = (await response.json()) as Problem.Problem
    expect(body.status).toBe(402)
    expect(Problem.codeOf(body)).toBe('payment-required')
    expect(f.ledger.balance('alice')).toBe(1_000n)
  })

  it('delivers a paid request with a receipt and Cache-Control: private, charging once', async () => {
    const authorization = await f.pay(await fetch(`${base}/weather`))
    const response = await fetch(`${base}/weather`, { headers: { authorization } })
    expect(response.status).toBe(200)
    expect(await response.json()).toEqual({ sunny: true })
    expect(response.headers.get('cache-control')).toBe('private')
    const receipt = Receipt.parse(response.headers.get('payment-receipt')!)
    expect(receipt.status).toBe('success')
    expect(receipt.reference).toBe('ltx_1')
    expect(f.ledger.balance('alice')).toBe(1_000n - PRICE)
    expect(f.ledger.balance('shop')).toBe(PRICE)

    // The same credential again: refused, nothing moves.
    const again = await fetch(`${base}/weather`, { headers: { authorization } })
    expect(again.status).toBe(402)
    expect(Problem.codeOf((await again.json()) as Problem.Problem)).toBe('invalid-challenge')
    expect(f.ledger.balance('alice')).toBe(1_000n - PRICE)
  })

  it('hands the handler the POST body it was paid for, and refuses a changed body', async () => {
    const body = JSON.stringify({ city: 'Lisbon' })
    const post = (authorization: string | undefined, text: string) =>
      fetch(`${base}/echo`, { method: 'POST', body: text, headers: { 'content-type': 'application/json', ...(authorization && { authorization }) } })
    const authorization = await f.pay(await post(undefined, body))

    const changed = await post(authorization, JSON.stringify({ city: 'Porto' }))
    expect(changed.status).toBe(402)
    expect(Problem.codeOf((await changed.json()) as Problem.Problem)).toBe('verification-failed')
    expect(f.ledger.balance('alice')).toBe(1_000n)

    const response = await post(authorization, body)
    expect(response.status).toBe(200)
    expect(await response.json()).toEqual({ got: { city: 'Lisbon' } })
    expect(response.headers.get('payment-receipt')).toBeTruthy()
    expect(f.ledger.balance('alice')).toBe(1_000n - PRICE)
  })

  it('answers 400 to two Authorization header lines (Node keeps only one in req.headers)', async () => {
    const authorization = await f.pay(await fetch(`${base}/weather`))
    const { status, body } = await getWithTwoAuthorizations(`${base}/weather`, [authorization, authorization])
    expect(status).toBe(400)
    expect(Problem.codeOf(JSON.parse(body) as Problem.Problem)).toBe('malformed-credential')
    expect(f.ledger.balance('alice')).toBe(1_000n)
  })

  it('refunds when the handler answers 500 after payment', async () => {
    const authorization = await f.pay(await fetch(`${base}/broken`))
    const response = await fetch(`${base}/broken`, { headers: { authorization } })
    expect(response.status).toBe(500)
    expect(response.headers.get('payment-receipt')).toBeNull()
    const refund = JSON.parse(Buffer.from(response.headers.get('payment-refund')!, 'base64url').toString()) as Record<string, string>
    expect(refund).toMatchObject({ status: 'refunded', method: 'ledger', reference: 'rltx_1' })
    expect(await response.text()).toBe('broken')
    expect(f.ledger.balance('alice')).toBe(1_000n)
    expect(f.ledger.transfers[0]?.refunded).toBe(true)
  })

  it('refunds when the handler throws after payment', async () => {
    const authorization = await f.pay(await fetch(`${base}/throws`))
    const response = await fetch(`${base}/throws`, { headers: { authorization } })
    expect(response.status).toBe(500)
    expect(response.headers.get('payment-receipt')).toBeNull()
    expect(response.headers.get('payment-refund')).toBeTruthy()
    await response.arrayBuffer()
    expect(f.ledger.balance('alice')).toBe(1_000n)
  })
})

describe('express: every way of writing a response carries the receipt', () => {
  let f: Fixture
  let base: string
  const file = join(mkdtempSync(join(tmpdir(), 'mppkit-')), 'report.txt')
  writeFileSync(file, 'file contents\n')
  const big = Buffer.alloc(1024 * 1024 + 7, 'x')

  beforeEach(async () => {
    f = fixture()
    const gate = f.server.charge({ price: '0.25' })
    const app = express()
    const paid = express.Router()
    paid.use(expressPayment(gate))
    paid.get('/send', (_req, res) => void res.send('sent'))
    paid.get('/json', (_req, res) => void res.json({ json: true }))
    paid.get('/end', (_req, res) => void res.end('ended'))
    paid.get('/stream', async (_req, res) => {
      res.setHeader('content-type', 'text/plain')
      for (const part of ['a', 'b', 'c']) {
        res.write(part)
        await new Promise((resolve) => setTimeout(resolve, 5))
      }
      res.end('!')
    })
    paid.get('/big', (_req, res) => {
      // write() with backpressure: a megabyte in 64 KiB chunks, waiting for 'drain'
      let offset = 0
      const next = () => {
        while (offset < big.length) {
          const chunk = big.subarray(offset, offset + 65536)
          offset += chunk.length
          if (!res.write(chunk)) return void res.once('drain', next)
        }
        res.end()
      }
      next()
    })
    paid.get('/file', (_req, res) => res.sendFile(file))
    paid.get('/public', (_req, res) => void res.set('cache-control', 'public, max-age=60').send('cached'))
    paid.get('/empty', (_req, res) => void res.status(204).end())
    paid.get('/writehead', (_req, res) => void res.writeHead(201, { 'x-made': 'yes' }).end('created'))
    paid.post('/raw', express.raw({ type: '*/*' }), (req, res) => void res.send(Buffer.concat([Buffer.from('raw:'), req.body as Buffer])))
    paid.post('/order', express.json(), (req, res) => {
      orders += 1
      res.status(201).json({ order: orders, item: (req.body as { item: string }).item })
    })
    app.use('/p', paid)
    app.post('/late', express.json(), expressPayment(gate), (_req, res) => void res.send('never'))
    app.get('/locals', expressPayment(gate), (_req, res) => void res.json({ reference: res.locals.payment?.receipt.reference, amount: res.locals.payment?.paymentRequest.amount }))
    app.use(((error, _req, res, _next) => {
      lastError = error
      res.status(500).send('error')
    }) as express.ErrorRequestHandler)
    base = await start(() => listen(createServer(app)), gate, f.server)
  })
  let orders = 0
  let lastError: unknown
  afterEach(() => {
    orders = 0
    lastError = undefined
  })

  const paidGet = async (path: string) => {
    const authorization = await f.pay(await fetch(`${base}${path}`))
    return fetch(`${base}${path}`, { headers: { authorization } })
  }
  const expectReceipt = (response: Response) => {
    expect(Receipt.parse(response.headers.get('payment-receipt')!).status).toBe('success')
    expect(response.headers.get('cache-control')).toMatch(/^private/)
  }

  it.each([
    ['/send', 'sent'],
    ['/json', '{"json":true}'],
    ['/end', 'ended'],
    ['/stream', 'abc!'],
    ['/file', 'file contents\n'],
    ['/writehead', 'created'],
  ])('%s', async (path, text) => {
    const response = await paidGet(`/p${path}`)
    expect(response.status).toBe(path === '/writehead' ? 201 : 200)
    expectReceipt(response)
    expect(await response.text()).toBe(text)
    expect(f.ledger.balance('alice')).toBe(1_000n - PRICE)
  })

  it('streams a large body written with backpressure intact', async () => {
    const response = await paidGet('/p/big')
    expectReceipt(response)
    const bytes = Buffer.from(await response.arrayBuffer())
    expect(bytes.length).toBe(big.length)
    expect(bytes.equals(big)).toBe(true)
  })

  it('turns a public Cache-Control private', async () => {
    const response = await paidGet('/p/public')
    expect(response.headers.get('cache-control')).toBe('private, max-age=60')
    expect(await response.text()).toBe('cached')
  })

  it('keeps a 204 bodiless', async () => {
    const response = await paidGet('/p/empty')
    expect(response.status).toBe(204)
    expectReceipt(response)
    expect(response.headers.get('content-length')).toBeNull()
    expect(await response.text()).toBe('')
  })

  it('gives express.raw() the exact bytes the digest covered', async () => {
    const body = new Uint8Array([0, 1, 2, 250, 255])
    const headers = { 'content-type': 'application/octet-stream' }
    const authorization = await f.pay(await fetch(`${base}/p/raw`, { method: 'POST', body, headers }))
    const response = await fetch(`${base}/p/raw`, { method: 'POST', body, headers: { ...headers, authorization } })
    expect(lastError).toBeUndefined()
    expect(response.status).toBe(200)
    expect(new Uint8Array(await response.arrayBuffer())).toEqual(new Uint8Array([...Buffer.from('raw:'), ...body]))
  })

  it('sets res.locals.payment', async () => {
    const response = await paidGet('/locals')
    expect(await response.json()).toEqual({ reference: 'ltx_1', amount: '25' })
  })

  it('replays a stored response for a retry with the same Idempotency-Key', async () => {
    const body = JSON.stringify({ item: 'tea' })
    const post = (headers: Record<string, string>) =>
      fetch(`${base}/p/order`, { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers } })
    const authorization = await f.pay(await post({}))
    const first = await post({ authorization, 'idempotency-key': 'order-1' })
    expect(first.status).toBe(201)
    expectReceipt(first)
    expect(await first.json()).toEqual({ order: 1, item: 'tea' })
    const retry = await post({ authorization, 'idempotency-key': 'order-1' })
    expect(retry.status).toBe(201)
    expect(retry.headers.get('idempotent-replayed')).toBe('true')
    expect(retry.headers.get('payment-receipt')).toBe(first.headers.get('payment-receipt'))
    expect(await retry.json()).toEqual({ order: 1, item: 'tea' })
    expect(orders).toBe(1)
    expect(f.ledger.balance('alice')).toBe(1_000n - PRICE)
  })

  it('refuses to charge when a body parser ran before it', async () => {
    const response = await fetch(`${base}/late`, { method: 'POST', body: '{"a":1}', headers: { 'content-type': 'application/json' } })
    expect(response.status).toBe(500)
    expect(lastError).toMatchObject({ code: 'configuration-invalid' })
    expect(f.ledger.balance('alice')).toBe(1_000n)
  })
})

describe('node: withPayment', () => {
  it('streams a write()+end() response with the receipt and a 5xx written mid-way is still refunded', async () => {
    const f = fixture()
    const gate = f.server.charge({ price: '0.25' })
    const base = await start(
      () =>
        listen(
          createServer(
            withPayment(gate, async (req, res, payment) => {
              res.setHeader('content-type', 'text/plain')
              if (req.url === '/stream') {
                res.write('paid ')
                await new Promise((resolve) => setTimeout(resolve, 5))
                return void res.end(payment.receipt.reference)
              }
              res.statusCode = 503
              res.write('unavailable')
              res.end()
            }),
          ),
        ),
      gate,
      f.server,
    )
    const authorization = await f.pay(await fetch(`${base}/stream`))
    const response = await fetch(`${base}/stream`, { headers: { authorization } })
    expect(response.status).toBe(200)
    expect(response.headers.get('payment-receipt')).toBeTruthy()
    expect(await response.text()).toBe('paid ltx_1')

    const second = await f.pay(await fetch(`${base}/down`))
    const down = await fetch(`${base}/down`, { headers: { authorization: second } })
    expect(down.status).toBe(503)
    expect(down.headers.get('payment-refund')).toBeTruthy()
    expect(await down.text()).toBe('unavailable')
    expect(f.ledger.balance('alice')).toBe(1_000n - PRICE)
  })

  it('a handler past handlerTimeout is answered 504 and refunded; what it writes later is dropped', async () => {
    const ledger = createLedger()
    const alice = ledger.open('alice', 1_000n)
    const server = createPaymentServer({ realm: 'api.test', secrets: ['s'.repeat(32)], methods: [ledger.server({ recipient: 'shop' })], handlerTimeout: 100 })
    const gate = server.charge({ price: '0.25' })
    let lateWrite: Promise<void> | undefined
    const base = await start(
      () =>
        listen(
          createServer(
            withPayment(gate, async (_req, res) => {
              res.setHeader('x-half-done', 'yes')
              lateWrite = new Promise<void>((resolve) => setTimeout(resolve, 300)).then(() => void res.end('too late'))
              await lateWrite
            }),
          ),
        ),
      gate,
      server,
    )
    const first = await fetch(`${base}/slow`)
    const [challenge] = Challenge.parseList(first.headers.get('www-authenticate')!)
    const payment = await ledger.client(alice).pay({ challenge: challenge!, request: Challenge.decodeRequest(challenge!) as never, signal: new AbortController().signal })
    const authorization = Credential.serialize(Credential.from({ challenge: challenge!, ...payment }))
    const response = await fetch(`${base}/slow`, { headers: { authorization } })
    expect(response.status).toBe(504)
    expect(response.headers.get('payment-refund')).toBeTruthy()
    expect(response.headers.get('payment-receipt')).toBeNull()
    expect(response.headers.get('x-half-done')).toBeNull()
    expect(await response.text()).toContain('not ready within 100 ms')
    await lateWrite
    expect(ledger.balance('alice')).toBe(1_000n)
  })

  it('toWebRequest builds the URL from Host and keeps repeated header lines', async () => {
    let seen: Request | undefined
    const base = await start(
      () =>
        listen(
          createServer((req, res) => {
            seen = toWebRequest(req)
            res.end()
          }),
        ),
      undefined as never,
      undefined as never,
    )
    await new Promise<void>((resolve, reject) => {
      const req = httpRequest(`${base}/a/b?c=d`, { headers: { host: 'shop.example:8080', 'x-thing': ['one', 'two'] } }, (res) => {
        res.resume()
        res.on('end', resolve)
      })
      req.on('error', reject)
      req.end()
    })
    expect(seen?.url).toBe('http://shop.example:8080/a/b?c=d')
    expect(seen?.headers.get('x-thing')).toBe('one, two')
  })
})

describe('hono: response helpers', () => {
  it('adds the receipt to a streamed body and keeps c.get("payment")', async () => {
    const f = fixture()
    const gate = f.server.charge({ price: '0.25' })
    const app = new Hono<{ Variables: PaymentVariables }>()
    app.use(honoPayment(gate))
    app.get('/stream', (c) => {
      c.header('cache-control', 'public, max-age=5')
      return honoStream(c, async (out) => {
        await out.write('paid ')
        await out.write(c.get('payment').receipt.reference)
      })
    })
    const base = await start(
      async () => {
        const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }) as Server
        await once(server, 'listening')
        return server
      },
      gate,
      f.server,
    )
    const authorization = await f.pay(await fetch(`${base}/stream`))
    const response = await fetch(`${base}/stream`, { headers: { authorization } })
    expect(response.status).toBe(200)
    expect(response.headers.get('cache-control')).toBe('private, max-age=5')
    expect(response.headers.get('payment-receipt')).toBeTruthy()
    expect(await response.text()).toBe('paid ltx_1')
  })
})

describe('node: conversions', () => {
  async function capture(headers: Record<string, string | string[]>, trustProxy: boolean, path = '/x?y=1'): Promise<Request> {
    let seen: Request | undefined
    const base = await start(
      () =>
        listen(
          createServer((req, res) => {
            seen = toWebRequest(req, { trustProxy })
            res.end()
          }),
        ),
      undefined as never,
      undefined as never,
    )
    await new Promise<void>((resolve, reject) => {
      const req = httpRequest(`${base}${path}`, { headers }, (res) => {
        res.resume()
        res.on('end', resolve)
      })
      req.on('error', reject)
      req.end()
    })
    return seen!
  }

  it('uses X-Forwarded-Proto/Host only with trustProxy', async () => {
    const forwarded = { host: 'internal:3000', 'x-forwarded-proto': 'https, http', 'x-forwarded-host': 'api.example' }
    expect((await capture(forwarded, true)).url).toBe('https://api.example/x?y=1')
    expect((await capture(forwarded, false)).url).toBe('http://internal:3000/x?y=1')
  })

  it('never lets a Host header or a path rewrite the URL origin', async () => {
    expect((await capture({ host: 'evil.example/path?' }, false)).url).toBe('http://localhost/x?y=1')
    expect((await capture({ host: 'user@evil.example' }, false)).url).toBe('http://localhost/x?y=1')
    expect((await capture({ host: 'shop.example' }, false, '//evil.example/a')).url).toBe('http://shop.example//evil.example/a')
  })

  it('writeWebResponse writes every Set-Cookie on its own line and stops on client abort', async () => {
    let aborted = false
    const base = await start(
      () =>
        listen(
          createServer((req, res) => {
            if (req.url === '/cookies') {
              const headers = new Headers({ 'content-type': 'text/plain' })
              headers.append('set-cookie', 'a=1')
              headers.append('set-cookie', 'b=2')
              return void writeWebResponse(res, new Response('ok', { status: 201, headers }))
            }
            let timer: NodeJS.Timeout
            const body = new ReadableStream<Uint8Array>({
              start(controller) {
                timer = setInterval(() => controller.enqueue(new Uint8Array(1024)), 1)
              },
              cancel() {
                clearInterval(timer)
                aborted = true
              },
            })
            void writeWebResponse(res, new Response(body))
          }),
        ),
      undefined as never,
      undefined as never,
    )
    const response = await fetch(`${base}/cookies`)
    expect(response.status).toBe(201)
    expect(response.headers.getSetCookie()).toEqual(['a=1', 'b=2'])
    expect(await response.text()).toBe('ok')

    const controller = new AbortController()
    const endless = await fetch(`${base}/endless`, { signal: controller.signal })
    const reader = endless.body!.getReader()
    await reader.read()
    controller.abort()
    await expect.poll(() => aborted, { timeout: 5_000 }).toBe(true)
  })
})

describe('express: a client that goes away mid-stream', () => {
  it('stops without crashing the server and the payment stands', async () => {
    const f = fixture()
    const gate = f.server.charge({ price: '0.25' })
    let closed = false
    const app = express()
    app.get('/endless', expressPayment(gate), (_req, res) => {
      const timer = setInterval(() => res.write('tick\n'), 1)
      res.on('close', () => {
        clearInterval(timer)
        closed = true
      })
    })
    app.get('/ok', (_req, res) => void res.send('still up'))
    const base = await start(() => listen(createServer(app)), gate, f.server)
    const authorization = await f.pay(await fetch(`${base}/endless`))
    const controller = new AbortController()
    const response = await fetch(`${base}/endless`, { headers: { authorization }, signal: controller.signal })
    expect(response.headers.get('payment-receipt')).toBeTruthy()
    const reader = response.body!.getReader()
    await reader.read()
    controller.abort()
    await expect.poll(() => closed, { timeout: 5_000 }).toBe(true)
    expect(await (await fetch(`${base}/ok`)).text()).toBe('still up')
    expect(f.ledger.balance('alice')).toBe(1_000n - PRICE)
  })
})
