/**
 * Exact conversions between whole-unit decimal strings ("0.25") and base units
 * (250000 at 6 decimals). No floating point anywhere: money is never rounded.
 *
 * @example
 * Amount.toBaseUnits('0.25', 6) // 250000n
 * Amount.format(250000n, 6)     // '0.25'
 */
import { MppError } from './errors.js'

const DECIMAL = /^(0|[1-9][0-9]*)(?:\.([0-9]+))?$/
const INTEGER = /^(0|[1-9][0-9]*)$/

/** Whole units to base units; refuses more fractional digits than `decimals` (it would round). */
export function toBaseUnits(value: string, decimals: number): bigint {
  const match = DECIMAL.exec(value)
  if (!match) throw new MppError('configuration-invalid', 'amount must be a non-negative decimal like "0.25"')
  const fraction = match[2] ?? ''
  if (fraction.length > decimals)
    throw new MppError('configuration-invalid', `amount has more than ${decimals} decimal places and cannot be charged exactly`)
  return BigInt(match[1]!) * 10n ** BigInt(decimals) + BigInt(fraction.padEnd(decimals, '0') || '0')
}

/** Base units to a whole-unit decimal string, without trailing zeros. */
export function format(value: bigint, decimals: number): string {
  const negative = value < 0n
  const digits = (negative ? -value : value).toString().padStart(decimals + 1, '0')
  const whole = digits.slice(0, digits.length - decimals)
  const fraction = digits.slice(digits.length - decimals).replace(/0+$/, '')
  return (negative ? '-' : '') + whole + (fraction ? `.${fraction}` : '')
}

/** Parses a base-unit amount string as the intents define it: digits, no sign, no leading zeros. */
export function parseBaseUnits(value: string): bigint {
  if (!INTEGER.test(value)) throw new MppError('verification-failed', 'amount must be a base-unit integer string')
  return BigInt(value)
}

/** The base-unit amount a route asks for, from `amount` (base units) or `price` (whole units). */
export function fromRoute(route: { readonly amount?: string | bigint; readonly price?: string }, decimals: number): bigint {
  if (route.amount !== undefined && route.price !== undefined)
    throw new MppError('configuration-invalid', 'give a route either amount (base units) or price (whole units), not both')
  if (route.price !== undefined) return toBaseUnits(route.price, decimals)
  if (route.amount === undefined) throw new MppError('configuration-invalid', 'a route needs an amount or a price')
  const amount = typeof route.amount === 'bigint' ? route.amount : INTEGER.test(route.amount) ? BigInt(route.amount) : -1n
  if (amount < 0n) throw new MppError('configuration-invalid', 'amount must be a non-negative base-unit integer')
  return amount
}
