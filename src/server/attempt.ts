/**
 * One payment attempt through the lifecycle (./lifecycle.ts), after every stateless
 * check passed: verify, authorize, claim the record and proofs in one atomic write,
 * settle, record the settlement, hand over to the handler. A retry of the same
 * credential and body resumes a record left behind by a crash, a hang or an unknown
 * outcome; anything else finds the challenge used.
 *
 * Nothing is written for a credential that did not verify, and nothing stays written
 * for a payment that definitely did not move money.
 */
import type * as Challenge from '../Challenge.js'
import type * as Credential from '../Credential.js'
import { isMppError } from '../errors.js'
import * as Method from '../Method.js'
import type * as Problem from '../Problem.js'
import type { JsonObject } from '../internal/json.js'
import { peek, storeKey } from './idempotency.js'
import * as Lifecycle from './lifecycle.js'
import { settledPayment, type Paid } from './paid.js'
import type { PipelineConfig } from './pipeline.js'
import { outcomeUnknown, problem } from './responses.js'
import type { StoreEntry } from './Store.js'

type AnyDriver = Method.Server<any, any, any>

export type Attempt = {
  readonly config: PipelineConfig
  /** The request, its body readable again. */
  readonly request: Request
  readonly echo: Credential.ChallengeEcho
  readonly credential: Credential.Credential
  readonly driver: AnyDriver
  readonly paymentRequest: JsonObject
  readonly payload: JsonObject
  readonly fp: string
  readonly idempotencyKey: string | null
  /** Server clock when the request arrived. */
  readonly at: number
  /** The challenge's expiry. */
  expiresAt: number
  readonly reject: (code: Problem.Code, detail: string, challengeId?: string) => Promise<Response>
}

const STORE_DOWN = 'payment state is unavailable; nothing was charged'
// Settlement must not stop halfway because the payer hung up.
const NEVER_ABORTED = new AbortController().signal

class StoreDown extends Error {}

export async function begin(attempt: Attempt): Promise<Response | Paid> {
  const { config, echo, driver, request } = attempt
  const base = eventBase(attempt)
  const pending: Pending = { open: true, entries: [] }
  const context = contextFor(attempt, pending)

  let verified: unknown
  try {
    verified = await driver.verify(context)
  } catch (error) {
    if (error instanceof StoreDown) return problem(503, undefined, STORE_DOWN)
    const { code, reason } = failureOf(error)
    config.emit({ type: 'payment-failed', ...base, stage: 'verify', reason })
    return attempt.reject(code, reason, echo.id)
  }
  config.emit({ type: 'payment-verified', ...base })
  if (config.authorize) {
    // A copy: the hook may read the body, and the handler must still be able to.
    const verdict = await config.authorize({ request: request.clone(), method: driver.name, intent: driver.intent, paymentRequest: attempt.paymentRequest })
    if (verdict !== true) {
      config.emit({ type: 'payment-refused', ...base })
      return verdict instanceof Response ? verdict : problem(403, undefined, 'the server refused this payment; nothing was charged')
    }
  }

  // The record and the proofs verify found, claimed together or not at all; the
  // store refuses once its own clock passed the challenge's expiry.
  const record: Lifecycle.PaymentRecord = {
    state: 'settling',
    fp: attempt.fp,
    lease: config.now() + config.settleLease,
    ...(pending.entries.length > 0 && { proofs: pending.entries.map((entry) => entry.key) }),
    challenge: echo,
    driver: config.drivers.get(`${driver.name}/${driver.intent}`)!.indexOf(driver),
  }
  const value = Lifecycle.encode(record)
  let created
  try {
    pending.open = false
    created = await config.store.create([{ key: Lifecycle.recordKey(echo.id), value, expiresAt: recordExpiry(attempt) }, ...pending.entries], {
      notAfter: attempt.expiresAt,
    })
  } catch {
    return problem(503, undefined, STORE_DOWN)
  }
  if (!created.created) {
    if ('expired' in created) return attempt.reject('invalid-challenge', 'challenge has expired', echo.id)
    if (created.key === Lifecycle.recordKey(echo.id) || created.value === echo.id) return resume(attempt, { verified })
    return attempt.reject('verification-failed', 'this payment proof was already used for another challenge', echo.id)
  }
  // The payer hung up before anything moved: charge nothing.
  if (request.signal?.aborted) {
    await release(attempt, value, record)
    return problem(503, undefined, 'the request was cancelled before payment; nothing was charged')
  }
  return settle(attempt, { value, record }, context, verified)
}

