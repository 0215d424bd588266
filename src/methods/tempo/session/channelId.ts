/**
 * The v1 channel id (draft-tempo-session-00 §"Contract-Backed Channel State"):
 * `keccak256(abi.encode(payer, payee, token, salt, authorizedSigner, escrow, chainId))`,
 * what the escrow's `computeChannelId` returns when deployed at `escrow` on `chainId`.
 *
 * @example
 * const id = ChannelId.compute({ payer, payee, token, salt, authorizedSigner: zeroAddress, escrow, chainId: 31337 })
 */
import { encodeAbiParameters, keccak256, type Address, type Hex } from 'viem'

export type Parameters = {
  readonly payer: Address
  readonly payee: Address
  readonly token: Address
  readonly salt: Hex
  /** The zero address delegates signing to the payer. */
  readonly authorizedSigner: Address
  readonly escrow: Address
  readonly chainId: number | bigint
}

const layout = [
  { type: 'address' },
  { type: 'address' },
  { type: 'address' },
  { type: 'bytes32' },
  { type: 'address' },
  { type: 'address' },
  { type: 'uint256' },
] as const

export function compute(p: Parameters): Hex {
  return keccak256(encodeAbiParameters(layout, [p.payer, p.payee, p.token, p.salt, p.authorizedSigner, p.escrow, BigInt(p.chainId)]))
}
