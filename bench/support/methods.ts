/**
 * The payment method the server benchmarks put on both SDKs: `bench/charge`, defined
 * once per library with the same semantics, so the figures measure the SDKs' pipelines
 * and not a driver.
 *
 *   request = { amount: string, currency: string, recipient: string }
 *   payload = { token: string }
 *   verify  = the payload's `token` must be "ok" (one field check, no cryptography)
 *   settle  = add `amount` to the recipient's balance in a Map (in memory)
 *
 * mppkit splits verify and settle (Method.server); mppx has one `verify` that settles
 * and returns the receipt (Method.toServer). Neither keeps single-use state here:
 * mppkit's pipeline claims every challenge id in its Store by itself, mppx core keeps
 * no store at all (its ids are a bare HMAC), which is what each SDK does out of the box.
 */
import { Credential as MppxCredential, Errors as MppxErrors, Method as MppxMethod, z as zm } from 'mppx'
import { z } from 'zod'
import * as Method from '../../src/Method.js'

export const REALM = 'api.example.com'
/** 32+ bytes: valid for both SDKs. */
export const SECRET = 'bench-secret-0123456789-abcdefghijklmnopq'
export const ROUTE = { amount: '1000', currency: 'usd', recipient: 'shop' } as const
export const TOKEN = 'ok'

/** Where both sides settle: balance per recipient, and a count of settlements. */
export type Book = { balances: Map<string, bigint>; settled: number }
export const newBook = (): Book => ({ balances: new Map(), settled: 0 })

function settle(book: Book, recipient: string, amount: string): number {
  book.balances.set(recipient, (book.balances.get(recipient) ?? 0n) + BigInt(amount))
  return ++book.settled
}

// ---------------------------------------------------------------------------------------
// mppkit

const BenchRequest = z.object({ amount: z.string(), currency: z.string(), recipient: z.string() })
type BenchRequest = z.infer<typeof BenchRequest>
const BenchPayload = z.object({ token: z.string() })
type BenchPayload = z.infer<typeof BenchPayload>
const definition = { name: 'bench', intent: 'charge', request: BenchRequest, payload: BenchPayload } as const

export function mppkitBenchServer(book: Book): Method.Server<BenchRequest, BenchPayload, boolean> {
  return Method.server({
    ...definition,
    buildRequest: (route) => ({
      amount: String(route.amount ?? ROUTE.amount),
      currency: route.currency ?? ROUTE.currency,
      recipient: ROUTE.recipient,
    }),
    async verify({ payload }) {
      if (payload.token !== TOKEN) throw new Method.VerificationError('bad token')
      return true
    },
    async settle({ request }) {
      return { reference: `b_${settle(book, request.recipient, request.amount)}` }
    },
  })
}

export function mppkitBenchClient(): Method.Client<BenchRequest, BenchPayload> {
  return Method.client({
    ...definition,
    amountOf: (request) => ({ amount: BigInt(request.amount), currency: request.currency, recipient: request.recipient }),
    async pay() {
      return { payload: { token: TOKEN } }
    },
  })
}

// ---------------------------------------------------------------------------------------
// mppx

export const mppxBenchCharge = MppxMethod.from({
  name: 'bench',
  intent: 'charge',
  schema: {
    request: zm.object({ amount: zm.string(), currency: zm.string(), recipient: zm.string() }),
    credential: { payload: zm.object({ token: zm.string() }) },
  },
})

export function mppxBenchServer(book: Book) {
  return MppxMethod.toServer(mppxBenchCharge, {
    async verify({ credential, request }) {
      if (credential.payload.token !== TOKEN) throw new MppxErrors.VerificationFailedError({ reason: 'bad token' })
      const n = settle(book, request.recipient, request.amount)
      return { method: 'bench', reference: `b_${n}`, status: 'success', timestamp: new Date().toISOString() }
    },
  })
}

export function mppxBenchClient() {
  return MppxMethod.toClient(mppxBenchCharge, {
    async createCredential({ challenge }) {
      return MppxCredential.serialize({ challenge, payload: { token: TOKEN } })
    },
  })
}
