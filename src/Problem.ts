/**
 * RFC 9457 Problem Details for the problem types of draft-httpauth-payment §10.
 *
 * @example
 * const body = Problem.from('invalid-challenge', { detail: 'challenge already used' })
 * new Response(JSON.stringify(body), { status: body.status, headers: { 'content-type': Problem.CONTENT_TYPE } })
 */

export const BASE_URI = 'https://paymentauth.org/problems/'
export const CONTENT_TYPE = 'application/problem+json'

/**
 * mppkit's own problem type for a settlement whose outcome is not known yet (the core
 * draft defines none): the payment may have moved. Sent with status 504, `Retry-After`
 * and the `challengeId`; retrying the same credential is how a payer resolves it.
 */
export const OUTCOME_UNKNOWN_TYPE = 'urn:mppkit:problem:payment-outcome-unknown'

/** The problem types the core draft defines, with their title and HTTP status. */
export const TYPES = {
  'payment-required': { title: 'Payment Required', status: 402 },
  'payment-insufficient': { title: 'Payment Insufficient', status: 402 },
  'payment-expired': { title: 'Payment Expired', status: 402 },
  'verification-failed': { title: 'Verification Failed', status: 402 },
  'method-unsupported': { title: 'Method Unsupported', status: 400 },
  'malformed-credential': { title: 'Malformed Credential', status: 402 },
  'invalid-challenge': { title: 'Invalid Challenge', status: 402 },
} as const satisfies Record<string, { title: string; status: number }>

export type Code = keyof typeof TYPES

export type Problem = {
  readonly type: string
  readonly title: string
  readonly status: number
  readonly detail?: string
  /** The id of the fresh challenge sent with this problem, when there is one. */
  readonly challengeId?: string
  readonly [extension: string]: unknown
}

/** A problem body for a core problem type. `status` may be overridden (e.g. 400 for two credentials). */
export function from(
  code: Code,
  options: { detail?: string; challengeId?: string; status?: number; extensions?: Record<string, unknown> } = {},
): Problem {
  const known = TYPES[code]
  return {
    ...options.extensions,
    type: BASE_URI + code,
    title: known.title,
    status: options.status ?? known.status,
    ...(options.detail !== undefined && { detail: options.detail }),
    ...(options.challengeId !== undefined && { challengeId: options.challengeId }),
  }
}

/** The core problem code of a problem body's `type`, or `undefined` for other types. */
export function codeOf(problem: Pick<Problem, 'type'>): Code | undefined {
  if (!problem.type.startsWith(BASE_URI)) return undefined
  const code = problem.type.slice(BASE_URI.length)
  return Object.hasOwn(TYPES, code) ? (code as Code) : undefined
}
