/**
 * The SpendLedger contract (src/client/SpendLedger.ts), one suite every ledger runs:
 * memory, file, Redis and Postgres. A harness opens ledgers on a namespace of its own
 * (a prefix, a table, a file) and, for durable ledgers, says how a child process opens
 * the same one, for the N processes × M payments proof.
 *
 * Time is injected: every ledger takes `now` for deciding when a window ended, so the
 * suite moves a fake clock instead of sleeping. (Redis and Postgres also drop ended
 * windows by their own clock; their own test files check that part.)
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { SpendLedger } from '../../src/client/SpendLedger.js'
import { spendInChildren, type ChildLedger } from './children.js'

export type LedgerHarness = {
  /** A ledger on this harness's namespace; every call opens another client of the same store. */
  open(options: { now: () => number; deadlineMs?: number }): SpendLedger
  /** How a child process opens this harness's ledger; absent for in-process ledgers. */
  child?: ChildLedger
  cleanup(): Promise<void>
}

const HOUR = 3_600_000
/** 2^53 + 1: the first integer a float cannot hold. */
const BEYOND_FLOAT = 2n ** 53n + 1n

/** Processes and payments per process in the cross-process proof, and the budget in payments. */
const PROCESSES = 4
const PAYMENTS_PER_PROCESS = 25
const BUDGET_IN_PAYMENTS = 37n
/** Starting node processes with tsx on a busy 2-core machine takes seconds; a timeout here is not a finding. */
const SLOW_MS = 120_000

