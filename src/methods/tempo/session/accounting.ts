/**
 * Per-channel session accounting on a {@link Store} (draft-tempo-session-00 §"Server-Side
 * Accounting"): accept vouchers, charge for service, record settlements. Every operation
 * is a compare-and-set loop on the channel's one key (`get`, then `create` or `swap`), so
 * the operations on one channel are linearizable across every process sharing the store,
 * and a write is durable before its result is returned: `charge` resolves only after the
 * new `spent` is stored, so service delivered after it is always paid for. Within one
 * process, operations on a channel are queued, so the store sees contention only between
 * processes.
 *
 * @example
 * const accounting = Accounting.create({ store })
 * await accounting.accept(voucher, onChain, { minVoucherDelta: 1_000n })
 * const charge = await accounting.charge(channelId, 250n, { dedupe: { challengeId, idempotencyKey } })
 * if (!charge.ok) return paymentRequired({ requiredTopUp: charge.requiredTopUp })
 */
import type { Hex } from 'viem'
import { MppError } from '../../../errors.js'
import type { Store } from '../../../server/Store.js'
import * as ChannelState from './channelState.js'
import { SessionError } from './SessionError.js'

type State = ChannelState.ChannelState

/** What the escrow says about the channel (a subset of `Escrow.Channel`). */
export type OnChain = { readonly deposit: bigint; readonly settled: bigint; readonly closeRequestedAt: bigint }

export type SignedVoucher = { readonly channelId: Hex; readonly cumulativeAmount: bigint; readonly signature: Hex }

export type AcceptResult = {
  /** True when the voucher equals the highest accepted one: a retry, nothing changed. */
  readonly idempotent: boolean
  readonly state: State
}

export type ChargeResult =
  | {
      readonly ok: true
      /** True when this `(challengeId, idempotencyKey)` was charged before: nothing charged now. */
      readonly duplicate: boolean
      /** What was charged (for a duplicate: what the first charge was). */
      readonly cost: bigint
      readonly state: State
    }
  | {
      readonly ok: false
      /** `cost − available`: how much more the payer must authorize. */
      readonly requiredTopUp: bigint
      /** The smallest cumulative voucher that would pay for this charge (`spent + cost`). */
      readonly requiredCumulative: bigint
      readonly state: State
    }

export type ChargeOptions = {
  /** Charge once per `(challengeId, idempotencyKey)`: a repeat returns the first charge. */
  readonly dedupe?: { readonly challengeId: string; readonly idempotencyKey: string }
  /** Until when (epoch ms) the dedupe entry is kept; default now + `dedupeMs`. */
  readonly dedupeUntil?: number
}

export type Options = {
  readonly store: Store
  /** Clock (epoch ms) for record lifetimes and dedupe entries. */
  readonly now?: () => number
  /** How long a channel record lives after its last write. Default 30 days. */
  readonly retentionMs?: number
  /** How long a charge's dedupe entry is kept by default. Default 10 minutes. */
  readonly dedupeMs?: number
  /**
   * Most dedupe entries kept per channel (they live in the channel's record, rewritten on
   * every write). Past it, the entries expiring soonest are dropped first: a retry of a
   * charge that old is charged again. Default 1,000.
   */
  readonly maxDedupeEntries?: number
  /** Compare-and-set attempts before giving up with `store-timeout`. Default 1,000. */
  readonly maxAttempts?: number
}

