/**
 * Every durable ledger call runs under a deadline: a store that is down or stuck makes
 * the call fail with `store-failure`, so the paying client refuses to pay instead of
 * hanging. A reservation the store applies after its deadline passed is kept (the
 * budget is over-counted, never under-counted): failing closed, not open.
 */
import { MppError } from '../../errors.js'

/** How long a ledger call may take unless the ledger is told otherwise. */
export const DEFAULT_LEDGER_DEADLINE_MS = 2_000

/** Options every durable ledger takes. */
export type LedgerOptions = {
  /** Milliseconds a call may take before it fails with `store-failure` (default 2000). */
  deadlineMs?: number
  /** The clock that decides whether a budget window has ended (default `Date.now`). */
  now?: () => number
}

export function deadlineOf(options: LedgerOptions): number {
  const ms = options.deadlineMs ?? DEFAULT_LEDGER_DEADLINE_MS
  if (!Number.isFinite(ms) || ms <= 0) throw new MppError('configuration-invalid', 'deadlineMs must be a positive number of milliseconds')
  return ms
}

/**
 * Runs `work` and settles with its outcome, or rejects with `store-failure` once `ms`
 * have passed. `work` gets a signal that aborts at the deadline, so work that can
 * still back out (the file ledger before it writes) does.
 *
 * Any error `work` throws that is not already an MppError becomes `store-failure`,
 * with the driver's error as `cause`; `what` names the operation, never a key or value.
 */
export async function withDeadline<T>(what: string, ms: number, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController()
  let timer: ReturnType<typeof setTimeout> | undefined
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const error = new MppError('store-failure', `spend ledger ${what} did not finish within ${ms} ms`)
      controller.abort(error)
      reject(error)
    }, ms)
  })
  const running = (async () => work(controller.signal))()
  running.catch(() => {}) // a late failure after the deadline is not unhandled
  try {
    return await Promise.race([running, expired])
  } catch (error) {
    if (error instanceof MppError) throw error
    throw new MppError('store-failure', `spend ledger ${what} failed`, { cause: error })
  } finally {
    clearTimeout(timer)
  }
}
