/**
 * HTTP throughput over loopback: requests per second a node:http server answers for a
 * route without payment, for unpaid requests to a paid route (402), and for paid
 * requests, each carrying a fresh valid credential. mppkit (nodeHandler + route) and
 * mppx 0.11.0 (Request.toNodeListener + route) each run in a forked server process
 * (bench/support/httpServer.ts); the load generator (bench/support/load.ts, raw
 * keep-alive sockets, a fixed number of requests in flight) runs in this process.
 * Writes bench/results/http.md.
 *
 *   npm run bench -- http            (default run, ~55 s)
 *   npm run bench -- http --quick    (a smoke run)
 */
import { fork, type ChildProcess } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { fileURLToPath } from 'node:url'
import { Mppx as MppxServer } from 'mppx/server'
import { Credential as MppxCredential } from 'mppx'
import * as Challenge from '../src/Challenge.js'
import * as Credential from '../src/Credential.js'
import { createPaymentServer } from '../src/server/index.js'
import { createLedger } from '../src/testing/index.js'
import { formatOps } from './harness.js'
import { load, requestBytes, type LoadResult } from './support/load.js'
import { machine, pct, quantile } from './support/machine.js'
import { REALM, ROUTE, SECRET, TOKEN, mppkitBenchServer, mppxBenchServer, newBook } from './support/methods.js'

const CONNECTIONS = 32
const AIM = 0.15

export type Lib = 'mppkit' | 'mppx'
export type Started = { child: ChildProcess; port: number; payer: { id: string; key: number[] } }
export type Scenario = {
  key: string
  lib: Lib
  label: string
  path: string
  status: number
  /** n single-use Authorization values (paid scenarios only). */
  credentials?: (n: number) => Promise<string[]>
}

export async function start(lib: Lib, execArgv: readonly string[] = []): Promise<Started> {
  const child = fork(fileURLToPath(new URL('./support/httpServer.ts', import.meta.url)), [lib], {
    execArgv: ['--import', 'tsx', ...execArgv],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  return new Promise((resolve, reject) => {
    child.once('message', (message) => resolve({ child, ...(message as Omit<Started, 'child'>) }))
    child.once('error', reject)
    child.once('exit', (code) => reject(new Error(`${lib} server exited with code ${code}`)))
  })
}

/** Ends a server process by closing its IPC channel (it exits by itself, writing a --cpu-prof profile if asked for one). */
export function stop(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve()
    child.once('exit', () => resolve())
    child.disconnect()
  })
}

/** Mints credentials the way a paying client would, with the same secret, realm and route as the server process. */
export function minters(servers: Record<Lib, Started>) {
  const route = { amount: ROUTE.amount, currency: ROUTE.currency }
  const ledger = createLedger({ currency: 'usd', decimals: 2 })
  const ledgerGate = createPaymentServer({ realm: REALM, secrets: [SECRET], methods: [ledger.server({ recipient: 'shop' })] }).charge(route)
  const payer = ledger.client({ id: servers.mppkit.payer.id, key: Uint8Array.from(servers.mppkit.payer.key) })
  const benchGate = createPaymentServer({ realm: REALM, secrets: [SECRET], methods: [mppkitBenchServer(newBook())] }).charge(route)
  const mppx = MppxServer.create({ methods: [mppxBenchServer(newBook())], secretKey: SECRET, realm: REALM })
  const signal = new AbortController().signal
  const unpaid = (path: string) => new Request(`http://127.0.0.1:${servers.mppkit.port}${path}`)
  // mppx ids carry no nonce: distinct credentials need distinct `expires`, 1 ms apart.
  let clock = Date.now() + 5 * 60_000
  return {
    async ledger(n: number) {
      const out: string[] = []
      for (let i = 0; i < n; i++) {
        const [challenge] = await ledgerGate.challenges(unpaid('/ledger'))
        const payment = await payer.pay({ challenge: challenge!, request: Challenge.decodeRequest(challenge!) as never, signal })
        out.push(Credential.serialize(Credential.from({ challenge: challenge!, ...payment })))
      }
      return out
    },
    async mppkitBench(n: number) {
      const out: string[] = []
      for (let i = 0; i < n; i++) {
        const [challenge] = await benchGate.challenges(unpaid('/bench'))
        out.push(Credential.serialize(Credential.from({ challenge: challenge!, payload: { token: TOKEN } })))
      }
      return out
    },
    async mppxBench(n: number) {
      const out: string[] = []
      for (let i = 0; i < n; i++) {
        const challenge = await mppx.challenge.bench.charge({ ...ROUTE, expires: new Date(++clock).toISOString() })
        out.push(MppxCredential.serialize({ challenge, payload: { token: TOKEN } }))
      }
      return out
    },
  }
}

