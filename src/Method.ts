/**
 * The payment-method driver contract. A method names itself (`method/intent`) and
 * gives a schema for its challenge `request` and for its credential `payload`. Its
 * server half verifies a payload and settles it; its client half turns a challenge
 * into a payload. Everything generic (parsing, binding, expiry, digests, replay,
 * idempotency, Problem Details, receipts, negotiation) is done around it, so a
 * driver cannot get those wrong.
 *
 * Schemas are any Standard Schema (zod 4, valibot, arktype).
 *
 * @example
 * const ledger = Method.server({
 *   name: 'ledger', intent: 'charge', request: RequestSchema, payload: PayloadSchema,
 *   buildRequest: (route) => ({ amount: route.amount, currency: 'usd' }),
 *   async verify({ payload, request }) { ... return { amount: request.amount } },
 *   async settle({ verified }) { ... return { reference: 'tx_1' } },
 * })
 */
import type { Challenge } from './Challenge.js'
import type { Credential } from './Credential.js'
import type { InferOutput, StandardSchemaV1 } from './internal/standardSchema.js'
import type { JsonObject } from './internal/json.js'

export type { StandardSchemaV1 } from './internal/standardSchema.js'

/** What both halves share. */
export type Definition<Request extends JsonObject = JsonObject, Payload extends JsonObject = JsonObject> = {
  /** Method identifier, `1*LOWERALPHA`. */
  readonly name: string
  /** Intent identifier, e.g. `charge`. */
  readonly intent: string
  /** Schema of the decoded challenge `request`. */
  readonly request: StandardSchemaV1<unknown, Request>
  /** Schema of the credential `payload`. */
  readonly payload: StandardSchemaV1<unknown, Payload>
}

/** A route's price and labels, as the seller writes them; each driver turns it into its request. */
export type RouteOptions = {
  /** Amount in the currency's base units (e.g. "1000" = 0.001000 of a 6-decimal token). */
  readonly amount?: string | bigint
  /** Amount in whole units ("0.25"); the driver converts it exactly with its decimals. */
  readonly price?: string
  readonly currency?: string
  readonly description?: string
  readonly externalId?: string
  /** Per-method extra options, keyed by method name. */
  readonly [method: string]: unknown
}

/** Replay guard a driver uses for its own proofs (a transaction hash, a token). */
export type ProofGuard = {
  /**
   * Marks a proof as used by this challenge; false when another challenge used it
   * (in any process sharing the Store). Claims made during `verify` are written
   * together with the payment's record, after `verify` and the authorize hook
   * passed, and released if the payment definitely moves nothing; claims made during
   * `settle` are written at once. `expiresAt` (epoch ms) bounds the claim to how long
   * the proof could be presented again (default: the server's `proofTtl`).
   */
  claim(proof: string, options?: { readonly expiresAt?: number }): Promise<boolean>
}

export type VerifyContext<Request, Payload> = {
  readonly challenge: Challenge
  readonly credential: Credential
  readonly request: Request
  readonly payload: Payload
  /** Server clock, milliseconds since the epoch. */
  readonly now: number
  readonly proofs: ProofGuard
  readonly signal: AbortSignal
}

export type Settlement = {
  /** The receipt `reference` (a transaction hash, a PaymentIntent id). */
  readonly reference: string
  /** Extra receipt members the method defines (e.g. `externalId`). */
  readonly receipt?: Readonly<Record<string, unknown>>
  /** Anything the driver needs later to refund. */
  readonly details?: unknown
}

export type SettleContext<Request, Payload, Verified> = VerifyContext<Request, Payload> & {
  readonly verified: Verified
}

/** What became of a settlement whose outcome was not known when `settle` returned. */
export type LookupResult =
  /** Money moved: this is the settlement `settle` would have returned. */
  | { readonly status: 'settled'; readonly settlement: Settlement }
  /** Nothing moved, and nothing will for this attempt: the payer may be asked again. */
  | { readonly status: 'not-settled'; readonly reason: string }
  /** The rail has not decided yet (a PaymentIntent still `processing`, a transaction not mined). */
  | { readonly status: 'pending' }

export type RefundResult = { readonly status: 'refunded'; readonly reference: string } | { readonly status: 'failed'; readonly reason: string }

