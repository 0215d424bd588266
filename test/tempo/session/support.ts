/**
 * The session escrow on a real Tempo-mode anvil, for one test file: deploys
 * StreamChannelEscrow from dev account 0, funds fresh parties (pathUSD, fees in alphaUSD),
 * opens channels, moves the node's clock, and reads balances. Nothing is mocked.
 */
import { createClient, http, publicActions, type Account, type Address, type Chain, type Client, type Hex, type Transport } from 'viem'
import { generatePrivateKey, privateKeyToAccount, type PrivateKeyAccount } from 'viem/accounts'
import * as Escrow from '../../../src/methods/tempo/session/escrow.js'
import * as Voucher from '../../../src/methods/tempo/session/voucher.js'
import { CHAIN_ID, chainForThisFile, DEV_KEYS, TOKENS, type TempoChain } from '../support/chain.js'

export { CHAIN_ID, TOKENS }
/** The channel token. */
export const TOKEN = TOKENS.pathUSD
/** Fees are paid in another token, so pathUSD balances move by channel amounts only. */
export const FEES = { feeToken: TOKENS.alphaUSD } as const

export type Party = { account: PrivateKeyAccount; client: Client<Transport, Chain, Account> }

export type EscrowBed = {
  chain: TempoChain
  escrow: Address
  domain: Voucher.Domain
  /** A fresh account holding `amount` pathUSD (default 10) and 1 alphaUSD for fees, with a wallet client. */
  party(amount?: bigint): Promise<Party>
  /** A payer opens a channel to `payee` with `deposit` (approve + open in one transaction). */
  open(payer: Party, payee: Address, deposit: bigint, options?: { authorizedSigner?: Address; salt?: Hex }): Promise<Hex>
  balance(owner: Address): Promise<bigint>
  /** Moves the node's clock forward by `seconds` and mines a block. */
  advance(seconds: number): Promise<void>
  rpc(method: string, params: unknown[]): Promise<unknown>
}

export async function escrowForThisFile(): Promise<EscrowBed> {
  const chain = await chainForThisFile()
  const clientFor = (account: Account) => createClient({ account, chain: chain.chain, transport: http(chain.url) }).extend(publicActions)
  const escrow = await Escrow.deploy(clientFor(privateKeyToAccount(DEV_KEYS[0])), FEES)
  const rpc = async (method: string, params: unknown[]) => {
    const response = await fetch(chain.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
    })
    const body = (await response.json()) as { result?: unknown; error?: { message: string } }
    if (body.error) throw new Error(`${method}: ${body.error.message}`)
    return body.result
  }
  let salts = 0
  return {
    chain,
    escrow,
    domain: { chainId: CHAIN_ID, escrow },
    async party(amount = 10_000_000n) {
      const account = privateKeyToAccount(generatePrivateKey())
      if (amount > 0n) await chain.fund(account.address, amount, TOKEN)
      await chain.fund(account.address, 1_000_000n, FEES.feeToken)
      return { account, client: clientFor(account) }
    },
    async open(payer, payee, deposit, options = {}) {
      const salt = options.salt ?? (`0x${(++salts).toString(16).padStart(64, '0')}` as Hex)
      const { channelId } = await Escrow.open(
        payer.client,
        escrow,
        { payee, token: TOKEN, deposit, salt, ...(options.authorizedSigner && { authorizedSigner: options.authorizedSigner }) },
        FEES,
      )
      return channelId
    },
    balance: (owner) => chain.balance(TOKEN, owner),
    async advance(seconds) {
      await rpc('evm_increaseTime', [seconds])
      await rpc('evm_mine', [])
    },
    rpc,
  }
}
