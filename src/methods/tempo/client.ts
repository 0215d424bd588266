/**
 * The client half of tempo/charge: pays a challenge from a viem account, in pull mode
 * (sign a transaction for the server to broadcast) or push mode (broadcast it here),
 * or with a proof for a zero amount. It refuses challenges for a chain, token or
 * recipient the caller did not expect, and splits that leave the recipient nothing.
 *
 * @example
 * const tempo = chargeClient({ account, client, expect: { currencies: [PATH_USD] } })
 * createPaymentFetch({ methods: [tempo], policy })
 */
import type { Address, Chain, Client, Hex, LocalAccount, Transport } from 'viem'
import { isAddressEqual } from 'viem'
import { prepareTransactionRequest, sendTransactionSync } from 'viem/actions'
import { Transaction } from 'viem/tempo'
import * as Challenge from '../../Challenge.js'
import { MppError } from '../../errors.js'
import * as Method from '../../Method.js'
import * as Effects from './effects.js'
import * as Memo from './memo.js'
import { TOKENS } from './chain.js'
import * as Proof from './proof.js'
import { ChargePayload, ChargeRequest, DECIMALS, DEFAULT_CHAIN_ID, INTENT, METHOD, type Mode } from './schema.js'

export type ChargeClientOptions = {
  /** The paying account (a local signer). */
  account: LocalAccount
  /** A viem client on the Tempo chain the account pays on. */
  client: Client<Transport, Chain>
  /** Preferred mode when a challenge allows both (default pull). */
  mode?: Mode
  /** What this client agrees to pay: anything else is refused before signing. */
  expect?: { currencies?: readonly Address[]; recipients?: readonly Address[] }
  /** Fee token when the payer pays its own fees (default: the charged currency). */
  feeToken?: Address
  /** Identifies this client in the attribution memo (optional). */
  clientId?: string
  /** Gas limit for a transaction with `calls` calls (default 80,000 + 40,000 per call). */
  gas?: (calls: number) => bigint
}

export function chargeClient(options: ChargeClientOptions): Method.Client<ChargeRequest, ChargePayload> {
  const { account, client } = options
  const gasFor = options.gas ?? ((calls: number) => 80_000n + 40_000n * BigInt(calls))
  const expected = (payee: Address) => !options.expect?.recipients || options.expect.recipients.some((r) => isAddressEqual(r, payee))
  const payees = (request: ChargeRequest) => [request.recipient, ...(request.methodDetails?.splits ?? []).map((s) => s.recipient)] as Address[]

  return Method.client({
    name: METHOD,
    intent: INTENT,
    request: ChargeRequest,
    payload: ChargePayload,
    amountOf: (request) => {
      const symbol = symbolOf(request.currency)
      return { amount: BigInt(request.amount), currency: request.currency, recipient: request.recipient, decimals: DECIMALS, ...(symbol && { symbol }) }
    },

    // Offers on another chain or in a token outside `expect` are skipped, not paid.
    canPay: (request) =>
      (request.methodDetails?.chainId ?? DEFAULT_CHAIN_ID) === client.chain.id &&
      (!options.expect?.currencies || options.expect.currencies.some((c) => isAddressEqual(c, request.currency as Address))) &&
      payees(request).every(expected),

    async pay({ challenge, request }) {
      const chainId = request.methodDetails?.chainId ?? DEFAULT_CHAIN_ID
      if (chainId !== client.chain.id) throw refuse(`the challenge is for chain ${chainId}; this client pays on chain ${client.chain.id}`)
      const currency = request.currency as Address
      if (options.expect?.currencies && !options.expect.currencies.some((c) => isAddressEqual(c, currency)))
        throw refuse('the challenge asks for a token this client was not told to pay in')
      // Every payee counts, splits included (draft-tempo-charge-00, Amount Verification).
      if (!payees(request).every(expected)) throw refuse('the challenge pays a recipient this client was not told to pay')
      const source = Proof.did(chainId, account.address)

      if (request.amount === '0') {
        const signature = await account.signTypedData(Proof.typedData(chainId, challenge.id))
        return { payload: { type: 'proof', signature }, source }
      }

      const splits = request.methodDetails?.splits ?? []
      if (splits.reduce((sum, split) => sum + BigInt(split.amount), 0n) >= BigInt(request.amount))
        throw refuse('the splits add up to the whole amount or more')
      // The primary transfer carries the request's memo, or one bound to this challenge.
      const memo = (request.methodDetails?.memo as Hex | undefined) ?? Memo.encode(challenge.realm, challenge.id, options.clientId)
      const effects = Effects.expected(request).map((want, index) => ({
        to: want.to,
        amount: want.amount,
        ...(index === 0 ? { memo } : splits[index - 1]?.memo ? { memo: splits[index - 1]!.memo as Hex } : {}),
      }))
      const calls = effects.map((effect) => ({ to: currency, data: Effects.encode(effect) }))
      const gas = gasFor(calls.length)
      const feePayer = request.methodDetails?.feePayer === true
      const allowed = request.methodDetails?.supportedModes ?? ['pull', 'push']
      const mode: Mode = feePayer ? 'pull' : allowed.includes(options.mode ?? 'pull') ? (options.mode ?? 'pull') : allowed[0]!
      if (!allowed.includes(mode)) throw refuse('the challenge allows no mode this client can use')

      if (mode === 'push') {
        const receipt = await sendTransactionSync(client, {
          account,
          chain: client.chain,
          calls,
          gas,
          feeToken: options.feeToken ?? currency,
        } as Parameters<typeof sendTransactionSync>[1])
        if (receipt.status !== 'success') throw new MppError('payment-failed', 'the payment transaction reverted')
        return { payload: { type: 'hash', hash: receipt.transactionHash }, source }
      }

      const expiresAt = Challenge.expiresAt(challenge)
      const validBefore = Math.floor((expiresAt ?? Date.now() + 60_000) / 1000)
      if (validBefore <= Math.floor(Date.now() / 1000) + 4) throw refuse('the challenge expires too soon to pay on chain')
      // Filled as a self-paid transaction (protocol nonce, fees); a fee-paid one is then
      // signed with the fee payer placeholder and no fee token, for the server to co-sign.
      const prepared = await prepareTransactionRequest(client, {
        account,
        chain: client.chain,
        calls,
        gas,
        validBefore,
        feeToken: options.feeToken ?? currency,
      } as Parameters<typeof prepareTransactionRequest>[1])
      const { feeToken: _feeToken, account: _account, ...fields } = prepared as Record<string, unknown>
      void _account
      const unsigned = feePayer ? { ...fields, feePayerSignature: null } : { ...fields, feeToken: _feeToken }
      const signature = await account.signTransaction(unsigned as Parameters<LocalAccount['signTransaction']>[0], {
        serializer: Transaction.serialize as NonNullable<Parameters<LocalAccount['signTransaction']>[1]>['serializer'],
      })
      return { payload: { type: 'transaction', signature }, source }
    },
  })
}

function symbolOf(currency: string): string | undefined {
  return Object.entries(TOKENS).find(([, address]) => isAddressEqual(address, currency as Address))?.[0]
}

function refuse(reason: string): MppError {
  return new MppError('policy-denied', `tempo: ${reason}`)
}
