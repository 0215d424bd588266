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
    const params = {
      payment_method: options.paymentMethod,
      usage_limits: { currency: limits.currency, max_amount: Number(limits.amount), expires_at: limits.expiresAt },
    }
    const mint = (extra: object) =>
      options.stripe.rawRequest('POST', '/v1/test_helpers/shared_payment/granted_tokens', { ...params, ...extra }, {
        apiVersion: options.apiVersion ?? DEFAULT_API_VERSION,
      }) as unknown as Promise<{ id?: unknown }>
    let token: { id?: unknown }
    try {
      // The SPT concept page sends seller_details; the helper's API reference does not list it.
      token = await mint({ seller_details: { network_id: limits.networkId } })
    } catch (error) {
      if (!refusedOptional(error, 'seller_details')) throw error
      token = await mint({}) // Stripe does not take it on this version: the token works without it
    }
    if (typeof token.id !== 'string') throw new MppError('payment-failed', 'Stripe did not return a token id')
    return token.id
  }
}

/** Stripe's "Received unknown parameter" for `name` or one of its members. */
function refusedOptional(error: unknown, name: string): boolean {
  const e = error as { code?: unknown; param?: unknown }
  return e?.code === 'parameter_unknown' && typeof e.param === 'string' && (e.param === name || e.param.startsWith(`${name}[`))
}
