/**
 * The server's accounting record of one channel (draft-tempo-session-00 §"Accounting
 * State"), as it lives in the Store under `session:<lowercase channel id>`: one key per
 * channel, so a compare-and-set on it serializes everything that happens to the channel.
 * Amounts are bigints in memory and decimal strings in the stored JSON.
 *
 * @example
 * const state = ChannelState.decode(await store.get(ChannelState.key(channelId)))
 * const available = ChannelState.available(state) // acceptedCumulative − spent
 */
import type { Hex } from 'viem'

export type ChannelState = {
  /** Lowercase channel id. */
  readonly channelId: Hex
  /** Highest voucher accepted (monotonic). */
  readonly acceptedCumulative: bigint
  /** The signature of that voucher: what settles it on chain. Absent until a voucher above the on-chain settlement is accepted. */
  readonly signature?: Hex
  /** Charged for service delivered (monotonic, never above `acceptedCumulative`). */
  readonly spent: bigint
  /** Highest cumulative amount settled on chain that the server knows of. */
  readonly settledOnChain: bigint
  /** Latest verified on-chain deposit. */
  readonly deposit: bigint
  /** Latest verified close-request time (unix seconds), 0 when none. */
  readonly closeRequestedAt: bigint
  /** Charges already made, by dedupe key, kept until `until` (epoch ms). */
  readonly charges: Readonly<Record<string, ChargeRecord>>
}

export type ChargeRecord = {
  readonly cost: bigint
  /** `spent` right after this charge. */
  readonly spentAfter: bigint
  readonly until: number
}

const PREFIX = 'session:'

export function key(channelId: string): string {
  return PREFIX + channelId.toLowerCase()
}

export function available(state: ChannelState): bigint {
  return state.acceptedCumulative - state.spent
}

type Stored = {
  v: 1
  channelId: string
  acceptedCumulative: string
  signature?: string
  spent: string
  settledOnChain: string
  deposit: string
  closeRequestedAt: string
  charges: Record<string, { cost: string; spentAfter: string; until: number }>
}

export function encode(state: ChannelState): string {
  const charges: Stored['charges'] = {}
  for (const [k, c] of Object.entries(state.charges)) charges[k] = { cost: c.cost.toString(), spentAfter: c.spentAfter.toString(), until: c.until }
  const stored: Stored = {
    v: 1,
    channelId: state.channelId,
    acceptedCumulative: state.acceptedCumulative.toString(),
    ...(state.signature !== undefined && { signature: state.signature }),
    spent: state.spent.toString(),
    settledOnChain: state.settledOnChain.toString(),
    deposit: state.deposit.toString(),
    closeRequestedAt: state.closeRequestedAt.toString(),
    charges,
  }
  return JSON.stringify(stored)
}

/** The state a stored value holds, or `undefined` for an absent or unreadable one. */
export function decode(value: string | undefined): ChannelState | undefined {
  if (value === undefined) return undefined
  let s: Stored
  try {
    s = JSON.parse(value) as Stored
  } catch {
    return undefined
  }
  if (typeof s !== 'object' || s === null || s.v !== 1 || typeof s.channelId !== 'string') return undefined
  const amounts = [s.acceptedCumulative, s.spent, s.settledOnChain, s.deposit, s.closeRequestedAt]
  if (!amounts.every(isAmount) || typeof s.charges !== 'object' || s.charges === null) return undefined
  const charges: Record<string, ChargeRecord> = {}
  for (const [k, c] of Object.entries(s.charges)) {
    if (!isAmount(c?.cost) || !isAmount(c.spentAfter) || typeof c.until !== 'number') return undefined
    charges[k] = { cost: BigInt(c.cost), spentAfter: BigInt(c.spentAfter), until: c.until }
  }
  return {
    channelId: s.channelId.toLowerCase() as Hex,
    acceptedCumulative: BigInt(s.acceptedCumulative),
    ...(typeof s.signature === 'string' && { signature: s.signature as Hex }),
    spent: BigInt(s.spent),
    settledOnChain: BigInt(s.settledOnChain),
    deposit: BigInt(s.deposit),
    closeRequestedAt: BigInt(s.closeRequestedAt),
    charges,
  }
}

function isAmount(value: unknown): value is string {
  return typeof value === 'string' && /^(0|[1-9][0-9]{0,77})$/.test(value)
}
