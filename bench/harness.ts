/**
 * A deliberately plain benchmark harness. For each function: warm up, then take
 * several samples; a sample calls the function in a loop until about `sampleMs` has
 * passed and counts calls. The reported rate is the median sample. Samples of two
 * contenders are interleaved (A, B, A, B, ...) so slow drift (thermal, GC, a noisy
 * neighbour) hits both alike. Async functions are awaited one call at a time: that is
 * the cost a caller pays.
 */

export type Fn = () => unknown

export type Options = {
  /** Warm-up time per function before any sample (default 500 ms). */
  warmupMs?: number
  /** Length of one sample (default 1000 ms). */
  sampleMs?: number
  /** Samples per function (default 5). */
  samples?: number
}

export type Result = { opsPerSec: number; samples: number[] }

/** Keeps results alive so the JIT cannot drop the calls. */
export let sink: unknown

async function sample(fn: Fn, ms: number, isAsync: boolean): Promise<number> {
  let calls = 0
  let batch = 16
  const start = performance.now()
  let now = start
  while (now - start < ms) {
    if (isAsync) for (let i = 0; i < batch; i++) sink = await fn()
    else for (let i = 0; i < batch; i++) sink = fn()
    calls += batch
    now = performance.now()
    // Grow batches so the clock is read rarely, but keep a sample near `ms`.
    if (now - start < ms / 10) batch *= 2
  }
  return (calls * 1000) / (now - start)
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

/** Measures the contenders side by side; returns one result per contender, in order. */
export async function compare(contenders: readonly Fn[], options: Options = {}): Promise<Result[]> {
  const { warmupMs = 500, sampleMs = 1000, samples = 5 } = options
  const isAsync: boolean[] = []
  for (const fn of contenders) {
    const first = fn()
    isAsync.push(first instanceof Promise)
    await first
  }
  for (let i = 0; i < contenders.length; i++) await sample(contenders[i]!, warmupMs, isAsync[i]!)
  const taken: number[][] = contenders.map(() => [])
  for (let s = 0; s < samples; s++)
    for (let i = 0; i < contenders.length; i++) taken[i]!.push(await sample(contenders[i]!, sampleMs, isAsync[i]!))
  return taken.map((values) => ({ opsPerSec: median(values), samples: values }))
}

export function formatOps(opsPerSec: number): string {
  return Math.round(opsPerSec).toLocaleString('en-US')
}

/** Spread of samples around their median, as ±percent of the median. */
export function spread(result: Result): string {
  const lo = Math.min(...result.samples)
  const hi = Math.max(...result.samples)
  return `±${((Math.max(hi - result.opsPerSec, result.opsPerSec - lo) / result.opsPerSec) * 100).toFixed(1)}%`
}
