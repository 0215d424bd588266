/**
 * The arguments durable ledgers accept. Amounts and limits are bigints stored as
 * decimal strings; a negative amount would let a "reservation" free budget, so it is
 * refused rather than applied.
 */
import { MppError } from '../../errors.js'

export function checkAmount(amount: bigint): void {
  if (typeof amount !== 'bigint' || amount < 0n) throw new MppError('configuration-invalid', 'a spend ledger amount must be a non-negative bigint')
}

export function checkReserve(amount: bigint, limit: bigint, expiresAt: number): void {
  checkAmount(amount)
  if (typeof limit !== 'bigint') throw new MppError('configuration-invalid', 'a spend ledger limit must be a bigint')
  if (!Number.isSafeInteger(expiresAt)) throw new MppError('configuration-invalid', 'a spend ledger window must end at an integer millisecond time')
}

/** The key as stored: any string, but bounded, so a store never gets an unbounded key. */
export function checkKey(key: string): void {
  if (typeof key !== 'string' || key.length === 0 || key.length > 512)
    throw new MppError('configuration-invalid', 'a spend ledger key must be a string of 1 to 512 characters')
}
