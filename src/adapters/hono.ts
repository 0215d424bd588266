/**
 * Hono adapter: `payment(gate)` puts a price on the routes after it. Hono works on
 * Web `Request`/`Response` already, so this is the gate plus `Paid.respond`; it runs on
 * every runtime Hono runs on.
 *
 * @example
 * import { Hono } from 'hono'
 * import { payment, type PaymentVariables } from 'mppkit/hono'
 *
 * const app = new Hono<{ Variables: PaymentVariables }>()
 * app.post('/forecast', payment(server.charge({ price: '0.01' })), async (c) => {
 *   const { city } = await c.req.json()
 *   return c.json({ city, reference: c.get('payment').receipt.reference })
 * })
 */
import type { MiddlewareHandler } from 'hono'
import { MppError } from '../errors.js'
import type { Gate, Paid, PaymentInfo } from '../server/index.js'

/** What a handler learns about the payment of its request. */
export type { PaymentInfo }

/** Context variables the middleware sets: `c.get('payment')`. */
export type PaymentVariables = { payment: PaymentInfo }

/**
 * Hono middleware for a payment gate (`server.charge(route)`). An unpaid request gets
 * the gate's answer (402 with a challenge, 400, 403, ...). A paid one runs the rest of
 * the chain with `c.get('payment')` set and the body still readable (`c.req.json()`);
 * its response then gets `Payment-Receipt` and `Cache-Control: private` on a 2xx, or a
 * refund and `Payment-Refund` on a failed delivery (by default any 5xx, including the
 * 500 Hono answers for a thrown error).
 *
 * Place it before validators or anything else that reads the body.
 *
 * @example
 * app.get('/weather', payment(server.charge({ price: '0.01' })), (c) => c.json({ sunny: true }))
 */
export function payment(gate: Gate): MiddlewareHandler<{ Variables: PaymentVariables }> {
  return async (c, next) => {
    if (c.req.raw.bodyUsed)
      throw new MppError('configuration-invalid', 'the request body was read before the payment gate; put the gate before validators')
    const result = await gate.check(c.req.raw)
    if (!result.paid) return result.response
    // The gate read the body for its digest check; this request carries the same bytes.
    c.req.raw = result.request
    c.set('payment', {
      credential: result.credential,
      challenge: result.challenge,
      paymentRequest: result.paymentRequest,
      receipt: result.receipt,
      settlement: result.settlement,
    })
    // Hono's compose normally turns a thrown error into its onError response (a 500,
    // refunded); one that still escapes, or a handler past handlerTimeout, is a failed
    // delivery as well.
    const finished = await result.deliver(async () => {
      await next()
      return c.res
    })
    // Setting c.res over an existing one copies the old headers onto the new response
    // (and would put back e.g. a `Cache-Control: public`): clear it first.
    c.res = undefined
    c.res = finished
  }
}
