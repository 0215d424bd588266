/**
 * NOT FOR PRODUCTION. A complete payment method over an in-memory ledger, for tests,
 * examples and demos: accounts with balances, a payer proves control of an account by
 * an HMAC over the challenge id, settlement moves the balance, refunds move it back.
 * It exercises every part of the pipeline without a chain or a card network.
 *
 * @example
 * const ledger = createLedger({ currency: 'usd', decimals: 2 })
 * const alice = ledger.open('alice', 1_000n)
 * const server = createPaymentServer({ ..., methods: [ledger.server({ recipient: 'shop' })] })
 * const fetch = createPaymentFetch({ methods: [ledger.client(alice)] })
 */
import { hmac } from '@noble/hashes/hmac'
import { sha256 } from '@noble/hashes/sha2'
import { z } from 'zod'
import * as Amount from '../Amount.js'
import { MppError } from '../errors.js'
import * as Method from '../Method.js'
import * as Base64url from '../internal/base64url.js'
import { equalBytes } from '../internal/constantTime.js'
import * as Utf8 from '../internal/utf8.js'

export const LedgerRequest = z.object({
  amount: z.string().regex(/^(0|[1-9][0-9]*)$/),
  currency: z.string().min(1),
  recipient: z.string().min(1),
  description: z.string().optional(),
  externalId: z.string().optional(),
})
export type LedgerRequest = z.infer<typeof LedgerRequest>

export const LedgerPayload = z.object({
  account: z.string().min(1),
  /** base64url(HMAC-SHA256(account key, challenge id)). */
  signature: z.string().min(1),
})
export type LedgerPayload = z.infer<typeof LedgerPayload>

export type Account = { readonly id: string; readonly key: Uint8Array }

export type Transfer = { reference: string; challengeId: string; from: string; to: string; amount: bigint; refunded: boolean }

export type Ledger = {
  readonly currency: string
  readonly decimals: number
  /** Opens an account with a balance; returns its credentials for a client. */
  open(id: string, balance?: bigint): Account
  balance(id: string): bigint
  readonly transfers: readonly Transfer[]
  /** The server half; `recipient` is the account that gets paid. */
  server(options: { recipient: string }): Method.Server<LedgerRequest, LedgerPayload, { account: string; amount: bigint }>
  /** The client half, paying from `account`. */
  client(account: Account): Method.Client<LedgerRequest, LedgerPayload>
}

export function createLedger(options: { currency?: string; decimals?: number } = {}): Ledger {
  const currency = options.currency ?? 'usd'
  const decimals = options.decimals ?? 2
  const balances = new Map<string, bigint>()
  const keys = new Map<string, Uint8Array>()
  const transfers: Transfer[] = []

  const definition = { name: 'ledger', intent: 'charge', request: LedgerRequest, payload: LedgerPayload } as const

  const ledger: Ledger = {
    currency,
    decimals,
    transfers,
    open(id, balance = 0n) {
      if (balances.has(id)) throw new MppError('configuration-invalid', `ledger account ${id} exists`)
      const key = crypto.getRandomValues(new Uint8Array(32))
      balances.set(id, balance)
      keys.set(id, key)
      return { id, key }
    },
    balance(id) {
      return balances.get(id) ?? 0n
    },
    server({ recipient }) {
      if (!balances.has(recipient)) ledger.open(recipient)
      return Method.server({
        ...definition,
        buildRequest(route) {
          const amount = Amount.fromRoute(route, decimals)
          return {
            amount: amount.toString(),
            currency,
            recipient,
            ...(route.externalId !== undefined && { externalId: route.externalId }),
          }
        },
        async verify({ challenge, payload, request }) {
          const key = keys.get(payload.account)
          if (!key) throw new Method.VerificationError('unknown ledger account')
          const expected = await sign(key, challenge.id)
          if (!(await equalMac(expected, payload.signature))) throw new Method.VerificationError('signature does not match the challenge')
          const amount = BigInt(request.amount)
          if ((balances.get(payload.account) ?? 0n) < amount)
            throw new Method.VerificationError('insufficient balance', { code: 'payment-insufficient' })
          return { account: payload.account, amount }
        },
        async settle({ challenge, verified, request }) {
          // Idempotent per challenge, as the contract asks: settling again after a
          // crash or an unknown outcome finds the first transfer instead of paying twice.
          const earlier = transfers.find((t) => t.challengeId === challenge.id)
          if (earlier) return settlementOf(earlier, request)
          // Checked again here: JavaScript runs this block without interleaving, so
          // the check and the debit are one atomic step.
          const balance = balances.get(verified.account) ?? 0n
          if (balance < verified.amount) throw new Method.VerificationError('insufficient balance', { code: 'payment-insufficient' })
          balances.set(verified.account, balance - verified.amount)
          balances.set(request.recipient, (balances.get(request.recipient) ?? 0n) + verified.amount)
          const transfer = {
            reference: `ltx_${transfers.length + 1}`,
            challengeId: challenge.id,
            from: verified.account,
            to: request.recipient,
            amount: verified.amount,
            refunded: false,
          }
          transfers.push(transfer)
          return settlementOf(transfer, request)
        },
        // What became of a settle whose outcome the server did not learn: the ledger
        // answers at once, so a payment is either there or definitely not.
        async lookup({ challenge, request }) {
          const transfer = transfers.find((t) => t.challengeId === challenge.id)
          return transfer ? { status: 'settled', settlement: settlementOf(transfer, request) } : { status: 'not-settled', reason: 'no transfer was made for this challenge' }
        },
        async refund({ settlement }) {
          const transfer = transfers.find((t) => t.reference === settlement.reference)
          if (!transfer) return { status: 'failed', reason: 'unknown transfer' }
          if (!transfer.refunded) {
            transfer.refunded = true
            balances.set(transfer.to, (balances.get(transfer.to) ?? 0n) - transfer.amount)
            balances.set(transfer.from, (balances.get(transfer.from) ?? 0n) + transfer.amount)
          }
          return { status: 'refunded', reference: `r${transfer.reference}` }
        },
      })
    },
    client(account) {
      return Method.client({
        ...definition,
        amountOf: (request) => ({ amount: BigInt(request.amount), currency: request.currency, recipient: request.recipient, decimals }),
        canPay: (request) => request.currency === currency,
        async pay({ challenge }) {
          return { payload: { account: account.id, signature: await sign(account.key, challenge.id) }, source: `ledger:${account.id}` }
        },
      })
    },
  }
  return ledger
}

function settlementOf(transfer: Transfer, request: LedgerRequest): Method.Settlement {
  return { reference: transfer.reference, ...(request.externalId !== undefined && { receipt: { externalId: request.externalId } }) }
}

async function sign(key: Uint8Array, challengeId: string): Promise<string> {
  return Base64url.encode(hmac(sha256, key, Utf8.toBytes(challengeId)))
}

async function equalMac(expected: string, presented: string): Promise<boolean> {
  let bytes: Uint8Array
  try {
    bytes = Base64url.decode(presented)
  } catch {
    return false
  }
  return equalBytes(Base64url.decode(expected), bytes)
}
