/**
 * A fetch-style handler `(Request) => Response` served over real node:http on
 * 127.0.0.1, port 0. The adapter belongs to neither SDK, so neither gets help from
 * its own glue. Every request the server sees is logged (method, path, headers).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

export type SeenRequest = { method: string; path: string; headers: Record<string, string | string[] | undefined> }

export type LoopbackServer = {
  readonly origin: string
  readonly seen: SeenRequest[]
  close(): Promise<void>
}

export async function serve(handler: (request: Request) => Response | Promise<Response>): Promise<LoopbackServer> {
  const seen: SeenRequest[] = []
  let origin = ''
  const server = createServer((req, res) => {
    seen.push({ method: req.method ?? 'GET', path: req.url ?? '/', headers: { ...req.headers } })
    handle(req, res).catch((error: unknown) => {
      res.statusCode = 500
      res.end(String(error))
    })
  })
  async function handle(req: IncomingMessage, res: ServerResponse) {
    const chunks: Buffer[] = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    const headers = new Headers()
    for (let i = 0; i < req.rawHeaders.length; i += 2) headers.append(req.rawHeaders[i]!, req.rawHeaders[i + 1]!)
    const method = req.method ?? 'GET'
    const body = chunks.length > 0 && method !== 'GET' && method !== 'HEAD' ? Buffer.concat(chunks) : undefined
    const request = new Request(new URL(req.url ?? '/', origin), { method, headers, ...(body && { body }) })
    const response = await handler(request)
    res.statusCode = response.status
    response.headers.forEach((value, name) => res.setHeader(name, value))
    res.end(Buffer.from(await response.arrayBuffer()))
  }
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return {
    origin,
    seen,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections()
        server.close((error) => (error ? reject(error) : resolve()))
      }),
  }
}
