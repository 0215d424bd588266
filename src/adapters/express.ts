/**
 * Express 5 adapter: `payment(gate)` puts a price on the routes after it.
 *
 * Place it BEFORE body parsers (`express.json()`, `express.raw()`, ...): the challenge
 * is bound to the raw request bytes (RFC 9530 digest), so the gate reads them first and
 * then hands the same bytes back to `req`, where the parsers read them as usual. A gate
 * placed after a parser answers with an error instead of charging.
 *
 * Whatever the route writes (`res.send`, `res.json`, `res.end`, `res.write` + `end`,
 * `res.sendFile`, a piped stream) is finished like `Paid.respond`: a 2xx gets
 * `Payment-Receipt` and `Cache-Control: private`; a failed delivery (by default any
 * 5xx, including Express's 500 for a thrown error) is refunded and says so in
 * `Payment-Refund`. Retries with `Idempotency-Key` replay the stored response.
 *
 * @example
 * import express from 'express'
 * import { payment } from 'mppkit/express'
 *
 * const app = express()
 * app.post('/forecast', payment(server.charge({ price: '0.01' })), express.json(), (req, res) => {
 *   res.json({ city: req.body.city, receipt: res.locals.payment?.receipt.reference })
 * })
 */
import type { Request, RequestHandler } from 'express'
import type { Gate } from '../server/index.js'
import { chargeNodeRequest, type PaymentInfo } from './node.js'

export type { PaymentInfo } from './node.js'

declare global {
  namespace Express {
    interface Locals {
      /** Set by mppkit's `payment()` middleware on a paid request. */
      payment?: PaymentInfo
    }
  }
}

/**
 * Express middleware for a payment gate (`server.charge(route)`). An unpaid request
 * gets the gate's answer (402 with a challenge, 400, 403, ...) and goes no further; a
 * paid one continues with `res.locals.payment` set and its body readable again.
 *
 * @example
 * app.get('/weather', payment(server.charge({ price: '0.01' })), (req, res) => res.json({ sunny: true }))
 */
export function payment(gate: Gate): RequestHandler {
  return async (req, res, next) => {
    const url = expressUrl(req)
    const paid = await chargeNodeRequest(gate, req, res, url === undefined ? {} : { url })
    if (!paid) return
    res.locals.payment = paid.info
    next()
  }
}

const HOST = /^[A-Za-z0-9.\-_~%:[\]]+$/

// Express knows the scheme and host under its own 'trust proxy' setting, and the
// path before any mount point stripped it.
function expressUrl(req: Request): string | undefined {
  const host = req.host as string | undefined
  if (!host || !HOST.test(host) || !req.originalUrl.startsWith('/')) return undefined
  try {
    return new URL(`${req.protocol}://${host}${req.originalUrl}`).href
  } catch {
    return undefined
  }
}
