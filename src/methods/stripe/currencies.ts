/**
 * What Stripe needs to know about a currency to charge it exactly (docs.stripe.com/currencies):
 * its decimals in Stripe's amounts, the minimum and maximum charge, and the special cases.
 *
 * - **Minimums** are Stripe's table, which is stated in the *settlement* currency: a charge in
 *   another currency must convert to at least the settlement currency's minimum, at the day's
 *   rate. Without a rate we cannot check that, so the table applies only to a charge in the
 *   currency it settles in (the default assumption, unless `settlementCurrency` says
 *   otherwise); for any other currency the seller gives the minimum (`minimums`), and a route
 *   without one is refused at declaration (the conservative default).
 * - **Maximum**: an amount has at most eight digits (the API reference for `amount`), unless
 *   the seller gives a lower `maximums` entry.
 * - **Special cases**: three-decimal amounts end in 0; ISK amounts are whole krónur (multiples
 *   of 100 in its two-decimal API unit, support.stripe.com/questions/deprecation-of-fractional-isk-charges-and-refunds);
 *   HUF and TWD are two-decimal for charges and whole units only for payouts, so a charge may
 *   carry fillér / cents (docs.stripe.com/currencies#special-cases).
 *
 * @example
 * checkChargeable('krw', 1000n, { minimums: { krw: 700n } })
 */
import * as Amount from '../../Amount.js'
import { MppError } from '../../errors.js'

export type CurrencyLimits = {
  /** The currency Stripe pays you out in. Default: each charge's own currency. */
  readonly settlementCurrency?: string
  /** Minimum charge in the smallest unit, per currency (required for currencies without a known minimum). */
  readonly minimums?: Readonly<Record<string, bigint>>
  /** A lower maximum, in the smallest unit, per currency. */
  readonly maximums?: Readonly<Record<string, bigint>>
}

/** Presentment currencies Stripe lists on docs.stripe.com/currencies (lowercase ISO 4217). */
export const SUPPORTED = new Set(
  ('usd aed afn all amd ang aoa ars aud awg azn bam bbd bdt bgn bhd bif bmd bnd bob brl bsd bwp byn bzd cad cdf chf clp ' +
    'cny cop crc cve czk djf dkk dop dzd egp etb eur fjd fkp gbp gel gip gmd gnf gtq gyd hkd hnl htg huf idr ils inr isk ' +
    'jmd jod jpy kes kgs khr kmf krw kwd kyd kzt lak lbp lkr lrd lsl mad mdl mga mkd mmk mnt mop mur mvr mwk mxn myr mzn ' +
    'nad ngn nio nok npr nzd omr pab pen pgk php pkr pln pyg qar ron rsd rub rwf sar sbd scr sek sgd shp sle sos srd std ' +
    'szl thb tjs tnd top try ttd twd tzs uah ugx uyu uzs vnd vuv wst xaf xcd xof xpf yer zar zmw').split(' '),
)
const ZERO_DECIMAL = new Set(['bif', 'clp', 'djf', 'gnf', 'jpy', 'kmf', 'krw', 'mga', 'pyg', 'rwf', 'ugx', 'vnd', 'vuv', 'xaf', 'xof', 'xpf'])
const THREE_DECIMAL = new Set(['bhd', 'jod', 'kwd', 'omr', 'tnd'])

/** Stripe's minimum charge in the smallest unit, for a charge that settles in the same currency. */
const MINIMUM: Readonly<Record<string, bigint>> = {
  usd: 50n, aed: 200n, aud: 50n, bgn: 100n, brl: 50n, cad: 50n, chf: 50n, czk: 1500n, dkk: 250n, eur: 50n,
  gbp: 30n, hkd: 400n, huf: 17500n, inr: 50n, jpy: 50n, mxn: 1000n, myr: 200n, nok: 300n, nzd: 50n,
  pln: 200n, ron: 200n, sek: 300n, sgd: 50n, thb: 1000n,
}
/** "The amount value supports up to eight digits" (API reference, PaymentIntent `amount`). */
export const MAXIMUM = 99_999_999n

export function decimalsOf(currency: string): number {
  return ZERO_DECIMAL.has(currency) ? 0 : THREE_DECIMAL.has(currency) ? 3 : 2
}

/** The minimum that applies to a charge in `currency`, or undefined when none is known. */
export function minimumOf(currency: string, limits: CurrencyLimits = {}): bigint | undefined {
  const given = limits.minimums?.[currency]
  if (given !== undefined) return given
  const settlement = limits.settlementCurrency?.toLowerCase()
  return settlement === undefined || settlement === currency ? MINIMUM[currency] : undefined
}

export function maximumOf(currency: string, limits: CurrencyLimits = {}): bigint {
  const given = limits.maximums?.[currency]
  return given !== undefined && given < MAXIMUM ? given : MAXIMUM
}

/** Throws `configuration-invalid` unless Stripe can charge `amount` (smallest unit) in `currency`. */
export function checkChargeable(currency: string, amount: bigint, limits: CurrencyLimits = {}): void {
  const code = currency.toUpperCase()
  const decimals = decimalsOf(currency)
  if (!SUPPORTED.has(currency) && limits.minimums?.[currency] === undefined)
    throw new MppError('configuration-invalid', `Stripe does not list ${code} as a charge currency; give its minimum (currencies.minimums.${currency}) if your account supports it`)
  if (amount <= 0n) throw new MppError('configuration-invalid', 'Stripe cannot charge a zero amount; give the route a price')
  if (THREE_DECIMAL.has(currency) && amount % 10n !== 0n)
    throw new MppError('configuration-invalid', `Stripe charges ${code} only in multiples of 10 of its smallest unit`)
  if (currency === 'isk' && amount % 100n !== 0n)
    throw new MppError('configuration-invalid', 'Stripe charges ISK only in whole krónur (multiples of 100 of its API unit)')
  const minimum = minimumOf(currency, limits)
  if (minimum === undefined)
    throw new MppError(
      'configuration-invalid',
      `Stripe's minimum for ${code} is its settlement currency's minimum at the day's exchange rate, which mppkit cannot know: ` +
        `give it as currencies.minimums.${currency} (in the smallest unit)`,
    )
  if (amount < minimum)
    throw new MppError(
      'configuration-invalid',
      `Stripe's minimum charge in ${code} is ${Amount.format(minimum, decimals)}, and this route charges ` +
        `${Amount.format(amount, decimals)}. Charge for a batch of requests at once, or offer this route only through a ` +
        `method without a minimum (such as Tempo stablecoins).`,
    )
  const maximum = maximumOf(currency, limits)
  if (amount > maximum)
    throw new MppError('configuration-invalid', `Stripe's maximum charge in ${code} is ${Amount.format(maximum, decimals)}`)
}
