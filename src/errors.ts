/**
 * Every error mppkit throws is an {@link MppError} with a stable `code`.
 *
 * Messages describe what was wrong with the input's *shape*; they never quote a
 * credential, a secret or a header value, so they are safe to log.
 */

/** Stable error codes. Adding one is a minor change; renaming one is breaking. */
export type ErrorCode =
  // auth-param grammar (RFC 9110 §11) and header shape
  | 'header-syntax'
  | 'header-too-large'
  | 'header-unsafe'
  | 'challenge-not-found'
  | 'challenge-ambiguous'
  // Payment challenge parameters
  | 'parameter-missing'
  | 'parameter-duplicate'
  | 'method-invalid'
  | 'intent-invalid'
  | 'request-invalid'
  | 'expires-invalid'
  | 'digest-invalid'
  | 'opaque-invalid'
  | 'parameter-invalid'
  // encodings
  | 'base64url-invalid'
  | 'utf8-invalid'
  | 'json-invalid'
  | 'json-not-object'
  | 'jcs-invalid'
  | 'jcs-too-deep'
  // credentials and receipts
  | 'credential-invalid'
  | 'credential-multiple'
  | 'receipt-invalid'
  // negotiation
  | 'accept-payment-invalid'
  // binding and digests
  | 'secret-invalid'
  | 'digest-unsupported'
  | 'body-too-large'
  // drivers, server and client (used by the upper layers)
  | 'method-unsupported'
  | 'verification-failed'
  | 'settlement-failed'
  | 'configuration-invalid'
  | 'store-failure'
  | 'store-timeout'
  | 'store-not-durable'
  | 'policy-denied'
  | 'payment-outcome-unknown'
  | 'challenge-expired'
  | 'payment-failed'

export class MppError extends Error {
  override readonly name = 'MppError'
  readonly code: ErrorCode

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.code = code
  }
}

/** True when `error` is an {@link MppError}, optionally with the given code. */
export function isMppError(error: unknown, code?: ErrorCode): error is MppError {
  return error instanceof MppError && (code === undefined || error.code === code)
}
