/**
 * Stripe errors as payer-safe driver errors: their codes, never their message, request
 * details or idempotency key (ours embeds the payer's token).
 */
import * as Method from '../../Method.js'

type StripeErrorLike = { rawType?: string; code?: string; decline_code?: string; type?: string }

/**
 * Card and request errors are definitive (nothing moved); API and connection errors are
 * not: the PaymentIntent may have been created and confirmed.
 */
export function stripeFailure(error: unknown): Method.VerificationError | Method.OutcomeUnknownError {
  const e = error as StripeErrorLike
  if (e?.rawType === 'idempotency_error' || e?.type === 'StripeIdempotencyError')
    return new Method.VerificationError('this payment was already processed for another request', { cause: scrubbed(error) })
  if (e?.rawType === 'card_error' || e?.type === 'StripeCardError')
    return new Method.VerificationError(`the card was declined (${e.decline_code ?? e.code ?? 'card_declined'})`, { cause: scrubbed(error) })
  // 409 idempotency_key_in_use: another attempt of this very settlement is still running at Stripe.
  if (e?.code === 'idempotency_key_in_use')
    return new Method.OutcomeUnknownError('another attempt of this payment is still in progress at Stripe', { cause: scrubbed(error) })
  if (e?.rawType === 'invalid_request_error')
    return new Method.VerificationError(`Stripe rejected the payment (${e.code ?? 'invalid_request'})`, { cause: scrubbed(error) })
  // Stripe refused the request itself (bad key, no permission, rate limited): nothing was processed.
  if (e?.rawType === 'authentication_error' || e?.rawType === 'permission_error' || e?.rawType === 'rate_limit_error' ||
      e?.type === 'StripeAuthenticationError' || e?.type === 'StripePermissionError' || e?.type === 'StripeRateLimitError')
    return new Method.VerificationError('Stripe could not process the payment; nothing was charged', { cause: scrubbed(error) })
  return new Method.OutcomeUnknownError('Stripe did not confirm the payment', { cause: scrubbed(error) })
}

/** The cause kept for operators: type, code, status and request id only. */
export function scrubbed(error: unknown): unknown {
  const e = error as { type?: unknown; rawType?: unknown; code?: unknown; statusCode?: unknown; requestId?: unknown }
  if (e === null || typeof e !== 'object') return undefined
  return { type: e.type, rawType: e.rawType, code: e.code, statusCode: e.statusCode, requestId: e.requestId }
}

export function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown })?.code
  return typeof code === 'string' ? code : undefined
}
