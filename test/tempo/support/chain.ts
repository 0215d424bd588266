/**
 * A real Tempo-mode anvil for one test file, and what the tests do on it: fund a FRESH
 * payer per payment (anvil mines only the first expiring nonce per sender, and
 * concurrent payments from one account would share a protocol nonce), read TIP-20
 * balances and nonces, sign Tempo transactions offline exactly as a (possibly
 * dishonest) client would, and look receipts up. Nothing here mocks the chain.
 *
 * @example
 * const chain = await startChain()          // in beforeAll
 * const payer = await chain.fundPayer()     // 10 pathUSD, nothing else
 * const before = await chain.state(payer.address)
 * await chain.stop()                        // in afterAll
 */
import {
  createClient,
  encodeFunctionData,
  isAddressEqual,
  parseEventLogs,
  type Log,
  fromRlp,
  http,
  keccak256,
  publicActions,
  toRlp,
  type Address,
  type Chain,
  type Client,
  type Hex,
  type LocalAccount,
  type Transport,
} from 'viem'
import { generatePrivateKey, privateKeyToAccount, type PrivateKeyAccount } from 'viem/accounts'
import { getTransactionReceipt, sendRawTransactionSync } from 'viem/actions'
import { Abis, Actions, Transaction } from 'viem/tempo'
import { afterAll } from 'vitest'
import { DEV_KEYS, startTempoNode, type TempoNode } from '../../../scripts/tempoNode.js'
import { tempoChain, TOKENS } from '../../../src/methods/tempo/index.js'

export { DEV_KEYS, TOKENS }
export const CHAIN_ID = 31337
/** Where every transaction's fee goes (the fee manager). */
export const FEE_SINK = '0xfeEC000000000000000000000000000000000000'

export type Call = { to: Address; data: Hex; value?: bigint }

/** What a payment may change for an account: its four TIP-20 balances and its protocol nonce. */
export type AccountState = { pathUSD: bigint; alphaUSD: bigint; betaUSD: bigint; thetaUSD: bigint; nonce: number }

export type SignOptions = {
  calls: readonly Call[]
  /** Seconds since the epoch; omitted from the envelope when undefined. */
  validBefore?: number | undefined
  /** Self-paid fee token (default pathUSD); `null` for none. Ignored with `placeholder`. */
  feeToken?: Address | null
  /** Sign with fee_payer_signature = 0x00 and no fee token (the spec's sponsored form). */
  placeholder?: boolean
  chainId?: number
  gas?: bigint
  /** Protocol nonce (default: read from the chain). */
  nonce?: number
}

export type TempoChain = {
  readonly node: TempoNode
  readonly url: string
  readonly chain: Chain
  /** Read-only client (the one handed to chargeServer). */
  readonly client: Client<Transport, Chain>
  /** A new account holding `amount` of `token` (default 10 pathUSD) and nothing else. */
  fundPayer(amount?: bigint, token?: Address): Promise<PrivateKeyAccount>
  /** Sends `amount` of `token` from dev account 0 to `to`. */
  fund(to: Address, amount: bigint, token: Address): Promise<void>
  balance(token: Address, owner: Address): Promise<bigint>
  state(owner: Address): Promise<AccountState>
  nonce(owner: Address): Promise<number>
  /** A signed Tempo transaction (0x76), signed offline with explicit nonce and fees. */
  sign(account: LocalAccount, options: SignOptions): Promise<Hex>
  /** True when the node knows the transaction at all (mined or pending). */
  seen(hash: Hex): Promise<boolean>
  /** The receipt of a hash, or undefined when the chain has never seen it mined. */
  receipt(hash: Hex): Promise<Awaited<ReturnType<typeof getTransactionReceipt>> | undefined>
  /** Broadcasts signed bytes and waits for the receipt (reverted receipts are returned, not thrown). */
  broadcast(hex: Hex): Promise<Awaited<ReturnType<typeof sendRawTransactionSync>>>
  stop(): Promise<void>
}

/**
 * The node for the calling test file: started when the file loads, stopped after its
 * tests. One per file, so files running in parallel never share funding nonces.
 */
export async function chainForThisFile(): Promise<TempoChain> {
  const chain = await startChain()
  afterAll(() => chain.stop())
  return chain
}

