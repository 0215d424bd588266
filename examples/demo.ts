/**
 * `npm run demo`: a real paid exchange, end to end, on a local Tempo chain.
 *
 * 1. starts a Tempo node (anvil --network tempo, from npm),
 * 2. starts an mppkit server selling a weather report for 0.25 pathUSD,
 * 3. shows the unpaid 402 and its challenge,
 * 4. lets an agent with a 1.00 pathUSD daily budget pay for it, printing its audit trail,
 * 5. shows the 200, the receipt and the balances, then spends the budget until the
 *    agent's policy refuses to pay.
 */
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createClient, formatUnits, http, publicActions, walletActions, type Address } from 'viem'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { Abis } from 'viem/tempo'
import { DEV_KEYS, startTempoNode } from '../scripts/tempoNode.js'
import { nodeHandler } from '../src/adapters/node.js'
import { createPaymentFetch, PaymentDeniedError, type ClientEvent } from '../src/client/index.js'
import { Challenge } from '../src/index.js'
import { chargeClient, chargeServer, tempoChain, TOKENS } from '../src/methods/tempo/index.js'
import { createPaymentServer } from '../src/server/index.js'

const PRICE = '0.25'
const pathUSD = TOKENS.pathUSD
const step = (title: string) => console.log(`\n\x1b[1m== ${title}\x1b[0m`)
const usd = (units: bigint) => `${formatUnits(units, 6)} pathUSD`

const node = await startTempoNode()
const httpServer = createServer()
try {
  step(`Tempo node up at ${node.url}`)
  const chain = tempoChain(node.url)
  const rpc = createClient({ chain, transport: http(node.url) }).extend(publicActions).extend(walletActions)
  const balance = (who: Address) => rpc.readContract({ address: pathUSD, abi: Abis.tip20, functionName: 'balanceOf', args: [who] })

  // Fresh wallets: the merchant starts empty, the agent is funded with 5 pathUSD.
  const merchant = privateKeyToAccount(generatePrivateKey()).address
  const agent = privateKeyToAccount(generatePrivateKey())
  const funding = await rpc.writeContract({
    account: privateKeyToAccount(DEV_KEYS[0]),
    chain,
    address: pathUSD,
    abi: Abis.tip20,
    functionName: 'transfer',
    args: [agent.address, 5_000_000n],
    feeToken: pathUSD,
    gas: 200_000n,
  } as Parameters<typeof rpc.writeContract>[0])
  await rpc.waitForTransactionReceipt({ hash: funding })
  console.log(`merchant ${merchant}\nagent    ${agent.address} (funded with ${usd(5_000_000n)})`)

  // The seller: one route, priced in pathUSD, paid on Tempo.
  const seller = createPaymentServer({
    realm: 'weather.localhost',
    secrets: [crypto.getRandomValues(new Uint8Array(32))], // ephemeral for the demo; use a managed secret in production
    methods: [chargeServer({ client: rpc, currency: pathUSD, recipient: merchant })],
  })
  httpServer.on(
    'request',
    nodeHandler(seller.route({ price: PRICE, description: 'Weather report' }, () => Response.json({ city: 'Lisbon', forecast: 'sunny', high: 24 }))),
  )
  await new Promise<void>((resolve) => httpServer.listen(0, '127.0.0.1', resolve))
  const url = `http://127.0.0.1:${(httpServer.address() as AddressInfo).port}/weather`
  step(`mppkit server selling ${url} for ${PRICE} pathUSD`)

  step('1. An unpaid request gets 402 Payment Required')
  const unpaid = await fetch(url)
  const [challenge] = Challenge.parseList(unpaid.headers.get('www-authenticate') ?? '')
  const problem = (await unpaid.json()) as { type: string; detail: string }
  console.log(`HTTP ${unpaid.status}, Cache-Control: ${unpaid.headers.get('cache-control')}`)
  console.log(`problem: ${problem.type} (${problem.detail})`)
  if (challenge) {
    const request = Challenge.decodeRequest(challenge) as { amount: string; recipient: string; methodDetails?: { chainId?: number } }
    console.log(`challenge ${challenge.id}\n  ${challenge.method}/${challenge.intent}, ${usd(BigInt(request.amount))} to ${request.recipient} on chain ${request.methodDetails?.chainId}, expires ${challenge.expires}`)
  }

  step('2. The agent pays, inside its policy (max 0.50 per request, 1.00 per day)')
  const before = { agent: await balance(agent.address), merchant: await balance(merchant) }
  const agentFetch = createPaymentFetch({
    methods: [chargeClient({ account: agent, client: rpc, expect: { currencies: [pathUSD] } })],
    policy: {
      maxAmount: { [pathUSD]: 500_000n },
      budgets: [{ currency: pathUSD, limit: 1_000_000n, period: 'day' }],
      allow: { origins: [new URL(url).origin] },
    },
    onEvent: (event: ClientEvent) => console.log(`  audit: ${describe(event)}`),
  })
  const paid = await agentFetch(url)
  step('3. The paid retry gets 200 with a receipt')
  console.log(`HTTP ${paid.status}, Cache-Control: ${paid.headers.get('cache-control')}`)
  console.log(`body: ${JSON.stringify(await paid.json())}`)
  console.log(`receipt: ${JSON.stringify(paid.payment?.receipt)}`)
  const after = { agent: await balance(agent.address), merchant: await balance(merchant) }
  console.log(`agent    ${usd(before.agent)} -> ${usd(after.agent)} (the price plus ${usd(before.agent - after.agent - 250_000n)} network fee)`)
  console.log(`merchant ${usd(before.merchant)} -> ${usd(after.merchant)}`)

  step('4. The agent keeps buying until its daily budget says no')
  for (let i = 2; ; i++) {
    try {
      const response = await agentFetch(url)
      await response.arrayBuffer()
      console.log(`  purchase ${i}: HTTP ${response.status}, receipt ${response.payment?.receipt?.reference.slice(0, 18)}…`)
    } catch (error) {
      if (!(error instanceof PaymentDeniedError)) throw error
      console.log(`  purchase ${i}: refused before paying (${error.code}): ${error.reasons.join('; ')}`)
      break
    }
  }
  console.log(`merchant received ${usd((await balance(merchant)) - before.merchant)} in total`)
  step('Done: every payment settled once on chain, and the policy held.')
} finally {
  httpServer.close()
  await node.stop()
}

function describe(event: ClientEvent): string {
  switch (event.type) {
    case 'challenge-received':
      return `402 offers ${event.offers.map((o) => `${o.method}/${o.intent} ${o.display}`).join(', ')}`
    case 'payment-approved':
      return `policy approved ${event.offer.display} to ${event.offer.recipient}`
    case 'payment-denied':
      return `policy denied: ${event.reasons.join('; ')}`
    case 'credential-sent':
      return `credential sent for challenge ${event.offer.challengeId.slice(0, 12)}…`
    case 'receipt-received':
      return `receipt ${event.reference} (HTTP ${event.status})`
    case 'payment-failed':
      return `payment failed: ${event.reason}`
    case 'payment-refunded':
      return 'payment refunded by the server'
  }
}
