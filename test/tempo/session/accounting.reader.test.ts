/**
 * ChannelReader (src/methods/tempo/session/channelReader.ts), with a counted fake chain
 * and a frozen clock: reuse within maxAgeMs, re-read after, finalized kept, fresh reads
 * bypass the cache, one call for concurrent misses, bounded size, lowercase keying.
 */
import { zeroAddress, type Hex } from 'viem'
import { describe, expect, it } from 'vitest'
import * as ChannelReader from '../../../src/methods/tempo/session/channelReader.js'
import type { Channel } from '../../../src/methods/tempo/session/escrow.js'

const ID = `0x${'ab'.repeat(32)}` as Hex
const base: Channel = { payer: zeroAddress, payee: zeroAddress, token: zeroAddress, authorizedSigner: zeroAddress, deposit: 1n, settled: 0n, closeRequestedAt: 0n, finalized: false }

function fake(options: { maxAgeMs?: number; maxEntries?: number } = {}) {
  let clock = 1_000
  let calls = 0
  let chain: Channel = base
  const reader = ChannelReader.create({
    read: async () => {
      calls++
      await new Promise((resolve) => setTimeout(resolve, 1))
      return chain
    },
    now: () => clock,
    ...options,
  })
  return {
    reader,
    calls: () => calls,
    tick: (ms: number) => (clock += ms),
    set: (c: Partial<Channel>) => (chain = { ...chain, ...c }),
  }
}

describe('channel reader cache', () => {
  it('reuses a read for maxAgeMs, then reads again', async () => {
    const f = fake({ maxAgeMs: 100 })
    await f.reader.read(ID)
    f.set({ deposit: 5n })
    f.tick(99)
    expect((await f.reader.read(ID)).deposit).toBe(1n)
    expect(f.calls()).toBe(1)
    f.tick(1)
    expect((await f.reader.read(ID)).deposit).toBe(5n)
    expect(f.calls()).toBe(2)
  })

  it('keys by lowercase id', async () => {
    const f = fake()
    await f.reader.read(ID)
    await f.reader.read(ID.toUpperCase().replace('0X', '0x') as Hex)
    expect(f.calls()).toBe(1)
  })

  it('a finalized channel stays cached however old', async () => {
    const f = fake({ maxAgeMs: 100 })
    f.set({ finalized: true })
    await f.reader.read(ID)
    f.tick(1_000_000)
    expect((await f.reader.read(ID)).finalized).toBe(true)
    expect(f.calls()).toBe(1)
  })

  it('a fresh read always calls the chain and refreshes the cache; forget drops it', async () => {
    const f = fake()
    await f.reader.read(ID)
    f.set({ deposit: 9n })
    expect((await f.reader.read(ID, { fresh: true })).deposit).toBe(9n)
    expect((await f.reader.read(ID)).deposit).toBe(9n)
    expect(f.calls()).toBe(2)
    f.reader.forget(ID)
    await f.reader.read(ID)
    expect(f.calls()).toBe(3)
  })

  it('concurrent misses share one call', async () => {
    const f = fake()
    await Promise.all(Array.from({ length: 20 }, () => f.reader.read(ID)))
    expect(f.calls()).toBe(1)
  })

  it('holds at most maxEntries channels, dropping the oldest', async () => {
    const f = fake({ maxEntries: 2 })
    const ids = [1, 2, 3].map((n) => `0x${n.toString(16).padStart(64, '0')}` as Hex)
    for (const id of ids) await f.reader.read(id)
    await f.reader.read(ids[2]!)
    await f.reader.read(ids[1]!)
    expect(f.calls()).toBe(3)
    await f.reader.read(ids[0]!)
    expect(f.calls()).toBe(4)
  })
})
