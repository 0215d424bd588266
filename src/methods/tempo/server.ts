/**
 * The server half of tempo/charge (draft-tempo-charge-00 §6–§8): pull (the server
 * broadcasts the payer's signed transaction, optionally paying its fees), push (the
 * payer broadcast it; the server checks the receipt), and zero-amount proofs.
 *
 * @example
 * const tempo = chargeServer({ client, currency: PATH_USD, recipient: merchant })
 * createPaymentServer({ realm, secrets, methods: [tempo] }).route({ price: '0.25' }, handler)
 */
import { keccak256, type Address, type Chain, type Client, type Hex, type LocalAccount, type Transport } from 'viem'
import { getTransactionReceipt, sendRawTransactionSync } from 'viem/actions'
import { Transaction } from 'viem/tempo'
import * as Amount from '../../Amount.js'
import * as Challenge from '../../Challenge.js'
import { MppError } from '../../errors.js'
import * as Method from '../../Method.js'
import * as Effects from './effects.js'
import * as Proof from './proof.js'
import { ChargePayload, ChargeRequest, DECIMALS, INTENT, METHOD, type Mode, type Split } from './schema.js'

export type FeePayer = {
  /** The server account that co-signs as fee payer (0x78 domain) and pays gas. */
  readonly account: LocalAccount
  /** USD TIP-20 token fees are paid in (default: the charged currency). */
  readonly feeToken?: Address
  /** Largest gas limit the server will pay for (default 1,000,000). */
  readonly maxGas?: bigint
  /** Largest maxFeePerGas the server will pay (default 100 gwei). */
  readonly maxFeePerGas?: bigint
}

/** Per-route Tempo options: `route.tempo = { splits, memo }`. */
export type RouteOptions = { readonly splits?: readonly Split[]; readonly memo?: Hex }

export type ChargeServerOptions = {
  /** A viem client for the Tempo chain (reads receipts, broadcasts). Its chain id is put in every challenge. */
  client: Client<Transport, Chain>
  /** TIP-20 token charged. */
  currency: Address
  recipient: Address
  /** Modes offered; both by default (pull only when the server pays fees). */
  supportedModes?: readonly Mode[]
  feePayer?: FeePayer
  /**
   * When the primary transfer must carry the challenge-bound memo (the mppx-compatible
   * attribution memo). Default `push`: a broadcast hash is otherwise not tied to any
   * one challenge. `always` also requires it for pull; `never` for neither.
   */
  memoBinding?: 'push' | 'always' | 'never'
  /** Give up waiting for a broadcast after this long (default 20 s); the receipt is looked up once more. */
  broadcastTimeout?: number
}

type Verified =
  | { mode: 'pull'; transaction: Hex; hash: Hex }
  | { mode: 'push'; hash: Hex }
  | { mode: 'proof' }

const DEFAULT_MAX_GAS = 1_000_000n
const DEFAULT_MAX_FEE_PER_GAS = 100_000_000_000n

