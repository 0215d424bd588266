/**
 * The server half of stripe/charge: each paid request confirms one PaymentIntent with
 * the payer's Shared Payment Token (draft-stripe-charge-00 §8).
 *
 * @example
 * import Stripe from 'stripe'
 * const stripe = chargeServer({ client: new Stripe(process.env.STRIPE_SECRET_KEY!), networkId: 'profile_…', paymentMethodTypes: ['card'] })
 */
import type Stripe from 'stripe'
import * as Amount from '../../Amount.js'
import { MppError } from '../../errors.js'
import * as Method from '../../Method.js'
import { decimalsOf, isChargeable, minimumOf } from './currencies.js'
import { ChargePayload, ChargeRequest, INTENT, METHOD } from './schema.js'

/** The Stripe API version that has Shared Payment Tokens (a preview as of this writing). */
export const DEFAULT_API_VERSION = '2026-07-29.preview'

/** Connect settlement, from server configuration only: never in a challenge, never from a client. */
export type Connect = {
  readonly stripeAccount?: string
  /** Platform fee in the smallest unit, or a function of the charged amount. */
  readonly applicationFeeAmount?: bigint | ((amount: bigint) => bigint)
  readonly onBehalfOf?: string
  readonly transferData?: { readonly destination: string; readonly amount?: bigint | ((amount: bigint) => bigint) }
  readonly transferGroup?: string
}

export type ChargeServerOptions = {
  /** A `stripe` SDK client (any object with paymentIntents.create and refunds.create). */
  client: Pick<Stripe, 'paymentIntents' | 'refunds'>
  networkId: string
  paymentMethodTypes: readonly string[]
  /** Default currency of routes that name none (lowercase ISO 4217, default usd). */
  currency?: string
  /** Metadata put in every challenge and PaymentIntent. */
  metadata?: Readonly<Record<string, string>>
  connect?: Connect
  /** Stripe-Version for SPT requests. */
  apiVersion?: string
}

type Verified = { spt: string; externalId?: string }
type Details = { paymentIntent: string; stripeAccount?: string }

export function chargeServer(options: ChargeServerOptions): Method.Server<ChargeRequest, ChargePayload, Verified> {
  const apiVersion = options.apiVersion ?? DEFAULT_API_VERSION
  const connect = options.connect ?? {}
  if (options.paymentMethodTypes.length === 0) throw new MppError('configuration-invalid', 'paymentMethodTypes must list at least one type')
  for (const account of [connect.stripeAccount, connect.onBehalfOf, connect.transferData?.destination])
    if (account !== undefined && !/^acct_[A-Za-z0-9]+$/.test(account))
      throw new MppError('configuration-invalid', 'Connect accounts must be Stripe account ids (acct_…)')

  return Method.server({
    name: METHOD,
    intent: INTENT,
    request: ChargeRequest,
    payload: ChargePayload,

    buildRequest(route) {
      const currency = (route.currency ?? options.currency ?? 'usd').toLowerCase()
      if (!/^[a-z]{3}$/.test(currency)) throw new MppError('configuration-invalid', 'Stripe currencies are three-letter ISO 4217 codes')
      const decimals = decimalsOf(currency)
      const amount = Amount.fromRoute(route, decimals)
      if (amount <= 0n) throw new MppError('configuration-invalid', 'Stripe cannot charge a zero amount; give the route a price')
      const minimum = minimumOf(currency)
      if (minimum !== undefined && amount < minimum)
        throw new MppError(
          'configuration-invalid',
          `Stripe's minimum charge in ${currency.toUpperCase()} is ${Amount.format(minimum, decimals)}, and this route charges ` +
            `${Amount.format(amount, decimals)}. Charge for a batch of requests at once, or offer this route only through a ` +
            `method without a minimum (such as Tempo stablecoins).`,
        )
      if (!isChargeable(currency, amount))
        throw new MppError('configuration-invalid', `Stripe charges ${currency.toUpperCase()} only in multiples of 10 of its smallest unit`)
      connectParams(connect, amount) // validates the Connect amounts for this price now, at configuration time
      return {
        amount: amount.toString(),
        currency,
        ...(route.description !== undefined && { description: route.description }),
        ...(route.externalId !== undefined && { externalId: route.externalId }),
        methodDetails: {
          networkId: options.networkId,
          paymentMethodTypes: [...options.paymentMethodTypes],
          ...(options.metadata && { metadata: { ...options.metadata } }),
        },
      }
    },

    async verify({ payload, request, proofs }) {
      if (request.externalId !== undefined && payload.externalId !== undefined && payload.externalId !== request.externalId)
        throw new Method.VerificationError('payload externalId differs from the one the challenge asked for')
      // An SPT pays one challenge, ever (draft-stripe-charge-00 §9.1).
      if (!(await proofs.claim(payload.spt))) throw new Method.VerificationError('this Shared Payment Token was already used')
      return { spt: payload.spt, ...(payload.externalId !== undefined && { externalId: payload.externalId }) }
    },

    async settle({ verified, request, challenge }) {
      const amount = BigInt(request.amount)
      const params = {
        amount: Number(amount),
        currency: request.currency,
        shared_payment_granted_token: verified.spt,
        confirm: true,
        automatic_payment_methods: { enabled: true, allow_redirects: 'never' },
        // `mpp_attempt` is new for every settlement: the SDK's own retry resends these
        // exact parameters (Stripe replays, and it is this payment), while any other
        // request reusing the key differs here and gets Stripe's idempotency_error.
        metadata: { ...request.methodDetails.metadata, challenge_id: challenge.id, mpp_attempt: crypto.randomUUID() },
        ...connectParams(connect, amount),
      } as Stripe.PaymentIntentCreateParams
      const requestOptions: Stripe.RequestOptions = {
        idempotencyKey: `${challenge.id}_${verified.spt}`,
        apiVersion,
        ...(connect.stripeAccount !== undefined && { stripeAccount: connect.stripeAccount }),
      }
      let intent: Stripe.Response<Stripe.PaymentIntent>
      try {
        intent = await options.client.paymentIntents.create(params, requestOptions)
      } catch (error) {
        throw stripeFailure(error)
      }
      // An `Idempotent-Replayed` answer here is this very settlement (same attempt id),
      // retried by the SDK after a dropped connection: delivering it delivers once.
      if (intent.status === 'requires_action')
        throw new Method.VerificationError('the payment requires customer action (such as 3-D Secure), which this flow cannot complete')
      // `processing` may still succeed: the money may move, so this is not "nothing moved".
      if (intent.status === 'processing') throw new Method.OutcomeUnknownError('the card network has not confirmed the payment yet (processing)')
      if (intent.status !== 'succeeded') throw new Method.VerificationError(`the PaymentIntent is ${intent.status}, not succeeded`)
      if (BigInt(intent.amount) !== amount || intent.currency !== request.currency)
        throw new Method.VerificationError('Stripe confirmed a different amount or currency than the challenge')
      const details: Details = { paymentIntent: intent.id, ...(connect.stripeAccount !== undefined && { stripeAccount: connect.stripeAccount }) }
      return {
        reference: intent.id,
        ...(verified.externalId !== undefined && { receipt: { externalId: verified.externalId } }),
        details,
      }
    },

    async refund({ settlement }) {
      const details = settlement.details as Details
      try {
        const refund = await options.client.refunds.create(
          { payment_intent: details.paymentIntent },
          {
            idempotencyKey: `refund_${details.paymentIntent}`,
            apiVersion,
            ...(details.stripeAccount !== undefined && { stripeAccount: details.stripeAccount }),
          },
        )
        if (refund.status === 'failed' || refund.status === 'canceled') return { status: 'failed', reason: `refund ${refund.status}` }
        return { status: 'refunded', reference: refund.id }
      } catch (error) {
        return { status: 'failed', reason: `Stripe refused the refund (${errorCode(error) ?? 'error'})` }
      }
    },
  })
}

