/** --max and the approval threshold, as the approval hook applies them: exact, and saying why. */
import { describe, expect, it } from 'vitest'
import { currencies } from '../../src/cli/currencies.js'
import { approver, overMax, parseMax } from '../../src/cli/limits.js'
import type { Offer } from '../../src/client/Policy.js'

const offer = (amount: bigint, extra: Partial<Offer> = {}): Offer => ({
  origin: 'https://a.test',
  realm: 'a.test',
  method: 'ledger',
  intent: 'charge',
  challengeId: 'c',
  amount,
  currency: 'usd',
  decimals: 2,
  recipient: 'shop',
  display: `${amount} usd`,
  ...extra,
})

describe('--max', async () => {
  const units = await currencies({ pts: 0 })

  it('compares exactly in the offer’s units, at the boundary', () => {
    expect(overMax(parseMax('0.25'), offer(25n), units)).toBeUndefined()
    expect(overMax(parseMax('0.25'), offer(26n), units)).toBe('amount 26 usd exceeds --max 0.25')
    expect(overMax(parseMax('0.251'), offer(25n), units)).toBeUndefined()
    expect(overMax(parseMax('0.249'), offer(25n), units)).toBeDefined()
    expect(overMax(parseMax('3'), offer(3n, { currency: 'pts', decimals: undefined as never }), units)).toBeUndefined()
  })

  it('with a currency, refuses offers in another; without decimals, refuses rather than guess', async () => {
    expect(overMax(parseMax('1 eur'), offer(1n), units)).toBe('--max is in eur; the offer is in usd')
    expect(overMax(parseMax('1 usd'), offer(1n), units)).toBeUndefined()
    const { decimals: _d, ...noDecimals } = offer(1n, { currency: 'mystery' })
    expect(overMax(parseMax('1'), noDecimals as Offer, units)).toBe('the decimals of mystery are unknown, so --max cannot be applied')
  })
})

describe('approval', async () => {
  const units = await currencies()
  const base = { max: undefined, units, preapproved: false, confirm: undefined }

  it('below the threshold pays; at it, without a terminal, refuses and says to pass --yes', async () => {
    const hook = approver({ ...base, approveAbove: { usd: 50n } })
    expect(await hook.approve(offer(49n))).toBe(true)
    expect(await hook.approve(offer(50n))).toBe(false)
    expect(hook.reasons).toEqual(['50 usd is at or above the approval threshold and no terminal can approve it (pass --yes to approve)'])
  })

  it('a currency the threshold does not list needs approval, as in the client policy', async () => {
    expect(await approver({ ...base, approveAbove: { eur: 50n } }).approve(offer(1n))).toBe(false)
  })

  it('--yes approves; a terminal is asked what is paid and to whom', async () => {
    expect(await approver({ ...base, approveAbove: { usd: 0n }, preapproved: true }).approve(offer(5n))).toBe(true)
    const asked: string[] = []
    const hook = approver({ ...base, approveAbove: { usd: 0n }, confirm: async (q) => (asked.push(q), false) })
    expect(await hook.approve(offer(5n))).toBe(false)
    expect(asked).toEqual(['pay 5 usd to shop for https://a.test?'])
    expect(hook.reasons).toEqual(['you declined the payment'])
  })

  it('--max is checked before approval and even with --yes', async () => {
    const hook = approver({ ...base, max: parseMax('0.10'), approveAbove: undefined, preapproved: true })
    expect(await hook.approve(offer(11n))).toBe(false)
    expect(hook.reasons).toEqual(['amount 11 usd exceeds --max 0.10'])
  })
})
