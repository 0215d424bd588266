/**
 * Server pipeline benchmarks, in process (Web Request in, Web Response out, no
 * sockets): mppkit's createPaymentServer against mppx 0.11.0's Mppx server, both
 * selling one route through the same trivial method (bench/support/methods.ts).
 * Writes bench/results/server.md.
 *
 *   npm run bench -- server            (all operations)
 *   npm run bench -- server --quick    (short samples, for a smoke run)
 *   npm run bench -- server verify     (operations whose name contains "verify")
 */
import { writeFileSync } from 'node:fs'
import { Challenge as MppxChallenge, Credential as MppxCredential } from 'mppx'
import { Mppx as MppxClient } from 'mppx/client'
import { Mppx as MppxServer } from 'mppx/server'
import * as Challenge from '../src/Challenge.js'
import * as Credential from '../src/Credential.js'
import { createPaymentFetch } from '../src/client/index.js'
import { createPaymentServer } from '../src/server/index.js'
import { formatOps, spread, type Options, type Result } from './harness.js'
import { machine } from './support/machine.js'
import {
  REALM,
  ROUTE,
  SECRET,
  TOKEN,
  mppkitBenchClient,
  mppkitBenchServer,
  mppxBenchClient,
  mppxBenchServer,
  newBook,
  type Book,
} from './support/methods.js'
import { comparePooled, type Pooled } from './support/pooled.js'

const URL_ = 'https://api.example.com/report'
const AIM = 2

type Handler = (request: Request) => Promise<Response>
export type Side = {
  book: Book
  handler: Handler
  /** n distinct, valid, unused credentials (Authorization values) for the route. */
  credentials(n: number): Promise<string[]>
  /** One round with the SDK's own codec as the payer: unpaid -> parse challenge -> build credential -> paid. */
  round(): Promise<Response>
  /** One round through the SDK's own paying fetch (client half + server half). */
  clientRound(): Promise<Response>
}

export function mppkitSide(): Side {
  const book = newBook()
  const server = createPaymentServer({ realm: REALM, secrets: [SECRET], methods: [mppkitBenchServer(book)] })
  const route = { amount: ROUTE.amount, currency: ROUTE.currency }
  const handler = server.route(route, () => Response.json({ ok: true }))
  const gate = server.charge(route)
  const pay = createPaymentFetch({ methods: [mppkitBenchClient()], fetch: ((input, init) => handler(new Request(input, init))) as typeof fetch })
  const unpaid = new Request(URL_)
  return {
    book,
    handler,
    async credentials(n) {
      const out: string[] = []
      for (let i = 0; i < n; i++) {
        const [challenge] = await gate.challenges(unpaid)
        out.push(Credential.serialize(Credential.from({ challenge: challenge!, payload: { token: TOKEN } })))
      }
      return out
    },
    async round() {
      const challenged = await handler(new Request(URL_))
      const challenge = Challenge.parse(challenged.headers.get('www-authenticate')!)
      const authorization = Credential.serialize(Credential.from({ challenge, payload: { token: TOKEN } }))
      return handler(new Request(URL_, { headers: { authorization } }))
    },
    clientRound: () => pay(URL_),
  }
}

export function mppxSide(): Side {
  const book = newBook()
  const mppx = MppxServer.create({ methods: [mppxBenchServer(book)], secretKey: SECRET, realm: REALM })
  const route = mppx.bench.charge({ ...ROUTE })
  const handler: Handler = async (request) => {
    const result = await route(request)
    if (result.status === 402) return result.challenge
    return result.withReceipt(Response.json({ ok: true }))
  }
  const client = MppxClient.create({
    methods: [mppxBenchClient()],
    polyfill: false,
    fetch: ((input, init) => handler(new Request(input, init))) as typeof fetch,
  })
  let clock = Date.now() + 5 * 60_000
  return {
    book,
    handler,
    async credentials(n) {
      // mppx ids carry no nonce: distinct credentials need distinct `expires` (1 ms apart).
      const out: string[] = []
      for (let i = 0; i < n; i++) {
        const challenge = await mppx.challenge.bench.charge({ ...ROUTE, expires: new Date(++clock).toISOString() })
        out.push(MppxCredential.serialize({ challenge, payload: { token: TOKEN } }))
      }
      return out
    },
    async round() {
      const challenged = await handler(new Request(URL_))
      const challenge = MppxChallenge.fromResponse(challenged)
      const authorization = MppxCredential.serialize({ challenge, payload: { token: TOKEN } })
      return handler(new Request(URL_, { headers: { authorization } }))
    },
    clientRound: () => client.fetch(URL_),
  }
}

