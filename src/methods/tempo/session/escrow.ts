/**
 * Typed viem helpers for the session escrow (contracts/StreamChannelEscrow.sol): deploy
 * it, build the calldata of each function (to sign into a Tempo transaction, possibly
 * batched: `approve` + `open` in one), read channels and digests, and send calls with a
 * reverted call turned into an {@link EscrowRevertedError} naming the contract's error.
 *
 * Tempo specifics: every write names its `feeToken` (a fresh account often holds only
 * pathUSD) and a `gas` limit (anvil's estimate ignores what Tempo calls cost).
 *
 * @example
 * const escrow = await Escrow.deploy(deployer, { feeToken: TOKENS.pathUSD })
 * const { channelId } = await Escrow.open(payer, escrow, { payee, token, deposit: 1_000_000n, salt }, { feeToken })
 * await Escrow.write(payee, Escrow.calls.settle(escrow, voucher, signature), { feeToken })
 */
import {
  BaseError,
  decodeErrorResult,
  decodeFunctionData,
  encodeFunctionData,
  isHex,
  parseEventLogs,
  zeroAddress,
  type Account,
  type Address,
  type Chain,
  type Client,
  type Hex,
  type TransactionReceipt,
  type Transport,
} from 'viem'
import { call, deployContract, readContract, sendTransactionSync, waitForTransactionReceipt } from 'viem/actions'
import { abi, bytecode } from './artifact.js'
import { EscrowRevertedError, type EscrowRevertReason } from './errors.js'
import type { Voucher } from './voucher.js'

export { abi, bytecode }

/** One call of a Tempo transaction. */
export type Call = { readonly to: Address; readonly data: Hex }

/** A channel as the escrow stores it; an unknown id reads as all zeros (`payer` = 0x0). */
export type Channel = {
  readonly payer: Address
  readonly payee: Address
  readonly token: Address
  readonly authorizedSigner: Address
  readonly deposit: bigint
  readonly settled: bigint
  readonly closeRequestedAt: bigint
  readonly finalized: boolean
}

export type OpenParameters = {
  readonly payee: Address
  readonly token: Address
  readonly deposit: bigint
  readonly salt: Hex
  /** Defaults to the zero address (the payer signs vouchers). */
  readonly authorizedSigner?: Address
}

export type WriteOptions = {
  /** TIP-20 token the sender pays fees in. */
  readonly feeToken: Address
  /** Gas limit; default 100,000 + 150,000 per call. */
  readonly gas?: bigint
}

type ReadClient = Client<Transport, Chain>
type WriteClient = Client<Transport, Chain, Account>

const erc20Approve = [
  {
    type: 'function',
    name: 'approve',
    stateMutability: 'nonpayable',
    inputs: [
      { name: 'spender', type: 'address' },
      { name: 'amount', type: 'uint256' },
    ],
    outputs: [{ name: '', type: 'bool' }],
  },
] as const

/** Calldata builders, one per state-changing function (plus the token approval `open` needs). */
export const calls = {
  approve: (token: Address, escrow: Address, amount: bigint): Call => ({
    to: token,
    data: encodeFunctionData({ abi: erc20Approve, functionName: 'approve', args: [escrow, amount] }),
  }),
  open: (escrow: Address, p: OpenParameters): Call => ({
    to: escrow,
    data: encodeFunctionData({ abi, functionName: 'open', args: [p.payee, p.token, p.deposit, p.salt, p.authorizedSigner ?? zeroAddress] }),
  }),
  topUp: (escrow: Address, channelId: Hex, additionalDeposit: bigint): Call => ({
    to: escrow,
    data: encodeFunctionData({ abi, functionName: 'topUp', args: [channelId, additionalDeposit] }),
  }),
  settle: (escrow: Address, voucher: Voucher, signature: Hex): Call => ({
    to: escrow,
    data: encodeFunctionData({ abi, functionName: 'settle', args: [voucher.channelId, voucher.cumulativeAmount, signature] }),
  }),
  close: (escrow: Address, voucher: Voucher, signature: Hex): Call => ({
    to: escrow,
    data: encodeFunctionData({ abi, functionName: 'close', args: [voucher.channelId, voucher.cumulativeAmount, signature] }),
  }),
  requestClose: (escrow: Address, channelId: Hex): Call => ({
    to: escrow,
    data: encodeFunctionData({ abi, functionName: 'requestClose', args: [channelId] }),
  }),
  withdraw: (escrow: Address, channelId: Hex): Call => ({
    to: escrow,
    data: encodeFunctionData({ abi, functionName: 'withdraw', args: [channelId] }),
  }),
}

/** The escrow function a call invokes, with typed arguments (for a server checking an `open` transaction). */
export function decodeCall(data: Hex) {
  return decodeFunctionData({ abi, data })
}

