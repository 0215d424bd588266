/**
 * What the CLI adds to a policy: the `--max` one-off cap and the approval threshold.
 * Both run as the policy's approval hook, asked for every payment, so a refusal says
 * why; the reasons are collected for the error line.
 */
import type * as Policy from '../client/Policy.js'
import type { Currencies } from './currencies.js'
import { usageError } from './errors.js'

export type Max = { readonly units: string; readonly currency?: string }

/** `--max 0.25` or `--max "0.25 usd"`. */
export function parseMax(value: string): Max {
  const match = /^\s*(0|[1-9][0-9]*)(\.[0-9]+)?\s*(?:\s(\S+))?\s*$/.exec(value)
  if (!match) throw usageError(`--max ${JSON.stringify(value)} is not an amount`, 'write it in whole units: --max 0.25 or --max "0.25 usd"')
  return { units: match[1]! + (match[2] ?? ''), ...(match[3] !== undefined && { currency: match[3] }) }
}

/** Why `max` refuses `offer`, or undefined when it allows it. Exact: no floating point. */
export function overMax(max: Max, offer: Policy.Offer, units: Currencies): string | undefined {
  if (max.currency !== undefined && units.id(max.currency) !== offer.currency)
    return `--max is in ${max.currency}; the offer is in ${offer.symbol ?? offer.currency}`
  const decimals = offer.decimals ?? units.decimals(offer.currency)
  if (decimals === undefined) return `the decimals of ${offer.currency} are unknown, so --max cannot be applied`
  const [whole, fraction = ''] = max.units.split('.')
  const limit = BigInt(whole! + fraction) // scaled by 10^fraction.length
  if (offer.amount * 10n ** BigInt(fraction.length) > limit * 10n ** BigInt(decimals)) return `amount ${offer.display} exceeds --max ${max.units}`
  return undefined
}

export type Approval = {
  readonly max: Max | undefined
  readonly approveAbove: Readonly<Record<string, bigint>> | undefined
  readonly units: Currencies
  /** --yes */
  readonly preapproved: boolean
  readonly confirm: ((question: string) => Promise<boolean>) | undefined
}

/** The approval hook, and the reasons it refused with. */
export function approver(approval: Approval): { approve: (offer: Policy.Offer) => Promise<boolean>; reasons: string[] } {
  const reasons: string[] = []
  const approve = async (offer: Policy.Offer) => {
    const over = approval.max && overMax(approval.max, offer, approval.units)
    if (over) {
      reasons.push(over)
      return false
    }
    if (!needsApproval(approval.approveAbove, offer) || approval.preapproved) return true
    if (!approval.confirm) {
      reasons.push(`${offer.display} is at or above the approval threshold and no terminal can approve it (pass --yes to approve)`)
      return false
    }
    const yes = await approval.confirm(`pay ${offer.display} to ${offer.recipient ?? offer.realm} for ${offer.origin}?`)
    if (!yes) reasons.push('you declined the payment')
    return yes
  }
  return { approve, reasons }
}

/** As the client's policy reads `approveAbove`: a currency it does not list always needs approval. */
function needsApproval(approveAbove: Approval['approveAbove'], offer: Policy.Offer): boolean {
  if (!approveAbove) return false
  const threshold = approveAbove[offer.currency]
  return threshold === undefined || offer.amount >= threshold
}
