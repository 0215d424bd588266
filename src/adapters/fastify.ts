/**
 * Fastify 5 adapter: `payment(gate)` puts a price on a route, `addPayment(instance,
 * gate)` on every route of a scope. Thin over the gate, in three hooks:
 *
 * - `preParsing` runs the gate on the raw request bytes (the challenge is bound to them
 *   by an RFC 9530 digest) before Fastify parses anything, then hands Fastify the same
 *   bytes to parse: `request.body` works as usual, with any content-type parser. A
 *   declared `Content-Length` above the route's `bodyLimit` is answered 413 first, so
 *   nobody pays for a body Fastify would refuse. Add no hook that replaces the payload
 *   (decompression, ...) before it: the digest is over the bytes as sent.
 * - `onSend` finishes the reply with `Paid.deliver`: a 2xx gets `Payment-Receipt` and
 *   `Cache-Control: private`; a failed delivery (by default any non-2xx, including the
 *   500 Fastify answers for a thrown error and a schema-validation 400) is refunded and
 *   says so in `Payment-Refund`. A handler slower than the server's `handlerTimeout` is
 *   answered 504 and refunded.
 * - `onResponse` / `onRequestAbort`: a paid reply that never reached `onSend`
 *   (`reply.hijack()`, a client gone before the answer) is refunded.
 *
 * Fastify's automatic HEAD route for a priced GET is priced as well.
 *
 * @example
 * import Fastify from 'fastify'
 * import { payment } from 'mppkit/fastify'
 *
 * const app = Fastify()
 * app.post<{ Body: { city: string } }>('/forecast', payment(server.charge({ price: '0.01' })), async (request) => {
 *   return { city: request.body.city, reference: request.payment?.receipt.reference }
 * })
 */
import { Readable } from 'node:stream'
import type { ReadableStream as NodeReadableStream } from 'node:stream/web'
import type { FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction, RouteShorthandOptions } from 'fastify'
import { MppError } from '../errors.js'
import type { Gate, Paid, PaymentInfo } from '../server/index.js'

/** What a handler learns about the payment of its request. */
export type { PaymentInfo }

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by mppkit's payment hooks on a paid request. */
    payment?: PaymentInfo
  }
}

/** The hooks that charge for a route; spread them into route options or add them to a scope. */
export type PaymentHooks = Required<Pick<RouteShorthandOptions, 'preParsing' | 'onSend' | 'onResponse' | 'onRequestAbort'>>

/**
 * Route options that put a price on one route: `app.get(path, payment(gate), handler)`,
 * or `{ ...payment(gate), schema }` beside other options (don't set your own
 * `preParsing`/`onSend`/`onResponse`/`onRequestAbort` there: they would replace these;
 * add yours at the instance level instead).
 *
 * @example
 * app.get('/weather', payment(server.charge({ price: '0.01' })), async () => ({ sunny: true }))
 */
