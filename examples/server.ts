/**
 * `npm run example:server`: an API that sells a weather report for 0.25 pathUSD.
 *
 * It starts its own local Tempo chain (anvil, from npm), serves on PORT (default 4021)
 * and prints what `npm run example:agent` needs to pay it. Ctrl-C stops both.
 */
import { createServer } from 'node:http'
import { createClient, http, publicActions } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { DEV_KEYS, startTempoNode } from '../scripts/tempoNode.js'
import { nodeHandler } from '../src/adapters/node.js'
import { chargeServer, tempoChain, TOKENS } from '../src/methods/tempo/index.js'
import { createPaymentServer } from '../src/server/index.js'

const port = Number(process.env.PORT ?? 4021)
const node = await startTempoNode()
const rpc = createClient({ chain: tempoChain(node.url), transport: http(node.url) }).extend(publicActions)
const merchant = privateKeyToAccount(DEV_KEYS[2]).address

const payments = createPaymentServer({
  realm: `localhost:${port}`,
  // In production: a managed secret of 32+ bytes; list the old one after it when rotating.
  secrets: [process.env.MPP_SECRET ?? crypto.getRandomValues(new Uint8Array(32))],
  methods: [chargeServer({ client: rpc, currency: TOKENS.pathUSD, recipient: merchant })],
  onEvent: (event) => console.log(`[mppkit] ${event.type}${'reference' in event ? ` ${event.reference}` : ''}`),
})

const weather = payments.route({ price: '0.25', description: 'Weather report' }, () =>
  Response.json({ city: 'Lisbon', forecast: 'sunny', high: 24 }),
)

createServer(nodeHandler((request) => (new URL(request.url).pathname === '/weather' ? weather(request) : Promise.resolve(new Response('not found', { status: 404 }))))).listen(
  port,
  '127.0.0.1',
  () => {
    console.log(`Selling http://127.0.0.1:${port}/weather for 0.25 pathUSD (Tempo chain at ${node.url})`)
    console.log(`Pay it with:\n  MPP_URL=http://127.0.0.1:${port}/weather RPC_URL=${node.url} npm run example:agent`)
  },
)
const stop = () => void node.stop().then(() => process.exit(0))
process.on('SIGINT', stop)
process.on('SIGTERM', stop)
