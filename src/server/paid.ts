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
}

type Config = {
  store: Store
  idempotencyTtl: number
  refundOn: (status: number) => boolean
  emit: (event: ServerEvent) => void
}

export function settledPayment(config: Config, settled: Settled): Paid {
  const { driver, echo, credential, request, paymentRequest, settlement, at, idempotencyKey, fingerprint } = settled
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
  const refundHeader = async () => {
    const result = await refund()
    config.emit({ type: 'payment-refunded', ...base, reference: settlement.reference, result: result.status })
    return encodeObject({ status: result.status, method: driver.name, ...('reference' in result && { reference: result.reference }) })
  }
  const finish = (response: Response) =>
    idempotencyKey === null ? response : remember(config.store, storeKey(echo.id, idempotencyKey), response, config.idempotencyTtl, fingerprint)

  let responded = false
  return {
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
        )
      if (config.refundOn(response.status)) return finish(withHeaders(response, { 'payment-refund': await refundHeader() }))
      return finish(response)
    },
    async fail() {
      if (responded) throw new TypeError('respond() was already called for this payment')
      responded = true
      const response = problem(500, undefined, 'the resource could not be delivered after payment')
      return finish(withHeaders(response, { 'payment-refund': await refundHeader() }))
    },
  }
}
