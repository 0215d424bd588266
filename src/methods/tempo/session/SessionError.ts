/**
 * Why a session server refuses a voucher (draft-tempo-session-00 §"Voucher Verification",
 * §"Rejection and Error Responses"). Each reason names the draft's problem type and the
 * HTTP status the server answers with, so the HTTP layer maps without a table of its own.
 */
import { MppError } from '../../../errors.js'

export type SessionRejectReason =
  /** The channel id is not 32 bytes of hex, or the amount is outside uint128: a malformed payload. */
  | 'voucher-malformed'
  /** Malformed, high-s or unrecoverable signature (the cause is a {@link VoucherError}). */
  | 'invalid-signature'
  /** Recovered signer is neither the on-chain authorizedSigner nor (when that is zero) the payer. */
  | 'signer-mismatch'
  /** No channel with this id on the escrow. */
  | 'channel-not-found'
  /** The channel was closed or withdrawn. */
  | 'channel-finalized'
  /** The payer requested a forced close: service now could not be settled. */
  | 'close-pending'
  /** Below the highest accepted voucher (an equal one is an idempotent retry, not this). */
  | 'amount-not-increasing'
  /** Above the highest accepted voucher by less than `minVoucherDelta`. */
  | 'delta-too-small'
  /** Above the channel's on-chain deposit. */
  | 'amount-exceeds-deposit'

/** 400 for a malformed voucher, 410 for a channel that is gone, 402 (with a fresh challenge) for everything else. */
export const STATUS: Readonly<Record<SessionRejectReason, 400 | 402 | 410>> = {
  'voucher-malformed': 400,
  'invalid-signature': 402,
  'signer-mismatch': 402,
  'channel-not-found': 410,
  'channel-finalized': 410,
  'close-pending': 402,
  'amount-not-increasing': 402,
  'delta-too-small': 402,
  'amount-exceeds-deposit': 402,
}

/**
 * The draft's problem type slug (`https://paymentauth.org/problems/session/<slug>`). The
 * draft has no type for a malformed voucher, a lower voucher or a pending close (undefined
 * here); the HTTP layer answers those with the core problem for their status.
 */
export const PROBLEM: Readonly<Record<SessionRejectReason, string | undefined>> = {
  'voucher-malformed': undefined,
  'invalid-signature': 'invalid-signature',
  'signer-mismatch': 'signer-mismatch',
  'channel-not-found': 'channel-not-found',
  'channel-finalized': 'channel-finalized',
  'close-pending': undefined,
  'amount-not-increasing': undefined,
  'delta-too-small': 'delta-too-small',
  'amount-exceeds-deposit': 'amount-exceeds-deposit',
}

/** A refused voucher. Code `verification-failed`; `reason` is stable, `status` is 400, 402 or 410. */
export class SessionError extends MppError {
  readonly reason: SessionRejectReason
  readonly status: 400 | 402 | 410

  constructor(reason: SessionRejectReason, message: string, options?: { cause?: unknown }) {
    super('verification-failed', message, options)
    this.reason = reason
    this.status = STATUS[reason]
  }
}
