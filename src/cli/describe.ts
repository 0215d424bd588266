/**
 * A 402's challenges decoded for people and machines: method and intent, the amount in
 * units, recipient, expiry, description, digest binding, and the raw decoded request.
 * Nothing here pays or verifies; a challenge that cannot be decoded is reported as such.
 */
import * as Amount from '../Amount.js'
import * as Challenge from '../Challenge.js'
import { isMppError } from '../errors.js'
import { unitsOf } from './units.js'

export type DescribedAmount = {
  /** Base units, as in the request. */
  readonly base: string
  readonly currency: string
  readonly decimals?: number
  readonly symbol?: string
  /** "0.25 pathUSD", or "25 usd (base units)" when the decimals are unknown. */
  readonly display: string
}

export type Described = {
  readonly id: string
  readonly realm: string
  readonly method: string
  readonly intent: string
  readonly amount?: DescribedAmount
  readonly recipient?: string
  readonly expires?: { readonly at: string; readonly expired: boolean; readonly inMs: number }
  readonly description?: string
  readonly digest?: string
  /** The decoded `request` object (absent when it does not decode). */
  readonly request?: Record<string, unknown>
  /** Why the challenge is unusable, when it is. */
  readonly problem?: string
}

export type Inspection = {
  readonly url: string
  readonly status: number
  readonly challenges: readonly Described[]
  /** Payment challenges that could not be parsed at all. */
  readonly malformed: readonly string[]
}

export async function inspectResponse(url: string, response: Response, now: number): Promise<Inspection> {
  const header = response.headers.get('www-authenticate')
  const settled = header ? Challenge.parseListSettled(header, { bareDigest: true }) : { challenges: [], errors: [] }
  const challenges = await Promise.all(settled.challenges.map((challenge) => describe(challenge, now)))
  return { url, status: response.status, challenges, malformed: settled.errors.map((error) => error.message) }
}

export async function describe(challenge: Challenge.Challenge, now: number): Promise<Described> {
  const base = {
    id: challenge.id,
    realm: challenge.realm,
    method: challenge.method,
    intent: challenge.intent,
    ...(challenge.description !== undefined && { description: challenge.description }),
    ...(challenge.digest !== undefined && { digest: challenge.digest }),
  }
  let expires: Described['expires']
  try {
    const at = Challenge.expiresAt(challenge)
    if (at !== undefined) expires = { at: new Date(at).toISOString(), expired: now >= at, inMs: at - now }
  } catch (error) {
    return { ...base, problem: reason(error) }
  }
  let request: Record<string, unknown>
  try {
    request = Challenge.decodeRequest(challenge)
  } catch (error) {
    return { ...base, ...(expires && { expires }), problem: reason(error) }
  }
  const amount = await amountIn(challenge.method, request)
  const recipient = typeof request.recipient === 'string' ? request.recipient : undefined
  return { ...base, ...(amount && { amount }), ...(recipient !== undefined && { recipient }), ...(expires && { expires }), request }
}

async function amountIn(method: string, request: Record<string, unknown>): Promise<DescribedAmount | undefined> {
  const { amount, currency } = request
  if (typeof amount !== 'string' || !/^(0|[1-9][0-9]*)$/.test(amount) || typeof currency !== 'string') return undefined
  const { decimals, symbol } = await unitsOf(method, request)
  const display =
    decimals === undefined ? `${amount} ${currency} (base units)` : `${Amount.format(BigInt(amount), decimals)} ${symbol ?? currency}`
  return { base: amount, currency, ...(decimals !== undefined && { decimals }), ...(symbol !== undefined && { symbol }), display }
}

function reason(error: unknown): string {
  return isMppError(error) ? error.message : 'the challenge could not be decoded'
}