export function describeLedgerContract(name: string, kind: { durable: boolean }, makeHarness: () => Promise<LedgerHarness>): void {
  describe(`SpendLedger contract: ${name}`, () => {
    let harness: LedgerHarness
    let clock: number
    let ledger: SpendLedger
    let windowEnd: number
    const now = () => clock

    beforeEach(async () => {
      harness = await makeHarness()
      // Real time, so stores that also expire by their own clock keep the keys for the test.
      clock = Date.now()
      windowEnd = clock + HOUR
      ledger = harness.open({ now })
    })
    afterEach(async () => {
      await harness?.cleanup()
    })

    describe('reserve', () => {
      it('adds an amount within the limit and reports the total', async () => {
        expect(await ledger.reserve('usd:day', 300n, 1000n, windowEnd)).toBe(true)
        expect(await ledger.reserve('usd:day', 200n, 1000n, windowEnd)).toBe(true)
        expect(await ledger.spent('usd:day')).toBe(500n)
      })

      it('reaches the limit exactly, then refuses even one unit more and leaves the total', async () => {
        expect(await ledger.reserve('k', 600n, 1000n, windowEnd)).toBe(true)
        expect(await ledger.reserve('k', 400n, 1000n, windowEnd)).toBe(true)
        expect(await ledger.reserve('k', 1n, 1000n, windowEnd)).toBe(false)
        expect(await ledger.spent('k')).toBe(1000n)
      })

      it('refuses an amount over the limit on a fresh window and records nothing', async () => {
        expect(await ledger.reserve('k', 1001n, 1000n, windowEnd)).toBe(false)
        expect(await ledger.spent('k')).toBe(0n)
        expect(await ledger.reserve('k', 1000n, 1000n, windowEnd)).toBe(true)
      })

      it('refuses an amount that would pass the limit by one, after earlier reservations', async () => {
        await ledger.reserve('k', 999n, 1000n, windowEnd)
        expect(await ledger.reserve('k', 2n, 1000n, windowEnd)).toBe(false)
        expect(await ledger.spent('k')).toBe(999n)
      })

      it('keeps keys apart', async () => {
        await ledger.reserve('usd:day', 700n, 1000n, windowEnd)
        expect(await ledger.reserve('eur:day', 1000n, 1000n, windowEnd)).toBe(true)
        expect(await ledger.spent('usd:day')).toBe(700n)
        expect(await ledger.spent('eur:day')).toBe(1000n)
      })

      it('accepts a zero amount without changing the total', async () => {
        expect(await ledger.reserve('k', 0n, 1000n, windowEnd)).toBe(true)
        expect(await ledger.spent('k')).toBe(0n)
      })

      it('checks each call against the limit it is given (a lowered limit binds)', async () => {
        await ledger.reserve('k', 500n, 1000n, windowEnd)
        expect(await ledger.reserve('k', 1n, 500n, windowEnd)).toBe(false)
        expect(await ledger.reserve('k', 100n, 600n, windowEnd)).toBe(true)
        expect(await ledger.spent('k')).toBe(600n)
      })
    })

    describe('release', () => {
      it('gives a reservation back', async () => {
        await ledger.reserve('k', 800n, 1000n, windowEnd)
        await ledger.release('k', 300n)
        expect(await ledger.spent('k')).toBe(500n)
        expect(await ledger.reserve('k', 500n, 1000n, windowEnd)).toBe(true)
      })

      it('never goes below zero', async () => {
        await ledger.reserve('k', 100n, 1000n, windowEnd)
        await ledger.release('k', 250n)
        expect(await ledger.spent('k')).toBe(0n)
        expect(await ledger.reserve('k', 1000n, 1000n, windowEnd)).toBe(true)
        expect(await ledger.reserve('k', 1n, 1000n, windowEnd)).toBe(false)
      })

      it('of a key never reserved is a no-op', async () => {
        await ledger.release('never', 5n)
        expect(await ledger.spent('never')).toBe(0n)
        expect(await ledger.reserve('never', 1000n, 1000n, windowEnd)).toBe(true)
      })
    })

    describe('windows', () => {
      it('counts until the window ends, then starts from zero', async () => {
        await ledger.reserve('k', 1000n, 1000n, clock + 1000)
        clock += 999
        expect(await ledger.spent('k')).toBe(1000n)
        expect(await ledger.reserve('k', 1n, 1000n, clock + 1000)).toBe(false)
        clock += 1 // expiresAt is exclusive: at that instant the window has ended
        expect(await ledger.spent('k')).toBe(0n)
        expect(await ledger.reserve('k', 1000n, 1000n, clock + 1000)).toBe(true)
        expect(await ledger.spent('k')).toBe(1000n)
      })

      it('keeps the end a window opened with, whatever later calls pass', async () => {
        const end = clock + 1000
        await ledger.reserve('k', 10n, 1000n, end)
        await ledger.reserve('k', 10n, 1000n, end + HOUR)
        clock = end
        expect(await ledger.spent('k')).toBe(0n)
      })

      it('a new window gets the new end', async () => {
        await ledger.reserve('k', 10n, 1000n, clock + 1000)
        clock += 1000
        await ledger.reserve('k', 20n, 1000n, clock + 5000)
        clock += 4999
        expect(await ledger.spent('k')).toBe(20n)
        clock += 1
        expect(await ledger.spent('k')).toBe(0n)
      })

      it('a release after the window ended does not reach into the next one', async () => {
        await ledger.reserve('k', 600n, 1000n, clock + 1000)
        clock += 1000
        await ledger.release('k', 600n)
        await ledger.reserve('k', 700n, 1000n, clock + 1000)
        await ledger.release('k', 0n)
        expect(await ledger.spent('k')).toBe(700n)
        expect(await ledger.reserve('k', 301n, 1000n, clock + 1000)).toBe(false)
      })
    })

    describe('amounts beyond 2^53', () => {
      it('adds, compares and subtracts exactly', async () => {
        const limit = 2n ** 54n
        expect(await ledger.reserve('big', BEYOND_FLOAT, limit, windowEnd)).toBe(true)
        expect(await ledger.reserve('big', 2n ** 53n - 1n, limit, windowEnd)).toBe(true)
        expect(await ledger.spent('big')).toBe(limit)
        // As doubles 2^54 + 1 rounds to 2^54 (≤ limit), so a float ledger grants it; an exact one refuses.
        expect(await ledger.reserve('big', 1n, limit, windowEnd)).toBe(false)
        await ledger.release('big', 1n)
        // 2^54 − 1 has no double either: it would read back as 2^54.
        expect(await ledger.spent('big')).toBe(2n ** 54n - 1n)
        expect(await ledger.reserve('big', 1n, limit, windowEnd)).toBe(true)
        expect(await ledger.reserve('big', 1n, limit, windowEnd)).toBe(false)
      })

      it('carries and borrows across every digit (18-decimal token amounts)', async () => {
        const nines = 10n ** 30n - 1n
        const limit = 10n ** 40n
        expect(await ledger.reserve('wei', nines, limit, windowEnd)).toBe(true)
        expect(await ledger.reserve('wei', 1n, limit, windowEnd)).toBe(true)
        expect(await ledger.spent('wei')).toBe(10n ** 30n)
        await ledger.release('wei', 1n)
        expect(await ledger.spent('wei')).toBe(nines)
        await ledger.release('wei', nines)
        expect(await ledger.spent('wei')).toBe(0n)
      })

      it('holds a limit of 2^256 − 1 to the unit', async () => {
        const max = 2n ** 256n - 1n
        expect(await ledger.reserve('u256', max - 5n, max, windowEnd)).toBe(true)
        expect(await ledger.reserve('u256', 6n, max, windowEnd)).toBe(false)
        expect(await ledger.reserve('u256', 5n, max, windowEnd)).toBe(true)
        expect(await ledger.spent('u256')).toBe(max)
      })
    })

    // Memory neither outlives its process nor is shared: these cases exist for durable ledgers only.
    if (kind.durable) describe('durable', () => {
      it('a ledger opened later (a restarted agent) sees and is bound by what was reserved', async () => {
        await ledger.reserve('k', 900n, 1000n, windowEnd)
        const restarted = harness.open({ now })
        expect(await restarted.spent('k')).toBe(900n)
        expect(await restarted.reserve('k', 101n, 1000n, windowEnd)).toBe(false)
        expect(await restarted.reserve('k', 100n, 1000n, windowEnd)).toBe(true)
        await restarted.release('k', 400n)
        expect(await ledger.spent('k')).toBe(600n)
      })

      it(`${PROCESSES} processes × ${PAYMENTS_PER_PROCESS} concurrent payments against one budget spend exactly the budget`, async () => {
        const amount = BEYOND_FLOAT
        const limit = BUDGET_IN_PAYMENTS * amount
        const outcome = await spendInChildren(harness.child!, {
          processes: PROCESSES,
          payments: PAYMENTS_PER_PROCESS,
          key: 'shared-budget',
          amount,
          limit,
          expiresAt: windowEnd,
        })
        expect(outcome.errors, 'no call failed').toEqual([])
        expect(outcome.granted.reduce((a, b) => a + b, 0)).toBe(Number(BUDGET_IN_PAYMENTS))
        expect(await ledger.spent('shared-budget')).toBe(limit)
        console.info(`[ledger ${name}] ${PROCESSES}×${PAYMENTS_PER_PROCESS} payments, granted per process ${JSON.stringify(outcome.granted)}, storm ${outcome.stormMs.toFixed(0)} ms`)
      }, SLOW_MS)
    })


    it('concurrent reservations in one process spend exactly the budget', async () => {
      const wide = harness.open({ now, deadlineMs: 30_000 })
      const amount = BEYOND_FLOAT
      const results = await Promise.all(Array.from({ length: 120 }, () => wide.reserve('storm', amount, 37n * amount, windowEnd)))
      expect(results.filter(Boolean)).toHaveLength(37)
      expect(await wide.spent('storm')).toBe(37n * amount)
    }, SLOW_MS)

    it('concurrent reserves and releases keep the total exact', async () => {
      const wide = harness.open({ now, deadlineMs: 30_000 })
      // 60 × (reserve 7, release 3) with room for all: the total is exactly 60 × 4.
      await Promise.all(
        Array.from({ length: 60 }, async () => {
          expect(await wide.reserve('mixed', 7n, 10_000n, windowEnd)).toBe(true)
          await wide.release('mixed', 3n)
        }),
      )
      expect(await wide.spent('mixed')).toBe(240n)
    }, SLOW_MS)
  })
}
