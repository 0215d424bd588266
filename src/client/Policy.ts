/**
 * A paying client's spending policy: what it may pay, to whom, how much, and when a
 * human must say yes. Every rule is checked before a payment is created; a payment
 * nothing allows is never made.
 */
import * as Amount from '../Amount.js'

/** One payable offer, as policy and approval see it. */
export type Offer = {
  readonly origin: string
  readonly realm: string
  readonly method: string
  readonly intent: string
  readonly challengeId: string
  readonly amount: bigint
  readonly currency: string
  readonly decimals?: number
  readonly symbol?: string
  readonly recipient?: string
  readonly description?: string
  /** The amount for people: "0.25 usd" (base units when the method gives no decimals). */
  readonly display: string
}

export type Period = 'hour' | 'day' | 'month'

export type Budget = { readonly currency: string; readonly limit: bigint; readonly period: Period }

/** A list of allowed or denied values; matching is exact, or by predicate. */
export type Matcher = readonly string[] | ((value: string) => boolean)

export type Policy = {
  /** Largest single payment per currency (base units). A currency not listed is not limited here. */
  readonly maxAmount?: Readonly<Record<string, bigint>>
  /** Currencies the client may pay in at all; when set, anything else is refused. */
  readonly currencies?: readonly string[]
  /** Spending limits per currency and calendar period (UTC), enforced atomically. */
  readonly budgets?: readonly Budget[]
  readonly allow?: { origins?: Matcher; realms?: Matcher; recipients?: Matcher; methods?: Matcher }
  readonly deny?: { origins?: Matcher; realms?: Matcher; recipients?: Matcher; methods?: Matcher }
  /** Ask `approve` for payments at or above these amounts per currency (base units). Without it, approval is asked for every payment when `approve` is set. */
  readonly approveAbove?: Readonly<Record<string, bigint>>
  /** Asked before paying when the threshold is reached; resolve false to refuse. */
  readonly approve?: (offer: Offer) => boolean | Promise<boolean>
}

/** The reasons a static rule refuses an offer (empty when it may be paid). */
export function check(policy: Policy, offer: Offer): string[] {
  const reasons: string[] = []
  const limit = policy.maxAmount?.[offer.currency]
  if (limit !== undefined && offer.amount > limit) reasons.push(`amount ${offer.display} exceeds the per-request maximum`)
  if (policy.currencies && !policy.currencies.includes(offer.currency)) reasons.push(`currency ${offer.currency} is not allowed`)
  const fields = {
    origins: offer.origin,
    realms: offer.realm,
    recipients: offer.recipient,
    methods: offer.method,
  } as const
  for (const [list, value] of Object.entries(fields) as Array<[keyof typeof fields, string | undefined]>) {
    const allow = policy.allow?.[list]
    const deny = policy.deny?.[list]
    if (allow && (value === undefined || !matches(allow, value))) reasons.push(`${singular(list)} is not on the allow list`)
    if (deny && value !== undefined && matches(deny, value)) reasons.push(`${singular(list)} is on the deny list`)
  }
  return reasons
}

/** Whether the approval hook must be asked for this offer. */
export function needsApproval(policy: Policy, offer: Offer): boolean {
  if (!policy.approve) return false
  if (!policy.approveAbove) return true
  const threshold = policy.approveAbove[offer.currency]
  return threshold === undefined || offer.amount >= threshold
}

/** The budget window containing `now`: its key suffix and when it ends. */
export function window(period: Period, now: number): { id: string; endsAt: number } {
  const date = new Date(now)
  const y = date.getUTCFullYear()
  const m = date.getUTCMonth()
  const d = date.getUTCDate()
  const h = date.getUTCHours()
  switch (period) {
    case 'hour':
      return { id: `${y}-${m + 1}-${d}T${h}`, endsAt: Date.UTC(y, m, d, h + 1) }
    case 'day':
      return { id: `${y}-${m + 1}-${d}`, endsAt: Date.UTC(y, m, d + 1) }
    case 'month':
      return { id: `${y}-${m + 1}`, endsAt: Date.UTC(y, m + 1, 1) }
  }
}

export function display(amount: bigint, currency: string, decimals?: number, symbol?: string): string {
  return `${decimals === undefined ? amount.toString() : Amount.format(amount, decimals)} ${symbol ?? currency}`
}

function matches(matcher: Matcher, value: string): boolean {
  return typeof matcher === 'function' ? matcher(value) : matcher.includes(value)
}

function singular(list: string): string {
  return list.replace(/s$/, '')
}