/** The server half of a method. */
export type Server<Request extends JsonObject = JsonObject, Payload extends JsonObject = JsonObject, Verified = unknown> =
  Definition<Request, Payload> & {
    /** The request a route charges now. Must be deterministic for the same options. */
    buildRequest(route: RouteOptions): Request | Promise<Request>
    /** Checks the proof. Throw {@link VerificationError} with a reason safe to show the payer. */
    verify(context: VerifyContext<Request, Payload>): Promise<Verified>
    /**
     * Moves the money (or confirms it moved). Called only after `verify` and the server's
     * authorize hook. It may be called again for the same challenge and payload after a
     * crash or an unknown outcome, so it must not move money twice: key the rail's
     * idempotency on the challenge id, or find the earlier attempt first.
     */
    settle(context: SettleContext<Request, Payload, Verified>): Promise<Settlement>
    /**
     * Finds what became of an earlier `settle` for this challenge whose outcome was not
     * known (it threw something other than {@link VerificationError}, or the process
     * died). Optional: without it the server calls `settle` again, which must be idempotent.
     */
    lookup?(context: SettleContext<Request, Payload, Verified>): Promise<LookupResult>
    /** Gives a settled payment back, when the rail can; idempotent for the same settlement. */
    refund?(context: { readonly settlement: Settlement; readonly request: Request; readonly challenge: Challenge }): Promise<RefundResult>
  }

export type PayContext<Request> = {
  readonly challenge: Challenge
  readonly request: Request
  readonly signal: AbortSignal
}

export type Payment<Payload> = {
  readonly payload: Payload
  /** Payer identifier for the credential (a DID where the method defines one). */
  readonly source?: string
}

/** The client half of a method. */
export type Client<Request extends JsonObject = JsonObject, Payload extends JsonObject = JsonObject> = Definition<
  Request,
  Payload
> & {
  /** What the payer is charged, in base units and currency, for policy checks. */
  amountOf(request: Request): {
    readonly amount: bigint
    readonly currency: string
    readonly recipient?: string
    readonly decimals?: number
    /** A name for people ("pathUSD") when `currency` is an address. */
    readonly symbol?: string
  }
  /**
   * Whether this client can pay a request at all (its chain, its currency). Offers it
   * cannot pay are skipped during selection, so another challenge or driver is used.
   */
  canPay?(request: Request): boolean
  /** Creates the payment for a challenge. Must not be called for a challenge policy denied. */
  pay(context: PayContext<Request>): Promise<Payment<Payload>>
}

/**
 * Thrown by a driver when a proof does not hold. Its `reason` is shown to the payer
 * in Problem Details, so it must name the failed check, never a secret.
 */
export class VerificationError extends Error {
  override readonly name = 'VerificationError'
  readonly code: 'verification-failed' | 'payment-insufficient' | 'payment-expired'
  constructor(
    readonly reason: string,
    options: { code?: 'verification-failed' | 'payment-insufficient' | 'payment-expired'; cause?: unknown } = {},
  ) {
    super(reason, options.cause === undefined ? undefined : { cause: options.cause })
    this.code = options.code ?? 'verification-failed'
  }
}

/**
 * Thrown by a driver's `settle` when money may have moved but the driver cannot tell
 * (a timeout after broadcast, a rail 5xx, a PaymentIntent still `processing`). The
 * server answers with the documented outcome-unknown problem instead of a 402, keeps
 * the challenge used, and never tells the payer that nothing moved. Any error other
 * than {@link VerificationError} thrown by `settle` is treated the same way: only a
 * `VerificationError` from `settle` means "nothing moved".
 */
export class OutcomeUnknownError extends Error {
  override readonly name = 'OutcomeUnknownError'
  readonly code = 'payment-outcome-unknown'
  constructor(
    /** Safe to show the payer: names what is pending, never a secret. */
    readonly reason: string,
    options: { cause?: unknown } = {},
  ) {
    super(reason, options.cause === undefined ? undefined : { cause: options.cause })
  }
}

/** Identity helper that checks and types a server driver. */
export function server<Request extends JsonObject, Payload extends JsonObject, Verified>(
  driver: Server<Request, Payload, Verified>,
): Server<Request, Payload, Verified> {
  return driver
}

/** Identity helper that checks and types a client driver. */
export function client<Request extends JsonObject, Payload extends JsonObject>(
  driver: Client<Request, Payload>,
): Client<Request, Payload> {
  return driver
}

/** `method/intent`, the key a driver is looked up by. */
export function key(driver: { readonly name: string; readonly intent: string }): string {
  return `${driver.name}/${driver.intent}`
}

export type { InferOutput }