export async function pool(scenario: Scenario, port: number, n: number): Promise<() => Buffer | undefined> {
  if (!scenario.credentials) {
    const bytes = requestBytes(port, scenario.path)
    return () => bytes
  }
  const requests = (await scenario.credentials(n)).map((authorization) => requestBytes(port, scenario.path, { authorization }))
  let at = 0
  return () => requests[at++]
}

function check(scenario: Scenario, result: LoadResult): void {
  const wrong = [...result.statuses].filter(([status]) => status !== scenario.status)
  if (wrong.length > 0)
    throw new Error(`${scenario.lib} ${scenario.label}: expected only ${scenario.status}, got ${JSON.stringify(Object.fromEntries(result.statuses))}`)
}

function median(values: number[]): number {
  return quantile(values, 0.5)
}

export default async function run(args: readonly string[] = []): Promise<void> {
  const quick = args.includes('--quick')
  const warmupMs = quick ? 200 : 500
  const roundMs = quick ? 400 : 1400
  const rounds = quick ? 1 : 3
  const host = machine()
  const servers = { mppkit: await start('mppkit'), mppx: await start('mppx') } as Record<Lib, Started>
  try {
    const mint = minters(servers)
    const scenarios: Scenario[] = [
      { key: 'mppkit raw', lib: 'mppkit', label: 'raw node:http, no Web objects (context)', path: '/raw', status: 200 },
      { key: 'mppkit free', lib: 'mppkit', label: 'free route (baseline)', path: '/free', status: 200 },
      { key: 'mppkit 402', lib: 'mppkit', label: 'paid route, no credential -> 402', path: '/bench', status: 402 },
      { key: 'mppkit paid ledger', lib: 'mppkit', label: 'paid, ledger method', path: '/ledger', status: 200, credentials: mint.ledger },
      { key: 'mppkit paid bench', lib: 'mppkit', label: 'paid, bench method', path: '/bench', status: 200, credentials: mint.mppkitBench },
      { key: 'mppx free', lib: 'mppx', label: 'free route (baseline)', path: '/free', status: 200 },
      { key: 'mppx 402', lib: 'mppx', label: 'paid route, no credential -> 402', path: '/bench', status: 402 },
      { key: 'mppx paid bench', lib: 'mppx', label: 'paid, bench method', path: '/bench', status: 200, credentials: mint.mppxBench },
    ]

    // Sanity: one request each, through fetch, with the status and receipt expected.
    for (const s of scenarios) {
      const port = servers[s.lib].port
      const headers = s.credentials ? { authorization: (await s.credentials(1))[0]! } : undefined
      const response = await fetch(`http://127.0.0.1:${port}${s.path}`, { ...(headers && { headers }) })
      await response.arrayBuffer()
      if (response.status !== s.status || (s.status === 200 && s.credentials && !response.headers.get('payment-receipt')))
        throw new Error(`${s.key}: sanity request got ${response.status}`)
    }

    // Warm-up, which also tells how many credentials a round needs.
    const estimate = new Map<string, number>()
    for (const s of scenarios) {
      const port = servers[s.lib].port
      const result = await load({ port, connections: CONNECTIONS, durationMs: warmupMs, next: await pool(s, port, Math.ceil(warmupMs * 8)) })
      check(s, result)
      estimate.set(s.key, result.rps)
      console.log(`warm-up ${s.key.padEnd(20)} ${formatOps(result.rps).padStart(7)} rps${result.exhausted ? ' (pool ran out)' : ''}`)
    }

    const results = new Map<string, LoadResult[]>(scenarios.map((s) => [s.key, []]))
    let exhaustedRounds = 0
    for (let r = 0; r < rounds; r++) {
      // Rotate the order each round so no scenario always runs first or last.
      for (let i = 0; i < scenarios.length; i++) {
        const s = scenarios[(i + r * 3) % scenarios.length]!
        const port = servers[s.lib].port
        // Enough credentials for the fastest rate seen so far, with a margin (the warm-up runs before the JIT settles).
        const n = Math.ceil(((estimate.get(s.key)! * roundMs) / 1000) * 1.8) + 800
        const result = await load({ port, connections: CONNECTIONS, durationMs: roundMs, next: await pool(s, port, n) })
        check(s, result)
        if (result.exhausted) exhaustedRounds++
        estimate.set(s.key, Math.max(estimate.get(s.key)!, result.rps))
        results.get(s.key)!.push(result)
      }
    }

    const summary = (key: string) => {
      const runs = results.get(key)!
      const rps = runs.map((r) => r.rps)
      const latencies = runs.flatMap((r) => r.latencies)
      const mid = median(rps)
      const dev = Math.max(...rps.map((v) => Math.abs(v - mid))) / mid
      return { rps: mid, dev, p50: quantile(latencies, 0.5), p99: quantile(latencies, 0.99), requests: latencies.length }
    }
    const s = Object.fromEntries(scenarios.map((x) => [x.key, summary(x.key)])) as Record<string, ReturnType<typeof summary>>
    const cost = (paid: string, base: string) => 1 - s[paid]!.rps / s[base]!.rps

    const rows = scenarios.map((x) => {
      const m = s[x.key]!
      const base = s[`${x.lib} free`]!
      return `| ${x.lib} | ${x.label} | \`${x.path}\` | ${formatOps(m.rps)} (±${pct(m.dev)}) | ${m.p50.toFixed(2)} | ${m.p99.toFixed(2)} | ${pct(m.rps / base.rps, 0)} | ${formatOps(m.requests)} |`
    })
    for (const x of scenarios) {
      const m = s[x.key]!
      console.log(`${x.key.padEnd(20)} ${formatOps(m.rps).padStart(7)} rps ±${pct(m.dev).padEnd(6)} p50 ${m.p50.toFixed(2)} ms  p99 ${m.p99.toFixed(2)} ms`)
    }
    const ledgerCost = cost('mppkit paid ledger', 'mppkit free')
    const benchCost = cost('mppkit paid bench', 'mppkit free')
    const mppxCost = cost('mppx paid bench', 'mppx free')
    const lines = [
      `mppkit paid (ledger method) costs ${pct(ledgerCost)} of throughput vs its unpaid baseline (aim ≤ ${pct(AIM, 0)}: ${ledgerCost <= AIM ? 'met' : 'NOT met'})`,
      `mppkit paid (bench method) costs ${pct(benchCost)} of throughput vs its unpaid baseline (aim ≤ ${pct(AIM, 0)}: ${benchCost <= AIM ? 'met' : 'NOT met'})`,
      `mppx paid (bench method) costs ${pct(mppxCost)} of throughput vs its unpaid baseline`,
      `mppkit/mppx: free ${(s['mppkit free']!.rps / s['mppx free']!.rps).toFixed(2)}x, 402 ${(s['mppkit 402']!.rps / s['mppx 402']!.rps).toFixed(2)}x, paid (bench method) ${(s['mppkit paid bench']!.rps / s['mppx paid bench']!.rps).toFixed(2)}x`,
    ]
    for (const line of lines) console.log(line)

    const report = [
      '# HTTP benchmarks: paid vs unpaid throughput over loopback',
      '',
      `Generated by \`npm run bench -- http\` (bench/http.bench.ts) on ${host.started.toISOString()}.`,
      '',
      host.describe(),
      '',
      'Method: each SDK serves its routes from its own forked Node process (bench/support/httpServer.ts): one `node:http` server on 127.0.0.1, ' +
        'dispatching on `req.url`. mppkit routes go through `nodeHandler` (src/adapters/node.ts) and `createPaymentServer().route()`; ' +
        "mppx routes go through mppx's `Request.toNodeListener` and `Mppx.create().bench.charge()`. Both sell the same route (amount 1000, usd) with the " +
        'trivial `bench/charge` method (bench/support/methods.ts); mppkit additionally sells it with the in-memory ledger method of src/testing ' +
        '(verify = three WebCrypto HMAC-SHA256 with a key import each, balance check; settle = balance move). ' +
        `The load generator (bench/support/load.ts) runs in the parent process: ${CONNECTIONS} keep-alive TCP connections, one request in flight on each, ` +
        `request bytes built before the run. Every paid request carries a distinct, valid, never-used credential, minted before each round with the same ` +
        "secret and route (mppkit: the route's challenges with their random nonce, paid by the ledger or bench client half; mppx: " +
        '`mppx.challenge.bench.charge` with distinct `expires`). ' +
        `Per scenario: a ${warmupMs} ms warm-up (also used to size the credential pool), then ${rounds} rounds of ${roundMs} ms, ` +
        'the scenarios interleaved and their order rotated each round. The rps figure is the median round (± the largest deviation of a round from it); ' +
        'latencies are over all requests of all rounds. Every response was checked for the expected status (200 or 402); a paid request refused would have failed the run.' +
        (exhaustedRounds > 0 ? ` ${exhaustedRounds} round(s) ran out of credentials before the end and were timed over the shorter span.` : ''),
      '',
      '| server | request | path | rps | p50 ms | p99 ms | vs own free route | requests |',
      '|---|---|---|---:|---:|---:|---:|---:|',
      ...rows,
      '',
      ...lines.map((line) => `- ${line}.`),
      '',
      'Notes:',
      '',
      '- "free route" is the baseline the aim is measured against: the same server, the same adapter (Web `Request`/`Response` conversion), no payment. ' +
        `For context, the raw \`node:http\` row answers without building any Web object: mppkit's free route reaches ${pct(s['mppkit free']!.rps / s['mppkit raw']!.rps, 0)} of it.`,
      '- The paid rows do more than the free row by design: the 402 round trip that produced the challenge is not part of this measurement (credentials are minted off the clock); a paid request here is the second half of a payment.',
      '- mppkit claims each challenge id in its in-memory Store (single use); mppx keeps no replay state. The mppkit server process accumulates one Store entry per paid request.',
      `- On this ${availableParallelism()}-core machine the load generator and the server process each take about one core (and the ledger's WebCrypto HMACs run on libuv threadpool threads, which compete with the load generator), so the figures are a lower bound of what the server alone could do; the paid/free ratio is the figure to read.`,
      '- To see where a server process spends its time under this load: `npx tsx bench/support/profileHttp.ts mppkit /bench paid 5 /tmp/http.cpuprofile`, then `npx tsx bench/profile.ts --summary /tmp/http.cpuprofile` (the profile covers the loaded window only).',
      '',
    ].join('\n')
    if (!quick) writeFileSync(new URL('./results/http.md', import.meta.url), report)
    else console.log('(a quick run: bench/results/http.md not written)')
  } finally {
    await Promise.all([stop(servers.mppkit.child), stop(servers.mppx.child)])
  }
}
