/**
 * The stored channel record (src/methods/tempo/session/channelState.ts): a round trip
 * keeps every amount exactly (uint128 and beyond Number's range), amounts are decimal
 * strings, and anything else stored under the key reads as unreadable, never as a state.
 */
import fc from 'fast-check'
import type { Hex } from 'viem'
import { describe, expect, it } from 'vitest'
import * as ChannelState from '../../../src/methods/tempo/session/channelState.js'

const amount = fc.bigInt({ min: 0n, max: 2n ** 128n - 1n })
const state = fc.record({
  channelId: fc.stringMatching(/^0x[0-9a-f]{64}$/).map((s) => s as Hex),
  acceptedCumulative: amount,
  spent: amount,
  settledOnChain: amount,
  deposit: amount,
  closeRequestedAt: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
  charges: fc.dictionary(fc.string(), fc.record({ cost: amount, spentAfter: amount, until: fc.integer({ min: 0 }) })),
})

describe('channel record encoding', () => {
  it('round-trips every state exactly, with or without a signature', () => {
    fc.assert(
      fc.property(state, fc.option(fc.stringMatching(/^0x[0-9a-f]{130}$/)), (s, signature) => {
        const full: ChannelState.ChannelState = signature === null ? s : { ...s, signature: signature as Hex }
        expect(ChannelState.decode(ChannelState.encode(full))).toEqual(full)
      }),
    )
  })

  it('stores amounts as decimal strings', () => {
    const s: ChannelState.ChannelState = {
      channelId: `0x${'ab'.repeat(32)}`,
      acceptedCumulative: 2n ** 128n - 1n,
      spent: 9_007_199_254_740_993n,
      settledOnChain: 0n,
      deposit: 2n ** 128n - 1n,
      closeRequestedAt: 1_700_000_000n,
      charges: { k: { cost: 5n, spentAfter: 9_007_199_254_740_993n, until: 1 } },
    }
    expect(JSON.parse(ChannelState.encode(s))).toEqual({
      v: 1,
      channelId: s.channelId,
      acceptedCumulative: '340282366920938463463374607431768211455',
      spent: '9007199254740993',
      settledOnChain: '0',
      deposit: '340282366920938463463374607431768211455',
      closeRequestedAt: '1700000000',
      charges: { k: { cost: '5', spentAfter: '9007199254740993', until: 1 } },
    })
  })

  it('keys by lowercase channel id', () => {
    expect(ChannelState.key(`0x${'AB'.repeat(32)}`)).toBe(`session:0x${'ab'.repeat(32)}`)
  })

  it('reads anything else as unreadable', () => {
    const good = JSON.parse(ChannelState.encode({ channelId: `0x${'ab'.repeat(32)}`, acceptedCumulative: 1n, spent: 0n, settledOnChain: 0n, deposit: 1n, closeRequestedAt: 0n, charges: {} }))
    const bad: unknown[] = [
      'delivered',
      '[]',
      'null',
      '{',
      { ...good, v: 2 },
      { ...good, spent: 1 },
      { ...good, spent: '-1' },
      { ...good, spent: '01' },
      { ...good, spent: '1e3' },
      { ...good, deposit: undefined },
      { ...good, charges: null },
      { ...good, charges: { k: { cost: '1', spentAfter: '1' } } },
      { ...good, channelId: 7 },
    ]
    for (const value of bad) expect(ChannelState.decode(typeof value === 'string' ? value : JSON.stringify(value)), JSON.stringify(value)).toBeUndefined()
    expect(ChannelState.decode(undefined)).toBeUndefined()
  })
})