export async function startChain(): Promise<TempoChain> {
  const node = await startTempoNode()
  const chain = tempoChain(node.url)
  const client = createClient({ chain, transport: http(node.url) }).extend(publicActions)
  // Funding always comes from dev account 0 with a protocol nonce (sequential within a file).
  const funder = createClient({ account: privateKeyToAccount(DEV_KEYS[0]), chain, transport: http(node.url) })
  const block = await client.getBlock()
  const maxFeePerGas = (block.baseFeePerGas ?? 10_000_000_000n) * 3n
  const balance = (token: Address, owner: Address) =>
    client.readContract({ address: token, abi: Abis.tip20, functionName: 'balanceOf', args: [owner] })
  const nonce = (owner: Address) => client.getTransactionCount({ address: owner })
  const fund = async (to: Address, amount: bigint, token: Address) => {
    // gas set by hand: anvil's estimate ignores what the call costs (notes gotcha 1).
    const { receipt } = await Actions.token.transferSync(funder, { token, to, amount, feeToken: TOKENS.pathUSD, gas: 150_000n })
    if (receipt.status !== 'success') throw new Error('funding failed')
  }

  return {
    node,
    url: node.url,
    chain,
    client,
    async fundPayer(amount = 10_000_000n, token = TOKENS.pathUSD) {
      const account = privateKeyToAccount(generatePrivateKey())
      await fund(account.address, amount, token)
      return account
    },
    fund,
    balance,
    nonce,
    async state(owner) {
      const [pathUSD, alphaUSD, betaUSD, thetaUSD, n] = await Promise.all([
        balance(TOKENS.pathUSD, owner),
        balance(TOKENS.alphaUSD, owner),
        balance(TOKENS.betaUSD, owner),
        balance(TOKENS.thetaUSD, owner),
        nonce(owner),
      ])
      return { pathUSD, alphaUSD, betaUSD, thetaUSD, nonce: n }
    },
    async sign(account, options) {
      const feeToken = options.feeToken === undefined ? TOKENS.pathUSD : options.feeToken
      const tx = {
        type: 'tempo',
        chainId: options.chainId ?? CHAIN_ID,
        calls: options.calls,
        gas: options.gas ?? gasFor(options.calls.length),
        maxFeePerGas,
        maxPriorityFeePerGas: 1_000_000_000n,
        nonce: options.nonce ?? (await nonce(account.address)),
        nonceKey: 0n,
        ...(options.validBefore !== undefined && { validBefore: options.validBefore }),
        ...(options.placeholder ? { feePayerSignature: null } : feeToken !== null ? { feeToken } : {}),
      }
      return (await account.signTransaction(tx as unknown as Parameters<LocalAccount['signTransaction']>[0], {
        serializer: Transaction.serialize as unknown as NonNullable<Parameters<LocalAccount['signTransaction']>[1]>['serializer'],
      })) as Hex
    },
    async seen(hash) {
      return client.getTransaction({ hash }).then(
        () => true,
        () => false,
      )
    },
    async receipt(hash) {
      return getTransactionReceipt(client, { hash }).catch(() => undefined)
    },
    async broadcast(hex) {
      return sendRawTransactionSync(client, { serializedTransaction: hex as Transaction.TransactionSerializedTempo })
    },
    stop: () => node.stop(),
  }
}

export function gasFor(calls: number): bigint {
  return 80_000n + 40_000n * BigInt(calls)
}

export function transfer(token: Address, to: Address, amount: bigint, memo?: Hex): Call {
  return {
    to: token,
    data: memo
      ? encodeFunctionData({ abi: Abis.tip20, functionName: 'transferWithMemo', args: [to, amount, memo] })
      : encodeFunctionData({ abi: Abis.tip20, functionName: 'transfer', args: [to, amount] }),
  }
}

export function approve(token: Address, spender: Address, amount: bigint): Call {
  return { to: token, data: encodeFunctionData({ abi: Abis.tip20, functionName: 'approve', args: [spender, amount] }) }
}

/** A random address nobody holds a key for (a fresh recipient). */
export function randomAddress(): Address {
  return privateKeyToAccount(generatePrivateKey()).address
}

/** The hash a signed transaction is mined under. */
export const hashOf = (hex: Hex): Hex => keccak256(hex)

/** The RLP fields of a Tempo envelope (type byte stripped), to hand-craft envelopes viem will not produce. */
export function envelopeFields(hex: Hex): unknown[] {
  return fromRlp(`0x${hex.slice(4)}`, 'hex') as unknown[]
}

/** Re-encodes envelope fields as a 0x76 (or other type byte) envelope. */
export function envelope(fields: unknown[], type: '76' | '78' = '76'): Hex {
  return `0x${type}${toRlp(fields as Parameters<typeof toRlp>[0]).slice(2)}`
}

/** The fee a mined transaction paid: the Transfer to the fee sink (notes gotcha 7), with its token and payer. */
export function feeOf(receipt: { logs: readonly Log[] }): { token: Address; from: Address; amount: bigint } {
  const fees = parseEventLogs({ abi: Abis.tip20, logs: receipt.logs as Log[], eventName: 'Transfer' }).filter((log) =>
    isAddressEqual(log.args.to, FEE_SINK),
  )
  if (fees.length !== 1) throw new Error(`expected one fee transfer, found ${fees.length}`)
  const [fee] = fees
  return { token: fee!.address, from: fee!.args.from, amount: fee!.args.amount }
}

/** The TIP-20 Transfer/TransferWithMemo events of a receipt, for assertions. */
export function transfersOf(receipt: { logs: readonly Log[] }) {
  return parseEventLogs({ abi: Abis.tip20, logs: receipt.logs as Log[], eventName: ['Transfer', 'TransferWithMemo'] }).map((log) => ({
    token: log.address,
    event: log.eventName,
    from: log.args.from,
    to: log.args.to,
    amount: log.args.amount,
    ...('memo' in log.args && { memo: log.args.memo }),
  }))
}