export function payment(gate: Gate): PaymentHooks {
  // One pending delivery per paid request; gone with the request.
  const pending = new WeakMap<FastifyRequest, Delivery>()

  function preParsing(request: FastifyRequest, reply: FastifyReply, payload: NodeJS.ReadableStream, done: (error?: Error | null, payload?: NodeJS.ReadableStream) => void): void {
    // A body Fastify will refuse to parse is refused before anyone pays for it.
    const declared = Number(request.headers['content-length'])
    if (declared > request.routeOptions.bodyLimit)
      return done(Object.assign(new MppError('body-too-large', 'the request body is larger than the route bodyLimit'), { statusCode: 413 }))
    void (async () => {
      let result: Awaited<ReturnType<Gate['check']>>
      try {
        result = await gate.check(toWebRequest(request, reply, payload as Readable))
      } catch (error) {
        return done(error instanceof Error ? error : new MppError('configuration-invalid', 'the payment gate failed'))
      }
      // Unpaid: the gate's answer, and the rest of the chain never runs (no done()).
      if (!result.paid) return void sendResponse(reply, result.response).catch(() => reply.raw.destroy())
      request.payment = {
        credential: result.credential,
        challenge: result.challenge,
        paymentRequest: result.paymentRequest,
        receipt: result.receipt,
        settlement: result.settlement,
      }
      pending.set(request, startDelivery(result, reply))
      // The gate read the body for its digest; Fastify parses the same bytes.
      const body = result.request.body
      done(null, body ? Readable.fromWeb(body as NodeReadableStream<Uint8Array>) : undefined)
    })()
  }

  async function onSend(request: FastifyRequest, reply: FastifyReply, payload: unknown): Promise<unknown> {
    const delivery = pending.get(request)
    if (!delivery || delivery.stage !== 'waiting') return payload
    delivery.stage = 'handed'
    const inMemory = typeof payload === 'string' || payload instanceof Uint8Array
    try {
      delivery.hand(toWebResponse(reply, payload))
    } catch (error) {
      // A reply the Fetch API cannot describe: refunded as a failed delivery.
      delivery.abandon(error instanceof Error ? error : new Error('the paid reply could not be read'))
    }
    const finished = await delivery.finished
    reply.code(finished.status)
    for (const [name, value] of finished.headers) if (name !== 'set-cookie' && String(reply.getHeader(name)) !== value) reply.header(name, value)
    if (finished.body === null) return null
    // Keep Fastify's Content-Length for bodies it had in memory.
    return inMemory ? Buffer.from(await finished.arrayBuffer()) : finished.body
  }

  function abandoned(request: FastifyRequest, why: string): void {
    const delivery = pending.get(request)
    if (delivery?.stage !== 'waiting') return
    delivery.stage = 'closed'
    delivery.abandon(new Error(why))
  }

  return {
    preParsing,
    onSend,
    onResponse: (request: FastifyRequest, _reply: FastifyReply, done: HookHandlerDoneFunction) => {
      abandoned(request, 'the paid reply bypassed onSend')
      done()
    },
    onRequestAbort: (request: FastifyRequest, done: HookHandlerDoneFunction) => {
      abandoned(request, 'the client went away before the paid reply')
      done()
    },
  } as PaymentHooks
}

/**
 * Charges for every route of a Fastify scope (an instance, or the one a plugin gets).
 *
 * @example
 * app.register(async (paid) => {
 *   addPayment(paid, server.charge({ price: '0.01' }))
 *   paid.get('/weather', async () => ({ sunny: true }))
 * })
 */
export function addPayment(instance: FastifyInstance, gate: Gate): void {
  const hooks = payment(gate)
  instance.addHook('preParsing', hooks.preParsing as never)
  instance.addHook('onSend', hooks.onSend as never)
  instance.addHook('onResponse', hooks.onResponse as never)
  instance.addHook('onRequestAbort', hooks.onRequestAbort as never)
}

// ---------------------------------------------------------------------------------

/**
 * A paid request's delivery. 'waiting': the handler runs. 'handed': its reply reached
 * onSend and went to `Paid.deliver`. 'closed': delivered some other way (timeout 504,
 * refund of an abandoned reply).
 */
type Delivery = {
  stage: 'waiting' | 'handed' | 'closed'
  hand(response: Response): void
  abandon(error: Error): void
  readonly finished: Promise<Response>
}

function startDelivery(paid: Paid, reply: FastifyReply): Delivery {
  let hand!: (response: Response) => void
  let abandon!: (error: Error) => void
  const handed = new Promise<Response>((resolve, reject) => {
    hand = resolve
    abandon = reject
  })
  const delivery: Delivery = { stage: 'waiting', hand, abandon, finished: paid.deliver(() => handed) }
  delivery.finished.then(
    (response) => {
      // Finished before onSend: the handler ran past handlerTimeout (504, refunded).
      if (delivery.stage !== 'waiting') return
      delivery.stage = 'closed'
      if (!reply.raw.headersSent) void sendResponse(reply, response).catch(() => reply.raw.destroy())
    },
    (error: unknown) => {
      if (delivery.stage !== 'waiting') return
      delivery.stage = 'closed'
      if (!reply.raw.headersSent) void reply.send(error instanceof Error ? error : new MppError('store-failure', 'the payment could not be finished'))
    },
  )
  return delivery
}

/**
 * Sends one of the gate's own answers (402, 400, 413, 504, ...: small, in memory) as
 * status, headers and bytes. Not as a `Response` payload: Fastify's automatic HEAD
 * routes cannot measure one.
 */
