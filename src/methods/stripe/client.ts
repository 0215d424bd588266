/**
 * The client half of stripe/charge: turn a challenge into a Shared Payment Token
 * limited to exactly that charge (currency, amount, expiry).
 *
 * @example
 * // An agent whose backend mints tokens:
 * chargeClient({ createToken: (limits) => myBackend.mintSpt(limits) })
 * // Test mode, with Stripe's granted-token helper:
 * chargeClient({ stripe: new Stripe('sk_test_…'), paymentMethod: 'pm_card_visa' })
 */
import type Stripe from 'stripe'
import * as Challenge from '../../Challenge.js'
import { MppError } from '../../errors.js'
import * as Method from '../../Method.js'
import { decimalsOf } from './currencies.js'
import { ChargePayload, ChargeRequest, INTENT, METHOD } from './schema.js'
import { DEFAULT_API_VERSION } from './server.js'

/** The limits a token for one challenge must carry. */
export type TokenLimits = {
  readonly amount: bigint
  readonly currency: string
  /** Unix seconds: the challenge expiry (or one hour from now when it has none). */
  readonly expiresAt: number
  readonly networkId: string
  readonly paymentMethodTypes: readonly string[]
  readonly challenge: Challenge.Challenge
}

export type ChargeClientOptions =
  | { createToken: (limits: TokenLimits) => Promise<string>; externalId?: string }
  | {
      /** A test-mode `stripe` client (sk_test_…): tokens come from the granted-token test helper. */
      stripe: Pick<Stripe, 'rawRequest'>
      /** The payment method to share, e.g. `pm_card_visa`. */
      paymentMethod: string
      apiVersion?: string
      externalId?: string
    }

export function chargeClient(options: ChargeClientOptions): Method.Client<ChargeRequest, ChargePayload> {
  const createToken = 'createToken' in options ? options.createToken : testHelperTokens(options)
  return Method.client({
    name: METHOD,
    intent: INTENT,
    request: ChargeRequest,
    payload: ChargePayload,
    amountOf: (request) => ({
      amount: BigInt(request.amount),
      currency: request.currency,
      decimals: decimalsOf(request.currency),
      ...(request.recipient !== undefined && { recipient: request.recipient }),
    }),
    async pay({ challenge, request }) {
      const expires = Challenge.expiresAt(challenge)
      const spt = await createToken({
        amount: BigInt(request.amount),
        currency: request.currency,
        expiresAt: Math.floor((expires ?? Date.now() + 3600_000) / 1000),
        networkId: request.methodDetails.networkId,
        paymentMethodTypes: request.methodDetails.paymentMethodTypes,
        challenge,
      })
      if (!/^spt_[A-Za-z0-9_]+$/.test(spt)) throw new MppError('payment-failed', 'createToken did not return a Shared Payment Token id')
      const externalId = request.externalId ?? options.externalId
      return { payload: { spt, ...(externalId !== undefined && { externalId }) } }
    },
  })
}

function testHelperTokens(options: { stripe: Pick<Stripe, 'rawRequest'>; paymentMethod: string; apiVersion?: string }) {
  return async (limits: TokenLimits): Promise<string> => {
    const token = (await options.stripe.rawRequest(
      'POST',
      '/v1/test_helpers/shared_payment/granted_tokens',
      {
        payment_method: options.paymentMethod,
        usage_limits: { currency: limits.currency, max_amount: Number(limits.amount), expires_at: limits.expiresAt },
        seller_details: { network_id: limits.networkId },
      },
      { apiVersion: options.apiVersion ?? DEFAULT_API_VERSION },
    )) as unknown as { id?: unknown }
    if (typeof token.id !== 'string') throw new MppError('payment-failed', 'Stripe did not return a token id')
    return token.id
  }
}
