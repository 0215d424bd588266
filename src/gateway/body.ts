/** Reading a request body once, bounded in size and time, to price the request by it. */
import * as BodyDigest from '../BodyDigest.js'
import { isMppError } from '../errors.js'
import { problem } from '../server/responses.js'

/** The body's bytes, and fresh Requests that each carry them readable. */
export type ReadRequest = { bytes: Uint8Array; copy(): Request }

/**
 * Reads `request`'s body (none for GET and HEAD). Answers 413 beyond `maxBytes` and 408
 * when the upload takes longer than `timeout`, before anything is charged.
 */
export async function readBodyWithin(request: Request, maxBytes: number, timeout: number): Promise<ReadRequest | Response> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const late = new Promise<'late'>((resolve) => {
    timer = setTimeout(() => resolve('late'), timeout)
  })
  let bytes: Uint8Array | 'late'
  try {
    bytes = await Promise.race([BodyDigest.readBody(request.body, maxBytes), late])
  } catch (error) {
    if (isMppError(error, 'body-too-large')) return problem(413, undefined, `request body exceeds ${maxBytes} bytes`)
    throw error
  } finally {
    clearTimeout(timer)
  }
  if (bytes === 'late') {
    void request.body?.cancel().catch(() => {})
    return problem(408, undefined, `request body did not arrive within ${timeout} ms; nothing was charged`)
  }
  const body = bytes
  const hasBody = request.body !== null
  return {
    bytes: body,
    copy: () =>
      new Request(request.url, {
        method: request.method,
        headers: request.headers,
        signal: request.signal,
        ...(hasBody && { body: body as Uint8Array<ArrayBuffer> }),
      }),
  }
}