async function sendResponse(reply: FastifyReply, response: Response): Promise<void> {
  reply.code(response.status)
  for (const [name, value] of response.headers) reply.header(name, value)
  const body = response.body === null ? null : Buffer.from(await response.arrayBuffer())
  reply.send(body)
}

const NULL_BODY_STATUS = new Set([204, 205, 304])
const HOST = /^[A-Za-z0-9.\-_~%!$&'()*+,;=:[\]]+$/

/** The Web `Request` the gate checks: Fastify's URL view, every raw header line, the payload stream as body. */
function toWebRequest(request: FastifyRequest, reply: FastifyReply, payload: Readable): Request {
  const headers = new Headers()
  const raw = request.raw.rawHeaders
  // From rawHeaders so repeated lines survive: two Authorization lines must answer 400.
  for (let i = 0; i + 1 < raw.length; i += 2) if (!raw[i]!.startsWith(':')) headers.append(raw[i]!, raw[i + 1]!)
  const signal = new AbortController()
  reply.raw.once('close', () => {
    if (!reply.raw.writableFinished) signal.abort(new Error('the client closed the connection'))
  })
  const hasBody = request.method !== 'GET' && request.method !== 'HEAD'
  return new Request(requestUrl(request), {
    method: request.method,
    headers,
    signal: signal.signal,
    ...(hasBody && { body: lazyBody(payload), duplex: 'half' }),
  } as RequestInit)
}

function requestUrl(request: FastifyRequest): string {
  // Fastify's own view (its trustProxy setting decides X-Forwarded-*); a Host that
  // could change which URL parses is not trusted.
  const host = HOST.test(request.host) && !request.host.includes('@') ? request.host : 'localhost'
  try {
    return new URL(`${request.protocol}://${host}${request.url.startsWith('/') ? request.url : '/'}`).href
  } catch {
    return new URL(`${request.protocol}://localhost/`).href
  }
}

/** A stream that reads `payload` only when pulled; cancelling it drains the rest instead of destroying the socket (a 413 must still go out). */
function lazyBody(payload: Readable): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>(
    {
      pull: (controller) =>
        new Promise<void>((resolve) => {
          const settle = (step: () => void) => {
            payload.off('readable', onReadable).off('end', onEnd).off('error', onError).off('close', onClose)
            step()
            resolve()
          }
          const onReadable = () => {
            const chunk = payload.read() as Buffer | string | null
            if (chunk !== null) settle(() => controller.enqueue(typeof chunk === 'string' ? Buffer.from(chunk) : chunk))
          }
          const onEnd = () => settle(() => controller.close())
          const onError = (error: unknown) => settle(() => controller.error(error))
          const onClose = () => onError(new Error('the client closed the request before its body ended'))
          if (payload.readableEnded) return onEnd()
          payload.on('readable', onReadable).on('end', onEnd).on('error', onError).on('close', onClose)
          onReadable()
        }),
      cancel: () => void payload.resume(),
    },
    { highWaterMark: 0 },
  )
}

/** The reply as a Web `Response`: its status, headers and the payload onSend got (string, bytes, stream or Response). */
function toWebResponse(reply: FastifyReply, payload: unknown): Response {
  if (payload instanceof Response) {
    // What Fastify would do with it after onSend: status and headers onto the reply.
    reply.code(payload.status)
    for (const [name, value] of payload.headers) reply.header(name, value)
    payload = payload.body
  }
  const headers = new Headers()
  for (const [name, value] of Object.entries(reply.getHeaders())) {
    if (value === undefined) continue
    for (const item of Array.isArray(value) ? value : [String(value)]) headers.append(name, item)
  }
  const status = reply.statusCode
  let body: BodyInit | null = null
  if (!NULL_BODY_STATUS.has(status) && payload !== null && payload !== undefined) {
    if (typeof payload === 'string' || payload instanceof Uint8Array) body = payload as BodyInit
    else if (payload instanceof ReadableStream) body = payload
    else if (payload instanceof Readable) body = Readable.toWeb(payload) as ReadableStream<Uint8Array>
    else throw new MppError('configuration-invalid', 'the paid reply has a payload type the payment hooks cannot finish')
  }
  return new Response(body, { status, headers })
}
