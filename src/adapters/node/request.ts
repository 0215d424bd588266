/** Node `IncomingMessage` -> Web `Request`, and putting a read body back for later readers. */
import type { IncomingMessage } from 'node:http'
import { Readable } from 'node:stream'
import { MppError } from '../../errors.js'

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


type ReadableStateConstructor = new (options: { highWaterMark?: number }, stream: Readable, isDuplex: boolean) => object

/**
 * Makes `req` readable again from `request`'s body (the bytes the gate hashed), so a
 * body parser after the gate reads the same bytes. Node has no public way to rewind
 * a consumed stream; a fresh internal read state is the narrowest one.
 */
export async function rewindBody(req: IncomingMessage, request: Request): Promise<void> {
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