/** A credential whose challenge expired: only a payment already under way for it may continue. */
export async function resumeExpired(attempt: Attempt): Promise<Response | Paid> {
  let value: string | undefined
  try {
    value = await attempt.config.store.get(Lifecycle.recordKey(attempt.echo.id))
  } catch {
    return problem(503, undefined, STORE_DOWN)
  }
  const record = value === undefined ? undefined : Lifecycle.decode(value)
  if (record === undefined || record === Lifecycle.DELIVERED || record.fp !== attempt.fp)
    return attempt.reject('invalid-challenge', 'challenge has expired', attempt.echo.id)
  return resume(attempt, {})
}

/**
 * The record for this challenge exists. Its own payer's retry (same credential and
 * body) waits while the owner's lease runs, then takes over: a settled payment is
 * delivered, one whose outcome is open is looked up or settled again. Anyone else, or
 * a payment already finished, finds the challenge used.
 */
async function resume(attempt: Attempt, known: { verified?: unknown }): Promise<Response | Paid> {
  const { config, echo } = attempt
  const key = Lifecycle.recordKey(echo.id)
  const waitUntil = Date.now() + config.idempotencyWait
  for (let delay = 5; ; delay = Math.min(delay * 2, 100)) {
    let value: string | undefined
    try {
      value = await config.store.get(key)
    } catch {
      return problem(503, undefined, 'payment state is unavailable; retry with the same credential')
    }
    if (value === undefined) return used(attempt)
    const record = Lifecycle.decode(value)
    if (record === undefined || (record !== Lifecycle.DELIVERED && record.fp !== attempt.fp)) return used(attempt)
    if (record === Lifecycle.DELIVERED) return replayOrUsed(attempt)
    if (record.state === 'refunded' || record.state === 'refund-failed' || record.state === 'delivered')
      return attempt.reject('invalid-challenge', `this payment was already ${record.state === 'delivered' ? 'delivered' : 'refunded'}`, echo.id)

    const now = config.now()
    if (record.lease > now) {
      if (Date.now() < waitUntil) {
        await new Promise((resolve) => setTimeout(resolve, delay))
        continue
      }
      const seconds = Math.max(1, Math.ceil((record.lease - now) / 1000))
      const response = problem(409, undefined, 'this payment is still being processed; retry with the same credential')
      response.headers.set('retry-after', String(seconds))
      return response
    }

    // The owner is gone (or gave up): take over with a fresh lease.
    const lease = now + (record.state === 'settled' ? config.handlerTimeout + config.settleLease : config.settleLease)
    const taken: Lifecycle.PaymentRecord = { ...record, state: record.state === 'settled' ? 'settled' : 'settling', lease }
    const takenValue = Lifecycle.encode(taken)
    let swapped: boolean
    try {
      swapped = await config.store.swap(key, value, takenValue)
    } catch {
      return problem(503, undefined, 'payment state is unavailable; retry with the same credential')
    }
    if (!swapped) continue // someone else moved it first: look again
    config.emit({ type: 'payment-resumed', ...eventBase(attempt), state: record.state })
    if (taken.state === 'settled') return deliver(attempt, { value: takenValue, record: taken }, taken.settlement!)
    return settleAgain(attempt, { value: takenValue, record: taken }, known)
  }
}

/**
 * Takes an open outcome to a decision. The driver's lookup, when it has one, finds a
 * payment that moved (deliver it) or is still pending (say so); otherwise, and when
 * nothing moved, the payer is here with the same credential, so settle again: drivers
 * settle idempotently per challenge, so a slow first owner and this retry cannot both pay.
 */
