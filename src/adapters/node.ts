/**
 * Node.js `http` adapter: converts between `IncomingMessage`/`ServerResponse` and the
 * Web `Request`/`Response` the payment server works on, and lets a Node-style handler
 * (one that writes to `res` itself) run behind a payment gate.
 *
 * @example
 * import { createServer } from 'node:http'
 * import { nodeHandler, withPayment } from 'mppkit/node'
 *
 * // Web-style handler:
 * createServer(nodeHandler(server.route({ price: '0.01' }, () => Response.json({ ok: true }))))
 * // Node-style handler:
 * createServer(withPayment(server.charge({ price: '0.01' }), (req, res, payment) => res.end('paid')))
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { MppError } from '../errors.js'
import type { Gate, Paid, PaymentInfo } from '../server/index.js'
import { interceptResponse } from './node/intercept.js'
import { rewindBody, toWebRequest, type ToWebRequestOptions } from './node/request.js'
import { closeSignal, plain, writeWebResponse } from './node/response.js'

export { toWebRequest, type ToWebRequestOptions } from './node/request.js'
export { writeWebResponse } from './node/response.js'

/** What a handler learns about the payment of its request. */
export type { PaymentInfo }

/**
 * A `(req, res)` listener for `http.createServer` (or any Node framework) that runs a
 * Web handler, such as `server.route(...)`.
 *
 * @example
 * createServer(nodeHandler(server.route({ price: '0.01' }, () => new Response('paid')))).listen(3000)
 */
export function nodeHandler(
  handler: (request: Request) => Response | Promise<Response>,
  options: { trustProxy?: boolean; onError?: (error: unknown) => void } = {},
): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  return async (req, res) => {
    try {
      let request: Request
      try {
        request = toWebRequest(req, { trustProxy: options.trustProxy ?? false, signal: closeSignal(res) })
      } catch {
        return await writeWebResponse(res, plain(400, 'Bad Request'))
      }
      let response: Response
      try {
        response = await handler(request)
      } catch (error) {
        options.onError?.(error)
        response = plain(500, 'Internal Server Error')
      }
      await writeWebResponse(res, response)
    } catch (error) {
      options.onError?.(error)
      if (!res.headersSent) res.writeHead(500).end()
      else res.destroy()
    }
  }
}

/**
 * Puts a payment gate in front of a Node-style handler. An unpaid request gets the
 * gate's answer (402, 400, ...) and the handler does not run. A paid request reaches
 * the handler with its body still readable from `req`; whatever the handler writes is
 * finished like `Paid.respond`: a 2xx gets `Payment-Receipt` and `Cache-Control:
 * private`, a failed delivery (by default 5xx) is refunded with `Payment-Refund`. A
 * handler that throws before writing gets a 500 and a refund.
 *
 * @example
 * createServer(withPayment(server.charge({ price: '0.01' }), (req, res, payment) => {
 *   res.setHeader('content-type', 'text/plain')
 *   res.end(`paid with ${payment.receipt.reference}`)
 * }))
 */
export function withPayment(
  gate: Gate,
  handler: (req: IncomingMessage, res: ServerResponse, payment: PaymentInfo) => unknown,
  options: { trustProxy?: boolean; onError?: (error: unknown) => void } = {},
): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  return async (req, res) => {
    let paid: NodePayment | undefined
    try {
      paid = await chargeNodeRequest(gate, req, res, { trustProxy: options.trustProxy ?? false })
    } catch (error) {
      options.onError?.(error)
      if (!res.headersSent) res.writeHead(500).end()
      else res.destroy()
      return
    }
    if (!paid) return
    try {
      await handler(req, res, paid.info)
    } catch (error) {
      options.onError?.(error)
      await paid.fail(error)
    }
  }
}

/** A paid Node request: what the handler may read, and the way out when it throws. */
export type NodePayment = {
  readonly info: PaymentInfo
  /** The handler failed: refund and answer 500 if nothing was written yet, otherwise cut the response off. */
  fail(error: unknown): Promise<void>
}

/**
 * The step under `withPayment` and the Express middleware: runs `gate` on a Node
 * request. Unpaid: writes the gate's response and resolves `undefined`. Paid: makes
 * `req`'s body readable again (from the bytes the digest check read) and hooks `res`
 * so the response the handler writes is finished by `Paid.respond`.
 *
 * Throws `configuration-invalid` when the body was already read by something else (a
 * body parser placed before the gate): the digest binding needs the raw bytes.
 */
export async function chargeNodeRequest(
  gate: Gate,
  req: IncomingMessage,
  res: ServerResponse,
  options: ToWebRequestOptions = {},
): Promise<NodePayment | undefined> {
  if (req.readableDidRead || req.readableEnded)
    throw new MppError('configuration-invalid', 'the request body was read before the payment gate; put the gate before body parsers')
  const request = toWebRequest(req, { ...options, signal: options.signal ?? closeSignal(res) })
  const result = await gate.check(request)
  if (!result.paid) {
    await writeWebResponse(res, result.response)
    return undefined
  }
  await rewindBody(req, result.request)
  const fail = interceptResponse(res, result)
  const info: PaymentInfo = {
    credential: result.credential,
    challenge: result.challenge,
    paymentRequest: result.paymentRequest,
    receipt: result.receipt,
    settlement: result.settlement,
  }
  return { info, fail }
}

// ---------------------------------------------------------------------------------

