/**
 * Codec benchmarks: mppkit against mppx 0.11.0, side by side in one process, on the
 * same inputs. Writes bench/results/codec.md.
 *
 *   npm run bench -- codec            (all operations)
 *   npm run bench -- codec --quick    (short samples, for a smoke run)
 */
import { writeFileSync } from 'node:fs'
import { availableParallelism, cpus, loadavg } from 'node:os'
import { Challenge as MppxChallenge, Credential as MppxCredential } from 'mppx'
import * as Challenge from '../src/Challenge.js'
import * as ChallengeId from '../src/ChallengeId.js'
import * as Credential from '../src/Credential.js'
import { compare, formatOps, spread, type Fn, type Options, type Result } from './harness.js'

const IN_FLIGHT = 32
const batch = Array.from({ length: IN_FLIGHT })
const SECRET = 'bench-secret-0123456789-abcdefghijklmnopq' // 32+ bytes: valid for both SDKs

const REQUEST = {
  amount: '1000000',
  currency: '0x20c0000000000000000000000000000000000000',
  recipient: '0x742d35cc6634c0532925a3b844bc9e7595f8fe00',
  methodDetails: { chainId: 42431 },
}

type Case = { name: string; note: string; mppkit: Fn; mppx: Fn; /** operations per call (default 1) */ per?: number }

export async function cases(): Promise<Case[]> {
  const ring = ChallengeId.keyRing([SECRET])
  // One realistic challenge: every optional field, an HMAC id.
  const fields = {
    realm: 'api.example.com',
    method: 'tempo',
    intent: 'charge',
    request: REQUEST,
    expires: '2030-01-15T12:05:00Z',
    digest: 'sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:',
    opaque: { nonce: 'q2vJ1m3Yx0bK9fLd' },
    description: 'One coffee',
  }
  const ours = await ring.issue(fields)
  const { opaque, ...rest } = fields
  const mppxFields = { ...rest, meta: opaque }
  const header1 = Challenge.serialize(ours)
  const theirs = MppxChallenge.deserialize(header1)

  // Four challenges, different methods, one header value.
  const four = await Promise.all(['tempo', 'stripe', 'testpay', 'altpay'].map((method) => ring.issue({ ...fields, method })))
  const header4 = Challenge.serializeList(four)

  const authorization = Credential.serialize(
    Credential.from({ challenge: ours, payload: { signature: '0x' + 'ab'.repeat(65), type: 'transaction' }, source: 'did:pkh:eip155:42431:0x742d35cc6634c0532925a3b844bc9e7595f8fe00' }),
  )

  // The inputs are the same bytes for both sides; check both sides read them alike.
  const same = (a: unknown, b: unknown, what: string) => {
    if (JSON.stringify(a) !== JSON.stringify(b)) throw new Error(`bench inputs disagree: ${what}`)
  }
  same(Challenge.parse(header1).id, MppxChallenge.deserialize(header1).id, 'one challenge')
  same(Challenge.parseList(header4).map((c) => c.id), MppxChallenge.deserializeList(header4).map((c) => c.id), 'four challenges')
  same(Credential.parse(authorization).payload, MppxCredential.deserialize(authorization).payload, 'credential')
  if (!(await ring.verify(ours)) || !MppxChallenge.verify(theirs, { secretKey: SECRET })) throw new Error('ids do not verify')
  if (Challenge.serialize(ours).length === 0 || MppxChallenge.serialize(theirs).length === 0) throw new Error('serialize')

  return [
    {
      name: 'parse 1 challenge',
      note: 'mppkit `Challenge.parse(header)` vs mppx `Challenge.deserialize(header)`; both decode and check `request`',
      mppkit: () => Challenge.parse(header1),
      mppx: () => MppxChallenge.deserialize(header1),
    },
    {
      name: 'parse 4-challenge header',
      note: 'mppkit `Challenge.parseList` vs mppx `Challenge.deserializeList`',
      mppkit: () => Challenge.parseList(header4),
      mppx: () => MppxChallenge.deserializeList(header4),
    },
    {
      name: 'serialize 1 challenge',
      note: 'mppkit `Challenge.serialize` (wire strings kept) vs mppx `Challenge.serialize` (re-encodes `request` with JCS)',
      mppkit: () => Challenge.serialize(ours),
      mppx: () => MppxChallenge.serialize(theirs),
    },
    {
      name: 'build + serialize 1 challenge',
      note: 'mppkit `Challenge.serialize(Challenge.from(fields))` vs mppx `Challenge.serialize(Challenge.from(fields))`: from the request object to the header (JCS, base64url, validation)',
      mppkit: () => Challenge.serialize(Challenge.from({ ...fields, id: ours.id })),
      mppx: () => MppxChallenge.serialize(MppxChallenge.from({ ...mppxFields, id: ours.id })),
    },
    {
      name: 'decode credential',
      note: 'mppkit `Credential.parse(authorization)` vs mppx `Credential.deserialize(authorization)`',
      mppkit: () => Credential.parse(authorization),
      mppx: () => MppxCredential.deserialize(authorization),
    },
    {
      name: 'verify challenge id',
      note: 'mppkit `keyRing([secret]).verify(challenge)` (async, WebCrypto, awaited) vs mppx `Challenge.verify(challenge, { secretKey })` (sync)',
      mppkit: () => ring.verify(ours),
      mppx: () => MppxChallenge.verify(theirs, { secretKey: SECRET }),
    },
    {
      name: 'verify challenge id, 32 in flight',
      note: 'throughput when a server verifies many credentials at once: mppkit `Promise.all` of 32 `ring.verify` vs 32 sequential mppx `Challenge.verify`; ops/s counts single verifications',
      per: IN_FLIGHT,
      mppkit: () => Promise.all(batch.map(() => ring.verify(ours))),
      mppx: () => {
        let ok = true
        for (let i = 0; i < IN_FLIGHT; i++) ok = MppxChallenge.verify(theirs, { secretKey: SECRET }) && ok
        return ok
      },
    },
  ]
}