export type Accounting = {
  /** The channel's state, or `undefined` when the server has no record of it. */
  get(channelId: Hex): Promise<State | undefined>
  /**
   * Starts accounting from the chain (after an `open` was verified): accepted = spent =
   * settled on chain, so nothing settled before is spendable again. An existing record is
   * kept and brought up to date with `chain` instead.
   */
  open(channelId: Hex, chain: OnChain): Promise<State>
  /** Records a verified on-chain state (after a top-up, or a fresh read): deposit and settlement only rise. */
  observe(channelId: Hex, chain: OnChain): Promise<State>
  /**
   * Accepts a voucher whose signature and signer were verified against `chain`. Refuses,
   * in the draft's order: below the highest accepted (`amount-not-increasing`), above it by
   * less than `minVoucherDelta` (`delta-too-small`), above the deposit (`amount-exceeds-deposit`).
   * Equal to the highest accepted is an idempotent retry. A channel without a record is
   * started from `chain` first.
   *
   * @throws {SessionError}
   */
  accept(voucher: SignedVoucher, chain: OnChain, options?: { readonly minVoucherDelta?: bigint }): Promise<AcceptResult>
  /**
   * Charges `cost` against the accepted balance, persisting `spent` before it resolves:
   * deliver the service only after `ok: true`. When `acceptedCumulative − spent < cost` it
   * charges nothing and says how much more is needed.
   *
   * @throws {SessionError} `channel-not-found` when the server has no record of the channel
   */
  charge(channelId: Hex, cost: bigint, options?: ChargeOptions): Promise<ChargeResult>
  /**
   * Records that the chain settled `amount` cumulatively (only rises).
   *
   * @throws {MppError} `settlement-failed` when `amount` is above the highest accepted voucher
   */
  recordSettlement(channelId: Hex, amount: bigint): Promise<State>
}

/** A step computes the next state (or `undefined` for no change) and the result. */
type Step<R> = (state: State) => { next?: State; result: R }

const DAY = 86_400_000

