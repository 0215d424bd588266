/**
 * `npx tsx examples/gateway.ts`: a paying gateway in front of an API that knows nothing
 * about payments, paid by an agent, with the in-memory test ledger as the payment
 * method (NOT FOR PRODUCTION: use Tempo or Stripe there).
 *
 * The upstream (port 4030) has a free health check, a completion endpoint priced per
 * prompt character, an SSE stream, and an endpoint that is down. The gateway (port
 * 4031) charges for them and refunds the payer when the upstream fails. Pass `--serve`
 * to keep both running and try them with curl.
 */
import { createServer } from 'node:http'
import { nodeHandler } from '../src/adapters/node.js'
import { createPaymentFetch } from '../src/client/index.js'
import { createGateway } from '../src/gateway/index.js'
import { gatewayListener } from '../src/gateway/node.js'
import { createLedger } from '../src/testing/index.js'

// 1. An ordinary API.
const upstream = createServer(
  nodeHandler(async (request) => {
    const { pathname } = new URL(request.url)
    if (pathname === '/health') return Response.json({ ok: true })
    if (pathname === '/v1/complete') {
      const { prompt } = (await request.json()) as { prompt: string }
      return Response.json({ completion: prompt.toUpperCase(), seenAuthorization: request.headers.get('authorization') })
    }
    if (pathname === '/v1/ticks') {
      const encoder = new TextEncoder()
      const body = new ReadableStream<Uint8Array>({
        async start(controller) {
          for (let i = 1; i <= 3; i++) {
            controller.enqueue(encoder.encode(`data: tick ${i}\n\n`))
            await new Promise((resolve) => setTimeout(resolve, 300))
          }
          controller.close()
        },
      })
      return new Response(body, { headers: { 'content-type': 'text/event-stream' } })
    }
    return new Response('down for maintenance', { status: 503 })
  }),
)

// 2. The gateway in front of it.
const ledger = createLedger({ currency: 'usd', decimals: 2 })
ledger.open('seller', 0n)
const gateway = createGateway({
  upstream: 'http://127.0.0.1:4030',
  server: {
    realm: '127.0.0.1:4031',
    secrets: [process.env.MPP_SECRET ?? 'example-only-secret-of-32-bytes!!'],
    methods: [ledger.server({ recipient: 'seller' })],
  },
  timeout: 5_000,
  routes: [
    { path: '/health' },
    {
      method: 'POST',
      path: '/v1/complete',
      // One cent per prompt character, decided when the challenge is issued.
      price: async (request) => {
        const { prompt } = (await request.json()) as { prompt?: unknown }
        if (typeof prompt !== 'string') throw new TypeError('prompt must be a string')
        return { amount: String(prompt.length), description: `${prompt.length} characters` }
      },
    },
    { method: 'GET', path: '/v1/ticks', price: { price: '0.05' } },
    { path: '/v1/*', price: { price: '0.10' } },
  ],
})
const front = createServer(gatewayListener(gateway))

await new Promise<void>((resolve) => upstream.listen(4030, '127.0.0.1', resolve))
await new Promise<void>((resolve) => front.listen(4031, '127.0.0.1', resolve))
console.log('upstream on http://127.0.0.1:4030, gateway on http://127.0.0.1:4031')

// 3. An agent paying through the gateway.
const agent = ledger.open('agent', 1_000n)
const pay = createPaymentFetch({ methods: [ledger.client(agent)] })
const base = 'http://127.0.0.1:4031'
const balance = () => `agent balance ${ledger.balance('agent')}, seller ${ledger.balance('seller')}`

const health = await pay(`${base}/health`)
console.log(`GET /health -> ${health.status} (free)`, await health.json())

const completion = await pay(`${base}/v1/complete`, {
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ prompt: 'hello gateway' }),
})
console.log(`POST /v1/complete -> ${completion.status}`, await completion.json(), `| ${balance()}`)

const ticks = await pay(`${base}/v1/ticks`)
console.log(`GET /v1/ticks -> ${ticks.status}, streaming:`)
const decoder = new TextDecoder()
const reader = ticks.body!.getReader()
for (let next = await reader.read(); !next.done; next = await reader.read()) process.stdout.write(`  ${decoder.decode(next.value)}`)
console.log(`  | ${balance()}`)

const down = await pay(`${base}/v1/down`)
console.log(`GET /v1/down -> ${down.status}, Payment-Refund: ${down.headers.get('payment-refund') !== null} | ${balance()}`)
await down.body?.cancel()

if (process.argv.includes('--serve')) {
  console.log('serving; try: curl -i http://127.0.0.1:4031/v1/ticks')
} else {
  front.closeAllConnections()
  upstream.closeAllConnections()
  front.close()
  upstream.close()
}
