/** Machine facts for a results file, and the load average at the start and the end of a run. */
import { execFileSync } from 'node:child_process'
import { availableParallelism, cpus, loadavg } from 'node:os'

export type Machine = { readonly started: Date; readonly loadStart: number; describe(): string }

/** The commit measured, and whether src/ differed from it (other work in progress). */
function gitRevision(): string {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim()
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src'], { encoding: 'utf8' }).trim()
    return dirty ? `commit ${head} with uncommitted changes in src/ (${dirty.split('\n').length} file(s))` : `commit ${head}, src/ clean`
  } catch {
    return 'git revision unknown'
  }
}

export function machine(): Machine {
  const started = new Date()
  const revision = gitRevision()
  const loadStart = loadavg()[0]!
  return {
    started,
    loadStart,
    describe() {
      const loadEnd = loadavg()[0]!
      const cores = availableParallelism()
      const busy = Math.max(loadStart, loadEnd) > cores / 2
      return (
        `Machine: ${cpus()[0]?.model ?? 'unknown CPU'}, nproc ${cores}, Node ${process.version}, mppx 0.11.0. ` +
        `Load average (1 min) ${loadStart.toFixed(2)} at the start, ${loadEnd.toFixed(2)} at the end` +
        (busy
          ? ': the machine was shared with other work, so absolute figures are low and noisy; the ratios, from interleaved samples, are the figures to read.'
          : '.') +
        ` Code: ${revision}.`
      )
    },
  }
}

export function pct(value: number, digits = 1): string {
  return `${(value * 100).toFixed(digits)}%`
}

export function quantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b)
  if (sorted.length === 0) return Number.NaN
  const at = (sorted.length - 1) * q
  const lo = Math.floor(at)
  const hi = Math.ceil(at)
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (at - lo)
}
