import { afterEach, describe, expect, it } from 'vitest'
import * as Challenge from '../../src/Challenge.js'
import { createPaymentFetch } from '../../src/client/index.js'
import { serve, type Loopback } from '../support/loopback.js'
import { START, startGateway } from './fixture.js'

const open: { close(): Promise<void> }[] = []
afterEach(async () => {
  await Promise.all(open.splice(0).map((server) => server.close()))
})

const CHEAP = JSON.stringify({ prompt: 'hi' })
const EXPENSIVE = JSON.stringify({ prompt: 'x'.repeat(500) })

/** One base unit per prompt character. */
async function perCharacter(request: Request) {
  const { prompt } = (await request.json()) as { prompt: string }
  if (typeof prompt !== 'string') throw new TypeError('prompt must be a string')
  return { amount: String(prompt.length) }
}

async function setup(server: { bindBody?: boolean } = {}, priceCacheSize?: number) {
  const upstream: Loopback = await serve(async (request) => Response.json({ received: await request.text() }))
  open.push(upstream)
  const gateway = await startGateway(upstream.url, {
    routes: [
      { method: 'POST', path: '/v1/complete', price: perCharacter },
      { method: 'POST', path: '/v1/other', price: perCharacter },
    ],
    server,
    ...(priceCacheSize !== undefined && { priceCacheSize }),
  })
  open.push(gateway)
  return { upstream, ...gateway }
}

const post = (body: string) => ({ method: 'POST', headers: { 'content-type': 'application/json' }, body })

/** A transport that, once a Payment credential is attached, sends `rewrite` of the request instead. */
function tampering(rewrite: { body?: string; path?: string }, statuses: number[]): typeof fetch {
  return async (input, init) => {
    const headers = new Headers(init?.headers)
    if (!headers.get('authorization')?.startsWith('Payment ')) return fetch(input, init)
    const url = new URL(String(input))
    if (rewrite.path) url.pathname = rewrite.path
    const response = await fetch(url, { ...init, ...(rewrite.body !== undefined && { body: rewrite.body }) })
    statuses.push(response.status)
    return response
  }
}

async function offeredAmount(url: string, body: string): Promise<string> {
  const response = await fetch(url, post(body))
  expect(response.status).toBe(402)
  const [challenge] = Challenge.parseList(response.headers.get('www-authenticate')!)
  return Challenge.decodeRequest(challenge!).amount as string
}

describe('gateway: request-dependent prices', () => {
  it('prices each request by its body when the challenge is issued, and charges that', async () => {
    const { url, pay, ledger, upstream } = await setup()
    expect(await offeredAmount(`${url}/v1/complete`, CHEAP)).toBe('2')
    expect(await offeredAmount(`${url}/v1/complete`, EXPENSIVE)).toBe('500')
    const cheap = await pay(`${url}/v1/complete`, post(CHEAP))
    expect(cheap.status).toBe(200)
    expect(await cheap.json()).toEqual({ received: CHEAP })
    expect(ledger.balance('alice')).toBe(START - 2n)
    expect((await pay(`${url}/v1/complete`, post(EXPENSIVE))).status).toBe(200)
    expect(ledger.balance('alice')).toBe(START - 502n)
    expect(upstream.requests).toHaveLength(2)
  })

  for (const bindBody of [true, false]) {
    it(`refuses a cheap body's credential sent with an expensive body (bindBody ${bindBody})`, async () => {
      // Without the digest binding only the amount under the HMAC tells the two apart.
      const { url, ledger, alice, upstream } = await setup({ bindBody })
      const statuses: number[] = []
      const attacker = createPaymentFetch({ methods: [ledger.client(alice)], fetch: tampering({ body: EXPENSIVE }, statuses) })
      const response = await attacker(`${url}/v1/complete`, post(CHEAP)).catch(() => undefined)
      expect(statuses).toEqual([402])
      expect(response === undefined || response.status === 402).toBe(true)
      expect(upstream.requests).toHaveLength(0)
      expect(ledger.balance('alice')).toBe(START)
      expect(ledger.transfers).toHaveLength(0)
    })
  }

  it('refuses a credential for one route on another route with the same price', async () => {
    const { url, ledger, alice, upstream } = await setup()
    const statuses: number[] = []
    const attacker = createPaymentFetch({ methods: [ledger.client(alice)], fetch: tampering({ path: '/v1/other' }, statuses) })
    await attacker(`${url}/v1/complete`, post(CHEAP)).catch(() => undefined)
    expect(statuses).toEqual([402])
    expect(upstream.requests).toHaveLength(0)
    expect(ledger.balance('alice')).toBe(START)
  })

  it('answers 400 when the price function refuses the request, and charges nothing', async () => {
    const { url, pay, ledger, upstream } = await setup()
    const response = await pay(`${url}/v1/complete`, post('{"prompt": 42}'))
    expect(response.status).toBe(400)
    expect((await fetch(`${url}/v1/complete`, post('not json'))).status).toBe(400)
    expect(upstream.requests).toHaveLength(0)
    expect(ledger.balance('alice')).toBe(START)
  })

  it('keeps a bounded cache of gates, and a challenge whose gate was evicted still pays its own price', async () => {
    const { url, ledger, alice } = await setup({}, 1)
    // Between the 402 and the paid retry, another price evicts the only cached gate.
    const evicting: typeof fetch = async (input, init) => {
      const response = await fetch(input, init)
      if (response.status === 402) await fetch(`${url}/v1/complete`, post(EXPENSIVE))
      return response
    }
    const payer = createPaymentFetch({ methods: [ledger.client(alice)], fetch: evicting })
    const response = await payer(`${url}/v1/complete`, post(CHEAP))
    expect(response.status).toBe(200)
    expect(ledger.balance('alice')).toBe(START - 2n)
  })
})
