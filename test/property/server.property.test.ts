/**
 * Robustness of the server pipeline: whatever arrives in `Authorization` (random text,
 * or a genuine credential mutated at the byte or the JSON level), the answer is a 400
 * or a 402 with a fresh, parseable challenge and no receipt; nothing throws and no
 * money moves.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { Challenge, Credential, Json } from '../../src/index.js'
import { createPaymentServer } from '../../src/server/index.js'
import { createLedger } from '../../src/testing/index.js'

const RUNS = 3_000

async function setup() {
  const ledger = createLedger()
  const payer = ledger.open('payer', 1_000_000n)
  const server = createPaymentServer({ realm: 'api.test', secrets: ['f'.repeat(32)], methods: [ledger.server({ recipient: 'shop' })] })
  const handler = server.route({ price: '0.10' }, () => new Response('paid'))
  const unpaid = await handler(new Request('https://api.test/x'))
  const challenge = Challenge.parse(unpaid.headers.get('www-authenticate')!)
  const payment = await ledger.client(payer).pay({ challenge, request: Challenge.decodeRequest(challenge) as never, signal: new AbortController().signal })
  // Without `source`: it names the payer for display and is not bound to anything, so a
  // mutation inside it could leave a credential that rightly still pays.
  const genuine = Credential.from({ challenge, payload: payment.payload })
  return { ledger, handler, genuine, token: Credential.serialize(genuine) }
}

async function expectRefused(handler: (r: Request) => Promise<Response>, authorization: string) {
  let response: Response
  try {
    response = await handler(new Request('https://api.test/x', { headers: { authorization } }))
  } catch (error) {
    // Headers refuses some byte strings before the server sees them: not the server's concern.
    if (error instanceof TypeError && /header/i.test(error.message)) return
    throw error
  }
  expect([400, 402]).toContain(response.status)
  expect(response.headers.get('payment-receipt')).toBeNull()
  expect(response.headers.get('content-type')).toBe('application/problem+json')
  const problem = (await response.json()) as { type: string; status: number }
  expect(problem.status).toBe(response.status)
  if (response.status === 402) {
    expect(response.headers.get('cache-control')).toBe('no-store')
    expect(Challenge.parseList(response.headers.get('www-authenticate')!).length).toBeGreaterThan(0)
  }
}

describe('server pipeline robustness', () => {
  it('random Authorization values are refused cleanly', async () => {
    const { ledger, handler } = await setup()
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.string(), fc.string().map((s) => `Payment ${s}`), fc.base64String().map((s) => `Payment ${s}`)), (value) =>
        expectRefused(handler, value),
      ),
      { numRuns: RUNS },
    )
    expect(ledger.transfers).toHaveLength(0)
  })

  it('a genuine credential mutated byte by byte is refused cleanly and settles nothing', async () => {
    const { ledger, handler, token } = await setup()
    const encoded = token.slice('Payment '.length)
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: encoded.length - 1 }), fc.constantFrom(...'ABCabc012-_+/=.~ '.split('')), async (index, char) => {
        fc.pre(encoded[index] !== char)
        await expectRefused(handler, `Payment ${encoded.slice(0, index)}${char}${encoded.slice(index + 1)}`)
      }),
      { numRuns: RUNS },
    )
    expect(ledger.transfers).toHaveLength(0)
  })

  it('a genuine credential with any JSON member replaced is refused cleanly and settles nothing', async () => {
    const { ledger, handler, genuine } = await setup()
    const paths = [['challenge', 'id'], ['challenge', 'realm'], ['challenge', 'method'], ['challenge', 'intent'], ['challenge', 'request'], ['challenge', 'expires'], ['challenge', 'opaque'], ['payload', 'account'], ['payload', 'signature'], ['challenge'], ['payload']] as const
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...paths), fc.jsonValue(), async (path, value) => {
        const copy = structuredClone(genuine) as Record<string, any>
        let target = copy
        for (const key of path.slice(0, -1)) target = target[key]
        fc.pre(JSON.stringify(target[path.at(-1)!]) !== JSON.stringify(value))
        target[path.at(-1)!] = value
        await expectRefused(handler, `Payment ${Json.base64urlEncode(new TextEncoder().encode(JSON.stringify(copy)))}`)
      }),
      { numRuns: RUNS },
    )
    expect(ledger.transfers).toHaveLength(0)
  })

  it('the genuine credential itself still pays (the properties above are not vacuous)', async () => {
    const { ledger, handler, token } = await setup()
    const response = await handler(new Request('https://api.test/x', { headers: { authorization: token } }))
    expect(response.status).toBe(200)
    expect(ledger.transfers).toHaveLength(1)
  })
})
