/**
 * Session accounting (src/methods/tempo/session/accounting.ts) against one Store, the
 * suite every store runs (memory, Redis, PostgreSQL): draft-tempo-session-00
 * §"Server-Side Accounting", §"Voucher Verification" steps 6–9, §"Idempotency",
 * §"Request Idempotency". "Processes" are separate Accounting instances sharing the store.
 * Signatures here are opaque: verifyVoucher checks them before accounting sees a voucher.
 */
import { keccak256, toHex, type Hex } from 'viem'
import { describe, expect, it } from 'vitest'
import { isMppError } from '../../../src/errors.js'
import * as Accounting from '../../../src/methods/tempo/session/accounting.js'
import * as ChannelState from '../../../src/methods/tempo/session/channelState.js'
import { SessionError, type SessionRejectReason } from '../../../src/methods/tempo/session/SessionError.js'
import type { Store } from '../../../src/server/Store.js'

export type AccountingHarness = {
  /** A store shared by every "process" of one test; empty of session keys. */
  store(): Store
}

const SIG = (n: number): Hex => `0x${n.toString(16).padStart(130, '0')}`
let channels = 0
/** A fresh channel id, with upper-case hex so the lowercase keying is exercised. */
const freshId = (): Hex => keccak256(toHex(`channel-${process.pid}-${++channels}-${Math.random()}`)).replace(/[a-f]/g, (c) => c.toUpperCase()).replace(/^0X/, '0x') as Hex
const chain = (deposit: bigint, settled = 0n, closeRequestedAt = 0n): Accounting.OnChain => ({ deposit, settled, closeRequestedAt })

async function refused(promise: Promise<unknown>, reason: SessionRejectReason) {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(error, `expected a SessionError ${reason}`).toBeInstanceOf(SessionError)
  expect((error as SessionError).reason).toBe(reason)
  expect(isMppError(error, 'verification-failed')).toBe(true)
}

/** The store, counting reads and compare-and-sets. */
function counting(store: Store) {
  let gets = 0
  let swaps = 0
  let swapped = 0
  return {
    store: {
      ...store,
      create: store.create.bind(store),
      set: store.set.bind(store),
      delete: store.delete.bind(store),
      get: (key: string) => (gets++, store.get(key)),
      swap: async (key: string, expected: string, next: string | undefined, expiresAt?: number) => {
        swaps++
        const ok = await store.swap(key, expected, next, expiresAt)
        if (ok) swapped++
        return ok
      },
    } satisfies Store,
    gets: () => gets,
    swaps: () => swaps,
    swapped: () => swapped,
  }
}

