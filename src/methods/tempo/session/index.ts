/**
 * tempo/session building blocks (draft-tempo-session-00, sessionProtocol v1): the escrow
 * contract's artifact and typed helpers, EIP-712 vouchers, channel ids, typed errors.
 * The session server and client are built on these.
 */
export * as Escrow from './escrow.js'
export * as Voucher from './voucher.js'
export * as ChannelId from './channelId.js'
export { EscrowRevertedError, VoucherError, type EscrowRevertReason, type VoucherRejectReason } from './errors.js'
