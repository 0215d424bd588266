/**
 * Paid requests on a real local Tempo chain (`anvil --network tempo`, scripts/tempoNode.ts):
 * per-request latency of
 *   (a) a bare pre-signed pathUSD transferWithMemo broadcast with eth_sendRawTransactionSync (no MPP),
 *   (b) a full mppkit paid request: GET -> 402 -> chargeClient signs a pull transaction ->
 *       createPaymentServer + chargeServer verify and broadcast it -> 200 with receipt,
 *   (c) the same route served by an mppx 0.11.0 tempo server and paid by the mppx client.
 * Writes bench/results/tempo.md.
 *
 *   npm run bench -- tempo            (default run, ~15 s)
 *   npm run bench -- tempo --quick    (a smoke run)
 */
import { writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Mppx as MppxClient, tempo as tempoClient } from 'mppx/client'
import { Mppx as MppxServer, Request as MppxRequest, Store as MppxStore, tempo as tempoServer } from 'mppx/server'
import { privateKeyToAccount, type PrivateKeyAccount } from 'viem/accounts'
import { nodeHandler } from '../src/adapters/node.js'
import { createPaymentFetch } from '../src/client/index.js'
import { chargeClient, chargeServer } from '../src/methods/tempo/index.js'
import { createPaymentServer } from '../src/server/index.js'
import * as Receipt from '../src/Receipt.js'
import { DEV_KEYS, TOKENS, startBenchChain, type BenchChain } from './support/chain.js'
import { machine, quantile } from './support/machine.js'

const REALM = 'api.test'
const SECRET = 'tempo-bench-secret-0123456789abcdefghij'
const AMOUNT = 250_000n // 0.25 pathUSD
const PAYER_FUNDS = 10_000_000n
const MERCHANT = privateKeyToAccount(DEV_KEYS[2]).address

type Kind = 'bare' | 'mppkit' | 'mppx'
type Sample = { total: number; server?: number }

