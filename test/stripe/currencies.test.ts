/**
 * Stripe's currency rules at route declaration (docs.stripe.com/currencies): every listed
 * currency has a minimum (Stripe's table, or the seller's) and a maximum (eight digits),
 * ISK is charged in whole krónur, three-decimal amounts end in 0, HUF and TWD may carry
 * decimals, and a currency Stripe does not list is refused unless the seller gives its minimum.
 */
import { describe, expect, it } from 'vitest'
import { isMppError } from '../../src/index.js'
import { checkChargeable, decimalsOf, maximumOf, minimumOf, type CurrencyLimits } from '../../src/methods/stripe/index.js'
import { SUPPORTED } from '../../src/methods/stripe/currencies.js'

function refusal(currency: string, amount: bigint, limits?: CurrencyLimits): string {
  try {
    checkChargeable(currency, amount, limits)
  } catch (error) {
    expect(isMppError(error, 'configuration-invalid')).toBe(true)
    return (error as Error).message
  }
  throw new Error(`expected ${amount} ${currency} to be refused`)
}

describe('stripe currencies', () => {
  it('knows Stripe\'s table minimums when the charge settles in its own currency', () => {
    expect(minimumOf('usd')).toBe(50n)
    expect(minimumOf('huf')).toBe(17500n)
    expect(minimumOf('jpy')).toBe(50n)
    expect(refusal('usd', 49n)).toMatch(/minimum.*USD.*0\.5/)
    expect(() => checkChargeable('usd', 50n)).not.toThrow()
  })

  it('every currency Stripe lists has a minimum once the seller gives the ones Stripe\'s table lacks (1 KRW is refused)', () => {
    expect(SUPPORTED.size).toBeGreaterThan(130)
    expect(refusal('krw', 1n)).toMatch(/currencies\.minimums\.krw/)
    expect(refusal('krw', 1000n)).toMatch(/exchange rate/)
    expect(() => checkChargeable('krw', 1000n, { minimums: { krw: 700n } })).not.toThrow()
    expect(refusal('krw', 699n, { minimums: { krw: 700n } })).toMatch(/minimum/)
  })

  it('a different settlement currency: Stripe\'s table no longer applies to other currencies, the seller\'s minimum does', () => {
    const limits = { settlementCurrency: 'USD' }
    expect(minimumOf('usd', limits)).toBe(50n)
    expect(minimumOf('eur', limits)).toBeUndefined()
    expect(refusal('eur', 5000n, limits)).toMatch(/currencies\.minimums\.eur/)
    expect(() => checkChargeable('eur', 60n, { ...limits, minimums: { eur: 60n } })).not.toThrow()
  })

  it('the maximum is eight digits, or lower when the seller says so', () => {
    expect(maximumOf('usd')).toBe(99_999_999n)
    expect(() => checkChargeable('usd', 99_999_999n)).not.toThrow()
    expect(refusal('usd', 100_000_000n)).toMatch(/maximum.*USD.*999999\.99/)
    expect(refusal('jpy', 100_000_000n)).toMatch(/maximum/)
    expect(refusal('usd', 10_001n, { maximums: { usd: 10_000n } })).toMatch(/maximum.*100/)
    expect(maximumOf('usd', { maximums: { usd: 10n ** 12n } })).toBe(99_999_999n) // never above Stripe's
  })

  it('ISK: whole krónur only (multiples of 100 of its two-decimal API unit)', () => {
    expect(decimalsOf('isk')).toBe(2)
    const limits = { minimums: { isk: 10000n } }
    expect(refusal('isk', 10050n, limits)).toMatch(/ISK.*whole/)
    expect(() => checkChargeable('isk', 10100n, limits)).not.toThrow()
  })

  it('HUF and TWD are two-decimal for charges: fillér and cents are accepted (the whole-unit rule is for payouts)', () => {
    expect(decimalsOf('huf')).toBe(2)
    expect(() => checkChargeable('huf', 17550n)).not.toThrow()
    expect(() => checkChargeable('twd', 1550n, { minimums: { twd: 1500n } })).not.toThrow()
  })

  it('three-decimal currencies end in 0; zero-decimal currencies have no fraction', () => {
    expect(refusal('kwd', 1005n, { minimums: { kwd: 200n } })).toMatch(/KWD.*10/)
    expect(decimalsOf('kwd')).toBe(3)
    expect(decimalsOf('jpy')).toBe(0)
  })

  it('a currency Stripe does not list is refused unless the seller gives its minimum', () => {
    expect(refusal('xts', 1000n)).toMatch(/does not list XTS/)
    expect(() => checkChargeable('xts', 1000n, { minimums: { xts: 100n } })).not.toThrow()
  })

  it('zero is never chargeable', () => {
    expect(refusal('usd', 0n)).toMatch(/zero/)
    expect(refusal('krw', 0n, { minimums: { krw: 0n } })).toMatch(/zero/)
  })
})
