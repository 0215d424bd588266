import { Challenge, ChallengeId } from '../../src/index.js'
import { createPaymentFetch } from '../../src/client/index.js'
/**
 * Configuration mistakes fail when the server or the route is created, with an
 * MppError and a stable code, never on the first paying request.
 */
import { describe, expect, it } from 'vitest'
import { MppError, type ErrorCode } from '../../src/index.js'
import { createPaymentServer, type PaymentServerConfig } from '../../src/server/index.js'
import { createLedger } from '../../src/testing/index.js'

const SECRET = 'secret-A-0123456789abcdef0123456789'

function config(overrides: Partial<PaymentServerConfig> = {}): PaymentServerConfig {
  const ledger = createLedger({ decimals: 2 })
  return { realm: 'api.test', secrets: [SECRET], methods: [ledger.server({ recipient: 'shop' })], ...overrides }
}

function expectMppError(create: () => unknown, code: ErrorCode) {
  let caught: unknown
  try {
    create()
  } catch (error) {
    caught = error
  }
  expect(caught).toBeInstanceOf(MppError)
  expect((caught as MppError).code).toBe(code)
  return caught as MppError
}

const noop = () => new Response('ok')

describe('18. configuration errors', () => {
  it('refuses a secret shorter than 32 bytes, without quoting it', () => {
    const error = expectMppError(() => createPaymentServer(config({ secrets: ['short-secret-31-bytes-long-xxxx'] })), 'secret-invalid')
    expect(error.message).not.toContain('short-secret')
  })

  it('refuses a short previous secret in the key ring', () => {
    expectMppError(() => createPaymentServer(config({ secrets: [SECRET, new Uint8Array(31)] })), 'secret-invalid')
  })

  it('refuses an empty key ring', () => {
    expectMppError(() => createPaymentServer(config({ secrets: [] })), 'secret-invalid')
  })

  it('refuses a server without payment methods', () => {
    expectMppError(() => createPaymentServer(config({ methods: [] })), 'configuration-invalid')
  })

  it('refuses the same driver configured twice', () => {
    const driver = createLedger({ currency: 'usd' }).server({ recipient: 'shop' })
    expectMppError(() => createPaymentServer(config({ methods: [driver, driver] })), 'configuration-invalid')
  })

  it('offers one method in two currencies and settles each credential with the driver its challenge came from', async () => {
    const usd = createLedger({ currency: 'usd' })
    const eur = createLedger({ currency: 'eur' })
    const payer = eur.open('payer', 1_000n)
    const server = createPaymentServer(config({ methods: [usd.server({ recipient: 'shop' }), eur.server({ recipient: 'shop' })] }))
    const handler = server.route({ price: '1.00' }, () => new Response('paid'))
    const unpaid = await handler(new Request('https://api.example/x'))
    const currencies = Challenge.parseList(unpaid.headers.get('www-authenticate')!).map((c) => Challenge.decodeRequest(c).currency)
    expect(currencies).toEqual(['usd', 'eur'])

    const pay = createPaymentFetch({ methods: [eur.client(payer)], fetch: async (input, init) => handler(new Request(input, init)) })
    const response = await pay('https://api.example/x')
    expect(response.status).toBe(200)
    expect(eur.balance('payer')).toBe(900n)
    expect(eur.balance('shop')).toBe(100n)
    expect(usd.transfers).toHaveLength(0)
  })

  it('refuses a server without a realm', () => {
    expectMppError(() => createPaymentServer(config({ realm: '' })), 'configuration-invalid')
  })

  it('refuses a route whose `only` names an unconfigured method', () => {
    const server = createPaymentServer(config())
    expectMppError(() => server.route({ price: '1', only: ['stripe'] }, noop), 'configuration-invalid')
  })

  it('accepts a route whose `only` names a configured method', () => {
    const server = createPaymentServer(config())
    expect(() => server.route({ price: '1', only: ['ledger'] }, noop)).not.toThrow()
  })

  it('refuses, when the route is created, a price with more decimals than the currency has', () => {
    const server = createPaymentServer(config())
    expectMppError(() => server.route({ price: '0.255' }, noop), 'configuration-invalid')
  })
})

describe('Gate.challenges', () => {
  it('issues fresh, verifiable challenges for the route, one per driver, in server order', async () => {
    const usd = createLedger({ currency: 'usd' })
    const eur = createLedger({ currency: 'eur' })
    const server = createPaymentServer(config({ methods: [usd.server({ recipient: 'shop' }), eur.server({ recipient: 'shop' })] }))
    const gate = server.charge({ price: '1.00' })
    const first = await gate.challenges(new Request('https://api.example/x'))
    const second = await gate.challenges(new Request('https://api.example/x'))
    expect(first.map((c) => Challenge.decodeRequest(c).currency)).toEqual(['usd', 'eur'])
    expect(first.map((c) => c.id)).not.toEqual(second.map((c) => c.id))
    const ring = ChallengeId.keyRing([SECRET])
    for (const challenge of first) expect(await ring.verify(challenge)).toBe(true)
  })
})
