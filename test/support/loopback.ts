/**
 * Serves a Web handler `(Request) => Promise<Response>` on a real `node:http` server at
 * 127.0.0.1 on a free port, so tests talk to it with the real global `fetch` over
 * loopback TCP. Every request the server receives is recorded (method, URL, the header
 * lines exactly as they came off the wire, and the body bytes) so tests can assert
 * what a client did and did not send.
 *
 * @example
 * const api = await serve(server.route({ price: '0.25' }, () => Response.json({ ok: true })))
 * await fetch(`${api.url}/x`)
 * api.requests[0]!.authorizations // []
 * await api.close()
 */
import { createServer, type IncomingMessage, type RequestListener, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Readable } from 'node:stream'

export type WebHandler = (request: Request) => Response | Promise<Response>

/** One request as the server received it. */
export type RecordedRequest = {
  readonly method: string
  /** Absolute URL, `http://127.0.0.1:<port>/path?query`. */
  readonly url: string
  readonly path: string
  /** Headers built from the raw header lines (repeated lines are combined with ", "). */
  readonly headers: Headers
  /** Every `Authorization` header line, uncombined: `[]` when none was sent. */
  readonly authorizations: readonly string[]
  /** The body bytes; resolves once the whole body has arrived. */
  readonly body: Promise<Uint8Array>
}

export type Loopback = {
  /** `http://127.0.0.1:<port>` (an origin: no trailing slash). */
  readonly url: string
  readonly requests: readonly RecordedRequest[]
  close(): Promise<void>
}

/** Serves a Web handler on a real HTTP server and records what it receives. */
export async function serve(handler: WebHandler): Promise<Loopback> {
  const requests: RecordedRequest[] = []
  const listener: RequestListener = (req, res) => {
    const request = toWebRequest(req, res)
    let forHandler = request
    let body: Promise<Uint8Array> = Promise.resolve(new Uint8Array(0))
    if (request.body) {
      // Tee the body: one branch streams to the handler, the other is recorded.
      const [a, b] = request.body.tee()
      const { method, headers, signal } = request
      forHandler = new Request(request.url, { method, headers, signal, body: a, duplex: 'half' } as RequestInit)
      body = new Response(b).arrayBuffer().then((buffer) => new Uint8Array(buffer))
    }
    requests.push({
      method: request.method,
      url: request.url,
      path: new URL(request.url).pathname,
      headers: request.headers,
      authorizations: headerLines(req.rawHeaders, 'authorization'),
      body,
    })
    void respond(res, () => handler(forHandler))
  }
  const server = await listen(listener)
  return { url: server.url, requests, close: server.close }
}

/** A raw `node:http` listener on 127.0.0.1 at a free port, for tests that need the socket itself. */
export async function listen(listener: RequestListener): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer(listener)
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  const { port } = server.address() as AddressInfo
  let closed: Promise<void> | undefined
  return {
    url: `http://127.0.0.1:${port}`,
    close() {
      closed ??= new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()))
        // Keep-alive sockets from fetch's pool would hold close() open.
        server.closeAllConnections()
      })
      return closed
    },
  }
}

/**
 * The Web `Request` for an incoming message: headers from the raw header lines (so
 * repeated lines survive, which `req.headers` would drop or merge), the body streamed,
 * and a signal that aborts when the client goes away before the response is done.
 */
export function toWebRequest(req: IncomingMessage, res?: ServerResponse): Request {
  const { port } = req.socket.address() as AddressInfo
  const url = new URL(req.url ?? '/', `http://127.0.0.1:${port}`)
  const headers = new Headers()
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) headers.append(req.rawHeaders[i]!, req.rawHeaders[i + 1]!)
  const controller = new AbortController()
  res?.once('close', () => {
    if (!res.writableFinished) controller.abort()
  })
  const method = req.method ?? 'GET'
  const hasBody = method !== 'GET' && method !== 'HEAD'
  return new Request(url, {
    method,
    headers,
    signal: controller.signal,
    ...(hasBody && { body: Readable.toWeb(req) as ReadableStream<Uint8Array>, duplex: 'half' }),
  } as RequestInit)
}

/** Writes a Web `Response` to a `ServerResponse`, streaming the body with backpressure. */
export async function writeWebResponse(res: ServerResponse, response: Response): Promise<void> {
  res.statusCode = response.status
  if (response.statusText) res.statusMessage = response.statusText
  for (const [name, value] of response.headers) {
    if (name === 'set-cookie') continue
    res.setHeader(name, value)
  }
  const cookies = response.headers.getSetCookie()
  if (cookies.length > 0) res.setHeader('set-cookie', cookies)
  if (!response.body) {
    res.end()
    return
  }
  const reader = response.body.getReader()
  res.once('close', () => {
    if (!res.writableFinished) void reader.cancel().catch(() => {})
  })
  try {
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      if (!res.write(value)) await new Promise<void>((resolve) => res.once('drain', resolve).once('close', resolve))
    }
    res.end()
  } catch {
    res.destroy()
  }
}

/** Runs a handler and writes what it answers; a throwing handler gets a plain 500. */
async function respond(res: ServerResponse, run: () => Response | Promise<Response>): Promise<void> {
  let response: Response
  try {
    response = await run()
  } catch {
    response = new Response('handler threw', { status: 500 })
  }
  await writeWebResponse(res, response)
}

/** A Web handler that dispatches on the URL path; unknown paths get 404. */
export function byPath(table: Record<string, WebHandler>): WebHandler {
  return (request) => {
    const handler = table[new URL(request.url).pathname]
    return handler ? handler(request) : new Response('not found', { status: 404 })
  }
}

/** Every value of one header among raw header lines (`[name, value, name, value, ...]`). */
export function headerLines(rawHeaders: readonly string[], name: string): string[] {
  const values: string[] = []
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) if (rawHeaders[i]!.toLowerCase() === name) values.push(rawHeaders[i + 1]!)
  return values
}
