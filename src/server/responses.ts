/** The HTTP responses the payment pipeline sends, with the headers the core draft requires. */
import * as Challenge from '../Challenge.js'
import * as Problem from '../Problem.js'

const PROBLEM_HEADERS = { 'content-type': Problem.CONTENT_TYPE, 'cache-control': 'no-store' }

/** 402 with fresh challenges and a Problem Details body (`no-store`: a 402 must not be cached). */
export function paymentRequired(challenges: readonly Challenge.Challenge[], code: Problem.Code, detail?: string): Response {
  const problem = Problem.from(code, {
    status: 402,
    ...(detail !== undefined && { detail }),
    ...(challenges[0] && { challengeId: challenges[0].id }),
  })
  return new Response(JSON.stringify(problem), {
    status: 402,
    headers: { ...PROBLEM_HEADERS, 'www-authenticate': Challenge.serializeList(challenges) },
  })
}

/** A problem response without a challenge (400 two credentials, 403 policy, 409 in progress, 413). */
export function problem(status: number, code: Problem.Code | undefined, detail: string, extra: Record<string, unknown> = {}): Response {
  const body = code
    ? Problem.from(code, { status, detail, extensions: extra })
    : { type: 'about:blank', title: STATUS_TITLES[status] ?? 'Error', status, detail, ...extra }
  return new Response(JSON.stringify(body), { status, headers: PROBLEM_HEADERS })
}

/** How long a payer is asked to wait before retrying a payment whose outcome is unknown. */
export const OUTCOME_RETRY_AFTER_SECONDS = 30

/**
 * 504 for a settlement whose outcome is unknown: never a 402 (which tells the payer
 * nothing moved). Carries the challenge id, so the payer can retry the same credential.
 */
export function outcomeUnknown(challengeId: string, detail: string): Response {
  const body = { type: Problem.OUTCOME_UNKNOWN_TYPE, title: 'Payment Outcome Unknown', status: 504, detail, challengeId }
  return new Response(JSON.stringify(body), {
    status: 504,
    headers: { ...PROBLEM_HEADERS, 'retry-after': String(OUTCOME_RETRY_AFTER_SECONDS) },
  })
}

/** 400 for an unsupported method, with the challenges this route does accept. */
export function methodUnsupported(challenges: readonly Challenge.Challenge[], detail: string): Response {
  const response = problem(400, 'method-unsupported', detail)
  if (challenges.length) response.headers.set('www-authenticate', Challenge.serializeList(challenges))
  return response
}

/**
 * A copy of `response` with headers added. Always a copy: responses from `fetch` have
 * immutable headers, and undici may share a `Headers` passed as `init.headers` between
 * responses, so setting in place could put a receipt on a response it doesn't belong to.
 */
export function withHeaders(response: Response, headers: Record<string, string>): Response {
  const copy = new Response(response.body, response)
  for (const [name, value] of Object.entries(headers)) copy.headers.set(name, value)
  return copy
}

/** `Cache-Control` for a response carrying a receipt: it must be `private`. */
export function privateCacheControl(existing: string | null): string {
  if (!existing) return 'private'
  const directives = existing.split(',').map((d) => d.trim()).filter((d) => d && d.toLowerCase() !== 'public')
  if (directives.some((d) => /^(private|no-store)$/i.test(d))) return directives.join(', ')
  return ['private', ...directives].join(', ')
}

const STATUS_TITLES: Record<number, string> = {
  400: 'Bad Request',
  403: 'Forbidden',
  408: 'Request Timeout',
  409: 'Conflict',
  413: 'Content Too Large',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
}