/** Serves both SDKs' routes on one node:http server and times the paid request inside each server. */
async function serve(chain: BenchChain) {
  const serverTimes: Record<'mppkit' | 'mppx', number[]> = { mppkit: [], mppx: [] }
  const timed =
    (kind: 'mppkit' | 'mppx', handler: (request: Request) => Promise<Response>) =>
    async (request: Request): Promise<Response> => {
      if (!request.headers.has('authorization')) return handler(request)
      const start = performance.now()
      const response = await handler(request)
      serverTimes[kind].push(performance.now() - start)
      return response
    }

  const ours = createPaymentServer({
    realm: REALM,
    secrets: [SECRET],
    methods: [chargeServer({ client: chain.client, currency: TOKENS.pathUSD, recipient: MERCHANT })],
  })
  const oursRoute = ours.route({ price: '0.25' }, () => Response.json({ ok: true }))

  const getClient = () => chain.client
  const theirs = MppxServer.create({
    methods: [tempoServer.charge({ getClient, currency: TOKENS.pathUSD, recipient: MERCHANT, store: MppxStore.memory() })],
    realm: REALM,
    secretKey: SECRET,
  })
  const theirsRoute = theirs.charge({ amount: '0.25' })
  const theirsHandler = async (request: Request) => {
    const result = await theirsRoute(request)
    if (result.status === 402) return result.challenge
    return result.withReceipt(Response.json({ ok: true }))
  }

  const listeners = {
    '/mppkit': nodeHandler(timed('mppkit', oursRoute)),
    '/mppx': MppxRequest.toNodeListener(timed('mppx', theirsHandler)),
  } as Record<string, (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => unknown>
  const server = createServer((req, res) => {
    const listener = listeners[req.url ?? '']
    if (listener) return void listener(req, res)
    res.writeHead(404).end()
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return {
    origin,
    serverTimes,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

export default async function run(args: readonly string[] = []): Promise<void> {
  const quick = args.includes('--quick')
  const warmup = quick ? 2 : 4
  const iterations = quick ? 6 : 100
  const host = machine()
  const chain = await startBenchChain()
  const site = await serve(chain)
  try {
    const total = warmup + iterations
    const fundStart = performance.now()
    const payers: Record<Kind, PrivateKeyAccount[]> = {
      bare: await chain.fundPayers(total, PAYER_FUNDS),
      mppkit: await chain.fundPayers(total, PAYER_FUNDS),
      mppx: await chain.fundPayers(total, PAYER_FUNDS),
    }
    const fundMs = performance.now() - fundStart
    const merchantBefore = await chain.balance(MERCHANT)

    // (a) signed before the clock starts: only the broadcast is timed.
    const validBefore = Math.floor(Date.now() / 1000) + 300
    const bareTxs = await Promise.all(payers.bare.map((payer) => chain.signTransfer(payer, MERCHANT, AMOUNT, validBefore)))

    const ops: Record<Kind, (i: number) => Promise<Sample>> = {
      async bare(i) {
        const start = performance.now()
        const receipt = await chain.broadcast(bareTxs[i]!)
        const elapsed = performance.now() - start
        if (receipt.status !== 'success') throw new Error('bare transfer reverted')
        return { total: elapsed }
      },
      async mppkit(i) {
        const pay = createPaymentFetch({ methods: [chargeClient({ account: payers.mppkit[i]!, client: chain.client, mode: 'pull' })] })
        const start = performance.now()
        const response = await pay(`${site.origin}/mppkit`)
        await response.arrayBuffer()
        const elapsed = performance.now() - start
        if (response.status !== 200 || !response.payment?.receipt) throw new Error(`mppkit payment: ${response.status}`)
        return { total: elapsed, server: site.serverTimes.mppkit.at(-1)! }
      },
      async mppx(i) {
        const client = MppxClient.create({
          methods: [tempoClient.charge({ account: payers.mppx[i]!, getClient: () => chain.client, mode: 'pull' })],
          polyfill: false,
        })
        const start = performance.now()
        const response = await client.fetch(`${site.origin}/mppx`)
        await response.arrayBuffer()
        const elapsed = performance.now() - start
        const receipt = response.headers.get('payment-receipt')
        if (response.status !== 200 || !receipt) throw new Error(`mppx payment: ${response.status}`)
        if (!/^0x[0-9a-f]{64}$/i.test(Receipt.parse(receipt).reference)) throw new Error('mppx receipt is not a transaction hash')
        return { total: elapsed, server: site.serverTimes.mppx.at(-1)! }
      },
    }

    const samples: Record<Kind, Sample[]> = { bare: [], mppkit: [], mppx: [] }
    const kinds: Kind[] = ['bare', 'mppkit', 'mppx']
    const benchStart = performance.now()
    for (let i = 0; i < total; i++) {
      // Interleaved, order rotated each iteration.
      for (let k = 0; k < kinds.length; k++) {
        const kind = kinds[(k + i) % kinds.length]!
        const sample = await ops[kind](i)
        if (i >= warmup) samples[kind].push(sample)
      }
    }
    const benchMs = performance.now() - benchStart

    // Every payment really moved 0.25 pathUSD to the merchant.
    const merchantAfter = await chain.balance(MERCHANT)
    const expectedGain = AMOUNT * BigInt(3 * total)
    if (merchantAfter - merchantBefore !== expectedGain)
      throw new Error(`merchant gained ${merchantAfter - merchantBefore}, expected ${expectedGain}`)

    const stat = (values: number[]) => ({ p50: quantile(values, 0.5), p90: quantile(values, 0.9), min: Math.min(...values), max: Math.max(...values) })
    const t = Object.fromEntries(kinds.map((k) => [k, stat(samples[k].map((s) => s.total))])) as Record<Kind, ReturnType<typeof stat>>
    const server = {
      mppkit: stat(samples.mppkit.map((s) => s.server!)),
      mppx: stat(samples.mppx.map((s) => s.server!)),
    }
    const fmt = (ms: number) => ms.toFixed(1)
    const row = (what: string, s: ReturnType<typeof stat>) => `| ${what} | ${fmt(s.p50)} | ${fmt(s.p90)} | ${fmt(s.min)} | ${fmt(s.max)} | ${(s.p50 / t.bare.p50).toFixed(2)}x |`
    const rows = [
      row('(a) bare pre-signed transfer, `eth_sendRawTransactionSync` (no MPP)', t.bare),
      row('(b) mppkit paid request, end to end', t.mppkit),
      row('(c) mppx paid request, end to end', t.mppx),
      row('(b′) of which: mppkit server handling the paid request', server.mppkit),
      row('(c′) of which: mppx server handling the paid request', server.mppx),
    ]
    const lines = [
      `mppkit end to end / bare broadcast (median): ${(t.mppkit.p50 / t.bare.p50).toFixed(2)}x (+${fmt(t.mppkit.p50 - t.bare.p50)} ms)`,
      `mppx end to end / bare broadcast (median): ${(t.mppx.p50 / t.bare.p50).toFixed(2)}x (+${fmt(t.mppx.p50 - t.bare.p50)} ms)`,
      `mppkit / mppx end to end (median): ${(t.mppkit.p50 / t.mppx.p50).toFixed(2)}x (p90 ${(t.mppkit.p90 / t.mppx.p90).toFixed(2)}x)`,
      `server side, paid request (median): mppkit ${fmt(server.mppkit.p50)} ms vs mppx ${fmt(server.mppx.p50)} ms (${(server.mppkit.p50 / server.mppx.p50).toFixed(2)}x); mppkit server minus bare broadcast: ${fmt(server.mppkit.p50 - t.bare.p50)} ms`,
    ]
    console.log(`funded ${3 * total} payers in ${(fundMs / 1000).toFixed(1)} s; ${3 * total} payments in ${(benchMs / 1000).toFixed(1)} s`)
    for (const [what, s] of [['bare', t.bare], ['mppkit', t.mppkit], ['mppx', t.mppx], ['mppkit server', server.mppkit], ['mppx server', server.mppx]] as const)
      console.log(`${what.padEnd(14)} p50 ${fmt(s.p50).padStart(6)} ms  p90 ${fmt(s.p90).padStart(6)} ms  min ${fmt(s.min).padStart(6)}  max ${fmt(s.max).padStart(6)}`)
    for (const line of lines) console.log(line)

    const report = [
      '# Tempo benchmarks: paid requests on a local Tempo chain',
      '',
      `Generated by \`npm run bench -- tempo\` (bench/tempo.bench.ts) on ${host.started.toISOString()}.`,
      '',
      `${host.describe()} Chain: \`anvil --network tempo\` 1.7.1 (scripts/tempoNode.ts), chain id ${chain.chain.id}, automine (one block per transaction), on the same machine.`,
      '',
      `Method: ${iterations} measured iterations after ${warmup} warm-up ones; each iteration runs (a), (b) and (c) once, in an order rotated each iteration. ` +
        `Every payment comes from a fresh account funded with 10 pathUSD beforehand (${3 * total} accounts, funded in ${(fundMs / 1000).toFixed(1)} s, not timed): ` +
        "anvil mines only the first expiring nonce per sender, and mppx's client always uses one. Each payment moves 0.25 pathUSD to the same merchant; " +
        "the merchant's balance was checked to have risen by exactly 0.25 pathUSD per payment at the end.",
      '',
      '- **(a)** a pre-signed 0x76 transaction (one `transferWithMemo`, fee token pathUSD, protocol nonce, gas 120,000 set by hand, validBefore now + 5 min), ' +
        'signed before the clock starts; timed: viem `sendRawTransactionSync` (the `eth_sendRawTransactionSync` call both SDK servers make) until the receipt is back.',
      '- **(b)** `createPaymentFetch({ methods: [chargeClient({ account, client, mode: "pull" })] })` fetching a `createPaymentServer` + `chargeServer` route (`price: "0.25"`) ' +
        'served by `nodeHandler` on node:http over loopback. Timed from the first request to the paid body read: GET -> 402 -> client checks the offer, ' +
        'prepares the transaction (viem `prepareTransactionRequest`: RPC round trips to the node), signs it -> GET with the credential -> the server decodes the transaction ' +
        '(ecrecover), checks calls and memo, claims the challenge id and the transaction hash, broadcasts with `eth_sendRawTransactionSync`, checks the mined logs -> 200 with Payment-Receipt.',
      '- **(c)** mppx 0.11.0: `Mppx.create({ methods: [tempo.charge({ account, getClient, mode: "pull" })], polyfill: false }).fetch()` against ' +
        '`Mppx.create({ methods: [tempo.charge({ getClient, currency: pathUSD, recipient, store: Store.memory() })] }).charge({ amount: "0.25" })` ' +
        "served by mppx's `Request.toNodeListener` on the same node:http server. Same steps in mppx's own way (its client uses an expiring nonce and no fee token; its server simulates, then broadcasts with `eth_sendRawTransactionSync`).",
      '- **(b′)/(c′)**: the time inside each server for the request that carries the credential (from the Web Request to the Response), measured by a wrapper around the route handler.',
      '',
      '| what | p50 ms | p90 ms | min ms | max ms | p50 vs (a) |',
      '|---|---:|---:|---:|---:|---:|',
      ...rows,
      '',
      ...lines.map((line) => `- ${line}.`),
      '',
      'Notes:',
      '',
      '- Both SDK clients and servers, the load-free chain and the bench all share one small machine; the chain is local and mines instantly, so these latencies are ' +
        'what the SDKs add around a broadcast, not what a real network would take (where the block time dominates).',
      '- The client side of (b) and (c) includes RPC round trips to the node to prepare the transaction (nonce, fees, chain), which (a) does not pay because it was signed in advance.',
      '',
    ].join('\n')
    if (!quick) writeFileSync(new URL('./results/tempo.md', import.meta.url), report)
    else console.log('(a quick run: bench/results/tempo.md not written)')
  } finally {
    await site.close()
    await chain.stop()
  }
}
