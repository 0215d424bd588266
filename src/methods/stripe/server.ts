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
import { type Connect, type ConnectRefund, connectParams, validateConnect } from './connect.js'
import { checkChargeable, decimalsOf, type CurrencyLimits } from './currencies.js'
import { lookupPaymentIntent } from './lookup.js'
import { refundResult } from './refund.js'
import { ChargePayload, ChargeRequest, INTENT, METHOD } from './schema.js'
import { errorCode, stripeFailure } from './stripeErrors.js'

/** The Stripe API version that has Shared Payment Tokens (a preview as of this writing). */
export const DEFAULT_API_VERSION = '2026-07-29.preview'

export type { Connect } from './connect.js'

export type ChargeServerOptions = {
  /** A `stripe` SDK client (paymentIntents create/retrieve/search/cancel, refunds.create; rawRequest for lookup). */
  client: Pick<Stripe, 'paymentIntents' | 'refunds'> & Partial<Pick<Stripe, 'rawRequest'>>
  networkId: string
  /** The payment method types the challenge advertises; the PaymentIntent allows exactly these. */
  paymentMethodTypes: readonly string[]
  /** Default currency of routes that name none (lowercase ISO 4217, default usd). */
  currency?: string
  /** Per-currency minimum and maximum overrides, and the settlement currency (see currencies.ts). */
  currencies?: CurrencyLimits
  /** Metadata put in every challenge and PaymentIntent. */
  metadata?: Readonly<Record<string, string>>
  connect?: Connect
  /** Stripe-Version for SPT requests. */
  apiVersion?: string
}

type Verified = { spt: string; externalId?: string }
/** What a refund needs, fixed when the charge is made. */
export type Details = { paymentIntent: string } & ConnectRefund

export function chargeServer(options: ChargeServerOptions): Method.Server<ChargeRequest, ChargePayload, Verified> {
  const apiVersion = options.apiVersion ?? DEFAULT_API_VERSION
  const connect = validateConnect(options.connect)
  if (options.paymentMethodTypes.length === 0) throw new MppError('configuration-invalid', 'paymentMethodTypes must list at least one type')

  /** The one PaymentIntent a challenge may create: same parameters and key every time (settle is idempotent). */
  function paymentIntentFor(request: ChargeRequest, challengeId: string, spt: string) {
    const amount = BigInt(request.amount)
    const { params: connectFields, stripeAccount, refund } = connectParams(connect, amount, challengeId)
    const params = {
      amount: Number(amount),
      currency: request.currency,
      confirm: true,
      // Where Stripe's 2026-04-22 changelog and the beta SDK types put the token.
      payment_method_data: { shared_payment_granted_token: spt },
      // The advertised types are the ones this PaymentIntent allows (exclusive with automatic_payment_methods).
      allowed_payment_method_types: [...request.methodDetails.paymentMethodTypes],
      metadata: { ...request.methodDetails.metadata, challenge_id: challengeId },
      ...connectFields,
    } as unknown as Stripe.PaymentIntentCreateParams
    const requestOptions: Stripe.RequestOptions = {
      idempotencyKey: `${challengeId}_${spt}`,
      apiVersion,
      ...(stripeAccount !== undefined && { stripeAccount }),
    }
    return { amount, params, requestOptions, refund, stripeAccount }
  }

  function settlementOf(intent: Stripe.PaymentIntent, request: ChargeRequest, refund: ConnectRefund, externalId: string | undefined): Method.Settlement {
    if (BigInt(intent.amount) !== BigInt(request.amount) || intent.currency !== request.currency)
      throw new Method.VerificationError('Stripe confirmed a different amount or currency than the challenge')
    const details: Details = { paymentIntent: intent.id, ...refund }
    return { reference: intent.id, ...(externalId !== undefined && { receipt: { externalId } }), details }
  }

  return Method.server({
    name: METHOD,
    intent: INTENT,
    request: ChargeRequest,
    payload: ChargePayload,

    buildRequest(route) {
      const currency = (route.currency ?? options.currency ?? 'usd').toLowerCase()
      if (!/^[a-z]{3}$/.test(currency)) throw new MppError('configuration-invalid', 'Stripe currencies are three-letter ISO 4217 codes')
      const amount = Amount.fromRoute(route, decimalsOf(currency))
      checkChargeable(currency, amount, options.currencies)
      connectParams(connect, amount, 'check') // validates the Connect amounts for this price now, at configuration time
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
      const { params, requestOptions, refund, stripeAccount } = paymentIntentFor(request, challenge.id, verified.spt)
      let intent: Stripe.Response<Stripe.PaymentIntent>
      try {
        // Same key and parameters on every call for this challenge and token: a second settle
        // (after a crash, or the SDK's own retry) gets Stripe's saved answer, the same PaymentIntent.
        intent = await options.client.paymentIntents.create(params, requestOptions)
        // A replay is Stripe's saved answer from the first attempt; the PaymentIntent may have moved on since.
        if (intent.lastResponse?.headers?.['idempotent-replayed'] === 'true' && intent.status !== 'succeeded')
          intent = await options.client.paymentIntents.retrieve(intent.id, {}, { apiVersion, ...(stripeAccount !== undefined && { stripeAccount }) })
      } catch (error) {
        throw stripeFailure(error)
      }
      if (intent.status === 'requires_action') {
        // This flow cannot complete customer action: cancel, so it can never complete later.
        await options.client.paymentIntents
          .cancel(intent.id, { cancellation_reason: 'abandoned' }, { apiVersion, ...(stripeAccount !== undefined && { stripeAccount }) })
          .catch(() => undefined) // a requires_action PaymentIntent has moved no money either way
        throw new Method.VerificationError('the payment requires customer action (such as 3-D Secure), which this flow cannot complete')
      }
      // `processing` may still succeed: the money may move, so this is not "nothing moved".
      if (intent.status === 'processing') throw new Method.OutcomeUnknownError('the card network has not confirmed the payment yet (processing)')
      if (intent.status !== 'succeeded') throw new Method.VerificationError(`the PaymentIntent is ${intent.status}, not succeeded`)
      return settlementOf(intent, request, refund, verified.externalId)
    },

    async lookup({ verified, request, challenge }) {
      const { refund, stripeAccount } = paymentIntentFor(request, challenge.id, verified.spt)
      return lookupPaymentIntent({
        client: options.client,
        apiVersion,
        stripeAccount,
        challengeId: challenge.id,
        spt: verified.spt,
        settle: (intent) => settlementOf(intent, request, refund, verified.externalId),
      })
    },

    async refund({ settlement }) {
      const details = settlement.details as Details
      try {
        const created = await options.client.refunds.create(
          {
            payment_intent: details.paymentIntent,
            // Destination charges: take the transfer back, so the platform does not pay the refund alone;
            // with a fee, give the fee back too (docs.stripe.com/connect/destination-charges#issue-refunds).
            ...(details.reverseTransfer && { reverse_transfer: true }),
            ...(details.refundApplicationFee && { refund_application_fee: true }),
          },
          {
            idempotencyKey: `refund_${details.paymentIntent}`,
            apiVersion,
            ...(details.stripeAccount !== undefined && { stripeAccount: details.stripeAccount }),
          },
        )
        return refundResult(created)
      } catch (error) {
        return { status: 'failed', reason: `Stripe refused the refund (${errorCode(error) ?? 'error'})` }
      }
    },
  })
}
