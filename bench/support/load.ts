/**
 * A small closed-loop HTTP/1.1 load generator over raw keep-alive TCP sockets (the idea
 * of autocannon, without a dependency): `connections` sockets, each with exactly one
 * request in flight; when its response has fully arrived (Content-Length or chunked
 * body) the socket sends the next request. Request bytes are built before the run, so
 * the generator spends almost nothing per request and the server is what is measured.
 *
 * A run ends after `durationMs`, or earlier when `next()` has no more requests (a pool of
 * single-use credentials ran out); the rate is completed responses over elapsed time.
 */
import { connect, type Socket } from 'node:net'

export type LoadResult = {
  completed: number
  elapsedMs: number
  rps: number
  /** Response count per status code. */
  statuses: Map<number, number>
  /** Per-request latency in milliseconds (request written -> response complete). */
  latencies: number[]
  /** True when `next()` ran out before the duration was up. */
  exhausted: boolean
}

export type LoadOptions = {
  port: number
  connections: number
  durationMs: number
  /** The next request's bytes, or undefined when there are no more. */
  next: () => Buffer | undefined
}

/** `GET path` with optional extra header lines. */
export function requestBytes(port: number, path: string, headers: Record<string, string> = {}): Buffer {
  let text = `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n`
  for (const [name, value] of Object.entries(headers)) text += `${name}: ${value}\r\n`
  return Buffer.from(`${text}\r\n`, 'latin1')
}

const CRLFCRLF = Buffer.from('\r\n\r\n')

/** Length of the complete response at the start of `buffer`, with its status, or undefined when incomplete. */
function complete(buffer: Buffer): { length: number; status: number } | undefined {
  const headerEnd = buffer.indexOf(CRLFCRLF)
  if (headerEnd < 0) return undefined
  const head = buffer.toString('latin1', 0, headerEnd)
  const status = Number(head.slice(9, 12))
  const bodyStart = headerEnd + 4
  const contentLength = /\r\ncontent-length:[ \t]*(\d+)/i.exec(head)
  if (contentLength) {
    const end = bodyStart + Number(contentLength[1])
    return buffer.length >= end ? { length: end, status } : undefined
  }
  if (/\r\ntransfer-encoding:[ \t]*chunked/i.test(head)) {
    let at = bodyStart
    for (;;) {
      const lineEnd = buffer.indexOf('\r\n', at, 'latin1')
      if (lineEnd < 0) return undefined
      const size = parseInt(buffer.toString('latin1', at, lineEnd), 16)
      if (Number.isNaN(size)) throw new Error(`bad chunk size in response: ${buffer.toString('latin1', at, lineEnd)}`)
      at = lineEnd + 2
      if (size === 0) {
        // No trailers are sent by node:http here: the body ends with an empty line.
        return buffer.length >= at + 2 ? { length: at + 2, status } : undefined
      }
      at += size + 2
      if (buffer.length < at) return undefined
    }
  }
  return { length: bodyStart, status } // no body (e.g. 204)
}

export async function load(options: LoadOptions): Promise<LoadResult> {
  const statuses = new Map<number, number>()
  const latencies: number[] = []
  let completed = 0
  let exhausted = false
  const sockets: Socket[] = await Promise.all(
    Array.from(
      { length: options.connections },
      () =>
        new Promise<Socket>((resolve, reject) => {
          const socket = connect(options.port, '127.0.0.1', () => resolve(socket))
          socket.setNoDelay(true)
          socket.once('error', reject)
        }),
    ),
  )
  const start = performance.now()
  const deadline = start + options.durationMs
  let end = start

  await Promise.all(
    sockets.map(
      (socket) =>
        new Promise<void>((resolve, reject) => {
          let pending: Buffer = Buffer.alloc(0)
          let sentAt = 0
          const send = () => {
            const now = performance.now()
            const bytes = now < deadline ? options.next() : undefined
            if (bytes === undefined) {
              if (now < deadline) exhausted = true
              end = Math.max(end, now)
              socket.removeAllListeners('data')
              socket.destroy()
              return resolve()
            }
            sentAt = now
            socket.write(bytes)
          }
          socket.on('data', (chunk: Buffer) => {
            pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk])
            const done = complete(pending)
            if (!done) return
            latencies.push(performance.now() - sentAt)
            statuses.set(done.status, (statuses.get(done.status) ?? 0) + 1)
            completed++
            pending = pending.subarray(done.length)
            if (pending.length > 0) return reject(new Error('bytes after a response with one request in flight'))
            send()
          })
          socket.on('error', reject)
          socket.on('close', () => resolve())
          send()
        }),
    ),
  )
  const elapsedMs = end - start
  return { completed, elapsedMs, rps: (completed * 1000) / elapsedMs, statuses, latencies, exhausted }
}
