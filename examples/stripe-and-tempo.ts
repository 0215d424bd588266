/**
 * `npm run example:stripe-and-tempo`: one route sold in USD through Stripe (Shared
 * Payment Tokens) and in pathUSD through Tempo; two clients pick by preference.
 *
 * Stripe is the loopback Stripe API double the tests use (driven through the real
 * `stripe` SDK), unless STRIPE_SECRET_KEY holds a test-mode key (sk_test_…).
 */
import Stripe from 'stripe'
import { createClient, http, publicActions, walletActions } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { DEV_KEYS, startTempoNode } from '../scripts/tempoNode.js'
import { createPaymentFetch } from '../src/client/index.js'
import * as StripeMethod from '../src/methods/stripe/index.js'
import * as Tempo from '../src/methods/tempo/index.js'
import { createPaymentServer } from '../src/server/index.js'
import { startStripeDouble } from '../test/support/stripeDouble.js'

const node = await startTempoNode()
const double = process.env.STRIPE_SECRET_KEY?.startsWith('sk_test_') ? undefined : await startStripeDouble()
try {
  const stripe = double ? double.stripe() : new Stripe(process.env.STRIPE_SECRET_KEY!)
  const rpc = createClient({ chain: Tempo.tempoChain(node.url), transport: http(node.url) }).extend(publicActions).extend(walletActions)

  const server = createPaymentServer({
    realm: 'shop.localhost',
    secrets: [crypto.getRandomValues(new Uint8Array(32))],
    methods: [
      Tempo.chargeServer({ client: rpc, currency: Tempo.TOKENS.pathUSD, recipient: privateKeyToAccount(DEV_KEYS[2]).address }),
      StripeMethod.chargeServer({ client: stripe, networkId: 'profile_demo', paymentMethodTypes: ['card'] }),
    ],
  })
  // One price for both rails: $1.00 by card, 1.00 pathUSD on chain.
  const report = server.route({ price: '1.00', description: 'Market report' }, () => Response.json({ report: 'bullish' }))
  const fetchReport = async (input: RequestInfo | URL, init?: RequestInit) => report(new Request(input, init))

  const tempoClient = Tempo.chargeClient({ account: privateKeyToAccount(DEV_KEYS[6]), client: rpc })
  const stripeClient = StripeMethod.chargeClient({ stripe, paymentMethod: 'pm_card_visa' })

  for (const [who, methods] of [
    ['an agent that prefers stablecoins', [tempoClient, stripeClient]],
    ['an agent that prefers cards', [stripeClient, tempoClient]],
  ] as const) {
    const pay = createPaymentFetch({ methods, fetch: fetchReport })
    const response = await pay('https://shop.localhost/report')
    const { receipt, offer } = response.payment!
    console.log(`${who}: HTTP ${response.status}, paid ${offer.display} via ${receipt?.method}, reference ${receipt?.reference}`)
  }
} finally {
  await double?.close()
  await node.stop()
}