export function chargeServer(options: ChargeServerOptions): Method.Server<ChargeRequest, ChargePayload, Verified> {
  const chainId = options.client.chain.id
  const binding = options.memoBinding ?? 'push'
  const modes = options.supportedModes ?? (options.feePayer ? ['pull'] : undefined)
  if (options.feePayer && modes?.includes('push'))
    throw new MppError('configuration-invalid', 'push mode cannot be offered when the server pays fees (draft-tempo-charge-00 §5.2)')
  const feeToken = options.feePayer?.feeToken ?? options.currency

  return Method.server({
    name: METHOD,
    intent: INTENT,
    request: ChargeRequest,
    payload: ChargePayload,

    buildRequest(route) {
      const amount = Amount.fromRoute(route, DECIMALS)
      const extra = (route[METHOD] ?? {}) as RouteOptions
      const splits = extra.splits ?? []
      const splitTotal = splits.reduce((sum, split) => sum + BigInt(split.amount), 0n)
      if (splits.length > 0 && splitTotal >= amount)
        throw new MppError('configuration-invalid', 'splits must add up to less than the amount, leaving the recipient a share')
      if (splits.some((split) => BigInt(split.amount) <= 0n)) throw new MppError('configuration-invalid', 'every split must be positive')
      return {
        amount: amount.toString(),
        currency: options.currency,
        recipient: options.recipient,
        ...(route.description !== undefined && { description: route.description }),
        ...(route.externalId !== undefined && { externalId: route.externalId }),
        methodDetails: {
          chainId,
          ...(options.feePayer && { feePayer: true }),
          ...(extra.memo !== undefined && { memo: extra.memo }),
          ...(splits.length > 0 && { splits: splits.map((split) => ({ ...split })) }),
          ...(modes && { supportedModes: [...modes] }),
        },
      }
    },

    async verify({ challenge, credential, payload, request, proofs }) {
      if (request.amount === '0' || payload.type === 'proof') {
        if (request.amount !== '0' || payload.type !== 'proof')
          throw new Method.VerificationError('a proof pays exactly the zero-amount challenges, and those only')
        const source = Proof.parseDid(credential.source)
        if (!source) throw new Method.VerificationError('a proof needs source did:pkh:eip155:<chainId>:<address>')
        if (source.chainId !== chainId) throw new Method.VerificationError('the proof is for another chain')
        const valid = await Proof.verify({ ...source, chainId, challengeId: challenge.id, realm: challenge.realm, signature: payload.signature as Hex })
        if (!valid) throw new Method.VerificationError('the proof is not signed by the source over this challenge')
        return { mode: 'proof' }
      }
      const allowed = request.methodDetails?.supportedModes ?? ['pull', 'push']
      const bindTo = { realm: challenge.realm, challengeId: challenge.id }

      if (payload.type === 'hash') {
        if (!allowed.includes('push') || request.methodDetails?.feePayer)
          throw new Method.VerificationError('this challenge does not accept a transaction hash (push mode)')
        const hash = payload.hash as Hex
        const receipt = await getTransactionReceipt(options.client, { hash }).catch(() => undefined)
        if (!receipt) throw new Method.VerificationError('the transaction was not found on chain')
        if (receipt.status !== 'success') throw new Method.VerificationError('the transaction reverted')
        const wanted = Effects.expected(request, binding === 'never' ? undefined : bindTo)
        if (!Effects.satisfied(wanted, Effects.fromLogs(receipt.logs, request.currency as Address), false))
          throw new Method.VerificationError('the transaction does not pay this challenge (amount, recipient, memo or splits)')
        if (!(await proofs.claim(hash.toLowerCase()))) throw new Method.VerificationError('this transaction already paid another challenge')
        return { mode: 'push', hash }
      }

      // Pull: everything is checked before anything is broadcast.
      if (!allowed.includes('pull')) throw new Method.VerificationError('this challenge does not accept a signed transaction (pull mode)')
      const transaction = payload.signature as Hex
      const tx = await decode(transaction)
      if (tx.chainId !== chainId) throw new Method.VerificationError('the transaction is for another chain')
      const expiresAt = Math.floor((Challenge.expiresAt(challenge) ?? 0) / 1000)
      if (tx.validBefore === undefined || !(tx.validBefore <= expiresAt))
        throw new Method.VerificationError('the transaction must set validBefore no later than the challenge expiry')
      if (request.methodDetails?.feePayer) {
        if (tx.feePayerSignature !== null) throw new Method.VerificationError('a fee-paid challenge needs the fee payer placeholder, not a signature')
        if (tx.feeToken !== undefined) throw new Method.VerificationError('the fee token is the server\u2019s to choose when it pays fees')
        const limits = options.feePayer!
        if ((tx.gas ?? 0n) > (limits.maxGas ?? DEFAULT_MAX_GAS) || (tx.maxFeePerGas ?? 0n) > (limits.maxFeePerGas ?? DEFAULT_MAX_FEE_PER_GAS))
          throw new Method.VerificationError('the transaction asks the fee payer for more gas than it allows')
      } else if (tx.feePayerSignature === null) {
        throw new Method.VerificationError('the transaction asks for a fee payer this challenge does not offer')
      }
      const observed = Effects.fromCalls(tx.calls, request.currency as Address)
      if (typeof observed === 'string') throw new Method.VerificationError(observed)
      const wanted = Effects.expected(request, binding === 'always' ? bindTo : undefined)
      if (!Effects.satisfied(wanted, observed, true))
        throw new Method.VerificationError('the transaction does not pay this challenge (amount, recipient, memo or splits)')
      // Consumed once, before broadcast: re-sent bytes would otherwise read as success.
      if (!(await proofs.claim(keccak256(transaction)))) throw new Method.VerificationError('this transaction was already presented')
      return { mode: 'pull', transaction, hash: keccak256(transaction) }
    },

    async settle({ verified, request, challenge, proofs }) {
      const receipt = request.externalId !== undefined ? { receipt: { externalId: request.externalId } } : {}
      if (verified.mode === 'proof') return { reference: challenge.id, ...receipt }
      if (verified.mode === 'push') return { reference: verified.hash, ...receipt }
      let final = verified.transaction
      if (request.methodDetails?.feePayer) {
        final = await coSign(verified.transaction, options.feePayer!.account, feeToken)
        if (!(await proofs.claim(keccak256(final)))) throw new Method.VerificationError('this transaction was already presented')
      }
      const mined = await broadcast(options.client, final, options.broadcastTimeout ?? 20_000)
      // Broadcast but unconfirmed: it may still be mined, so this is not "nothing moved".
      if (!mined) throw new Method.OutcomeUnknownError('the transaction was broadcast and not yet confirmed')
      if (mined.status !== 'success') throw new Method.VerificationError('the transaction reverted')
      if (!Effects.satisfied(Effects.expected(request), Effects.fromLogs(mined.logs, request.currency as Address), false))
        throw new Method.VerificationError('the mined transaction did not move the expected amounts')
      return { reference: mined.transactionHash, ...receipt }
    },
  })
}

