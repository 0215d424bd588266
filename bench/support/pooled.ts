/**
 * bench/harness.ts measures a function called again and again on the same input. Some
 * operations spend their input: a paid credential is single use (mppkit claims its
 * challenge id), so the thousandth call cannot reuse the first call's credential. Here
 * each contender has `make(n)`, which builds n inputs before a sample (not timed), and
 * `op(input)`, timed over all n inputs one at a time (awaited, like the harness).
 * Otherwise the same method as bench/harness.ts: warm-up, then samples of about
 * `sampleMs`, contenders interleaved (A, B, A, B, ...), the figure is the median.
 *
 * n is calibrated per contender during the warm-up so a sample lasts about `sampleMs`.
 */
import type { Options, Result } from '../harness.js'

export type Pooled<Input> = {
  /** Builds `n` inputs for one sample; not timed. */
  make(n: number): Input[] | Promise<Input[]>
  /** One operation on one input; timed. */
  op(input: Input): Promise<unknown>
}

export let sink: unknown

async function timed<Input>(contender: Pooled<Input>, n: number): Promise<number> {
  const inputs = await contender.make(n)
  const start = performance.now()
  for (let i = 0; i < inputs.length; i++) sink = await contender.op(inputs[i]!)
  return (inputs.length * 1000) / (performance.now() - start)
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

export async function comparePooled(contenders: ReadonlyArray<Pooled<any>>, options: Options = {}): Promise<Result[]> {
  const { warmupMs = 500, sampleMs = 1000, samples = 5 } = options
  const sizes: number[] = []
  for (const contender of contenders) {
    // Warm up in small pools, then size a sample from the rate reached.
    let rate = await timed(contender, 64)
    const end = performance.now() + warmupMs
    while (performance.now() < end) rate = await timed(contender, Math.max(64, Math.min(20_000, Math.round((rate * warmupMs) / 4000))))
    sizes.push(Math.max(64, Math.round((rate * sampleMs) / 1000)))
  }
  const taken: number[][] = contenders.map(() => [])
  for (let s = 0; s < samples; s++)
    for (let i = 0; i < contenders.length; i++) taken[i]!.push(await timed(contenders[i]!, sizes[i]!))
  return taken.map((values) => ({ opsPerSec: median(values), samples: values }))
}
