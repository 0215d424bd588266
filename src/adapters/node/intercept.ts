/** Finishing what a Node-style handler writes to `res` as a paid response (receipt, refund). */
import type { ServerResponse } from 'node:http'
import type { Paid } from '../../server/index.js'
import { applyHeaders, NULL_BODY_STATUS, pump, writeWebResponse, type End, type Loose, type Write, type WriteHead } from './response.js'

/**
 * Hooks `res` so that the response the handler writes, by whatever method (`end`,
 * `write`+`end`, `pipe`, Express `send`/`json`/`sendFile`), goes through
 * `paid.respond()` at the moment its status is committed: a Web `Response` with that
 * status, the headers set so far, and a body fed by the later writes. The finished
 * response's added headers (`Payment-Receipt`, `Cache-Control`, `Payment-Refund`,
 * ...) are applied before anything reaches the socket, and its body is streamed out
 * through the original methods. Returns the handler-failed path.
 */
export function interceptResponse(res: ServerResponse, paid: Paid): (error: unknown) => Promise<void> {
  const original = {
    writeHead: res.writeHead as Loose,
    write: res.write as Loose,
    end: res.end as Loose,
    flushHeaders: res.flushHeaders as Loose,
  }
  const prototype = Object.getPrototypeOf(res) as object
  // 'open': nothing written yet. 'committed': the status went to respond(). 'bypass': we let go.
  // 'expired': the handler took longer than handlerTimeout; it was refunded and answered 504, and what it writes later is dropped.
  let state: 'open' | 'committed' | 'bypass' | 'expired' = 'open'
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

  const timer = setTimeout(() => {
    if (state !== 'open') return
    state = 'expired'
    paid
      .timedOut()
      .then(async (response) => {
        // Whatever headers the handler had set belong to the answer it never finished.
        for (const name of res.getHeaderNames()) res.removeHeader(name)
        for (const [name, value] of response.headers) res.setHeader(name, value)
        res.statusCode = response.status
        await pump(res, response.body, original.writeHead, original.write, original.end)
      })
      .catch(() => res.destroy())
  }, paid.handlerTimeout)
  timer.unref?.()
  res.once('close', () => clearTimeout(timer))

  res.writeHead = function writeHead(this: ServerResponse, status: number, ...rest: unknown[]) {
    if (state === 'expired') return res
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
    if (state === 'expired') return true
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
    if (state === 'expired') return res
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
    if (state === 'expired') return
    if (state === 'open') commit()
    if (state === 'bypass') original.flushHeaders.call(res)
  }

  return async (error) => {
    if (state === 'expired') return
    if (state === 'open') {
      state = 'bypass'
      await writeWebResponse(res, await paid.fail(error))
    } else if (!res.destroyed) {
      // Part of the response is already out (or decided): the only honest end is to cut it off.
      res.destroy(error instanceof Error ? error : undefined)
    }
  }
}


function toBytes(chunk: unknown, encoding: BufferEncoding | undefined): Uint8Array {
  if (typeof chunk === 'string') return Buffer.from(chunk, encoding ?? 'utf8')
  if (chunk instanceof Uint8Array) return chunk
  if (chunk instanceof ArrayBuffer) return new Uint8Array(chunk)
  if (ArrayBuffer.isView(chunk)) return new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength)
  throw new TypeError('the response chunk must be a string, Buffer or Uint8Array')
}
