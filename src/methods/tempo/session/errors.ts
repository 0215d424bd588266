/**
 * Typed errors of the session escrow layer. Both are {@link MppError}s, so callers that
 * only know the core codes still branch correctly; `reason` says exactly what failed.
 */
import { MppError } from '../../../errors.js'
import type { abi } from './artifact.js'

/** The custom errors the escrow contract reverts with (its ABI names them). */
export type EscrowRevertReason = Extract<(typeof abi)[number], { type: 'error' }>['name']

/** Why a voucher was refused before it ever reached the chain. */
export type VoucherRejectReason =
  /** The cumulative amount is negative or above 2^128 − 1. */
  | 'amount-out-of-range'
  /** Not 64 or 65 bytes, v not 27/28, or not valid hex. */
  | 'signature-malformed'
  /** s above secp256k1 order / 2: the malleable twin of a canonical signature. */
  | 'signature-high-s'
  /** Not a valid signature (recovery failed). */
  | 'signature-invalid'

/** A voucher (or its signature) that the escrow would refuse. Code `verification-failed`. */
export class VoucherError extends MppError {
  readonly reason: VoucherRejectReason

  constructor(reason: VoucherRejectReason, message: string, options?: { cause?: unknown }) {
    super('verification-failed', message, options)
    this.reason = reason
  }
}

/**
 * An escrow call that reverted (`reason` is the contract's custom error name), or whose
 * transaction was mined as reverted without a decodable reason (`reason` undefined;
 * `transactionHash` set). Code `settlement-failed`.
 */
export class EscrowRevertedError extends MppError {
  readonly reason: EscrowRevertReason | undefined
  readonly transactionHash: `0x${string}` | undefined

  constructor(
    reason: EscrowRevertReason | undefined,
    message: string,
    options?: { cause?: unknown; transactionHash?: `0x${string}` | undefined },
  ) {
    super('settlement-failed', message, options)
    this.reason = reason
    this.transactionHash = options?.transactionHash
  }
}
