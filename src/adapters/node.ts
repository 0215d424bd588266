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
import { Readable } from 'node:stream'
import { MppError } from '../errors.js'
import type { Gate, Paid } from '../server/index.js'

/** What a handler learns about the payment of its request. */
export type PaymentInfo = Pick<Paid, 'credential' | 'challenge' | 'paymentRequest' | 'receipt' | 'settlement'>

export type ToWebRequestOptions = {
  /** Take the scheme and host from `X-Forwarded-Proto` and `X-Forwarded-Host` (only behind a proxy you run). */
  trustProxy?: boolean
  /** The request's absolute URL, when the framework knows it better (a mount path, its own proxy settings). */
  url?: string | URL
  /** Aborts the Web request, e.g. when the client goes away. */
  signal?: AbortSignal
}

/**
 * A Web `Request` for a Node request. Headers come from `req.rawHeaders`, so repeated
 * lines survive (Node keeps only the first `Authorization` in `req.headers`; the payment
 * pipeline must see both to answer 400). The body is read from `req` only when the
 * Request's body is read.
 *
 * @example
 * const request = toWebRequest(req)
 * const response = await handler(request)
 */
export function toWebRequest(req: IncomingMessage, options: ToWebRequestOptions = {}): Request {
  const method = req.method ?? 'GET'
  const headers = new Headers()
  const raw = req.rawHeaders
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!
    if (name.startsWith(':')) continue // HTTP/2 pseudo-headers
    headers.append(name, raw[i + 1]!)
  }
  const hasBody = method !== 'GET' && method !== 'HEAD'
  return new Request(options.url ?? requestUrl(req, options.trustProxy ?? false), {
    method,
    headers,
    ...(hasBody && { body: bodyOf(req), duplex: 'half' }),
    ...(options.signal && { signal: options.signal }),
  } as RequestInit)
}

/**
 * Writes a Web `Response` to a Node response: status, every header (each `Set-Cookie`
 * on its own line) and the body, streamed with backpressure. Stops reading the body
 * when the client goes away. Resolves when the response is ended.
 *
 * @example
 * await writeWebResponse(res, Response.json({ ok: true }))
 */
export async function writeWebResponse(res: ServerResponse, response: Response): Promise<void> {
  if (res.headersSent) throw new TypeError('writeWebResponse: the response headers were already sent')
  res.statusCode = response.status
  if (response.statusText) res.statusMessage = response.statusText
  for (const [name, value] of response.headers) if (name !== 'set-cookie') res.setHeader(name, value)
  const cookies = response.headers.getSetCookie()
  if (cookies.length > 0) res.setHeader('set-cookie', cookies)
  await pump(res, response.body, res.writeHead as Loose, res.write as Loose, res.end as Loose)
}

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

const NULL_BODY_STATUS = new Set([204, 205, 304])
const HOST = /^[A-Za-z0-9.\-_~%!$&'()*+,;=:[\]]+$/

function requestUrl(req: IncomingMessage, trustProxy: boolean): string {
  const encrypted = (req.socket as { encrypted?: boolean } | undefined)?.encrypted === true
  let protocol = encrypted ? 'https' : 'http'
  let host = req.headers.host ?? firstValue(req.headers[':authority'])
  if (trustProxy) {
    const forwardedProto = firstValue(req.headers['x-forwarded-proto'])?.toLowerCase()
    if (forwardedProto === 'http' || forwardedProto === 'https') protocol = forwardedProto
    host = firstValue(req.headers['x-forwarded-host']) ?? host
  }
  // A Host with '/', '?', '#', '@' or '\' would change which URL parses: never trust it.
  if (!host || !HOST.test(host) || host.includes('@')) host = 'localhost'
  let target = req.url ?? '/'
  if (!target.startsWith('/')) {
    // absolute-form (proxy requests) or '*': keep only the path and query
    try {
      const parsed = new URL(target)
      target = parsed.pathname + parsed.search
    } catch {
      target = '/'
    }
  }
  try {
    return new URL(`${protocol}://${host}${target}`).href
  } catch {
    return new URL(`${protocol}://localhost${target}`).href
  }
}

function firstValue(value: string | string[] | undefined): string | undefined {
  const text = Array.isArray(value) ? value[0] : value
  const first = text?.split(',')[0]?.trim()
  return first || undefined
}

/** A lazy stream over `req`: nothing is read from the socket until the stream is pulled. */
function bodyOf(req: IncomingMessage): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        return new Promise<void>((resolve) => {
          const cleanup = () => {
            req.off('readable', onReadable)
            req.off('end', onEnd)
            req.off('error', onError)
            req.off('close', onClose)
          }
          const onReadable = () => {
            const chunk = req.read() as Buffer | string | null
            if (chunk === null) return
            cleanup()
            controller.enqueue(typeof chunk === 'string' ? Buffer.from(chunk) : new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength))
            resolve()
          }
          const onEnd = () => {
            cleanup()
            controller.close()
            resolve()
          }
          const onError = (error: unknown) => {
            cleanup()
            controller.error(error)
            resolve()
          }
          const onClose = () => onError(new Error('the client closed the request before its body ended'))
          if (req.readableEnded) return onEnd()
          req.on('readable', onReadable)
          req.on('end', onEnd)
          req.on('error', onError)
          req.on('close', onClose)
          onReadable()
        })
      },
      cancel() {
        // Discard the rest without destroying the socket: the answer (e.g. 413) must still go out.
        req.resume()
      },
    },
    { highWaterMark: 0 },
  )
}

