/**
 * tempo/session building blocks (draft-tempo-session-00, sessionProtocol v1): the escrow
 * contract's artifact and typed helpers, EIP-712 vouchers, channel ids, typed errors,
 * voucher verification and per-channel accounting on a Store.
 * The session server and client are built on these.
 */
export * as Escrow from './escrow.js'
export * as Voucher from './voucher.js'
export * as ChannelId from './channelId.js'
export { EscrowRevertedError, VoucherError, type EscrowRevertReason, type VoucherRejectReason } from './errors.js'
export * as ChannelState from './channelState.js'
export * as ChannelReader from './channelReader.js'
export * as Accounting from './accounting.js'
export { verifyVoucher, type Parameters as VerifyVoucherParameters } from './verifyVoucher.js'
export { SessionError, type SessionRejectReason } from './SessionError.js'
