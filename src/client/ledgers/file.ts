/**
 * A {@link SpendLedger} in one file, for a single user's agents on one machine: it
 * survives restarts, and every process pointing at the same path shares its budgets.
 * Each change happens under a lock file (see `fileLock.ts`) and lands by an atomic
 * rename of a 0600 file (see `fileState.ts`). Node only (`node:fs`).
 *
 * @example
 * import { createPaymentFetch } from 'mppkit/client'
 * import { fileSpendLedger } from 'mppkit/client/file'
 * const fetch = createPaymentFetch({ methods, policy, spendLedger: fileSpendLedger(`${homedir()}/.mppkit/spend.json`) })
 */
import { mkdir } from 'node:fs/promises'
import { dirname, resolve } from 'node:path'
import type { SpendLedger } from '../SpendLedger.js'
import { checkAmount, checkKey, checkReserve } from './arguments.js'
import { deadlineOf, withDeadline, type LedgerOptions } from './deadline.js'
import { withFileLock, type FileLockOptions } from './fileLock.js'
import { readState, writeState, type State } from './fileState.js'
import { serially } from './serial.js'

export type FileSpendLedgerOptions = LedgerOptions & FileLockOptions

export function fileSpendLedger(path: string, options: FileSpendLedgerOptions = {}): SpendLedger {
  const file = resolve(path)
  const now = options.now ?? Date.now
  const deadlineMs = deadlineOf(options)
  let directory: Promise<unknown> | undefined

  const live = (state: State, key: string) => {
    const window = state.get(key)
    return window && window.expiresAt > now() ? window : undefined
  }

  /** Reads, lets `change` edit, writes back when it says so; all under the lock. */
  const update = <T>(what: string, change: (state: State) => { result: T; write: boolean }) =>
    withDeadline(what, deadlineMs, async (signal) => {
      await (directory ??= mkdir(dirname(file), { recursive: true, mode: 0o700 }).catch((error) => {
        directory = undefined
        throw error
      }))
      return serially(file, () =>
        withFileLock(
          file,
          signal,
          async () => {
            const state = await readState(file)
            const { result, write } = change(state)
            if (write) await writeState(file, state, now(), signal)
            return result
          },
          options,
        ),
      )
    })

  return {
    async reserve(key, amount, limit, expiresAt) {
      checkKey(key)
      checkReserve(amount, limit, expiresAt)
      return update('reserve', (state) => {
        const window = live(state, key) ?? { spent: 0n, expiresAt }
        if (window.spent + amount > limit) return { result: false, write: false }
        state.set(key, { spent: window.spent + amount, expiresAt: window.expiresAt })
        return { result: true, write: true }
      })
    },
    async release(key, amount) {
      checkKey(key)
      checkAmount(amount)
      await update('release', (state) => {
        const window = live(state, key)
        if (!window) return { result: undefined, write: false }
        state.set(key, { spent: window.spent > amount ? window.spent - amount : 0n, expiresAt: window.expiresAt })
        return { result: undefined, write: true }
      })
    },
    async spent(key) {
      checkKey(key)
      // The file is replaced by rename, so a read without the lock sees a whole state.
      return withDeadline('read', deadlineMs, async () => live(await readState(file), key)?.spent ?? 0n)
    },
  }
}