function closeSignal(res: ServerResponse): AbortSignal {
  const controller = new AbortController()
  res.once('close', () => {
    if (!res.writableFinished) controller.abort(new Error('the client closed the connection'))
  })
  return controller.signal
}

function plain(status: number, text: string): Response {
  return new Response(text, { status, headers: { 'content-type': 'text/plain; charset=utf-8' } })
}

type WriteHead = ServerResponse['writeHead']
type Write = ServerResponse['write']
type End = ServerResponse['end']
/** A response method called loosely (the typed overloads do not survive `.call`). */
type Loose = (this: ServerResponse, ...args: unknown[]) => unknown

/** Writes headers (with the status already on `res`) and streams `body` through the given methods. */
async function pump(res: ServerResponse, body: ReadableStream<Uint8Array> | null, writeHead: Loose, write: Loose, end: Loose): Promise<void> {
  if (body === null || res.req?.method === 'HEAD' || NULL_BODY_STATUS.has(res.statusCode)) {
    await body?.cancel().catch(() => {})
    writeHead.call(res, res.statusCode)
    end.call(res)
    return
  }
  const reader = body.getReader()
  const onClose = () => void reader.cancel().catch(() => {})
  res.once('close', onClose)
  try {
    writeHead.call(res, res.statusCode)
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      if (res.destroyed) return
      if (!write.call(res, value)) await drained(res)
    }
    if (!res.destroyed) end.call(res)
  } catch (error) {
    res.destroy(error instanceof Error ? error : new Error('the response body failed'))
  } finally {
    res.off('close', onClose)
  }
}

/** Waits until Node's own write buffer has room (a 'drain' we emitted for the handler does not count). */
async function drained(res: ServerResponse): Promise<void> {
  while (res.writableNeedDrain && !res.destroyed) await nextDrain(res)
}

function nextDrain(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done)
      res.off('close', done)
      resolve()
    }
    res.once('drain', done)
    res.once('close', done)
  })
}

type ReadableStateConstructor = new (options: { highWaterMark?: number }, stream: Readable, isDuplex: boolean) => object

/**
 * Makes `req` readable again from `request`'s body (the bytes the gate hashed), so a
 * body parser after the gate reads the same bytes. Node has no public way to rewind
 * a consumed stream; a fresh internal read state is the narrowest one.
 */
async function rewindBody(req: IncomingMessage, request: Request): Promise<void> {
  if (!req.readableDidRead && !req.readableEnded) return // the gate never read it: req is untouched
  if (!req.readableEnded) throw new MppError('configuration-invalid', 'the request body was only partly read by the payment gate')
  // Let the consumed stream finish closing first, or its auto-destroy would hit the new state.
  if (!req.closed) await new Promise((resolve) => req.once('close', resolve))
  const ReadableState = (Readable as unknown as { ReadableState?: ReadableStateConstructor }).ReadableState
  if (typeof ReadableState !== 'function')
    throw new MppError('configuration-invalid', 'this Node.js version cannot replay a request body after the payment gate')
  const reader = request.body?.getReader()
  Object.assign(req, { _readableState: new ReadableState({ highWaterMark: req.readableHighWaterMark }, req, false) })
  req._read = function read() {
    if (!reader) {
      this.push(null)
      return
    }
    reader.read().then(
      ({ done, value }) => void this.push(done ? null : value),
      (error: unknown) => this.destroy(error instanceof Error ? error : new Error('the request body failed')),
    )
  }
}