/** Deploys the escrow from `client.account`; resolves to its address once mined. */
export async function deploy(client: WriteClient, options: WriteOptions): Promise<Address> {
  const hash = await deployContract(client, {
    abi,
    bytecode,
    account: client.account,
    chain: client.chain,
    gas: options.gas ?? 2_000_000n,
    feeToken: options.feeToken,
  } as Parameters<typeof deployContract>[1])
  const receipt = await waitForTransactionReceipt(client, { hash })
  if (receipt.status !== 'success' || !receipt.contractAddress)
    throw new EscrowRevertedError(undefined, 'escrow deployment reverted', { transactionHash: hash })
  return receipt.contractAddress
}

export async function getChannel(client: ReadClient, escrow: Address, channelId: Hex): Promise<Channel> {
  return readContract(client, { address: escrow, abi, functionName: 'getChannel', args: [channelId] })
}

/** The channel id as the deployed escrow computes it (compare `ChannelId.compute` offline). */
export async function computeChannelId(
  client: ReadClient,
  escrow: Address,
  p: { payer: Address; payee: Address; token: Address; salt: Hex; authorizedSigner: Address },
): Promise<Hex> {
  return readContract(client, { address: escrow, abi, functionName: 'computeChannelId', args: [p.payer, p.payee, p.token, p.salt, p.authorizedSigner] })
}

/** The voucher digest as the deployed escrow computes it (compare `Voucher.digest` offline). */
export async function getVoucherDigest(client: ReadClient, escrow: Address, voucher: Voucher): Promise<Hex> {
  return readContract(client, { address: escrow, abi, functionName: 'getVoucherDigest', args: [voucher.channelId, voucher.cumulativeAmount] })
}

export async function gracePeriod(client: ReadClient, escrow: Address): Promise<bigint> {
  return readContract(client, { address: escrow, abi, functionName: 'CLOSE_GRACE_PERIOD' })
}

/**
 * Runs `call` as `from` against the latest block without sending anything.
 *
 * @throws {EscrowRevertedError} with the contract's error name when it would revert
 */
export async function simulate(client: ReadClient, from: Address, c: Call): Promise<void> {
  try {
    await call(client, { account: from, to: c.to, data: c.data })
  } catch (error) {
    throw reverted(error)
  }
}

/**
 * Sends `calls` as one Tempo transaction from `client.account` and waits for its receipt.
 *
 * @throws {EscrowRevertedError} when it is mined as reverted (`reason` undefined: the
 *   chain does not return revert data for mined transactions; `simulate` first to learn why)
 */
export async function write(client: WriteClient, c: Call | readonly Call[], options: WriteOptions): Promise<TransactionReceipt> {
  const list = Array.isArray(c) ? (c as readonly Call[]) : [c as Call]
  const receipt = (await sendTransactionSync(client, {
    account: client.account,
    chain: client.chain,
    calls: list,
    gas: options.gas ?? 100_000n + 150_000n * BigInt(list.length),
    feeToken: options.feeToken,
  } as Parameters<typeof sendTransactionSync>[1])) as TransactionReceipt
  if (receipt.status !== 'success')
    throw new EscrowRevertedError(undefined, 'escrow transaction reverted', { transactionHash: receipt.transactionHash })
  return receipt
}

/**
 * Approves the deposit and opens the channel in ONE Tempo transaction (both calls or
 * neither); resolves to the channel id the escrow emitted.
 */
export async function open(
  client: WriteClient,
  escrow: Address,
  p: OpenParameters,
  options: WriteOptions,
): Promise<{ channelId: Hex; receipt: TransactionReceipt }> {
  const receipt = await write(client, [calls.approve(p.token, escrow, p.deposit), calls.open(escrow, p)], options)
  const [opened] = parseEventLogs({ abi, logs: receipt.logs, eventName: 'ChannelOpened' })
  if (!opened) throw new EscrowRevertedError(undefined, 'no ChannelOpened event in the open receipt', { transactionHash: receipt.transactionHash })
  return { channelId: opened.args.channelId, receipt }
}

/** The escrow's custom error inside a viem error (an `eth_call` revert), if there is one. */
export function revertReason(error: unknown): EscrowRevertReason | undefined {
  if (!(error instanceof BaseError)) return undefined
  const found = error.walk((e) => typeof (e as { data?: unknown }).data === 'string' && isHex((e as { data: string }).data))
  const data = (found as { data?: Hex } | null)?.data
  if (!data || data.length < 10) return undefined
  try {
    const { errorName } = decodeErrorResult({ abi, data })
    return abi.some((item) => item.type === 'error' && item.name === errorName) ? (errorName as EscrowRevertReason) : undefined
  } catch {
    return undefined
  }
}

function reverted(error: unknown): EscrowRevertedError {
  const reason = revertReason(error)
  return new EscrowRevertedError(reason, reason ? `escrow reverted: ${reason}` : 'escrow call failed', { cause: error })
}
