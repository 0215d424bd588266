/**
 * Payment effects: "send `amount` of the currency to `to`, with this memo". The
 * request says which effects must happen; a signed transaction's calls or a mined
 * transaction's logs say which did. One comparison serves pull and push alike.
 */
import { decodeFunctionData, encodeFunctionData, isAddressEqual, parseEventLogs, type Address, type Hex, type Log } from 'viem'
import { Abis } from 'viem/tempo'
import * as Memo from './memo.js'
import type { ChargeRequest } from './schema.js'

export type Effect = { readonly to: Address; readonly amount: bigint; readonly memo?: Hex }

/** What a memo must be: exactly this value, bound to the challenge, or anything. */
export type MemoRule = { readonly exact: Hex } | { readonly boundTo: { realm: string; challengeId: string } } | 'any'

export type Expectation = { readonly to: Address; readonly amount: bigint; readonly memo: MemoRule }

/**
 * The effects a request requires: the primary transfer (amount minus the splits) and
 * each split. `bind` demands the challenge-bound memo on the primary transfer when the
 * request fixes no memo of its own.
 */
export function expected(request: ChargeRequest, bind?: { realm: string; challengeId: string }): Expectation[] {
  const splits = request.methodDetails?.splits ?? []
  const total = BigInt(request.amount)
  const splitTotal = splits.reduce((sum, split) => sum + BigInt(split.amount), 0n)
  const primaryMemo: MemoRule = request.methodDetails?.memo
    ? { exact: request.methodDetails.memo as Hex }
    : bind
      ? { boundTo: bind }
      : 'any'
  return [
    { to: request.recipient as Address, amount: total - splitTotal, memo: primaryMemo },
    ...splits.map((split) => ({
      to: split.recipient as Address,
      amount: BigInt(split.amount),
      memo: split.memo ? { exact: split.memo as Hex } : ('any' as const),
    })),
  ]
}

/**
 * True when every expectation is met by its own observed effect. With `exact`, no
 * observed effect may be left over (a signed transaction must do nothing else).
 */
export function satisfied(expectations: readonly Expectation[], observed: readonly Effect[], exact: boolean): boolean {
  if (exact && observed.length !== expectations.length) return false
  const used = new Set<number>()
  // Constrained memos first, so an "any memo" expectation cannot take the effect a
  // stricter one needs.
  const ordered = [...expectations].sort((a, b) => rank(a.memo) - rank(b.memo))
  for (const want of ordered) {
    const index = observed.findIndex((effect, i) => !used.has(i) && meets(want, effect))
    if (index < 0) return false
    used.add(index)
  }
  return true
}

/** The transfer effects of a transaction's calls, or a reason it is not pure transfers of `currency`. */
export function fromCalls(
  calls: ReadonlyArray<{ to?: Address | null | undefined; data?: Hex | undefined; value?: bigint | undefined }>,
  currency: Address,
): Effect[] | string {
  const out: Effect[] = []
  for (const call of calls) {
    if (!call.to || !isAddressEqual(call.to, currency)) return 'the transaction calls a contract other than the currency'
    if (call.value !== undefined && call.value !== 0n) return 'the transaction sends value'
    if (!call.data) return 'a call has no data'
    let decoded
    try {
      decoded = decodeFunctionData({ abi: Abis.tip20, data: call.data })
    } catch {
      return 'a call is not a TIP-20 function'
    }
    let effect: Effect
    if (decoded.functionName === 'transfer') effect = { to: decoded.args[0], amount: decoded.args[1] }
    else if (decoded.functionName === 'transferWithMemo') effect = { to: decoded.args[0], amount: decoded.args[1], memo: decoded.args[2] }
    else return `the transaction calls ${decoded.functionName}, not a transfer`
    // Canonical calldata only: nothing appended for the token to interpret differently.
    if (encode(effect).toLowerCase() !== call.data.toLowerCase()) return 'a call has non-canonical calldata'
    out.push(effect)
  }
  return out
}

/** The transfer effects in a receipt's logs emitted by `currency`; a Transfer + TransferWithMemo pair counts once. */
export function fromLogs(logs: readonly Log[], currency: Address): Effect[] {
  const parsed = parseEventLogs({ abi: Abis.tip20, logs: logs as Log[], eventName: ['Transfer', 'TransferWithMemo'] })
    .filter((log) => isAddressEqual(log.address, currency))
    .sort((a, b) => a.logIndex - b.logIndex)
  const out: Effect[] = []
  for (let i = 0; i < parsed.length; i++) {
    const log = parsed[i]!
    const next = parsed[i + 1]
    if (
      log.eventName === 'Transfer' &&
      next?.eventName === 'TransferWithMemo' &&
      next.logIndex === log.logIndex + 1 &&
      isAddressEqual(next.args.from, log.args.from) &&
      isAddressEqual(next.args.to, log.args.to) &&
      next.args.amount === log.args.amount
    ) {
      out.push({ to: next.args.to, amount: next.args.amount, memo: next.args.memo })
      i++
    } else if (log.eventName === 'TransferWithMemo') out.push({ to: log.args.to, amount: log.args.amount, memo: log.args.memo })
    else out.push({ to: log.args.to, amount: log.args.amount })
  }
  return out
}

/** Calldata for one effect: `transferWithMemo` when it has a memo, else `transfer`. */
export function encode(effect: Effect): Hex {
  return effect.memo
    ? encodeFunctionData({ abi: Abis.tip20, functionName: 'transferWithMemo', args: [effect.to, effect.amount, effect.memo] })
    : encodeFunctionData({ abi: Abis.tip20, functionName: 'transfer', args: [effect.to, effect.amount] })
}

function meets(want: Expectation, effect: Effect): boolean {
  if (!isAddressEqual(want.to, effect.to) || want.amount !== effect.amount) return false
  if (want.memo === 'any') return true
  if ('exact' in want.memo) return effect.memo?.toLowerCase() === want.memo.exact.toLowerCase()
  return effect.memo !== undefined && Memo.binds(effect.memo, want.memo.boundTo.realm, want.memo.boundTo.challengeId)
}

function rank(rule: MemoRule): number {
  return rule === 'any' ? 1 : 0
}