function expect(response: Response, status: number, what: string): Response {
  if (response.status !== status) throw new Error(`${what}: expected ${status}, got ${response.status}`)
  if (status === 200 && !response.headers.get('payment-receipt')) throw new Error(`${what}: 200 without Payment-Receipt`)
  if (status === 402 && !response.headers.get('www-authenticate')) throw new Error(`${what}: 402 without WWW-Authenticate`)
  return response
}

export type Case = { name: string; note: string; contenders: (side: Side, label: string) => Pooled<any> }

export const CASES: Case[] = [
  {
    name: 'issue a challenge (unpaid -> 402)',
    note:
      'a GET without credential, a pre-built `Request`, through the route handler to a 402 `Response` (WWW-Authenticate + Problem Details body, not read). ' +
      'mppkit: Accept-Payment ranking, one HMAC id over JCS(request) with a random 12-byte nonce in `opaque`, serialize. ' +
      'mppx: route request schema parse, HMAC id (no nonce), serialize',
    contenders: (side, label) => ({
      make: (n) => Array.from({ length: n }, () => new Request(URL_)),
      op: async (request: Request) => expect(await side.handler(request), 402, `${label} issue`),
    }),
  },
  {
    name: 'verify a paid credential (-> 200 + receipt)',
    note:
      'a pre-built `Request` carrying a valid credential for a challenge never used before (each sample builds its own credentials first, untimed), ' +
      'through the route handler to a 200 `Response` with Payment-Receipt. ' +
      'mppkit: decode, HMAC check, route match (JCS compare), expiry, payload and request schemas, **claims the challenge id in its memory Store** (single use), verify, settle, receipt, `withHeaders` copy. ' +
      'mppx: decode, HMAC check (re-JCS of request), pinned route fields, expiry, payload schema, verify (which settles), receipt; **no single-use state** (a replayed credential would pass again)',
    contenders: (side, label) => ({
      make: async (n) => (await side.credentials(n)).map((authorization) => new Request(URL_, { headers: { authorization } })),
      op: async (request: Request) => expect(await side.handler(request), 200, `${label} verify`),
    }),
  },
  {
    name: 'full round (unpaid -> pay -> paid)',
    note:
      'one op = `handler(new Request)` -> 402, parse the challenge with the same SDK (`Challenge.parse` / `Challenge.fromResponse`), ' +
      'build the credential with the same SDK (`Credential.serialize`), `handler(new Request with Authorization)` -> 200. Request construction is timed on both sides',
    contenders: (side, label) => ({
      make: (n) => new Array<number>(n).fill(0),
      op: async () => expect(await side.round(), 200, `${label} round`),
    }),
  },
  {
    name: 'full round via the SDK client',
    note:
      "the same round driven by each SDK's paying fetch over an in-process fetch (`createPaymentFetch` with the bench client method vs mppx `Mppx.create({ polyfill: false, fetch })`): " +
      'client-side challenge selection, policy (mppkit: empty policy, in-memory spend ledger) and credential building are included',
    contenders: (side, label) => ({
      make: (n) => new Array<number>(n).fill(0),
      op: async () => expect(await side.clientRound(), 200, `${label} client round`),
    }),
  },
]

async function sanity(ours: Side, theirs: Side): Promise<void> {
  // Both sides really pay, really settle, and mppkit refuses a replay while mppx (no store) accepts it.
  for (const [label, side] of [['mppkit', ours], ['mppx', theirs]] as const) {
    expect(await side.handler(new Request(URL_)), 402, `${label} sanity`)
    const [authorization] = await side.credentials(1)
    const before = side.book.settled
    expect(await side.handler(new Request(URL_, { headers: { authorization: authorization! } })), 200, `${label} sanity`)
    if (side.book.settled !== before + 1) throw new Error(`${label}: the paid request did not settle`)
    const replay = await side.handler(new Request(URL_, { headers: { authorization: authorization! } }))
    if (label === 'mppkit' && replay.status !== 402) throw new Error('mppkit accepted a replayed credential')
    if (label === 'mppx' && replay.status !== 200) throw new Error('mppx was expected to accept a replay (no store)')
    expect(await side.round(), 200, `${label} sanity round`)
    expect(await side.clientRound(), 200, `${label} sanity client round`)
  }
}

