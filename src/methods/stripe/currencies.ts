/**
 * What Stripe needs to know about a currency to charge it exactly: its decimals in
 * Stripe's amounts, and Stripe's minimum charge (docs.stripe.com/currencies, "Minimum
 * and maximum charge amounts"; "Zero-decimal" and "Three-decimal" currencies).
 */
const ZERO_DECIMAL = new Set(['bif', 'clp', 'djf', 'gnf', 'jpy', 'kmf', 'krw', 'mga', 'pyg', 'rwf', 'ugx', 'vnd', 'vuv', 'xaf', 'xof', 'xpf'])
const THREE_DECIMAL = new Set(['bhd', 'jod', 'kwd', 'omr', 'tnd'])

/** Minimum charge in the smallest unit, for the currencies Stripe lists a minimum for. */
const MINIMUM: Record<string, bigint> = {
  usd: 50n, aed: 200n, aud: 50n, bgn: 100n, brl: 50n, cad: 50n, chf: 50n, czk: 1500n, dkk: 250n, eur: 50n,
  gbp: 30n, hkd: 400n, huf: 17500n, inr: 50n, jpy: 50n, mxn: 1000n, myr: 200n, nok: 300n, nzd: 50n,
  pln: 200n, ron: 200n, sek: 300n, sgd: 50n, thb: 1000n,
}

export function decimalsOf(currency: string): number {
  return ZERO_DECIMAL.has(currency) ? 0 : THREE_DECIMAL.has(currency) ? 3 : 2
}

export function minimumOf(currency: string): bigint | undefined {
  return MINIMUM[currency]
}

/** Stripe accepts three-decimal currencies only in multiples of 10 (the last digit must be 0). */
export function isChargeable(currency: string, amount: bigint): boolean {
  return !THREE_DECIMAL.has(currency) || amount % 10n === 0n
}