export function describeAccountingContract(name: string, harness: AccountingHarness): void {
  describe(`session accounting contract: ${name}`, () => {
    const setup = () => {
      const store = harness.store()
      return { store, a: Accounting.create({ store }), b: Accounting.create({ store }), id: freshId() }
    }

    describe('vouchers (draft §"Voucher Verification" 6–9, §"Idempotency")', () => {
      it('the first voucher starts the record from the chain and is stored, amounts as decimal strings, under the lowercase id', async () => {
        const { store, a, b, id } = setup()
        const { idempotent, state } = await a.accept({ channelId: id, cumulativeAmount: 300n, signature: SIG(1) }, chain(1_000n, 100n))
        expect(idempotent).toBe(false)
        expect(state).toMatchObject({ channelId: id.toLowerCase(), acceptedCumulative: 300n, spent: 100n, settledOnChain: 100n, deposit: 1_000n, closeRequestedAt: 0n, signature: SIG(1) })
        const raw = JSON.parse((await store.get(`session:${id.toLowerCase()}`))!)
        expect(raw).toMatchObject({ acceptedCumulative: '300', spent: '100', settledOnChain: '100', deposit: '1000', closeRequestedAt: '0', signature: SIG(1) })
        expect(await b.get(id)).toEqual(state)
        expect(await b.get(id.toLowerCase() as Hex)).toEqual(state)
      })

      it('what was settled on chain before the server knew the channel is not spendable', async () => {
        const { a, id } = setup()
        const { state } = await a.accept({ channelId: id, cumulativeAmount: 150n, signature: SIG(1) }, chain(1_000n, 100n))
        expect(ChannelState.available(state)).toBe(50n)
        const c = await a.charge(id, 51n)
        expect(c).toMatchObject({ ok: false, requiredTopUp: 1n, requiredCumulative: 151n })
      })

      it('a replay of the highest voucher is idempotent: same state, nothing written', async () => {
        const { store, a, b, id } = setup()
        await a.accept({ channelId: id, cumulativeAmount: 500n, signature: SIG(1) }, chain(1_000n))
        await a.charge(id, 200n)
        const before = await store.get(ChannelState.key(id))
        const replay = await b.accept({ channelId: id, cumulativeAmount: 500n, signature: SIG(2) }, chain(1_000n))
        expect(replay.idempotent).toBe(true)
        expect(replay.state).toMatchObject({ acceptedCumulative: 500n, spent: 200n, signature: SIG(1) })
        expect(await store.get(ChannelState.key(id))).toBe(before)
      })

      it('a lower voucher arriving after a higher one is refused and changes nothing', async () => {
        const { store, a, b, id } = setup()
        await a.accept({ channelId: id, cumulativeAmount: 500n, signature: SIG(1) }, chain(1_000n))
        const before = await store.get(ChannelState.key(id))
        await refused(b.accept({ channelId: id, cumulativeAmount: 499n, signature: SIG(2) }, chain(1_000n)), 'amount-not-increasing')
        expect(await store.get(ChannelState.key(id))).toBe(before)
      })

      it('a voucher below what is settled on chain is refused on a new record', async () => {
        const { a, id } = setup()
        await refused(a.accept({ channelId: id, cumulativeAmount: 99n, signature: SIG(1) }, chain(1_000n, 100n)), 'amount-not-increasing')
        expect(await a.get(id)).toBeUndefined()
      })

      it('a rise below minVoucherDelta is refused; exactly minVoucherDelta is accepted', async () => {
        const { a, id } = setup()
        await a.accept({ channelId: id, cumulativeAmount: 100n, signature: SIG(1) }, chain(1_000n), { minVoucherDelta: 50n })
        await refused(a.accept({ channelId: id, cumulativeAmount: 149n, signature: SIG(2) }, chain(1_000n), { minVoucherDelta: 50n }), 'delta-too-small')
        const { state } = await a.accept({ channelId: id, cumulativeAmount: 150n, signature: SIG(3) }, chain(1_000n), { minVoucherDelta: 50n })
        expect(state).toMatchObject({ acceptedCumulative: 150n, signature: SIG(3) })
      })

      it('the delta is checked before the deposit (draft order)', async () => {
        const { a, id } = setup()
        await a.accept({ channelId: id, cumulativeAmount: 990n, signature: SIG(1) }, chain(1_000n), { minVoucherDelta: 50n })
        await refused(a.accept({ channelId: id, cumulativeAmount: 1_010n, signature: SIG(2) }, chain(1_000n), { minVoucherDelta: 50n }), 'delta-too-small')
      })

      it('above the deposit is refused; exactly the deposit is accepted; a larger observed deposit is recorded', async () => {
        const { a, id } = setup()
        await refused(a.accept({ channelId: id, cumulativeAmount: 1_001n, signature: SIG(1) }, chain(1_000n)), 'amount-exceeds-deposit')
        expect((await a.accept({ channelId: id, cumulativeAmount: 1_000n, signature: SIG(2) }, chain(1_000n))).state.acceptedCumulative).toBe(1_000n)
        const { state } = await a.accept({ channelId: id, cumulativeAmount: 1_500n, signature: SIG(3) }, chain(2_000n))
        expect(state).toMatchObject({ acceptedCumulative: 1_500n, deposit: 2_000n })
      })

      it('the deposit the record verified before counts even when this read of the chain is older', async () => {
        const { a, b, id } = setup()
        await a.open(id, chain(1_000n))
        await a.observe(id, chain(2_000n))
        const { state } = await b.accept({ channelId: id, cumulativeAmount: 1_500n, signature: SIG(1) }, chain(1_000n))
        expect(state.deposit).toBe(2_000n)
      })

      it('racing vouchers from several processes: the highest wins, each lower one is accepted only while it was the highest', async () => {
        const { a, b, id } = setup()
        const amounts = Array.from({ length: 40 }, (_, i) => BigInt((i * 37) % 40) * 10n + 10n)
        const results = await Promise.allSettled(
          amounts.map((cumulativeAmount, i) => (i % 2 ? a : b).accept({ channelId: id, cumulativeAmount, signature: SIG(Number(cumulativeAmount)) }, chain(1_000n))),
        )
        for (const r of results) if (r.status === 'rejected') expect((r.reason as SessionError).reason).toBe('amount-not-increasing')
        expect(results.some((r) => r.status === 'fulfilled')).toBe(true)
        expect(await a.get(id)).toMatchObject({ acceptedCumulative: 400n, signature: SIG(400) })
      })
      it('the first vouchers on a new channel racing from 8 processes: one record, the highest wins', async () => {
        const store = harness.store()
        const processes = Array.from({ length: 8 }, () => Accounting.create({ store }))
        for (let round = 0; round < 5; round++) {
          const id = freshId()
          const results = await Promise.allSettled(
            // Highest first: a store that let the last writer win would keep the lowest.
            processes.map((p, i) => p.accept({ channelId: id, cumulativeAmount: BigInt(8 - i) * 10n, signature: SIG(8 - i) }, chain(1_000n))),
          )
          expect(results[0]!.status, 'the highest voucher is never refused').toBe('fulfilled')
          for (const r of results) if (r.status === 'rejected') expect((r.reason as SessionError).reason).toBe('amount-not-increasing')
          expect(await processes[0]!.get(id)).toMatchObject({ acceptedCumulative: 80n, signature: SIG(8) })
        }
      })
    })

    describe('charges (draft §"Per-Request Processing", §"Crash Safety")', () => {
      it('a charge is stored before it resolves: another process sees the new spent', async () => {
        const { a, b, id } = setup()
        await a.accept({ channelId: id, cumulativeAmount: 1_000n, signature: SIG(1) }, chain(1_000n))
        expect(await a.charge(id, 300n)).toMatchObject({ ok: true, duplicate: false, cost: 300n, state: { spent: 300n } })
        expect((await b.get(id))!.spent).toBe(300n)
        expect(await b.charge(id, 700n)).toMatchObject({ ok: true, state: { spent: 1_000n } })
      })

      it('a charge above the available balance charges nothing and names requiredTopUp and requiredCumulative', async () => {
        const { a, id } = setup()
        await a.accept({ channelId: id, cumulativeAmount: 1_000n, signature: SIG(1) }, chain(5_000n))
        await a.charge(id, 900n)
        expect(await a.charge(id, 250n)).toMatchObject({ ok: false, requiredTopUp: 150n, requiredCumulative: 1_150n, state: { spent: 900n } })
        expect((await a.get(id))!.spent).toBe(900n)
        await a.accept({ channelId: id, cumulativeAmount: 1_150n, signature: SIG(2) }, chain(5_000n))
        expect(await a.charge(id, 250n)).toMatchObject({ ok: true, state: { spent: 1_150n, acceptedCumulative: 1_150n } })
      })

      it('charging an unknown channel is refused with channel-not-found and creates nothing', async () => {
        const { a, id } = setup()
        await refused(a.charge(id, 1n), 'channel-not-found')
        expect(await a.get(id)).toBeUndefined()
      })

      it('200 concurrent charges from 4 processes: exactly the affordable number succeed, spent never exceeds accepted', async () => {
        const counted = counting(harness.store())
        const processes = Array.from({ length: 4 }, () => Accounting.create({ store: counted.store }))
        const id = freshId()
        await processes[0]!.accept({ channelId: id, cumulativeAmount: 1_000n, signature: SIG(1) }, chain(1_000n))
        const started = performance.now()
        const results = await Promise.all(Array.from({ length: 200 }, (_, i) => processes[i % 4]!.charge(id, 7n)))
        console.log(`[${name}] 200 concurrent charges: ${Math.round(performance.now() - started)} ms, ${counted.swaps()} swaps (${counted.swapped()} won), ${counted.gets()} gets`)
        const ok = results.filter((r) => r.ok)
        expect(ok).toHaveLength(142) // floor(1000 / 7)
        for (const r of results) expect(r.state.spent).toBeLessThanOrEqual(r.state.acceptedCumulative)
        // Every successful charge saw a distinct spent: no two were granted the same balance.
        expect(new Set(ok.map((r) => r.state.spent)).size).toBe(142)
        for (const r of results) if (!r.ok) expect(r).toMatchObject({ requiredTopUp: 1n, requiredCumulative: 1_001n })
        expect((await processes[3]!.get(id))!.spent).toBe(994n)
      }, 120_000)

      it('vouchers and charges racing: every charge was covered by a voucher accepted before it', async () => {
        const store = harness.store()
        const [a, b] = [Accounting.create({ store }), Accounting.create({ store })]
        const id = freshId()
        await a.open(id, chain(10_000n))
        const ops = Array.from({ length: 60 }, (_, i) =>
          i % 3 === 0
            ? a.accept({ channelId: id, cumulativeAmount: BigInt(i + 3) * 10n, signature: SIG(i) }, chain(10_000n)).then(() => undefined, () => undefined)
            : b.charge(id, 10n),
        )
        const charges = (await Promise.all(ops)).filter((r): r is Accounting.ChargeResult => r !== undefined)
        for (const r of charges) expect(r.state.spent).toBeLessThanOrEqual(r.state.acceptedCumulative)
        const final = (await a.get(id))!
        expect(final.spent).toBe(BigInt(charges.filter((r) => r.ok).length) * 10n)
        expect(final.spent).toBeLessThanOrEqual(final.acceptedCumulative)
      }, 60_000)
    })

    describe('charge dedupe by (challengeId, Idempotency-Key) (draft §"Request Idempotency")', () => {
      it('the same pair is charged once, across processes and concurrently; the repeat returns the first charge', async () => {
        const { a, b, id } = setup()
        await a.accept({ channelId: id, cumulativeAmount: 1_000n, signature: SIG(1) }, chain(1_000n))
        const dedupe = { challengeId: 'ch-1', idempotencyKey: 'req-1' }
        const results = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).charge(id, 100n, { dedupe })))
        expect(results.filter((r) => r.ok && !r.duplicate)).toHaveLength(1)
        for (const r of results) expect(r).toMatchObject({ ok: true, cost: 100n })
        expect((await a.get(id))!.spent).toBe(100n)
      })

      it('another key, or the same key under another challenge, is a new charge; a charge without a key is never deduped', async () => {
        const { a, id } = setup()
        await a.accept({ channelId: id, cumulativeAmount: 1_000n, signature: SIG(1) }, chain(1_000n))
        await a.charge(id, 100n, { dedupe: { challengeId: 'ch-1', idempotencyKey: 'req-1' } })
        expect(await a.charge(id, 100n, { dedupe: { challengeId: 'ch-1', idempotencyKey: 'req-2' } })).toMatchObject({ ok: true, duplicate: false })
        expect(await a.charge(id, 100n, { dedupe: { challengeId: 'ch-2', idempotencyKey: 'req-1' } })).toMatchObject({ ok: true, duplicate: false })
        // No separator games: ("a:b", "c") and ("a", "b:c") are different pairs.
        await a.charge(id, 100n, { dedupe: { challengeId: 'a:b', idempotencyKey: 'c' } })
        expect(await a.charge(id, 100n, { dedupe: { challengeId: 'a', idempotencyKey: 'b:c' } })).toMatchObject({ ok: true, duplicate: false })
        await a.charge(id, 100n)
        await a.charge(id, 100n)
        expect((await a.get(id))!.spent).toBe(700n)
      })

      it('a refused charge leaves no dedupe entry: the retry after a top-up charges', async () => {
        const { a, id } = setup()
        await a.accept({ channelId: id, cumulativeAmount: 50n, signature: SIG(1) }, chain(1_000n))
        const dedupe = { challengeId: 'ch-1', idempotencyKey: 'req-1' }
        expect(await a.charge(id, 100n, { dedupe })).toMatchObject({ ok: false, requiredTopUp: 50n })
        await a.accept({ channelId: id, cumulativeAmount: 100n, signature: SIG(2) }, chain(1_000n))
        expect(await a.charge(id, 100n, { dedupe })).toMatchObject({ ok: true, duplicate: false, state: { spent: 100n } })
      })

      it('dedupe entries are kept until their time and then dropped from the record', async () => {
        const store = harness.store()
        let clock = Date.now()
        const a = Accounting.create({ store, now: () => clock, dedupeMs: 1_000 })
        const id = freshId()
        await a.accept({ channelId: id, cumulativeAmount: 1_000n, signature: SIG(1) }, chain(1_000n))
        const dedupe = { challengeId: 'ch-1', idempotencyKey: 'req-1' }
        await a.charge(id, 100n, { dedupe })
        clock += 999
        expect(await a.charge(id, 100n, { dedupe })).toMatchObject({ duplicate: true, state: { spent: 100n } })
        clock += 1
        // Expired: the same pair is a new charge (kept until its own time).
        expect(await a.charge(id, 100n, { dedupe, dedupeUntil: clock + 10 })).toMatchObject({ ok: true, duplicate: false, state: { spent: 200n } })
        await a.charge(id, 100n, { dedupe: { challengeId: 'ch-1', idempotencyKey: 'req-2' }, dedupeUntil: clock + 1_000 })
        clock += 10
        await a.charge(id, 1n)
        // Written after req-1's time: only req-2 is left in the record.
        expect(Object.keys((await a.get(id))!.charges)).toEqual([JSON.stringify(['ch-1', 'req-2'])])
      })
    })

    it('the record keeps at most maxDedupeEntries, dropping those expiring soonest', async () => {
      const store = harness.store()
      const a = Accounting.create({ store, maxDedupeEntries: 3 })
      const id = freshId()
      await a.accept({ channelId: id, cumulativeAmount: 1_000n, signature: SIG(1) }, chain(1_000n))
      const until = Date.now() + 60_000
      for (const [key, offset] of [['k1', 4], ['k2', 1], ['k3', 3], ['k4', 2]] as const)
        await a.charge(id, 1n, { dedupe: { challengeId: 'c', idempotencyKey: key }, dedupeUntil: until + offset })
      expect(Object.keys((await a.get(id))!.charges).sort()).toEqual(['k1', 'k3', 'k4'].map((k) => JSON.stringify(['c', k])))
      expect(await a.charge(id, 1n, { dedupe: { challengeId: 'c', idempotencyKey: 'k2' } })).toMatchObject({ duplicate: false })
    })

    describe('settlement and chain observations', () => {
      it('recordSettlement only rises and cannot pass the highest accepted voucher', async () => {
        const { a, id } = setup()
        await a.accept({ channelId: id, cumulativeAmount: 500n, signature: SIG(1) }, chain(1_000n))
        expect((await a.recordSettlement(id, 300n)).settledOnChain).toBe(300n)
        expect((await a.recordSettlement(id, 200n)).settledOnChain).toBe(300n)
        const error = await a.recordSettlement(id, 501n).catch((e: unknown) => e)
        expect(isMppError(error, 'settlement-failed')).toBe(true)
        expect((await a.get(id))!.settledOnChain).toBe(300n)
      })

      it('open keeps an existing record (spent and all) and folds the chain in; observe needs a record', async () => {
        const { a, b, id } = setup()
        await a.accept({ channelId: id, cumulativeAmount: 500n, signature: SIG(1) }, chain(1_000n))
        await a.charge(id, 200n)
        const state = await b.open(id, chain(3_000n, 0n, 0n))
        expect(state).toMatchObject({ acceptedCumulative: 500n, spent: 200n, deposit: 3_000n })
        expect(await a.observe(id, chain(2_000n, 100n, 1_700_000_000n))).toMatchObject({ deposit: 3_000n, settledOnChain: 100n, closeRequestedAt: 1_700_000_000n })
        await refused(a.observe(freshId(), chain(1n)), 'channel-not-found')
      })

      it('an unreadable record fails closed with store-failure', async () => {
        const { store, a, id } = setup()
        await store.set(ChannelState.key(id), '{"v":1,"channelId":"0x","acceptedCumulative":"1e3"}', Date.now() + 60_000)
        for (const op of [() => a.charge(id, 1n), () => a.accept({ channelId: id, cumulativeAmount: 1n, signature: SIG(1) }, chain(10n)), () => a.get(id)]) {
          const error = await op().catch((e: unknown) => e)
          expect(isMppError(error, 'store-failure')).toBe(true)
        }
      })
    })
  })
}
