/**
 * Session vouchers (draft-tempo-session-00 §"Voucher Signing Format", sessionProtocol v1):
 * EIP-712 over `Voucher(bytes32 channelId,uint128 cumulativeAmount)` in the domain
 * `{ name: "Tempo Stream Channel", version: "1", chainId, verifyingContract: escrow }`.
 * The amount is cumulative (a running total), never a delta.
 *
 * @example
 * const domain = { chainId: 31337, escrow }
 * const signature = await Voucher.sign(payer, domain, { channelId, cumulativeAmount: 250_000n })
 * await Voucher.recover(domain, { channelId, cumulativeAmount: 250_000n }, signature) // payer.address
 */
import {
  compactSignatureToSignature,
  hashTypedData,
  isHex,
  recoverAddress,
  size,
  type Address,
  type Hex,
  type LocalAccount,
  type Signature,
} from 'viem'
import { VoucherError } from './errors.js'

export const DOMAIN_NAME = 'Tempo Stream Channel'
export const DOMAIN_VERSION = '1'
/** The largest cumulative amount a v1 voucher can carry (uint128). */
export const MAX_AMOUNT = 2n ** 128n - 1n
/** secp256k1 order / 2; a signature with a larger s is refused (draft §"Signature Malleability"). */
export const HALF_ORDER = 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0n

/** The draft's Voucher type, field order included. */
export const types = {
  Voucher: [
    { name: 'channelId', type: 'bytes32' },
    { name: 'cumulativeAmount', type: 'uint128' },
  ],
} as const

/** Where a voucher is valid: one chain, one escrow deployment. */
export type Domain = { readonly chainId: number; readonly escrow: Address }

export type Voucher = { readonly channelId: Hex; readonly cumulativeAmount: bigint }

/** The full EIP-712 typed data for `voucher` (what wallets sign). */
export function typedData(domain: Domain, voucher: Voucher) {
  checkAmount(voucher.cumulativeAmount)
  return {
    domain: { name: DOMAIN_NAME, version: DOMAIN_VERSION, chainId: domain.chainId, verifyingContract: domain.escrow },
    types,
    primaryType: 'Voucher',
    message: { channelId: voucher.channelId, cumulativeAmount: voucher.cumulativeAmount },
  } as const
}

/** The EIP-712 signing hash; equals the escrow's `getVoucherDigest(channelId, cumulativeAmount)`. */
export function digest(domain: Domain, voucher: Voucher): Hex {
  return hashTypedData(typedData(domain, voucher))
}

/** Signs `voucher` with `account`: a 65-byte r‖s‖v signature (v = 27 or 28, low s). */
export async function sign(account: LocalAccount, domain: Domain, voucher: Voucher): Promise<Hex> {
  return account.signTypedData(typedData(domain, voucher))
}

/**
 * Parses a 65-byte (r‖s‖v, v ∈ {27, 28}) or 64-byte EIP-2098 compact signature and
 * refuses a high-s one, exactly as the escrow does.
 *
 * @throws {VoucherError} `signature-malformed` or `signature-high-s`
 */
export function parseSignature(signature: Hex): Signature {
  if (!isHex(signature, { strict: true })) throw new VoucherError('signature-malformed', 'signature is not hex')
  const length = size(signature)
  let parsed: Signature
  if (length === 65) {
    const v = Number.parseInt(signature.slice(130, 132), 16)
    if (v !== 27 && v !== 28) throw new VoucherError('signature-malformed', 'signature v must be 27 or 28')
    parsed = { r: `0x${signature.slice(2, 66)}`, s: `0x${signature.slice(66, 130)}`, yParity: v - 27 }
  } else if (length === 64) {
    parsed = compactSignatureToSignature({ r: `0x${signature.slice(2, 66)}`, yParityAndS: `0x${signature.slice(66, 130)}` })
  } else {
    throw new VoucherError('signature-malformed', `signature must be 64 or 65 bytes, got ${length}`)
  }
  if (BigInt(parsed.s) > HALF_ORDER) throw new VoucherError('signature-high-s', 'signature s is above secp256k1 order / 2')
  return parsed
}

/**
 * The address that signed `voucher`.
 *
 * @throws {VoucherError} the amount is out of range, or the signature is malformed, high-s or invalid
 */
export async function recover(domain: Domain, voucher: Voucher, signature: Hex): Promise<Address> {
  const parsed = parseSignature(signature)
  try {
    return await recoverAddress({ hash: digest(domain, voucher), signature: parsed })
  } catch (cause) {
    throw new VoucherError('signature-invalid', 'signature does not recover to an address', { cause })
  }
}

/** The address whose signature the escrow accepts: the authorized signer, else the payer. */
export function expectedSigner(channel: { readonly payer: Address; readonly authorizedSigner: Address }): Address {
  return BigInt(channel.authorizedSigner) === 0n ? channel.payer : channel.authorizedSigner
}

function checkAmount(amount: bigint): void {
  if (amount < 0n || amount > MAX_AMOUNT) throw new VoucherError('amount-out-of-range', 'cumulativeAmount must be within 0 … 2^128 − 1')
}