/** PaymentIntent parameters for Connect, checked against the amount (integers in 0…amount). */
function connectParams(connect: Connect, amount: bigint): Record<string, unknown> {
  const resolve = (value: bigint | ((amount: bigint) => bigint) | undefined, name: string) => {
    if (value === undefined) return undefined
    const resolved = typeof value === 'function' ? value(amount) : value
    if (typeof resolved !== 'bigint' || resolved < 0n || resolved > amount)
      throw new MppError('configuration-invalid', `${name} must be an integer between 0 and the charged amount`)
    return Number(resolved)
  }
  const fee = resolve(connect.applicationFeeAmount, 'applicationFeeAmount')
  const transferAmount = resolve(connect.transferData?.amount, 'transferData.amount')
  return {
    ...(fee !== undefined && { application_fee_amount: fee }),
    ...(connect.onBehalfOf !== undefined && { on_behalf_of: connect.onBehalfOf }),
    ...(connect.transferData && {
      transfer_data: { destination: connect.transferData.destination, ...(transferAmount !== undefined && { amount: transferAmount }) },
    }),
    ...(connect.transferGroup !== undefined && { transfer_group: connect.transferGroup }),
  }
}

/**
 * A payer-safe reason for a Stripe error: its codes, never its message or request
 * details. Card and request errors are definitive (nothing moved); API and connection
 * errors are not: the PaymentIntent may have been created and confirmed.
 */
function stripeFailure(error: unknown): Method.VerificationError | Method.OutcomeUnknownError {
  const e = error as { rawType?: string; code?: string; decline_code?: string; type?: string }
  if (e?.rawType === 'idempotency_error' || e?.type === 'StripeIdempotencyError')
    return new Method.VerificationError('this payment was already processed for another request', { cause: scrubbed(error) })
  if (e?.rawType === 'card_error' || e?.type === 'StripeCardError')
    return new Method.VerificationError(`the card was declined (${e.decline_code ?? e.code ?? 'card_declined'})`, { cause: scrubbed(error) })
  if (e?.rawType === 'invalid_request_error')
    return new Method.VerificationError(`Stripe rejected the payment (${e.code ?? 'invalid_request'})`, { cause: scrubbed(error) })
  // Stripe refused the request itself (bad key, no permission, rate limited): nothing was processed.
  if (e?.rawType === 'authentication_error' || e?.rawType === 'permission_error' || e?.rawType === 'rate_limit_error' ||
      e?.type === 'StripeAuthenticationError' || e?.type === 'StripePermissionError' || e?.type === 'StripeRateLimitError')
    return new Method.VerificationError('Stripe could not process the payment; nothing was charged', { cause: scrubbed(error) })
  return new Method.OutcomeUnknownError('Stripe did not confirm the payment', { cause: scrubbed(error) })
}

/**
 * The cause kept for operators, without the request's idempotency key: ours embeds the
 * payer's token (`<challenge id>_<spt>`), which must not reach a log.
 */
function scrubbed(error: unknown): unknown {
  const e = error as { type?: unknown; rawType?: unknown; code?: unknown; statusCode?: unknown; requestId?: unknown }
  if (e === null || typeof e !== 'object') return undefined
  return { type: e.type, rawType: e.rawType, code: e.code, statusCode: e.statusCode, requestId: e.requestId }
}

function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown })?.code
  return typeof code === 'string' ? code : undefined
}
