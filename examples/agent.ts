/**
 * `npm run example:agent`: an agent with a daily budget calling a paid API.
 *
 *   MPP_URL=http://127.0.0.1:4021/weather RPC_URL=http://127.0.0.1:8545 npm run example:agent
 *
 * The agent pays in pathUSD on Tempo, at most 0.50 per request and 1.00 per day, only
 * to the origin it was pointed at, and asks a human (here: auto-approves, logging it)
 * above 0.40. Its audit trail is printed as it goes.
 */
import { createClient, http, publicActions, walletActions } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { DEV_KEYS } from '../scripts/tempoNode.js'
import { createPaymentFetch, PaymentDeniedError } from '../src/client/index.js'
import { chargeClient, tempoChain, TOKENS } from '../src/methods/tempo/index.js'

const url = process.env.MPP_URL ?? 'http://127.0.0.1:4021/weather'
const rpcUrl = process.env.RPC_URL
if (!rpcUrl) throw new Error('set RPC_URL to the Tempo node the server prints (npm run example:server)')
const account = privateKeyToAccount((process.env.AGENT_KEY as `0x${string}` | undefined) ?? DEV_KEYS[5])
const client = createClient({ chain: tempoChain(rpcUrl), transport: http(rpcUrl) }).extend(publicActions).extend(walletActions)

const pay = createPaymentFetch({
  methods: [chargeClient({ account, client, expect: { currencies: [TOKENS.pathUSD] } })],
  policy: {
    maxAmount: { [TOKENS.pathUSD]: 500_000n },
    budgets: [{ currency: TOKENS.pathUSD, limit: 1_000_000n, period: 'day' }],
    allow: { origins: [new URL(url).origin] },
    approveAbove: { [TOKENS.pathUSD]: 400_000n },
    approve: async (offer) => {
      console.log(`approval asked: ${offer.display} to ${offer.recipient} for ${offer.origin}`)
      return true
    },
  },
  onEvent: (event) => console.log(`audit: ${event.type}${'offer' in event ? ` ${event.offer.display}` : ''}`),
})

for (let i = 1; i <= 5; i++) {
  try {
    const response = await pay(url)
    console.log(`#${i} HTTP ${response.status} ${await response.text()} receipt=${response.payment?.receipt?.reference ?? '-'}`)
  } catch (error) {
    if (error instanceof PaymentDeniedError) {
      console.log(`#${i} not paid: ${error.reasons.join('; ')}`)
      break
    }
    throw error
  }
}
