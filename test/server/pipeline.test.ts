/**
 * The server verification pipeline end to end (mpp-digest §1.8, §1.10, §8 items 28-57):
 * a PaymentServer with the in-memory ledger method, driven with real Requests.
 * Time is injected (`now`), nothing sleeps, and every failure is checked for its
 * status, Problem Details, caching headers, a fresh challenge, and what was settled.
 */
import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { Amount, Challenge, Json, Method, Receipt } from '../../src/index.js'
import type * as Credential from '../../src/Credential.js'
import {
  createPaymentServer,
  memoryStore,
  type PaymentServerConfig,
  type ServerEvent,
  type Store,
} from '../../src/server/index.js'
import { createLedger } from '../../src/testing/index.js'
import { authorizationFor, challengesOf, paidRequest, type PayOptions } from '../support/paidRequest.js'

const REALM = 'api.test'
const URL = 'https://api.test/weather'
const T0 = Date.UTC(2025, 0, 15, 12, 0, 0)
const TTL = 5 * 60_000
const SECRET_A = 'secret-A-0123456789abcdef0123456789'
const SECRET_B = 'secret-B-0123456789abcdef0123456789'
const PROBLEMS = 'https://paymentauth.org/problems/'
const START = 1000n
const PRICE = 25n // '0.25' at 2 decimals

type Echo = Credential.ChallengeEcho
type Handler = (request: Request, body: Buffer) => Response | Promise<Response>
type SetupOptions = Partial<PaymentServerConfig> & {
  route?: Method.RouteOptions
  handler?: Handler
  balance?: bigint
}

/** A server charging 0.25 usd (25 base units) on one route, a payer with 10.00, a frozen clock. */
function setup(options: SetupOptions = {}) {
  const { route = { price: '0.25', description: 'weather' }, handler, balance = START, ...config } = options
  const clock = { now: T0 }
  const ledger = createLedger({ currency: 'usd', decimals: 2 })
  const alice = ledger.open('alice', balance)
  const payer = ledger.client(alice)
  const events: ServerEvent[] = []
  const delivered: Buffer[] = []
  const server = createPaymentServer({
    realm: REALM,
    secrets: [SECRET_A],
    methods: [ledger.server({ recipient: 'shop' })],
    now: () => clock.now,
    onEvent: (event) => events.push(event),
    ...config,
  })
  const app = server.route(route, async (request) => {
    const body = Buffer.from(await request.arrayBuffer())
    delivered.push(body)
    return handler ? handler(request, body) : Response.json({ ok: true })
  })
  /** The unpaid request: must be a 402. */
  const unpaid = async (init: RequestInit = {}) => {
    const response = await app(new Request(URL, init))
    expect(response.status).toBe(402)
    return response
  }
  /** Pays the first challenge of `response` and sends the retry. */
  const retry = async (response: Response, init: RequestInit = {}, pay: PayOptions = {}) =>
    app(await paidRequest(response, payer, { url: URL, ...init }, pay))
  /** The paid retry as a Request, to send more than once. */
  const retryRequest = (response: Response, init: RequestInit = {}, pay: PayOptions = {}) =>
    paidRequest(response, payer, { url: URL, ...init }, pay)
  return { clock, ledger, alice, payer, events, delivered, server, app, unpaid, retry, retryRequest }
}
type Fixture = ReturnType<typeof setup>

const POST = (body: string | Uint8Array = 'hello'): RequestInit => ({ method: 'POST', body: body as BodyInit })

async function expectProblem(response: Response, status: number, type: string): Promise<Record<string, unknown>> {
  expect(response.status).toBe(status)
  expect(response.headers.get('content-type')).toBe('application/problem+json')
  expect(response.headers.get('payment-receipt')).toBeNull()
  const body = (await response.json()) as Record<string, unknown>
  expect(body.type).toBe(type === 'about:blank' ? type : PROBLEMS + type)
  expect(body.status).toBe(status)
  return body
}

/** A 402 with `code`, `no-store`, and fresh challenges (none reusing the presented id). */
async function expect402(response: Response, code: string, presentedId?: string) {
  const body = await expectProblem(response, 402, code)
  expect(response.headers.get('cache-control')).toBe('no-store')
  const challenges = challengesOf(response)
  expect(challenges.length).toBeGreaterThan(0)
  for (const challenge of challenges) expect(challenge.id).not.toBe(presentedId)
  expect(body.challengeId).toBe(challenges[0]!.id)
  return { body, challenges }
}

function expectNothingSettled(fx: Fixture) {
  expect(fx.ledger.transfers).toHaveLength(0)
  expect(fx.ledger.balance('alice')).toBe(START)
  expect(fx.ledger.balance('shop')).toBe(0n)
  expect(fx.delivered).toHaveLength(0)
}

function expectSettledOnce(fx: Fixture) {
  expect(fx.ledger.transfers).toHaveLength(1)
  expect(fx.ledger.balance('alice')).toBe(START - PRICE)
  expect(fx.ledger.balance('shop')).toBe(PRICE)
}

const idOf = (response: Response) => challengesOf(response)[0]!.id
const rfc9530 = (body: string) => `sha-256=:${createHash('sha256').update(body).digest('base64')}:`
const rawCredential = (json: string) => `Payment ${Buffer.from(json).toString('base64url')}`
const tokenOf = (authorization: string) => authorization.slice('Payment '.length)