/**
 * Hooks `res` so that the response the handler writes, by whatever method (`end`,
 * `write`+`end`, `pipe`, Express `send`/`json`/`sendFile`), goes through
 * `paid.respond()` at the moment its status is committed: a Web `Response` with that
 * status, the headers set so far, and a body fed by the later writes. The finished
 * response's added headers (`Payment-Receipt`, `Cache-Control`, `Payment-Refund`,
 * ...) are applied before anything reaches the socket, and its body is streamed out
 * through the original methods. Returns the handler-failed path.
 */
function interceptResponse(res: ServerResponse, paid: Paid): (error: unknown) => Promise<void> {
  const original = {
    writeHead: res.writeHead as Loose,
    write: res.write as Loose,
    end: res.end as Loose,
    flushHeaders: res.flushHeaders as Loose,
  }
  const prototype = Object.getPrototypeOf(res) as object
  // 'open': nothing written yet. 'committed': the status went to respond(). 'bypass': we let go.
  let state: 'open' | 'committed' | 'bypass' = 'open'
  let controller: ReadableStreamDefaultController<Uint8Array> | undefined
  let ended = false
  let cancelled = false
  let owesDrain = false

  const commit = (contentLength?: number): 'committed' | 'bypass' => {
    const status = res.statusCode
    if (status < 200 || status > 599) {
      // Not a final response the Fetch API can describe: stay out of the way.
      return (state = 'bypass')
    }
    state = 'committed'
    const bodiless = NULL_BODY_STATUS.has(status) || res.req?.method === 'HEAD'
    if (contentLength !== undefined && !bodiless && !res.hasHeader('content-length') && !res.hasHeader('transfer-encoding'))
      res.setHeader('content-length', contentLength)
    const before = new Headers()
    for (const [name, value] of Object.entries(res.getHeaders())) {
      if (value === undefined) continue
      for (const item of Array.isArray(value) ? value : [String(value)]) before.append(name, item)
    }
    const body = NULL_BODY_STATUS.has(status)
      ? null
      : new ReadableStream<Uint8Array>(
          {
            start(c) {
              controller = c
            },
            pull() {
              if (owesDrain) {
                owesDrain = false
                res.emit('drain')
              }
            },
            cancel() {
              cancelled = true
            },
          },
          new ByteLengthQueuingStrategy({ highWaterMark: res.writableHighWaterMark }),
        )
    if (body === null) cancelled = true
    void (async () => {
      let finished: Response
      try {
        finished = await paid.respond(new Response(body, { status, headers: before }))
      } catch {
        // respond() failed (e.g. the store is down): say so, without a receipt.
        if (res.destroyed || Reflect.get(prototype, 'headersSent', res) === true) return void res.destroy()
        for (const name of res.getHeaderNames()) res.removeHeader(name)
        res.statusCode = 500
        res.setHeader('content-type', 'text/plain; charset=utf-8')
        original.writeHead.call(res, 500)
        original.end.call(res, 'Internal Server Error')
        return
      }
      for (const [name, value] of finished.headers)
        if (name !== 'set-cookie' && before.get(name) !== value) res.setHeader(name, value)
      res.statusCode = finished.status
      await pump(res, finished.body, original.writeHead, original.write, original.end)
    })().catch(() => res.destroy())
    return state
  }

  const enqueue = (chunk: unknown, encoding: unknown): void => {
    if (chunk === undefined || chunk === null || cancelled || !controller) return
    const bytes = toBytes(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : undefined)
    if (bytes.byteLength === 0) return
    try {
      controller.enqueue(bytes)
    } catch {
      cancelled = true
    }
  }

  Object.defineProperty(res, 'headersSent', {
    configurable: true,
    get: () => state === 'committed' || Reflect.get(prototype, 'headersSent', res) === true,
  })

  res.writeHead = function writeHead(this: ServerResponse, status: number, ...rest: unknown[]) {
    if (state === 'bypass') return original.writeHead.call(res, status, ...rest)
    if (state === 'committed') throw Object.assign(new Error('Cannot write headers after they are sent to the client'), { code: 'ERR_HTTP_HEADERS_SENT' })
    const [first, second] = rest
    if (typeof first === 'string') res.statusMessage = first
    const headers = typeof first === 'string' ? second : first
    res.statusCode = status
    applyHeaders(res, headers)
    if (commit() === 'bypass') return original.writeHead.call(res, status, ...rest)
    return res
  } as WriteHead

  res.write = function write(this: ServerResponse, chunk: unknown, encoding?: unknown, callback?: unknown) {
    if (state === 'open') commit()
    if (state === 'bypass') return original.write.call(res, chunk, encoding, callback)
    const cb = typeof encoding === 'function' ? encoding : callback
    if (ended) {
      const error = Object.assign(new Error('write after end'), { code: 'ERR_STREAM_WRITE_AFTER_END' })
      if (typeof cb === 'function') process.nextTick(cb as (error: Error) => void, error)
      return false
    }
    enqueue(chunk, encoding)
    if (typeof cb === 'function') process.nextTick(cb as () => void)
    const ready = cancelled || !controller || (controller.desiredSize ?? 1) > 0
    if (!ready) owesDrain = true
    return ready
  } as Write

  res.end = function end(this: ServerResponse, chunk?: unknown, encoding?: unknown, callback?: unknown) {
    if (typeof chunk === 'function') [chunk, callback] = [undefined, chunk]
    else if (typeof encoding === 'function') [encoding, callback] = [undefined, encoding]
    if (state === 'open') {
      const bytes = chunk === undefined || chunk === null ? undefined : toBytes(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : undefined)
      commit(bytes?.byteLength ?? 0)
    }
    if (state === 'bypass') return original.end.call(res, chunk, encoding, callback)
    if (typeof callback === 'function') res.once('finish', callback as () => void)
    if (ended) return res
    ended = true
    enqueue(chunk, encoding)
    if (!cancelled && controller) {
      try {
        controller.close()
      } catch {
        // already cancelled by the reader
      }
    }
    return res
  } as End

  res.flushHeaders = function flushHeaders(this: ServerResponse) {
    if (state === 'open') commit()
    if (state === 'bypass') original.flushHeaders.call(res)
  }

  return async (error) => {
    if (state === 'open') {
      state = 'bypass'
      await writeWebResponse(res, await paid.fail(error))
    } else if (!res.destroyed) {
      // Part of the response is already out (or decided): the only honest end is to cut it off.
      res.destroy(error instanceof Error ? error : undefined)
    }
  }
}