export function create(options: Options): Accounting {
  const { store } = options
  const now = options.now ?? Date.now
  const retentionMs = options.retentionMs ?? 30 * DAY
  const dedupeMs = options.dedupeMs ?? 600_000
  const maxDedupeEntries = options.maxDedupeEntries ?? 1_000
  const maxAttempts = options.maxAttempts ?? 1_000

  /**
   * This process's operations on one channel, one at a time: they would only defeat each
   * other's compare-and-set, so only processes contend in the store, not every request.
   */
  const queues = new Map<string, Promise<void>>()

  function update<R>(channelId: Hex, init: (() => State) | undefined, step: Step<R>): Promise<R> {
    const key = ChannelState.key(channelId)
    const result = (queues.get(key) ?? Promise.resolve()).then(() => attempt(key, init, step))
    const tail = result.then(
      () => {},
      () => {},
    )
    queues.set(key, tail)
    void tail.then(() => {
      if (queues.get(key) === tail) queues.delete(key)
    })
    return result
  }

  async function attempt<R>(key: string, init: (() => State) | undefined, step: Step<R>): Promise<R> {
    for (let attempt = 0; attempt < maxAttempts; attempt++) {
      if (attempt > 0) await backoff(attempt)
      const value = await store.get(key)
      if (value === undefined) {
        if (!init) throw new SessionError('channel-not-found', 'the server has no accounting record for this channel')
        const first = init()
        const { next, result } = step(first)
        const created = await store.create([{ key, value: ChannelState.encode(prune(next ?? first)), expiresAt: now() + retentionMs }])
        if (created.created) return result
        continue
      }
      const state = ChannelState.decode(value)
      if (!state) throw new MppError('store-failure', 'the stored channel record is unreadable')
      const { next, result } = step(state)
      if (!next) return result
      if (await store.swap(key, value, ChannelState.encode(prune(next)), now() + retentionMs)) return result
    }
    throw new MppError('store-timeout', `the channel record kept changing: gave up after ${maxAttempts} attempts`)
  }

  /** Drops expired dedupe entries, then the soonest-expiring ones past `maxDedupeEntries`. */
  function prune(state: State): State {
    const at = now()
    const all = Object.entries(state.charges)
    let live = all.filter(([, c]) => c.until > at)
    if (live.length > maxDedupeEntries) live = live.sort(([, x], [, y]) => y.until - x.until).slice(0, maxDedupeEntries)
    if (live.length === all.length) return state
    return { ...state, charges: Object.fromEntries(live) }
  }

  function fromChain(channelId: Hex, chain: OnChain): () => State {
    return () => ({
      channelId: channelId.toLowerCase() as Hex,
      acceptedCumulative: chain.settled,
      spent: chain.settled,
      settledOnChain: chain.settled,
      deposit: chain.deposit,
      closeRequestedAt: chain.closeRequestedAt,
      charges: {},
    })
  }

  /** `state` with `chain` folded in, or `state` itself when nothing changes. */
  function merge(state: State, chain: OnChain): State {
    const deposit = max(state.deposit, chain.deposit)
    const settledOnChain = max(state.settledOnChain, chain.settled)
    if (deposit === state.deposit && settledOnChain === state.settledOnChain && chain.closeRequestedAt === state.closeRequestedAt) return state
    return { ...state, deposit, settledOnChain, closeRequestedAt: chain.closeRequestedAt }
  }

  function changed(before: State, after: State): { next?: State; result: State } {
    return after === before ? { result: after } : { next: after, result: after }
  }

  return {
    async get(channelId) {
      const value = await store.get(ChannelState.key(channelId))
      if (value === undefined) return undefined
      const state = ChannelState.decode(value)
      if (!state) throw new MppError('store-failure', 'the stored channel record is unreadable')
      return state
    },

    open: (channelId, chain) => update(channelId, fromChain(channelId, chain), (state) => changed(state, merge(state, chain))),

    observe: (channelId, chain) => update(channelId, undefined, (state) => changed(state, merge(state, chain))),

    accept(voucher, chain, options = {}) {
      const minVoucherDelta = options.minVoucherDelta ?? 0n
      const amount = voucher.cumulativeAmount
      return update<AcceptResult>(voucher.channelId, fromChain(voucher.channelId, chain), (before) => {
        const state = merge(before, chain)
        if (amount < state.acceptedCumulative)
          throw new SessionError('amount-not-increasing', 'the voucher is below the highest accepted voucher for this channel')
        if (amount === state.acceptedCumulative) return { ...changed(before, state), result: { idempotent: true, state } }
        if (amount - state.acceptedCumulative < minVoucherDelta)
          throw new SessionError('delta-too-small', 'the voucher raises the accepted amount by less than minVoucherDelta')
        if (amount > state.deposit) throw new SessionError('amount-exceeds-deposit', 'the voucher is above the channel deposit')
        const next: State = { ...state, acceptedCumulative: amount, signature: voucher.signature }
        return { next, result: { idempotent: false, state: next } }
      })
    },

    charge(channelId, cost, options = {}) {
      if (cost < 0n) throw new TypeError('cost must not be negative')
      const dedupeKey = options.dedupe && JSON.stringify([options.dedupe.challengeId, options.dedupe.idempotencyKey])
      return update<ChargeResult>(channelId, undefined, (state) => {
        const earlier = dedupeKey === undefined ? undefined : state.charges[dedupeKey]
        if (earlier && earlier.until > now()) return { result: { ok: true, duplicate: true, cost: earlier.cost, state } }
        const available = ChannelState.available(state)
        if (available < cost) return { result: { ok: false, requiredTopUp: cost - available, requiredCumulative: state.spent + cost, state } }
        const spent = state.spent + cost
        const charges =
          dedupeKey === undefined
            ? state.charges
            : { ...state.charges, [dedupeKey]: { cost, spentAfter: spent, until: options.dedupeUntil ?? now() + dedupeMs } }
        const next: State = { ...state, spent, charges }
        return { next, result: { ok: true, duplicate: false, cost, state: next } }
      })
    },

    recordSettlement: (channelId, amount) =>
      update(channelId, undefined, (state) => {
        if (amount > state.acceptedCumulative) throw new MppError('settlement-failed', 'the settled amount is above the highest accepted voucher')
        return changed(state, amount > state.settledOnChain ? { ...state, settledOnChain: amount } : state)
      }),
  }
}

function max(a: bigint, b: bigint): bigint {
  return a > b ? a : b
}

/** Random wait under contention, growing to at most ~16 ms, so racing writers spread out. */
function backoff(attempt: number): Promise<void> {
  const ceiling = Math.min(16, 2 ** Math.min(attempt, 4))
  return new Promise((resolve) => setTimeout(resolve, Math.random() * ceiling))
}