/** A tiny second method ("points"), for negotiation and for drivers that misbehave. */
function pointsMethod(name = 'points', verify: () => Promise<unknown> = async () => ({})) {
  const request = z.object({ amount: z.string(), currency: z.string() })
  const payload = z.object({ code: z.string() })
  const settled: string[] = []
  const server = Method.server({
    name,
    intent: 'charge',
    request,
    payload,
    buildRequest: (route) => ({ amount: Amount.fromRoute(route, 0).toString(), currency: 'pts' }),
    verify,
    async settle() {
      settled.push(name)
      return { reference: `${name}_${settled.length}` }
    },
  })
  const client = Method.client({
    name,
    intent: 'charge',
    request,
    payload,
    amountOf: (r) => ({ amount: BigInt(r.amount), currency: r.currency }),
    pay: async () => ({ payload: { code: 'c0de' } }),
  })
  return { server, client, settled }
}

describe('1. no credential', () => {
  it('answers 402 payment-required with no-store and a Payment challenge', async () => {
    const fx = setup()
    const response = await fx.app(new Request(URL))
    const { challenges } = await expect402(response, 'payment-required')
    expect(challenges).toHaveLength(1)
    expectNothingSettled(fx)
  })

  it('issues a challenge for this realm, the ledger method and the route price in base units', async () => {
    const fx = setup()
    const [challenge] = challengesOf(await fx.unpaid())
    expect(challenge!.realm).toBe(REALM)
    expect(challenge!.method).toBe('ledger')
    expect(challenge!.intent).toBe('charge')
    expect(challenge!.description).toBe('weather')
    expect(Challenge.decodeRequest(challenge!)).toEqual({ amount: '25', currency: 'usd', recipient: 'shop' })
  })

  it('expires the challenge 5 minutes after the injected clock', async () => {
    const fx = setup()
    const [challenge] = challengesOf(await fx.unpaid())
    expect(challenge!.expires).toBe('2025-01-15T12:05:00Z')
    expect(Date.parse(challenge!.expires!)).toBe(T0 + TTL)
  })

  it('binds a POST body with its RFC 9530 sha-256 digest', async () => {
    const fx = setup()
    const body = '{"hello": "world"}'
    const [challenge] = challengesOf(await fx.unpaid(POST(body)))
    expect(challenge!.digest).toBe(rfc9530(body))
    expect(challenge!.digest).toBe('sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:')
  })

  it('puts no digest on a GET challenge', async () => {
    const fx = setup()
    const [challenge] = challengesOf(await fx.unpaid())
    expect(challenge!.digest).toBeUndefined()
  })

  it('carries an opaque holding a nonce', async () => {
    const fx = setup()
    const [challenge] = challengesOf(await fx.unpaid())
    const opaque = Challenge.decodeOpaque(challenge!)
    expect(Object.keys(opaque!)).toEqual(['nonce'])
    expect(opaque!.nonce).toMatch(/^[A-Za-z0-9_-]{8,}$/)
  })

  it('gives two 402s for the same route different ids', async () => {
    const fx = setup()
    const first = challengesOf(await fx.unpaid())[0]!
    const second = challengesOf(await fx.unpaid())[0]!
    expect(second.id).not.toBe(first.id)
    expect(second.opaque).not.toBe(first.opaque)
  })
})

describe('2. more than one credential', () => {
  async function twoCredentials(fx: Fixture) {
    const first = await authorizationFor(challengesOf(await fx.unpaid())[0]!, fx.payer)
    const second = await authorizationFor(challengesOf(await fx.unpaid())[0]!, fx.payer)
    return [first, second] as const
  }

  it('answers 400 to two credentials joined in one Authorization value', async () => {
    const fx = setup()
    const [a, b] = await twoCredentials(fx)
    const response = await fx.app(new Request(URL, { headers: { authorization: `${a}, ${b}` } }))
    await expectProblem(response, 400, 'malformed-credential')
    expectNothingSettled(fx)
  })

  it('answers 400 to two Authorization header lines', async () => {
    const fx = setup()
    const [a, b] = await twoCredentials(fx)
    const headers = new Headers()
    headers.append('authorization', a)
    headers.append('authorization', b)
    const response = await fx.app(new Request(URL, { headers }))
    await expectProblem(response, 400, 'malformed-credential')
    expectNothingSettled(fx)
  })
})