function applyHeaders(res: ServerResponse, headers: unknown): void {
  if (!headers) return
  if (Array.isArray(headers)) {
    // [[name, value], ...] or the raw [name, value, name, value, ...]
    const pairs: [string, string][] = Array.isArray(headers[0])
      ? (headers as [string, string][])
      : Array.from({ length: Math.floor(headers.length / 2) }, (_, i) => [String(headers[2 * i]), String(headers[2 * i + 1])] as [string, string])
    const grouped = new Map<string, string[]>()
    for (const [name, value] of pairs) grouped.set(name, [...(grouped.get(name) ?? []), value])
    for (const [name, values] of grouped) res.setHeader(name, values.length === 1 ? values[0]! : values)
    return
  }
  for (const [name, value] of Object.entries(headers as Record<string, string | number | readonly string[] | undefined>))
    if (value !== undefined) res.setHeader(name, value)
}

function toBytes(chunk: unknown, encoding: BufferEncoding | undefined): Uint8Array {
  if (typeof chunk === 'string') return Buffer.from(chunk, encoding ?? 'utf8')
  if (chunk instanceof Uint8Array) return chunk
  if (chunk instanceof ArrayBuffer) return new Uint8Array(chunk)
  if (ArrayBuffer.isView(chunk)) return new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength)
  throw new TypeError('the response chunk must be a string, Buffer or Uint8Array')
}
