/**
 * Resolves a payment its payer never came back for: a record left `unknown`, or
 * `settling` / `settled` by a server that died, once its owner's lease has run out.
 * Operators call it with the challenge ids of `payment-outcome-unknown`,
 * `payment-record-failed` and stuck-payment alerts. Without the payer there is no one
 * to deliver to, so money that moved is refunded (or, if configured, kept and marked
 * delivered), and a payment that moved nothing is released.
 */
import type * as Challenge from '../Challenge.js'
import type * as Method from '../Method.js'
import { decodeObject, type JsonObject } from '../internal/json.js'
import { validate } from '../internal/standardSchema.js'
import * as Lifecycle from './lifecycle.js'
import type { PipelineConfig } from './pipeline.js'

export type ReconcileOptions = {
  /** What to do with money that moved for a payer who never got the resource (default `refund`). */
  readonly settled?: 'refund' | 'keep'
}

export type ReconcileResult = {
  /** The record's state before. */
  readonly was: Lifecycle.PaymentState | 'delivered' | 'none'
  readonly action: 'refunded' | 'refund-failed' | 'kept' | 'released' | 'pending' | 'in-progress' | 'nothing'
}

export async function reconcile(config: PipelineConfig, challengeId: string, options: ReconcileOptions = {}): Promise<ReconcileResult> {
  const key = Lifecycle.recordKey(challengeId)
  const value = await config.store.get(key)
  if (value === undefined) return { was: 'none', action: 'nothing' }
  const record = Lifecycle.decode(value)
  if (record === undefined || record === Lifecycle.DELIVERED) return { was: 'delivered', action: 'nothing' }
  if (record.state === 'delivered' || record.state === 'refunded' || record.state === 'refund-failed') return { was: record.state, action: 'nothing' }
  if (record.lease > config.now()) return { was: record.state, action: 'in-progress' }
  const driver = record.challenge && config.drivers.get(`${record.challenge.method}/${record.challenge.intent}`)?.[record.driver ?? 0]
  if (!record.challenge || !driver) return { was: record.state, action: 'nothing' }
  const challenge = record.challenge as Challenge.Challenge
  const paymentRequest = await requestOf(driver, challenge)

  let settlement = record.settlement
  if (record.state !== 'settled') {
    if (!driver.lookup) return { was: record.state, action: 'pending' }
    // No payer, so no credential: the lookup works from the challenge (and the request it names).
    const found = await driver
      .lookup({ challenge, request: paymentRequest, credential: undefined as never, payload: undefined as never, verified: undefined, now: config.now(), proofs: { claim: async () => false }, signal: new AbortController().signal })
      .catch((): Method.LookupResult => ({ status: 'pending' }))
    if (found.status === 'pending') return { was: record.state, action: 'pending' }
    if (found.status === 'not-settled') {
      const released = await Lifecycle.release(config.store, challengeId, value, record)
      return { was: record.state, action: released ? 'released' : 'in-progress' }
    }
    settlement = found.settlement
  }
  if (options.settled === 'keep') {
    const kept = await config.store.swap(key, value, Lifecycle.DELIVERED)
    return { was: record.state, action: kept ? 'kept' : 'in-progress' }
  }
  // Take the record first, so a payer's retry arriving now cannot also be served.
  const taking: Lifecycle.PaymentRecord = { ...record, state: 'settled', lease: config.now() + config.settleLease, ...(settlement && { settlement }) }
  const takingValue = Lifecycle.encode(taking)
  if (!(await config.store.swap(key, value, takingValue))) return { was: record.state, action: 'in-progress' }
  const result = driver.refund
    ? await driver.refund({ settlement: settlement!, request: paymentRequest, challenge }).catch((): Method.RefundResult => ({ status: 'failed', reason: 'refund request failed' }))
    : ({ status: 'failed', reason: 'the payment method cannot refund' } as const)
  const state = result.status === 'refunded' ? 'refunded' : 'refund-failed'
  await config.store.swap(key, takingValue, Lifecycle.encode({ ...taking, state, ...(result.status === 'failed' && { reason: result.reason }) }))
  config.emit({ type: 'payment-refunded', challengeId, method: driver.name, reference: settlement!.reference, result: result.status })
  return { was: record.state, action: state }
}

/** The challenge's request as the driver's schema parses it (what `refund` and `lookup` are given elsewhere). */
async function requestOf(driver: Method.Server<any, any, any>, challenge: Challenge.Challenge): Promise<JsonObject> {
  const decoded = decodeObject(challenge.request)
  const parsed = await validate(driver.request, decoded)
  return parsed.ok ? (parsed.value as JsonObject) : decoded
}