export default async function run(args: readonly string[] = []): Promise<void> {
  const quick = args.includes('--quick')
  const options: Options = quick ? { warmupMs: 100, sampleMs: 200, samples: 3 } : { warmupMs: 500, sampleMs: 700, samples: 9 }
  const only = args.filter((a) => !a.startsWith('--'))
  const rows: string[] = []
  const loadBefore = loadavg()[0]!
  for (const c of await cases()) {
    if (only.length > 0 && !only.some((o) => c.name.includes(o))) continue
    const [measuredOurs, measuredTheirs] = await compare([c.mppkit, c.mppx], options)
    const scale = (r: Result): Result => ({ opsPerSec: r.opsPerSec * (c.per ?? 1), samples: r.samples.map((v) => v * (c.per ?? 1)) })
    const ours = scale(measuredOurs!)
    const theirs = scale(measuredTheirs!)
    const ratio = ours.opsPerSec / theirs.opsPerSec
    console.log(
      `${c.name.padEnd(30)} mppkit ${formatOps(ours.opsPerSec).padStart(11)} ops/s ${spread(ours).padStart(7)}   ` +
        `mppx ${formatOps(theirs.opsPerSec).padStart(11)} ops/s ${spread(theirs).padStart(7)}   ratio ${ratio.toFixed(2)}x`,
    )
    rows.push(
      `| ${c.name} | ${formatOps(ours.opsPerSec)} (${spread(ours)}) | ${formatOps(theirs.opsPerSec)} (${spread(theirs)}) | ${ratio.toFixed(2)}x |`,
    )
  }
  const notes = (await cases()).map((c) => `- **${c.name}**: ${c.note}.`)
  const cpu = cpus()[0]?.model ?? 'unknown CPU'
  const report = [
    '# Codec benchmarks: mppkit vs mppx',
    '',
    `Generated by \`npm run bench -- codec\` (bench/codec.bench.ts) on ${new Date().toISOString()}.`,
    '',
    `Machine: ${cpu}, nproc ${availableParallelism()}, Node ${process.version}, mppx 0.11.0. Load average (1 min) ${loadBefore.toFixed(1)} at the start, ${loadavg()[0]!.toFixed(1)} at the end${loadBefore > availableParallelism() / 2 ? ': the machine was shared with other work, so absolute figures are low and noisy; the ratios, from interleaved samples, are the figures to read' : ''}.`,
    '',
    `Method: both libraries in one process, same input strings. Per operation and library: ${options.warmupMs} ms warm-up, then ${options.samples} samples of ~${options.sampleMs} ms each (calls in a loop, counted), mppkit and mppx samples interleaved; the figure is the median sample, ± is the largest deviation of a sample from it. Async calls are awaited one at a time.`,
    '',
    '| operation | mppkit ops/s | mppx ops/s | ratio mppkit/mppx |',
    '|---|---:|---:|---:|',
    ...rows,
    '',
    'What each row calls:',
    '',
    ...notes,
    '',
  ].join('\n')
  if (only.length === 0 && !quick) writeFileSync(new URL('./results/codec.md', import.meta.url), report)
  else console.log('(a subset or a quick run: bench/results/codec.md not written)')
}
