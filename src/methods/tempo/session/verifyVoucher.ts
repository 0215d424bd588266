/**
 * The server's handling of a `voucher` action (draft-tempo-session-00 §"Voucher
 * Verification"), in the draft's order, stopping at the first failure:
 *
 * 0. the channel id is 32 bytes of hex and the amount within uint128 (`voucher-malformed`, 400);
 * 1. the signature parses, is low-s and recovers (`invalid-signature`);
 * 2. the channel exists on the escrow (`channel-not-found`, 410) and the signer is its
 *    authorizedSigner, or its payer when that is zero (`signer-mismatch`): the signer comes
 *    from the chain, never from the payload;
 * 3. the channel is not finalized (`channel-finalized`, 410) and has no close pending (`close-pending`);
 * 4. in one compare-and-set on the channel's accounting record: the amount is not below the
 *    highest accepted (`amount-not-increasing`; equal is an idempotent retry), rises by at
 *    least `minVoucherDelta` (`delta-too-small`), is within the deposit
 *    (`amount-exceeds-deposit`); then it is stored, before the caller serves anything.
 *
 * A refusal that depends on channel state that can move (not found yet, close pending, a
 * deposit since topped up) is confirmed with a fresh chain read before it is returned.
 *
 * @example
 * const { state, idempotent } = await verifyVoucher({ domain, channels, accounting, minVoucherDelta: 1_000n }, voucher)
 */
import { isAddressEqual, isHex, size, zeroAddress } from 'viem'
import type { Accounting, AcceptResult, SignedVoucher } from './accounting.js'
import type { ChannelReader } from './channelReader.js'
import { VoucherError } from './errors.js'
import type { Channel } from './escrow.js'
import { SessionError } from './SessionError.js'
import * as Voucher from './voucher.js'

export type Parameters = {
  /** The chain and escrow deployment the server's challenges name. */
  readonly domain: Voucher.Domain
  readonly channels: ChannelReader
  readonly accounting: Accounting
  /** Smallest rise over the highest accepted voucher (the challenge's `minVoucherDelta`). Default 0. */
  readonly minVoucherDelta?: bigint
}

/**
 * Verifies `voucher` and stores it as the channel's highest accepted voucher.
 *
 * @throws {SessionError} with the first failed check as `reason`
 */
export async function verifyVoucher(p: Parameters, voucher: SignedVoucher): Promise<AcceptResult> {
  if (!isHex(voucher.channelId, { strict: true }) || size(voucher.channelId) !== 32)
    throw new SessionError('voucher-malformed', 'the channel id must be 32 bytes of hex')
  if (voucher.cumulativeAmount < 0n || voucher.cumulativeAmount > Voucher.MAX_AMOUNT)
    throw new SessionError('voucher-malformed', 'cumulativeAmount must be within 0 … 2^128 − 1')
  const signer = await recoverSigner(p.domain, voucher)
  let channel = await p.channels.read(voucher.channelId)
  if (isAddressEqual(channel.payer, zeroAddress)) channel = await p.channels.read(voucher.channelId, { fresh: true })
  if (isAddressEqual(channel.payer, zeroAddress)) throw new SessionError('channel-not-found', 'no channel with this id on the escrow')
  if (!isAddressEqual(signer, Voucher.expectedSigner(channel)))
    throw new SessionError('signer-mismatch', 'the voucher is not signed by the channel payer or its authorized signer')

  for (let fresh = false; ; fresh = true) {
    if (fresh) channel = await p.channels.read(voucher.channelId, { fresh: true })
    try {
      checkOpen(channel)
      return await p.accounting.accept(voucher, channel, p.minVoucherDelta === undefined ? {} : { minVoucherDelta: p.minVoucherDelta })
    } catch (error) {
      const movable = error instanceof SessionError && (error.reason === 'close-pending' || error.reason === 'amount-exceeds-deposit')
      if (fresh || !movable) throw error
    }
  }
}

async function recoverSigner(domain: Voucher.Domain, voucher: SignedVoucher) {
  try {
    return await Voucher.recover(domain, voucher, voucher.signature)
  } catch (error) {
    if (error instanceof VoucherError) throw new SessionError('invalid-signature', `the voucher signature is invalid (${error.reason})`, { cause: error })
    throw error
  }
}

function checkOpen(channel: Channel): void {
  if (channel.finalized) throw new SessionError('channel-finalized', 'the channel is closed')
  if (channel.closeRequestedAt !== 0n) throw new SessionError('close-pending', 'the payer has requested to close the channel')
}
