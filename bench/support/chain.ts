/**
 * The local Tempo node for bench/tempo.bench.ts: a client, funding of fresh payers
 * (anvil mines only the first expiring nonce per sender, and mppx's client always uses
 * one, so every payment comes from a new account), and a bare pre-signed transfer.
 */
import { createClient, http, publicActions, type Address, type Chain, type Client, type Hex, type LocalAccount, type Transport } from 'viem'
import { generatePrivateKey, privateKeyToAccount, type PrivateKeyAccount } from 'viem/accounts'
import { readContract, sendRawTransactionSync } from 'viem/actions'
import { Abis, Actions, Transaction } from 'viem/tempo'
import { DEV_KEYS, startTempoNode, type TempoNode } from '../../scripts/tempoNode.js'
import * as Effects from '../../src/methods/tempo/effects.js'
import { tempoChain, TOKENS } from '../../src/methods/tempo/index.js'

export { DEV_KEYS, TOKENS }

export type BenchChain = {
  readonly node: TempoNode
  readonly chain: Chain
  readonly client: Client<Transport, Chain>
  /** `count` new accounts, each holding `amount` pathUSD and nothing else. */
  fundPayers(count: number, amount: bigint): Promise<PrivateKeyAccount[]>
  /** A signed 0x76 transaction: one transferWithMemo of pathUSD, fees in pathUSD, protocol nonce 0, explicit gas. */
  signTransfer(payer: LocalAccount, to: Address, amount: bigint, validBefore: number): Promise<Hex>
  /** pathUSD balance of `owner`, in base units. */
  balance(owner: Address): Promise<bigint>
  /** Broadcasts with eth_sendRawTransactionSync (viem's action, as both SDK servers use) and returns the receipt. */
  broadcast(hex: Hex): Promise<Awaited<ReturnType<typeof sendRawTransactionSync>>>
  stop(): Promise<void>
}

/** 80,000 + 40,000 per call: mppkit's client default, and above what one fresh transferWithMemo costs (gas is set by hand: anvil's estimate is wrong for `calls`). */
export const GAS_ONE_CALL = 120_000n

export async function startBenchChain(): Promise<BenchChain> {
  const node = await startTempoNode()
  const chain = tempoChain(node.url)
  const client = createClient({ chain, transport: http(node.url) }).extend(publicActions)
  const funder = createClient({ account: privateKeyToAccount(DEV_KEYS[0]), chain, transport: http(node.url) })
  const block = await client.getBlock()
  const maxFeePerGas = (block.baseFeePerGas ?? 10_000_000_000n) * 2n
  return {
    node,
    chain,
    client,
    async fundPayers(count, amount) {
      const payers: PrivateKeyAccount[] = []
      for (let i = 0; i < count; i++) {
        const account = privateKeyToAccount(generatePrivateKey())
        const { receipt } = await Actions.token.transferSync(funder, { token: TOKENS.pathUSD, to: account.address, amount, feeToken: TOKENS.pathUSD, gas: 150_000n })
        if (receipt.status !== 'success') throw new Error('funding a payer failed')
        payers.push(account)
      }
      return payers
    },
    async signTransfer(payer, to, amount, validBefore) {
      const memo = `0x${Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('hex')}` as Hex
      const tx = {
        type: 'tempo',
        chainId: chain.id,
        calls: [{ to: TOKENS.pathUSD, data: Effects.encode({ to, amount, memo }) }],
        gas: GAS_ONE_CALL,
        maxFeePerGas,
        maxPriorityFeePerGas: 1_000_000_000n,
        nonce: 0,
        nonceKey: 0n,
        feeToken: TOKENS.pathUSD,
        validBefore,
      }
      return (await payer.signTransaction(tx as unknown as Parameters<LocalAccount['signTransaction']>[0], {
        serializer: Transaction.serialize as unknown as NonNullable<Parameters<LocalAccount['signTransaction']>[1]>['serializer'],
      })) as Hex
    },
    balance: (owner) => readContract(client, { address: TOKENS.pathUSD, abi: Abis.tip20, functionName: 'balanceOf', args: [owner] }),
    broadcast: (hex) => sendRawTransactionSync(client, { serializedTransaction: hex as Transaction.TransactionSerializedTempo }),
    stop: () => node.stop(),
  }
}
