/** Web `Response` -> Node `ServerResponse`, streamed with backpressure. */
import type { ServerResponse } from 'node:http'

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


export const NULL_BODY_STATUS = new Set([204, 205, 304])

export function closeSignal(res: ServerResponse): AbortSignal {
  const controller = new AbortController()
  res.once('close', () => {
    if (!res.writableFinished) controller.abort(new Error('the client closed the connection'))
  })
  return controller.signal
}

export function plain(status: number, text: string): Response {
  return new Response(text, { status, headers: { 'content-type': 'text/plain; charset=utf-8' } })
}

export type WriteHead = ServerResponse['writeHead']
export type Write = ServerResponse['write']
export type End = ServerResponse['end']
/** A response method called loosely (the typed overloads do not survive `.call`). */
export type Loose = (this: ServerResponse, ...args: unknown[]) => unknown

/** Writes headers (with the status already on `res`) and streams `body` through the given methods. */
export async function pump(res: ServerResponse, body: ReadableStream<Uint8Array> | null, writeHead: Loose, write: Loose, end: Loose): Promise<void> {
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


export function applyHeaders(res: ServerResponse, headers: unknown): void {
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

