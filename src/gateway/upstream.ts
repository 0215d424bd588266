/**
 * One request forwarded to the upstream: its headers cleaned, its body handed on as it
 * is (bytes the payment gate already read, or the client's stream), and the upstream's
 * response streamed back as it arrives, never buffered.
 */
import { problem } from '../server/responses.js'
import { setForwarded } from './forwarded.js'
import { stripHopByHop } from './hopByHop.js'

export type UpstreamOptions = {
  /** Base URL; the request's path and query are appended to its path. */
  upstream: URL
  fetch: typeof globalThis.fetch
  /** How long the upstream may take to send its response headers (ms). */
  timeout: number
  /** Forward `Authorization` values that carry no Payment credential. */
  forwardAuthorization: boolean
  trustForwarded: boolean
}

const VIA = '1.1 mppkit'

/** Request fields never sent upstream besides the hop-by-hop ones. */
const DROPPED_REQUEST = ['host', 'content-length', 'expect']
/** Response fields the upstream may not set: payment headers are the gateway's to write. */
const DROPPED_RESPONSE = ['payment-receipt', 'payment-refund']

/**
 * Sends `request` to the upstream. Resolves with the upstream's response (any status),
 * or with a 502 (unreachable) or 504 (no response headers within `timeout`) Problem
 * Details response; the upstream's error text is never passed on.
 */
export async function forward(request: Request, options: UpstreamOptions, clientAddress: string | undefined): Promise<Response> {
  const url = new URL(request.url)
  const target = new URL(options.upstream)
  target.pathname = target.pathname.replace(/\/$/, '') + url.pathname
  target.search = url.search

  const headers = stripHopByHop(request.headers)
  for (const name of DROPPED_REQUEST) headers.delete(name)
  if (!options.forwardAuthorization || carriesPayment(headers.get('authorization'))) headers.delete('authorization')
  setForwarded(headers, url, { clientAddress, trust: options.trustForwarded })
  // RFC 9110 §7.6.3: a gateway sends Via in each request it forwards inbound.
  const via = headers.get('via')
  headers.set('via', via ? `${via}, ${VIA}` : VIA)

  const controller = new AbortController()
  const timedOut = new Error('upstream timeout')
  const timer = setTimeout(() => controller.abort(timedOut), options.timeout)
  const onClientGone = () => controller.abort(request.signal.reason)
  if (request.signal.aborted) onClientGone()
  else request.signal.addEventListener('abort', onClientGone, { once: true })
  let response: Response
  try {
    response = await options.fetch(target, {
      method: request.method,
      headers,
      redirect: 'manual',
      signal: controller.signal,
      ...(request.body && { body: request.body, duplex: 'half' }),
    } as RequestInit)
  } catch {
    if (controller.signal.reason === timedOut)
      return failure(504, `the upstream did not answer within ${options.timeout} ms`)
    return failure(502, 'the upstream could not be reached')
  } finally {
    clearTimeout(timer)
  }
  return new Response(response.body, { status: response.status, statusText: response.statusText, headers: responseHeaders(response.headers) })
}

function responseHeaders(upstream: Headers): Headers {
  const headers = stripHopByHop(upstream)
  for (const name of DROPPED_RESPONSE) headers.delete(name)
  // A Fetch-standard body is already decoded: its coding and length no longer apply.
  if (headers.has('content-encoding')) {
    headers.delete('content-encoding')
    headers.delete('content-length')
  }
  return headers
}

function failure(status: 502 | 504, detail: string): Response {
  return problem(status, undefined, detail)
}

/**
 * Whether an `Authorization` value carries a Payment credential anywhere (several
 * values are joined by commas). Fails closed: any item starting with the scheme counts.
 */
function carriesPayment(authorization: string | null): boolean {
  if (authorization === null) return false
  return authorization.split(',').some((item) => /^\s*payment(\s|$)/i.test(item))
}
