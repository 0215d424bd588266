/**
 * A settled payment: its receipt, and how the handler's response is finished for it
 * (receipt on 2xx, refund on a failed delivery, stored for Idempotency-Key replays).
 */
import type * as Challenge from '../Challenge.js'
import type * as Credential from '../Credential.js'
import type * as Method from '../Method.js'
import * as Receipt from '../Receipt.js'
import { encodeObject, type JsonObject } from '../internal/json.js'
import type { ServerEvent } from './events.js'
import { remember, storeKey } from './idempotency.js'
import * as Lifecycle from './lifecycle.js'
import { privateCacheControl, problem, withHeaders } from './responses.js'
import type { Store } from './Store.js'

/** A verified, settled payment, and how to finish the response for it. */
export type Paid = {
  /** The request, with its body still readable by the handler. */
  readonly request: Request
  readonly credential: Credential.Credential
  readonly challenge: Credential.ChallengeEcho
  /** The decoded, schema-checked `request` of the paid challenge. */
  readonly paymentRequest: JsonObject
  readonly receipt: Receipt.Receipt
  readonly settlement: Method.Settlement
  /**
   * Finishes the handler's response: a 2xx gets `Payment-Receipt` and `Cache-Control:
   * private`; a failed delivery (by default 5xx) is refunded when the method can, and
   * says so in `Payment-Refund`. Call it exactly once.
   */
  respond(response: Response): Promise<Response>
  /** The handler threw after the payment settled: refund and answer 500. */
  fail(error: unknown): Promise<Response>
  /**
   * Runs the handler under the server's `handlerTimeout` and finishes its response
   * (`respond`, or `fail` if it throws). A handler that does not answer in time is
   * answered 504 and the payment refunded; what it returns later is dropped.
   */
  deliver(handler: () => Response | Promise<Response>): Promise<Response>
  /** How long (ms) the handler may take, for adapters that time the handler themselves. */
  readonly handlerTimeout: number
  /** The handler did not answer in time: refund, and the 504 to send (for adapters that time the handler themselves). */
  timedOut(): Promise<Response>
}

/** What a handler learns about the payment of its request (what adapters hand on). */
export type PaymentInfo = Pick<Paid, 'credential' | 'challenge' | 'paymentRequest' | 'receipt' | 'settlement'>

type Settled = {
  driver: Method.Server<any, any, any>
  echo: Credential.ChallengeEcho
  credential: Credential.Credential
  /** The request, with its body readable again. */
  request: Request
  paymentRequest: JsonObject
  settlement: Method.Settlement
  at: number
  idempotencyKey: string | null
  /** The credential and body this payment was made with; stored answers are bound to it. */
  fingerprint: string
  /** The lifecycle record as `settled`; finishing moves it to its end state. */
  record: { key: string; value: string; record: Lifecycle.PaymentRecord; replayUntil: number }
}

type Config = {
  store: Store
  idempotencyTtl: number
  handlerTimeout: number
  now: () => number
  refundOn: (status: number) => boolean
  emit: (event: ServerEvent) => void
}

export function settledPayment(config: Config, settled: Settled): Paid {
  const { driver, echo, credential, request, paymentRequest, settlement, at, idempotencyKey, fingerprint, record } = settled
  const base = { challengeId: echo.id, method: driver.name, intent: driver.intent }
  const receipt = Receipt.from({
    ...settlement.receipt,
    method: driver.name,
    reference: settlement.reference,
    timestamp: new Date(at),
    challengeId: echo.id,
  })
  const refund = async () => {
    if (!driver.refund) return { status: 'unsupported' as const }
    try {
      return await driver.refund({ settlement, request: paymentRequest, challenge: echo as Challenge.Challenge })
    } catch {
      return { status: 'failed' as const, reason: 'refund request failed' }
    }
  }
  // The record's end state, written after the stored replay copy so that a waiting
  // retry finds the response. A failed write leaves it `settled`: a later retry of the
  // same credential would be served again, which is why it is reported.
  const close = async (next: string, expiresAt?: number) => {
    const closed = await config.store.swap(record.key, record.value, next, expiresAt).catch(() => false)
    if (!closed) config.emit({ type: 'payment-record-failed', ...base, state: next === Lifecycle.DELIVERED ? 'delivered' : (JSON.parse(next) as Lifecycle.PaymentRecord).state })
  }
  const refundHeader = async () => {
    const result = await refund()
    config.emit({ type: 'payment-refunded', ...base, reference: settlement.reference, result: result.status })
    await close(
      Lifecycle.encode({
        ...record.record,
        state: result.status === 'refunded' ? 'refunded' : 'refund-failed',
        ...(result.status === 'failed' && { reason: result.reason }),
        ...(result.status === 'unsupported' && { reason: 'the payment method cannot refund' }),
      }),
    )
    return encodeObject({ status: result.status, method: driver.name, ...('reference' in result && { reference: result.reference }) })
  }
  const finish = async (response: Response, delivered: boolean) => {
    const finished =
      idempotencyKey === null ? response : await remember(config.store, storeKey(echo.id, idempotencyKey), response, config.now() + config.idempotencyTtl, fingerprint)
    if (delivered) await close(Lifecycle.DELIVERED, record.replayUntil)
    return finished
  }

  let responded = false
  const paid: Paid = {
    request,
    credential,
    challenge: echo,
    paymentRequest,
    receipt,
    settlement,
    async respond(response) {
      if (responded) throw new TypeError('respond() was already called for this payment')
      responded = true
      if (response.status >= 200 && response.status < 300)
        return finish(
          withHeaders(response, {
            'payment-receipt': Receipt.serialize(receipt),
            'cache-control': privateCacheControl(response.headers.get('cache-control')),
          }),
          true,
        )
      if (config.refundOn(response.status)) return finish(withHeaders(response, { 'payment-refund': await refundHeader() }), false)
      return finish(response, true)
    },
    async fail() {
      if (responded) throw new TypeError('respond() was already called for this payment')
      responded = true
      const response = problem(500, undefined, 'the resource could not be delivered after payment')
      return finish(withHeaders(response, { 'payment-refund': await refundHeader() }), false)
    },
    async deliver(handler) {
      let timer: ReturnType<typeof setTimeout> | undefined
      const timedOut = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), config.handlerTimeout)
      })
      let outcome: Response | 'timeout'
      try {
        outcome = await Promise.race([Promise.resolve().then(handler), timedOut])
      } catch (error) {
        return paid.fail(error)
      } finally {
        clearTimeout(timer)
      }
      if (outcome !== 'timeout') return paid.respond(outcome)
      return paid.timedOut()
    },
    handlerTimeout: config.handlerTimeout,
    async timedOut() {
      if (responded) throw new TypeError('respond() was already called for this payment')
      responded = true
      config.emit({ type: 'handler-timeout', ...base })
      const response = problem(504, undefined, `the resource was not ready within ${config.handlerTimeout} ms after payment`)
      return finish(withHeaders(response, { 'payment-refund': await refundHeader() }), false)
    },
  }
  return paid
}