async function settleAgain(attempt: Attempt, held: Held, known: { verified?: unknown }): Promise<Response | Paid> {
  const { config, driver, echo } = attempt
  const context = contextFor(attempt, { open: false, entries: [] })
  let verified = known.verified
  let verifyError: unknown
  if (!('verified' in known)) {
    try {
      verified = await driver.verify(context)
    } catch (error) {
      if (error instanceof StoreDown) return problem(503, undefined, 'payment state is unavailable; retry with the same credential')
      verifyError = error
    }
  }
  let notSettled: string | undefined
  if (driver.lookup) {
    let found: Method.LookupResult
    try {
      found = await driver.lookup({ ...context, verified })
    } catch {
      found = { status: 'pending' }
    }
    if (found.status === 'settled') return recordSettled(attempt, held, found.settlement)
    if (found.status === 'pending') return markUnknown(attempt, held, 'the payment method has not decided this payment yet')
    notSettled = found.reason
  }
  if (verifyError !== undefined) {
    // The proof no longer verifies (a token spent, a transaction replaced). Without a
    // lookup that says nothing moved, the outcome stays open rather than guessed.
    if (notSettled === undefined) return markUnknown(attempt, held, 'the payment could not be verified again to resume it')
    await release(attempt, held.value, held.record)
    const { code, reason } = failureOf(verifyError)
    config.emit({ type: 'payment-failed', ...eventBase(attempt), stage: 'verify', reason })
    return attempt.reject(code, reason, echo.id)
  }
  return settle(attempt, held, context, verified)
}

type Held = { value: string; record: Lifecycle.PaymentRecord }

async function settle(attempt: Attempt, held: Held, context: ReturnType<typeof contextFor>, verified: unknown): Promise<Response | Paid> {
  const { config, driver, echo } = attempt
  let settlement: Method.Settlement
  try {
    settlement = await driver.settle({ ...context, verified })
  } catch (error) {
    if (error instanceof StoreDown) return markUnknown(attempt, held, 'payment state became unavailable while settling')
    // Only a VerificationError means nothing moved; anything else may have moved money.
    if (!(error instanceof Method.VerificationError)) {
      const reason = error instanceof Method.OutcomeUnknownError ? error.reason : 'the payment method did not confirm the outcome'
      return markUnknown(attempt, held, reason)
    }
    await release(attempt, held.value, held.record)
    config.emit({ type: 'payment-failed', ...eventBase(attempt), stage: 'settle', reason: error.reason })
    return attempt.reject(error.code, error.reason, echo.id)
  }
  return recordSettled(attempt, held, settlement)
}

/** `settled`, with the settlement, written before the handler runs. */
async function recordSettled(attempt: Attempt, held: Held, settlement: Method.Settlement): Promise<Response | Paid> {
  const { config } = attempt
  config.emit({ type: 'payment-settled', ...eventBase(attempt), reference: settlement.reference })
  const now = config.now()
  const record: Lifecycle.PaymentRecord = {
    state: 'settled',
    fp: attempt.fp,
    lease: now + config.handlerTimeout + config.settleLease,
    ...(held.record.proofs && { proofs: held.record.proofs }),
    ...(held.record.challenge && { challenge: held.record.challenge, driver: held.record.driver }),
    settlement: {
      reference: settlement.reference,
      ...(settlement.receipt !== undefined && { receipt: settlement.receipt }),
      ...(settlement.details !== undefined && { details: settlement.details }),
    },
    settledAt: now,
  }
  const value = Lifecycle.encode(record)
  let swapped: boolean
  try {
    swapped = await config.store.swap(Lifecycle.recordKey(attempt.echo.id), held.value, value)
  } catch {
    // Money moved but the record still says settling: the payer's retry finds it
    // settled again (drivers settle idempotently) and is served then.
    return outcomeUnknown(attempt.echo.id, 'the payment settled but could not be recorded; retry with the same credential; do not pay again')
  }
  if (!swapped) {
    const response = problem(409, undefined, 'this payment is being finished by another request; retry with the same credential')
    response.headers.set('retry-after', '1')
    return response
  }
  return deliver(attempt, { value, record }, record.settlement!)
}

function deliver(attempt: Attempt, held: Held, settlement: Method.Settlement): Paid {
  return settledPayment(attempt.config, {
    driver: attempt.driver,
    echo: attempt.echo,
    credential: attempt.credential,
    request: attempt.request,
    paymentRequest: attempt.paymentRequest,
    settlement,
    at: held.record.settledAt ?? attempt.at,
    idempotencyKey: attempt.idempotencyKey,
    fingerprint: attempt.fp,
    record: { key: Lifecycle.recordKey(attempt.echo.id), value: held.value, record: held.record, replayUntil: attempt.expiresAt + attempt.config.claimMargin },
  })
}

