/**
 * Next.js App Router adapter: `withPayment(gate, handler)` is a route handler (the
 * `GET`/`POST`/... export of a `route.ts`) that charges before `handler` runs. Route
 * handlers are Web `(request, context) => Response` functions, so this is the gate plus
 * `Paid.deliver`. It imports neither `next` nor any Node.js built-in (nor does the
 * server core), so it is meant for both the Node.js and Edge runtimes; it is tested with
 * plain `Request`s in Node, not inside a Next.js build.
 *
 * @example
 * // app/api/forecast/[city]/route.ts
 * import { withPayment } from 'mppkit/next'
 * import { server } from '@/lib/payments'
 *
 * export const POST = withPayment(
 *   server.charge({ price: '0.01' }),
 *   async (request, { params }: { params: Promise<{ city: string }> }, payment) => {
 *     const { city } = await params
 *     const { days } = await request.json()
 *     return Response.json({ city, days, reference: payment.receipt.reference })
 *   },
 * )
 */
import { MppError } from '../errors.js'
import type { Gate, PaymentInfo } from '../server/index.js'

/** What a handler learns about the payment of its request. */
export type { PaymentInfo }

/**
 * A paid route handler. `request` carries the body the payment was bound to (for a
 * request with a body it is a plain `Request`, not Next's `NextRequest`: read the URL
 * with `new URL(request.url)` and cookies from its headers); `context` is Next's, as is.
 */
export type PaidRouteHandler<Context> = (request: Request, context: Context, payment: PaymentInfo) => Response | Promise<Response>

/**
 * A route handler that charges through `gate` (`server.charge(route)`). An unpaid
 * request gets the gate's answer (402 with a challenge, 400, 403, ...) and `handler`
 * does not run. A paid one runs `handler` under the server's `handlerTimeout`; a 2xx
 * gets `Payment-Receipt` and `Cache-Control: private`, a failed delivery (by default
 * any non-2xx, a throw, or a timeout answered 504) is refunded with `Payment-Refund`.
 *
 * Throws `configuration-invalid` if the request body was already read (the digest
 * binding needs its bytes).
 *
 * @example
 * export const GET = withPayment(server.charge({ price: '0.01' }), () => Response.json({ sunny: true }))
 */
export function withPayment<Context = unknown>(gate: Gate, handler: PaidRouteHandler<Context>): (request: Request, context: Context) => Promise<Response> {
  return async (request, context) => {
    if (request.bodyUsed) throw new MppError('configuration-invalid', 'the request body was read before the payment gate')
    const result = await gate.check(request)
    if (!result.paid) return result.response
    const payment: PaymentInfo = {
      credential: result.credential,
      challenge: result.challenge,
      paymentRequest: result.paymentRequest,
      receipt: result.receipt,
      settlement: result.settlement,
    }
    return result.deliver(() => handler(result.request, context, payment))
  }
}