type Decoded = {
  chainId: number
  calls: ReadonlyArray<{ to?: Address | null; data?: Hex; value?: bigint }>
  validBefore?: number
  feeToken?: Address
  feePayerSignature: unknown
  gas?: bigint
  maxFeePerGas?: bigint
}

async function decode(hex: Hex): Promise<Decoded> {
  if (!/^0x7[68]/.test(hex)) throw new Method.VerificationError('the payload is not a Tempo transaction')
  let tx: ReturnType<typeof Transaction.deserialize>
  try {
    tx = Transaction.deserialize(hex as Transaction.TransactionSerializedTempo)
  } catch {
    throw new Method.VerificationError('the transaction cannot be decoded')
  }
  if (!('calls' in tx) || !tx.signature) throw new Method.VerificationError('the transaction is not a signed Tempo transaction')
  return {
    chainId: tx.chainId,
    calls: tx.calls as Decoded['calls'],
    ...(tx.validBefore !== undefined && { validBefore: tx.validBefore }),
    ...(typeof tx.feeToken === 'string' && { feeToken: tx.feeToken as Address }),
    feePayerSignature: tx.feePayerSignature,
    ...(tx.gas !== undefined && { gas: tx.gas }),
    ...(tx.maxFeePerGas !== undefined && { maxFeePerGas: tx.maxFeePerGas }),
  }
}

/**
 * Adds the fee payer's signature (0x78 domain). The envelope's claimed sender is
 * dropped so the sender is recovered from its signature (a 0x78 handoff could name
 * anyone).
 */
async function coSign(hex: Hex, account: LocalAccount, feeToken: Address): Promise<Hex> {
  const { from: _claimed, signatures: _signatures, ...rest } = Transaction.deserialize(hex as Transaction.TransactionSerializedTempo) as Record<string, unknown>
  void _claimed
  void _signatures
  return (await Transaction.serialize({ ...rest, feeToken, feePayer: account } as Parameters<typeof Transaction.serialize>[0])) as Hex
}

/** Broadcasts and waits for the receipt; on a timeout or error, looks the hash up once (it may have been mined). */
async function broadcast(client: Client<Transport, Chain>, hex: Hex, timeoutMs: number) {
  let timer: ReturnType<typeof setTimeout> | undefined
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), timeoutMs)
  })
  try {
    const receipt = await Promise.race([
      sendRawTransactionSync(client, { serializedTransaction: hex as Transaction.TransactionSerializedTempo }).catch(() => undefined),
      timeout,
    ])
    if (receipt) return receipt
  } finally {
    clearTimeout(timer)
  }
  return getTransactionReceipt(client, { hash: keccak256(hex) }).catch(() => undefined)
}