describe('3. malformed credentials -> 402 malformed-credential', () => {
  /** A valid credential's JSON for a fresh challenge, plus that challenge's id. */
  async function validJson(fx: Fixture, payloadExtra: Record<string, string> = {}) {
    const challenge = challengesOf(await fx.unpaid())[0]!
    const authorization = await authorizationFor(challenge, fx.payer, { payload: (p) => ({ ...p, ...payloadExtra }) })
    return { id: challenge.id, json: Buffer.from(tokenOf(authorization), 'base64url').toString() }
  }

  async function expectMalformed(fx: Fixture, authorization: string, presentedId: string) {
    const response = await fx.app(new Request(URL, { headers: { authorization } }))
    await expect402(response, 'malformed-credential', presentedId)
    expectNothingSettled(fx)
  }

  it('rejects a credential that is not base64url', async () => {
    const fx = setup()
    const { id } = await validJson(fx)
    await expectMalformed(fx, 'Payment not*base64url!', id)
  })

  it('rejects base64url that is not JSON', async () => {
    const fx = setup()
    const { id } = await validJson(fx)
    await expectMalformed(fx, rawCredential('this is not json'), id)
  })

  it('rejects a padded credential', async () => {
    const fx = setup()
    const { id, json } = await validJson(fx)
    // Trailing JSON whitespace makes the byte length 1 mod 3, so standard base64 ends in "==".
    const text = json + ' '.repeat((4 - (Buffer.byteLength(json) % 3)) % 3)
    const padded = Buffer.from(text).toString('base64').replace(/\+/g, '-').replace(/\//g, '_')
    expect(padded.endsWith('==')).toBe(true)
    expect(Buffer.from(padded.slice(0, -2), 'base64url').toString()).toBe(text) // only the padding is wrong
    await expectMalformed(fx, `Payment ${padded}`, id)
  })

  it('rejects a credential in the standard alphabet (+ and /)', async () => {
    const fx = setup()
    // "???" and "~~~" encode to "…/" and "…+" in standard base64 at any alignment.
    const { id, json } = await validJson(fx, { filler: '??????~~~~~~' })
    const standard = Buffer.from(json).toString('base64').replace(/=+$/, '')
    expect(standard).toMatch(/\+/)
    expect(standard).toMatch(/\//)
    await expectMalformed(fx, `Payment ${standard}`, id)
  })

  it('rejects a JSON array', async () => {
    const fx = setup()
    const { id, json } = await validJson(fx)
    await expectMalformed(fx, rawCredential(`[${json}]`), id)
  })

  it('rejects a credential without a payload', async () => {
    const fx = setup()
    const { id, json } = await validJson(fx)
    const { payload: _, ...rest } = JSON.parse(json)
    await expectMalformed(fx, rawCredential(JSON.stringify(rest)), id)
  })

  it('rejects a credential whose challenge is not an object', async () => {
    const fx = setup()
    const { id, json } = await validJson(fx)
    const credential = JSON.parse(json)
    await expectMalformed(fx, rawCredential(JSON.stringify({ ...credential, challenge: credential.challenge.id })), id)
  })

  it('rejects a credential above maxCredentialBytes', async () => {
    const fx = setup({ maxCredentialBytes: 4096 })
    const { id, json } = await validJson(fx, { filler: 'x'.repeat(4096) })
    await expectMalformed(fx, rawCredential(json), id)
  })

  it('takes no payment over plain HTTP from a non-loopback host (403, no challenge); loopback and the opt-out do', async () => {
    const fx = setup()
    const insecure = await fx.app(new Request('http://api.example.com/x'))
    await expectProblem(insecure, 403, 'about:blank')
    expect(insecure.headers.get('www-authenticate')).toBeNull()
    for (const url of ['http://127.0.0.1:8080/x', 'http://localhost/x', 'http://[::1]/x', 'https://api.example.com/x'])
      expect((await fx.app(new Request(url))).status, url).toBe(402)
    const optedOut = setup({ allowInsecureHttp: true })
    expect((await optedOut.app(new Request('http://api.example.com/x'))).status).toBe(402)
  })

  it('refuses a 1 MB Authorization value as an oversized credential (402), not as two credentials (400)', async () => {
    const fx = setup()
    const first = await fx.unpaid()
    const genuine = (await fx.retryRequest(first)).headers.get('authorization')!
    const response = await fx.app(new Request(URL, { headers: { authorization: `${genuine}, ${genuine}, Basic ${'x'.repeat(1 << 20)}` } }))
    await expect402(response, 'malformed-credential')
    expectNothingSettled(fx)
  })

  it('processes a valid 6 KB credential (servers must take at least 4 KB)', async () => {
    const fx = setup()
    const first = await fx.unpaid()
    const request = await fx.retryRequest(first, {}, { payload: (p) => ({ ...p, filler: 'x'.repeat(4500) }) })
    expect(request.headers.get('authorization')!.length).toBeGreaterThanOrEqual(6 * 1024)
    const response = await fx.app(request)
    expect(response.status).toBe(200)
    expectSettledOnce(fx)
  })
})

describe('4. unknown method or intent -> 400 method-unsupported', () => {
  it.each([
    ['method', (e: Echo) => ({ ...e, method: 'stripe' })],
    ['intent', (e: Echo) => ({ ...e, intent: 'session' })],
  ])('rejects an echo naming an unknown %s', async (_, echo) => {
    const fx = setup()
    const response = await fx.retry(await fx.unpaid(), {}, { echo })
    await expectProblem(response, 400, 'method-unsupported')
    // It still lists what the route does accept.
    expect(challengesOf(response).map((c) => `${c.method}/${c.intent}`)).toEqual(['ledger/charge'])
    expectNothingSettled(fx)
  })
})

describe('5. tampered echoes -> 402 invalid-challenge', () => {
  const reencode = (e: Echo, change: Record<string, unknown>) => Json.encodeCanonical({ ...Json.decodeObject(e.request), ...change })
  const tampers: Array<[string, (e: Echo) => Echo]> = [
    ['the echoed amount lowered (request re-encoded)', (e) => ({ ...e, request: reencode(e, { amount: '1' }) })],
    ['the echoed recipient changed', (e) => ({ ...e, request: reencode(e, { recipient: 'mallory' }) })],
    ['expires extended', (e) => ({ ...e, expires: '2025-01-15T13:00:00Z' })],
    ['opaque altered', (e) => ({ ...e, opaque: Json.encodeCanonical({ nonce: 'forged-nonce' }) })],
    ['opaque removed', ({ opaque: _, ...e }) => e],
    ['digest removed', ({ digest: _, ...e }) => e],
    ['realm changed', (e) => ({ ...e, realm: 'evil.test' })],
  ]

  it.each(tampers)('rejects %s and settles nothing', async (_, echo) => {
    const fx = setup()
    const first = await fx.unpaid(POST())
    const response = await fx.retry(first, POST(), { echo })
    await expect402(response, 'invalid-challenge', idOf(first))
    expectNothingSettled(fx)
  })

  it('rejects a challenge whose id comes from another server secret', async () => {
    const fx = setup()
    const other = createPaymentServer({
      realm: REALM,
      secrets: [SECRET_B],
      methods: [fx.ledger.server({ recipient: 'shop' })],
      now: () => fx.clock.now,
    })
    const foreign = await other.route({ price: '0.25', description: 'weather' }, () => new Response('no'))(new Request(URL))
    expect(foreign.status).toBe(402)
    const response = await fx.retry(foreign)
    await expect402(response, 'invalid-challenge', idOf(foreign))
    expectNothingSettled(fx)
  })

  it('accepts a changed description, which is not bound', async () => {
    const fx = setup()
    const response = await fx.retry(await fx.unpaid(POST()), POST(), { echo: (e) => ({ ...e, description: 'free lunch' }) })
    expect(response.status).toBe(200)
    expectSettledOnce(fx)
  })
})

describe('6. route fit', () => {
  it('rejects a challenge of the 1-unit route presented to the 5-unit route', async () => {
    const fx = setup()
    const cheap = fx.server.route({ amount: '1' }, () => new Response('cheap'))
    let expensiveRuns = 0
    const expensive = fx.server.route({ amount: '5' }, () => {
      expensiveRuns++
      return new Response('expensive')
    })
    const first = await cheap(new Request(URL))
    const response = await expensive(await paidRequest(first, fx.payer, { url: URL }))
    await expect402(response, 'invalid-challenge', idOf(first))
    expect(Challenge.decodeRequest(challengesOf(response)[0]!).amount).toBe('5')
    expect(expensiveRuns).toBe(0)
    expectNothingSettled(fx)
  })
})

describe('7. secret rotation', () => {
  function servers() {
    const fx = setup()
    const make = (secrets: string[]) =>
      createPaymentServer({ realm: REALM, secrets, methods: [fx.ledger.server({ recipient: 'shop' })], now: () => fx.clock.now })
        .route({ price: '0.25', description: 'weather' }, () => Response.json({ ok: true }))
    return { fx, issuer: make([SECRET_A]), rotated: make([SECRET_B, SECRET_A]), fresh: make([SECRET_B]) }
  }

  it('accepts a challenge of the old secret after rotation, before expiry', async () => {
    const { fx, issuer, rotated } = servers()
    const first = await issuer(new Request(URL))
    fx.clock.now = T0 + TTL - 1000
    const response = await rotated(await paidRequest(first, fx.payer, { url: URL }))
    expect(response.status).toBe(200)
    expectSettledOnce(fx)
  })

  it('rejects it once the old secret is dropped', async () => {
    const { fx, issuer, fresh } = servers()
    const first = await issuer(new Request(URL))
    const response = await fresh(await paidRequest(first, fx.payer, { url: URL }))
    await expect402(response, 'invalid-challenge', idOf(first))
    expectNothingSettled(fx)
  })

  it('rejects an old-secret challenge after it expired, even with the old secret kept', async () => {
    const { fx, issuer, rotated } = servers()
    const first = await issuer(new Request(URL))
    fx.clock.now = T0 + TTL
    const response = await rotated(await paidRequest(first, fx.payer, { url: URL }))
    await expect402(response, 'invalid-challenge', idOf(first))
    expectNothingSettled(fx)
  })
})

describe('8. expiry', () => {
  it('rejects a challenge at exactly its expiry (now == expires), with no settlement', async () => {
    const fx = setup()
    const first = await fx.unpaid()
    fx.clock.now = T0 + TTL
    const { challenges } = await expect402(await fx.retry(first), 'invalid-challenge', idOf(first))
    expect(challenges[0]!.expires).toBe('2025-01-15T12:10:00Z')
    expectNothingSettled(fx)
  })

  it('accepts it one millisecond before expiry', async () => {
    const fx = setup()
    const first = await fx.unpaid()
    fx.clock.now = T0 + TTL - 1
    expect((await fx.retry(first)).status).toBe(200)
    expectSettledOnce(fx)
  })
})

describe('9. body digest', () => {
  it('accepts the same body and hands the handler the exact bytes', async () => {
    const fx = setup()
    const body = new Uint8Array([0x7b, 0x22, 0xff, 0x00, 0xfe, 0x22, 0x7d]) // not even UTF-8
    const response = await fx.retry(await fx.unpaid(POST(body)), POST(body))
    expect(response.status).toBe(200)
    expect(fx.delivered).toEqual([Buffer.from(body)])
    expectSettledOnce(fx)
  })

  it('rejects a changed body with verification-failed, binding the fresh challenge to the new body', async () => {
    const fx = setup()
    const first = await fx.unpaid(POST('{"qty":1}'))
    const response = await fx.retry(first, POST('{"qty":100}'))
    const { challenges } = await expect402(response, 'verification-failed', idOf(first))
    expect(challenges[0]!.digest).toBe(rfc9530('{"qty":100}'))
    expectNothingSettled(fx)
  })

  it('answers 413 to a body over maxBodyBytes, without a challenge', async () => {
    const fx = setup({ maxBodyBytes: 8 })
    const response = await fx.app(new Request(URL, POST('123456789')))
    await expectProblem(response, 413, 'about:blank')
    expect(response.headers.get('www-authenticate')).toBeNull()
    expectNothingSettled(fx)
  })

  it('answers 413 to a paid request whose body grew over maxBodyBytes, settling nothing', async () => {
    const fx = setup({ maxBodyBytes: 8 })
    const response = await fx.retry(await fx.unpaid(POST('small')), POST('123456789'))
    await expectProblem(response, 413, 'about:blank')
    expectNothingSettled(fx)
  })
})

describe('10. replay and concurrency', () => {
  it('rejects the same credential the second time; one settlement', async () => {
    const fx = setup()
    const first = await fx.unpaid()
    const request = await fx.retryRequest(first)
    expect((await fx.app(request.clone())).status).toBe(200)
    await expect402(await fx.app(request), 'invalid-challenge', idOf(first))
    expectSettledOnce(fx)
    expect(fx.delivered).toHaveLength(1)
  })

  it('settles and delivers once for 200 concurrent copies of one credential', async () => {
    const fx = setup()
    const first = await fx.unpaid()
    const authorization = (await fx.retryRequest(first)).headers.get('authorization')!
    const responses = await Promise.all(
      Array.from({ length: 200 }, () => fx.app(new Request(URL, { headers: { authorization } }))),
    )
    const ok = responses.filter((r) => r.status === 200)
    const refused = responses.filter((r) => r.status === 402)
    expect(ok).toHaveLength(1)
    expect(refused).toHaveLength(199)
    for (const response of refused) await expect402(response, 'invalid-challenge', idOf(first))
    expectSettledOnce(fx)
    expect(fx.delivered).toHaveLength(1)
  })
})

describe('11. Idempotency-Key', () => {
  const keyed = (key: string, body = 'order #1'): RequestInit => ({ method: 'POST', body, headers: { 'idempotency-key': key } })

  function counting(options: SetupOptions = {}) {
    let runs = 0
    const fx = setup({ ...options, handler: () => Response.json({ run: ++runs }, { status: 201 }) })
    return { fx, runs: () => runs }
  }

  it('replays the stored response to the same credential and key; the handler runs once', async () => {
    const { fx, runs } = counting()
    const request = await fx.retryRequest(await fx.unpaid(keyed('k-1')), keyed('k-1'))
    const original = await fx.app(request.clone())
    const replayed = await fx.app(request)
    expect(original.status).toBe(201)
    expect(replayed.status).toBe(201)
    expect(await replayed.text()).toBe(await original.text())
    expect(replayed.headers.get('payment-receipt')).toBe(original.headers.get('payment-receipt'))
    expect(replayed.headers.get('payment-receipt')).not.toBeNull()
    expect(replayed.headers.get('idempotent-replayed')).toBe('true')
    expect(original.headers.get('idempotent-replayed')).toBeNull()
    expect(runs()).toBe(1)
    expectSettledOnce(fx)
  })

  it('never serves a stored response to a forged payload with the same challenge and key', async () => {
    const { fx, runs } = counting()
    const first = await fx.unpaid(keyed('k-1'))
    const genuine = await fx.retryRequest(first, keyed('k-1'))
    expect((await fx.app(genuine)).status).toBe(201)
    const forged = await fx.retryRequest(first, keyed('k-1'), { payload: (p) => ({ ...p, signature: 'forged' }) })
    const response = await fx.app(forged)
    await expect402(response, 'invalid-challenge', idOf(first))
    expect(response.headers.get('idempotent-replayed')).toBeNull()
    expect(response.headers.get('payment-receipt')).toBeNull()
    expect(runs()).toBe(1)
    expectSettledOnce(fx)
  })

  it('checks the body before serving a stored response: same credential and key, another body', async () => {
    const { fx, runs } = counting()
    const first = await fx.unpaid(keyed('k-1'))
    const genuine = await fx.retryRequest(first, keyed('k-1'))
    const authorization = genuine.headers.get('authorization')!
    expect((await fx.app(genuine)).status).toBe(201)
    const other = new Request(URL, { ...keyed('k-1', 'order #2'), headers: { authorization, 'idempotency-key': 'k-1' } })
    const response = await fx.app(other)
    await expect402(response, 'verification-failed', idOf(first))
    expect(response.headers.get('idempotent-replayed')).toBeNull()
    expect(runs()).toBe(1)
  })

  it('rejects the same credential with a different key as invalid-challenge', async () => {
    const { fx, runs } = counting()
    const first = await fx.unpaid(keyed('k-1'))
    const authorization = (await fx.retryRequest(first, keyed('k-1'))).headers.get('authorization')!
    const send = (key: string) => fx.app(new Request(URL, { ...keyed(key), headers: { authorization, 'idempotency-key': key } }))
    expect((await send('k-1')).status).toBe(201)
    const response = await send('k-2')
    await expect402(response, 'invalid-challenge', idOf(first))
    expect(response.headers.get('idempotent-replayed')).toBeNull()
    expect(runs()).toBe(1)
    expectSettledOnce(fx)
  })

  it('makes a concurrent duplicate wait for the first response instead of running again', async () => {
    let release!: () => void
    const released = new Promise<void>((resolve) => (release = resolve))
    let entered!: () => void
    const handlerEntered = new Promise<void>((resolve) => (entered = resolve))
    let waiting!: () => void
    const duplicateWaiting = new Promise<void>((resolve) => (waiting = resolve))
    // A memory store that reports when someone polls for a stored idempotent response.
    const inner = memoryStore({ now: () => T0 })
    const store: Store = {
      ...inner,
      get: (key) => {
        if (key.startsWith('idem:')) waiting()
        return inner.get(key)
      },
    }
    let runs = 0
    const fx = setup({
      store,
      handler: async () => {
        runs++
        entered()
        await released
        return Response.json({ run: runs }, { status: 201 })
      },
    })
    const request = await fx.retryRequest(await fx.unpaid(keyed('k-1')), keyed('k-1'))
    const original = fx.app(request.clone())
    await handlerEntered
    const duplicate = fx.app(request)
    await duplicateWaiting
    release()
    const [a, b] = await Promise.all([original, duplicate])
    expect(a.status).toBe(201)
    expect(b.status).toBe(201)
    expect(b.headers.get('idempotent-replayed')).toBe('true')
    expect(await b.text()).toBe(await a.text())
    expect(b.headers.get('payment-receipt')).toBe(a.headers.get('payment-receipt'))
    expect(runs).toBe(1)
    expectSettledOnce(fx)
  })

  it('streams an event-stream response instead of storing it; a retry with the key is told it cannot be replayed', async () => {
    const fx = setup({ handler: () => new Response('data: one\n\n', { headers: { 'content-type': 'text/event-stream' } }) })
    const request = await fx.retryRequest(await fx.unpaid(keyed('k-1')), keyed('k-1'))
    const first = await fx.app(request.clone())
    expect(first.status).toBe(200)
    expect(await first.text()).toBe('data: one\n\n')
    const retry = await fx.app(request)
    expect(retry.status).toBe(409)
    expect(retry.headers.get('payment-receipt')).toBeNull()
    expectSettledOnce(fx)
  })

  it('ignores Idempotency-Key on GET: a second use is a replay', async () => {
    const { fx, runs } = counting()
    const init = { headers: { 'idempotency-key': 'k-1' } }
    const first = await fx.unpaid(init)
    const request = await fx.retryRequest(first, init)
    expect((await fx.app(request.clone())).status).toBe(201)
    const second = await fx.app(request)
    await expect402(second, 'invalid-challenge', idOf(first))
    expect(second.headers.get('idempotent-replayed')).toBeNull()
    expect(runs()).toBe(1)
    expectSettledOnce(fx)
  })

  it('answers a retry of a refused payment with the same refusal, not "in progress"', async () => {
    // The first attempt was answered (402, bad signature): nothing is in progress, and nothing was written.
    const { fx, runs } = counting({ idempotencyWait: 50 })
    const first = await fx.unpaid(keyed('k-1'))
    const request = await fx.retryRequest(first, keyed('k-1'), { payload: (p) => ({ ...p, signature: 'forged' }) })
    await expect402(await fx.app(request.clone()), 'verification-failed', idOf(first))
    const retried = await fx.app(request)
    await expect402(retried, 'verification-failed', idOf(first))
    expect(runs()).toBe(0)
    expectNothingSettled(fx)
  })
})

describe('12. driver failures', () => {
  it('answers payment-insufficient with a fresh challenge when the balance is short', async () => {
    const fx = setup({ balance: 10n })
    const first = await fx.unpaid()
    await expect402(await fx.retry(first), 'payment-insufficient', idOf(first))
    expect(fx.ledger.transfers).toHaveLength(0)
    expect(fx.ledger.balance('alice')).toBe(10n)
    expect(fx.ledger.balance('shop')).toBe(0n)
    expect(fx.delivered).toHaveLength(0)
  })

  it('answers verification-failed to a wrong signature', async () => {
    const fx = setup()
    const first = await fx.unpaid()
    const response = await fx.retry(first, {}, { payload: (p) => ({ ...p, signature: 'AAAA' }) })
    await expect402(response, 'verification-failed', idOf(first))
    expectNothingSettled(fx)
  })

  it('answers verification-failed to a throwing driver without leaking its error text', async () => {
    const leak = 'RPC https://rpc.internal.example/v1/sk_live_SECRET123 rejected key sk_live_SECRET123'
    const leaky = pointsMethod('leaky', async () => {
      throw new Error(leak)
    })
    const events: ServerEvent[] = []
    const app = createPaymentServer({
      realm: REALM,
      secrets: [SECRET_A],
      methods: [leaky.server],
      now: () => T0,
      onEvent: (event) => events.push(event),
    }).route({ amount: '3' }, () => new Response('delivered'))
    const first = await app(new Request(URL))
    const response = await app(await paidRequest(first, leaky.client, { url: URL }))
    const text = await response.clone().text()
    await expect402(response, 'verification-failed', idOf(first))
    expect(leaky.settled).toHaveLength(0)
    for (const output of [text, ...events.map((event) => JSON.stringify(event))]) {
      expect(output).not.toContain('sk_live_SECRET123')
      expect(output).not.toContain('rpc.internal.example')
    }
    expect(events.some((event) => event.type === 'payment-failed')).toBe(true)
  })
})

describe('13. authorize hook', () => {
  it('answers 403 without a challenge and charges nothing when it returns false', async () => {
    const fx = setup({ authorize: () => false })
    const response = await fx.retry(await fx.unpaid())
    await expectProblem(response, 403, 'about:blank')
    expect(response.headers.get('www-authenticate')).toBeNull()
    expectNothingSettled(fx)
  })

  it('sends the Response it returns, and charges nothing', async () => {
    const fx = setup({ authorize: () => new Response('not in your region', { status: 451, headers: { 'x-policy': 'geo' } }) })
    const response = await fx.retry(await fx.unpaid())
    expect(response.status).toBe(451)
    expect(response.headers.get('x-policy')).toBe('geo')
    expect(await response.text()).toBe('not in your region')
    expect(response.headers.get('payment-receipt')).toBeNull()
    expectNothingSettled(fx)
  })

  it('receives the payment request and a request whose POST body it can read', async () => {
    let seen: { body: string; amount: unknown } | undefined
    const fx = setup({
      authorize: async ({ request, paymentRequest }) => {
        seen = { body: await request.text(), amount: paymentRequest.amount }
        return true
      },
    })
    const response = await fx.retry(await fx.unpaid(POST('{"qty":1}')), POST('{"qty":1}'))
    expect(seen).toEqual({ body: '{"qty":1}', amount: '25' })
    expect(response.status).toBe(200)
  })
})

describe('14. refund on failed delivery', () => {
  const decodeRefund = (response: Response) => JSON.parse(Buffer.from(response.headers.get('payment-refund')!, 'base64url').toString())

  function expectRefunded(fx: Fixture) {
    expect(fx.ledger.transfers).toHaveLength(1)
    expect(fx.ledger.transfers[0]!.refunded).toBe(true)
    expect(fx.ledger.balance('alice')).toBe(START)
    expect(fx.ledger.balance('shop')).toBe(0n)
  }

  it('answers 500 with payment-refund and restores the balance when the handler throws', async () => {
    const fx = setup({
      handler: () => {
        throw new Error('database down')
      },
    })
    const response = await fx.retry(await fx.unpaid())
    expect(response.headers.get('payment-refund')).not.toBeNull()
    expect(decodeRefund(response)).toEqual({ status: 'refunded', method: 'ledger', reference: 'rltx_1' })
    const body = await expectProblem(response, 500, 'about:blank')
    expect(JSON.stringify(body)).not.toContain('database down')
    expectRefunded(fx)
  })

  it('refunds a 503 from the handler and passes it on', async () => {
    const fx = setup({ handler: () => new Response('busy', { status: 503 }) })
    const response = await fx.retry(await fx.unpaid())
    expect(response.status).toBe(503)
    expect(await response.text()).toBe('busy')
    expect(response.headers.get('payment-receipt')).toBeNull()
    expect(decodeRefund(response)).toMatchObject({ status: 'refunded', method: 'ledger' })
    expectRefunded(fx)
  })

  it('refunds a 404 by default: no receipt, Payment-Refund, balance restored', async () => {
    const fx = setup({ handler: () => new Response('no such city', { status: 404 }) })
    const response = await fx.retry(await fx.unpaid())
    expect(response.status).toBe(404)
    expect(await response.text()).toBe('no such city')
    expect(response.headers.get('payment-receipt')).toBeNull()
    expect(decodeRefund(response)).toMatchObject({ status: 'refunded', method: 'ledger' })
    expectRefunded(fx)
  })

  it('refunds a 302 by default (any non-2xx)', async () => {
    const fx = setup({ handler: () => new Response(null, { status: 302, headers: { location: '/elsewhere' } }) })
    const response = await fx.retry(await fx.unpaid())
    expect(response.status).toBe(302)
    expect(decodeRefund(response)).toMatchObject({ status: 'refunded' })
    expectRefunded(fx)
  })

  it('keeps the payment for a 404 when refundOn says so, with neither receipt nor refund', async () => {
    const fx = setup({ handler: () => new Response('no such city', { status: 404 }), refundOn: (status) => status >= 500 })
    const response = await fx.retry(await fx.unpaid())
    expect(response.status).toBe(404)
    expect(response.headers.get('payment-receipt')).toBeNull()
    expect(response.headers.get('payment-refund')).toBeNull()
    expectSettledOnce(fx)
    expect(fx.ledger.transfers[0]!.refunded).toBe(false)
  })
})

describe('15. success', () => {
  it('answers 200 with a receipt for the transfer, stamped with the injected clock', async () => {
    const fx = setup()
    const first = await fx.unpaid()
    fx.clock.now = T0 + 42_000
    const response = await fx.retry(first)
    expect(response.status).toBe(200)
    expect(await response.json()).toEqual({ ok: true })
    const receipt = Receipt.parse(response.headers.get('payment-receipt')!)
    expect(receipt).toEqual({
      status: 'success',
      method: 'ledger',
      timestamp: '2025-01-15T12:00:42Z',
      reference: fx.ledger.transfers[0]!.reference,
      challengeId: idOf(first),
    })
    expect(response.headers.get('cache-control')).toBe('private')
    expect(response.headers.get('payment-refund')).toBeNull()
    expectSettledOnce(fx)
    expect(fx.ledger.transfers[0]).toMatchObject({ from: 'alice', to: 'shop', amount: PRICE, refunded: false })
  })

  it('turns a handler\'s "public, max-age=60" into "private, max-age=60"', async () => {
    const fx = setup({ handler: () => new Response('sunny', { headers: { 'cache-control': 'public, max-age=60' } }) })
    const response = await fx.retry(await fx.unpaid())
    expect(response.status).toBe(200)
    expect(response.headers.get('cache-control')).toBe('private, max-age=60')
  })
})

describe('16. Accept-Payment', () => {
  function twoMethods() {
    const ledger = createLedger()
    const points = pointsMethod()
    const server = createPaymentServer({
      realm: REALM,
      secrets: [SECRET_A],
      methods: [ledger.server({ recipient: 'shop' }), points.server],
      now: () => T0,
    })
    const app = server.route({ amount: '7' }, () => new Response('ok'))
    return async (acceptPayment?: string) => {
      const response = await app(new Request(URL, acceptPayment === undefined ? {} : { headers: { 'accept-payment': acceptPayment } }))
      await expect402(response, 'payment-required')
      return challengesOf(response).map((c) => c.method)
    }
  }

  it('lists challenges in server order without the header', async () => {
    expect(await twoMethods()()).toEqual(['ledger', 'points'])
  })

  it('lists them in the order the header asks', async () => {
    expect(await twoMethods()('ledger/charge;q=0.5, points/charge')).toEqual(['points', 'ledger'])
  })

  it('drops a method the header gives q=0', async () => {
    expect(await twoMethods()('*/*, ledger/*;q=0')).toEqual(['points'])
  })
})

describe('17. events', () => {
  it('does not report a request without a credential as a rejected credential', async () => {
    const fx = setup()
    await fx.unpaid()
    expect(fx.events.map((e) => e.type)).toEqual(['challenge-issued'])
  })

  it('reports issue, verification and settlement of a paid request, never the credential or the secret', async () => {
    const fx = setup()
    const first = await fx.unpaid()
    const request = await fx.retryRequest(first)
    const authorization = request.headers.get('authorization')!
    const signature = JSON.parse(Buffer.from(tokenOf(authorization), 'base64url').toString()).payload.signature as string
    expect((await fx.app(request)).status).toBe(200)
    const id = idOf(first)
    expect(fx.events).toContainEqual({ type: 'challenge-issued', challengeIds: [id], route: '/weather' })
    expect(fx.events).toContainEqual({ type: 'payment-verified', challengeId: id, method: 'ledger', intent: 'charge' })
    expect(fx.events).toContainEqual({
      type: 'payment-settled',
      challengeId: id,
      method: 'ledger',
      intent: 'charge',
      reference: fx.ledger.transfers[0]!.reference,
    })
    const types = fx.events.map((e) => e.type)
    expect(types.indexOf('payment-verified')).toBeLessThan(types.indexOf('payment-settled'))
    for (const event of fx.events) {
      const text = JSON.stringify(event)
      expect(text).not.toContain(tokenOf(authorization))
      expect(text).not.toContain(signature)
      expect(text).not.toContain(SECRET_A)
    }
  })

  it('never carries the credential or the secret in failure events', async () => {
    const fx = setup()
    const first = await fx.unpaid()
    const request = await fx.retryRequest(first, {}, { payload: (p) => ({ ...p, signature: 'forged-signature-value' }) })
    const authorization = request.headers.get('authorization')!
    await fx.app(request.clone())
    await fx.app(request) // replay
    expect(fx.events.map((e) => e.type)).toContain('payment-failed')
    expect(fx.events.map((e) => e.type)).toContain('credential-rejected')
    for (const event of fx.events) {
      const text = JSON.stringify(event)
      expect(text).not.toContain(tokenOf(authorization))
      expect(text).not.toContain('forged-signature-value')
      expect(text).not.toContain(SECRET_A)
    }
  })
})

describe('19. store failure', () => {
  const failing = (fail: Partial<Record<keyof Store, boolean>>): Store => {
    const inner = memoryStore({ now: () => T0 })
    const refuse = () => Promise.reject(new Error('ECONNREFUSED redis://:hunter2@cache.internal:6379'))
    return {
      create: fail.create ? refuse : inner.create,
      get: fail.get ? refuse : inner.get,
      swap: fail.swap ? refuse : inner.swap,
      set: fail.set ? refuse : inner.set,
      delete: fail.delete ? refuse : inner.delete,
    }
  }

  it('answers 503 and settles nothing when the claim cannot be recorded', async () => {
    const fx = setup({ store: failing({ create: true }) })
    const response = await fx.retry(await fx.unpaid())
    const body = await expectProblem(response, 503, 'about:blank')
    expect(JSON.stringify(body)).not.toContain('hunter2')
    expect(response.headers.get('www-authenticate')).toBeNull()
    expectNothingSettled(fx)
  })

  it('still delivers a settled payment when its Idempotency-Key response cannot be stored', async () => {
    // The money has moved and the handler ran: losing the replay copy must not lose the response.
    const fx = setup({ store: failing({ set: true }) })
    const init: RequestInit = { method: 'POST', body: 'x', headers: { 'idempotency-key': 'k-1' } }
    const request = await fx.retryRequest(await fx.unpaid(init), init)
    const outcome = await fx.app(request).then(
      (response) => ({ status: response.status, receipt: response.headers.get('payment-receipt') !== null }),
      (error: unknown) => ({ thrown: String(error) }),
    )
    expect(outcome).toEqual({ status: 200, receipt: true })
    expectSettledOnce(fx)
  })
})
