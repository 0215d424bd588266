/**
 * Sending a request that carries a credential: redirects are followed by hand so the
 * credential goes only to the origin that asked for it. Once a redirect leaves that
 * origin, the credential is dropped for good.
 */

export type PaidRequest = {
  url: string
  method: string
  headers: Headers
  body: Uint8Array | undefined
  signal: AbortSignal | null
  redirect: RequestRedirect
}

/**
 * Returns the paid server's own answer (which decides the payment's outcome) and the
 * response the redirects led to.
 */
export async function sendWithCredential(
  fetch: typeof globalThis.fetch,
  request: PaidRequest,
  maxRedirects: number,
): Promise<{ answer: Response; response: Response }> {
  const origin = new URL(request.url).origin
  const headers = new Headers(request.headers)
  let { url, method, body } = request
  let answer: Response | undefined
  for (let hops = 0; ; hops++) {
    if (new URL(url).origin !== origin) headers.delete('authorization')
    const response = await fetch(url, {
      method,
      headers,
      ...(body && { body: body as Uint8Array<ArrayBuffer> }),
      signal: request.signal,
      redirect: 'manual',
    })
    answer ??= response
    const location = response.headers.get('location')
    if (request.redirect !== 'follow' || !isRedirect(response.status) || !location || hops >= maxRedirects) return { answer, response }
    await response.body?.cancel()
    url = new URL(location, url).toString()
    // RFC 9110 §15.4: 303 (and 301/302 after POST) become a GET without the body.
    if (response.status === 303 || ((response.status === 301 || response.status === 302) && method === 'POST')) {
      method = 'GET'
      body = undefined
      headers.delete('content-type')
      headers.delete('content-length')
    }
  }
}

function isRedirect(status: number): boolean {
  return status === 301 || status === 302 || status === 303 || status === 307 || status === 308
}