async function markUnknown(attempt: Attempt, held: Held, reason: string): Promise<Response> {
  const { config, echo } = attempt
  config.emit({ type: 'payment-outcome-unknown', ...eventBase(attempt), reason })
  // The lease ends now: the payer's next retry asks the rail again straight away.
  const record: Lifecycle.PaymentRecord = { ...held.record, state: 'unknown', lease: config.now(), reason }
  await config.store.swap(Lifecycle.recordKey(echo.id), held.value, Lifecycle.encode(record)).catch(() => false)
  return outcomeUnknown(echo.id, `${reason}; the payment may have settled. Retry later with the same credential; do not pay again`)
}

async function release(attempt: Attempt, value: string, record: Lifecycle.PaymentRecord): Promise<void> {
  await Lifecycle.release(attempt.config.store, attempt.echo.id, value, record)
}

async function used(attempt: Attempt): Promise<Response> {
  return attempt.reject('invalid-challenge', 'challenge has already been used', attempt.echo.id)
}

/** A finished payment: a retry with its Idempotency-Key gets the stored response (stored before the record closed). */
async function replayOrUsed(attempt: Attempt): Promise<Response> {
  const { config, echo, idempotencyKey } = attempt
  if (idempotencyKey === null) return used(attempt)
  const stored = await peek(config.store, storeKey(echo.id, idempotencyKey), attempt.fp)
  if (stored === undefined || stored === 'rejected') return used(attempt)
  if (stored === 'too-large') return problem(409, undefined, 'the response to this Idempotency-Key was too large to store')
  config.emit({ type: 'idempotent-replay', challengeId: echo.id })
  return stored
}

/**
 * The driver's context. While `pending.open` (during `verify` on the first attempt) a
 * proof claim only checks and collects: the pipeline writes it together with the
 * payment record. Otherwise (during `settle`, or when resuming) a claim is written at
 * once. A proof already claimed by this very challenge counts as this payment's own.
 */
type Pending = { open: boolean; entries: StoreEntry[] }

function contextFor(attempt: Attempt, pending: Pending) {
  const { config, driver, echo } = attempt
  const claim = async (proof: string, options: { expiresAt?: number } = {}): Promise<boolean> => {
    const key = `proof:${driver.name}:${proof}`
    const expiresAt = options.expiresAt ?? config.now() + config.proofTtl
    try {
      if (pending.open) {
        const holder = await config.store.get(key)
        if (holder !== undefined && holder !== echo.id) return false
        if (holder === undefined && !pending.entries.some((entry) => entry.key === key)) pending.entries.push({ key, value: echo.id, expiresAt })
        return true
      }
      const result = await config.store.create([{ key, value: echo.id, expiresAt }])
      return result.created || ('value' in result && result.value === echo.id)
    } catch {
      throw new StoreDown()
    }
  }
  return {
    challenge: echo as Challenge.Challenge,
    credential: attempt.credential,
    request: attempt.paymentRequest,
    payload: attempt.payload,
    now: attempt.at,
    proofs: { claim },
    signal: NEVER_ABORTED,
  }
}

/** The record outlives the challenge (replays stay refused) and, while not delivered, the retention window. */
function recordExpiry(attempt: Attempt): number {
  return Math.max(attempt.expiresAt + attempt.config.claimMargin, attempt.config.now() + attempt.config.recordRetention)
}

function eventBase(attempt: Attempt) {
  return { challengeId: attempt.echo.id, method: attempt.driver.name, intent: attempt.driver.intent }
}

export function failureOf(error: unknown): { code: Problem.Code; reason: string } {
  if (error instanceof Method.VerificationError) return { code: error.code, reason: error.reason }
  if (isMppError(error)) return { code: 'verification-failed', reason: error.message }
  // Unknown errors can carry RPC URLs or API keys in their text: say nothing of them.
  return { code: 'verification-failed', reason: 'the payment method could not process this payment' }
}