export default async function run(args: readonly string[] = []): Promise<void> {
  const quick = args.includes('--quick')
  const options: Options = quick ? { warmupMs: 100, sampleMs: 150, samples: 3 } : { warmupMs: 400, sampleMs: 400, samples: 11 }
  const only = args.filter((a) => !a.startsWith('--'))
  const host = machine()
  const ours = mppkitSide()
  const theirs = mppxSide()
  await sanity(ours, theirs)

  const rows: string[] = []
  for (const c of CASES) {
    if (only.length > 0 && !only.some((o) => c.name.includes(o))) continue
    const [a, b] = (await comparePooled([c.contenders(ours, 'mppkit'), c.contenders(theirs, 'mppx')], options)) as [Result, Result]
    const ratio = a.opsPerSec / b.opsPerSec
    console.log(
      `${c.name.padEnd(44)} mppkit ${formatOps(a.opsPerSec).padStart(8)} ops/s ${spread(a).padStart(7)}   ` +
        `mppx ${formatOps(b.opsPerSec).padStart(8)} ops/s ${spread(b).padStart(7)}   ratio ${ratio.toFixed(2)}x`,
    )
    rows.push(
      `| ${c.name} | ${formatOps(a.opsPerSec)} (${spread(a)}) | ${formatOps(b.opsPerSec)} (${spread(b)}) | ${ratio.toFixed(2)}x | ${ratio >= AIM ? 'yes' : '**no**'} |`,
    )
  }
  const report = [
    '# Server pipeline benchmarks: mppkit vs mppx',
    '',
    `Generated by \`npm run bench -- server\` (bench/server.bench.ts) on ${host.started.toISOString()}.`,
    '',
    host.describe(),
    '',
    'Method: both SDKs in one process, each selling one route (`amount 1000, currency usd, recipient shop`, realm and 41-byte secret the same) ' +
      'through the same trivial method `bench/charge` defined once per SDK (bench/support/methods.ts): verify checks `payload.token === "ok"`, settle adds ' +
      'the amount to a Map. No sockets: a Web `Request` goes into the route handler and a Web `Response` comes out (the handler returns `Response.json({ ok: true })` when paid). ' +
      `Each operation is awaited one at a time. Per operation and SDK: ${options.warmupMs} ms warm-up (which also sizes a sample), then ${options.samples} samples of ` +
      `~${options.sampleMs} ms, mppkit and mppx samples interleaved; inputs a sample spends (credentials, Requests) are built before the sample and not timed ` +
      '(bench/support/pooled.ts). The figure is the median sample; ± is the largest deviation of a sample from it. ' +
      `Aim (from the issue): mppkit's pipeline at least ${AIM}x mppx.`,
    '',
    `| operation | mppkit ops/s | mppx ops/s | ratio mppkit/mppx | ≥ ${AIM}x |`,
    '|---|---:|---:|---:|:---:|',
    ...rows,
    '',
    'What each row does:',
    '',
    ...CASES.map((c) => `- **${c.name}**: ${c.note}.`),
    '',
    'Notes:',
    '',
    '- The two sides do not do the same work on a paid request: mppkit makes every challenge single use (it writes `challenge:<id>` into its in-memory Store with ' +
      'putIfAbsent; that Store grows by one entry per paid request for the challenge lifetime plus 5 minutes, up to its 1,000,000-entry cap), and mppx core keeps no ' +
      'state, so a replayed mppx credential is accepted again unless the method adds its own replay check. The sanity check before the run asserts both behaviours.',
    '- mppx challenge ids have no nonce (the same route in the same millisecond gives the same id), so the mppx credentials for the verify row are minted with ' +
      '`mppx.challenge.bench.charge({ expires })`, one millisecond apart, to make them distinct like mppkit\'s.',
    '- Request bodies: all requests are GETs, so mppkit\'s body digest binding does not run.',
    '- The Web `Request`/`Response` objects (undici) are a large shared cost: building a `Response` with a body (about 19 µs each on this machine, measured alone) costs more than computing a challenge id, and both SDKs build at least one per request, which caps how far apart the two pipelines can be in these rows.',
    '- To profile one row: `npx tsx bench/support/profileServer.ts verify mppkit 20000 /tmp/verify.cpuprofile`, then `npx tsx bench/profile.ts --summary /tmp/verify.cpuprofile` (only the timed operations are profiled).',
    '',
  ].join('\n')
  if (only.length === 0 && !quick) writeFileSync(new URL('./results/server.md', import.meta.url), report)
  else console.log('(a subset or a quick run: bench/results/server.md not written)')
}
