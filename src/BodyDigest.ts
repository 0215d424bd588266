/**
 * RFC 9530 body digests as the `digest` challenge parameter carries them:
 * `sha-256=:<base64>:` (a structured-field dictionary of byte sequences). mppkit
 * writes only that form; {@link verify} with `bare: true` also reads the colon-less
 * `sha-256=<base64>` that other SDKs (mppx, pympp, mpp-go) write.
 *
 * @example
 * const digest = await BodyDigest.compute('{"hello": "world"}')
 * // 'sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:'
 * await BodyDigest.verify(digest, body) // true
 */
import { MppError } from './errors.js'
import { equalBytes } from './internal/constantTime.js'
import { parseDigestValue, type DigestForm } from './internal/digestValue.js'
import { serializeByteSequence } from './internal/structuredFields.js'
import * as Utf8 from './internal/utf8.js'

export type Algorithm = 'sha-256' | 'sha-512'

const SUBTLE_NAME: Record<Algorithm, string> = { 'sha-256': 'SHA-256', 'sha-512': 'SHA-512' }

/** Bodies larger than this are refused unless a larger `maxBytes` is given. */
export const DEFAULT_MAX_BYTES = 16 * 1024 * 1024

export type Body = string | Uint8Array | ArrayBuffer | ReadableStream<Uint8Array> | null | undefined

export type Options = { algorithm?: Algorithm; maxBytes?: number }

/** The `Content-Digest`-style value of a body (an absent body digests as empty). */
export async function compute(body: Body, options: Options = {}): Promise<string> {
  const algorithm = options.algorithm ?? 'sha-256'
  if (!Object.hasOwn(SUBTLE_NAME, algorithm)) throw new MppError('digest-unsupported', 'digest algorithms are sha-256 and sha-512')
  const bytes = await readBody(body, options.maxBytes ?? DEFAULT_MAX_BYTES)
  return serializeByteSequence(algorithm, await hash(algorithm, bytes))
}

/**
 * True when the body matches the digest value: RFC 9530 form (`sha-256=:<b64>:`), and
 * with `bare: true` also the colon-less form (`sha-256=<b64>`) other SDKs write. Every
 * supported algorithm present must match and at least one must be present; unknown
 * algorithms are ignored. Byte comparison, so a base64url spelling never matches.
 * Strict by default: a server checks the echo of a digest it wrote itself, in RFC 9530
 * form; a payer reading another SDK's challenge turns `bare` on.
 *
 * A value that is not a digest at all throws `digest-invalid`, and one with no
 * supported algorithm throws `digest-unsupported`, where some SDKs answer `false`:
 * "this is not a digest" is a different fault from "this is another body's digest",
 * and both refuse the payment. Callers wanting a boolean can `.catch(() => false)`.
 */
export async function verify(
  expected: string,
  body: Body,
  options: Omit<Options, 'algorithm'> & { bare?: boolean } = {},
): Promise<boolean> {
  const members = parseDigestValue(expected, { bare: options.bare === true })?.members
  if (!members)
    throw new MppError('digest-invalid', options.bare ? 'digest is neither sha-256=:<base64>: (RFC 9530) nor sha-256=<base64>' : 'digest is not an RFC 9530 dictionary of byte sequences')
  const supported = [...members].filter(([name]) => Object.hasOwn(SUBTLE_NAME, name)) as Array<[Algorithm, Uint8Array]>
  if (supported.length === 0) throw new MppError('digest-unsupported', 'digest uses no supported algorithm (sha-256, sha-512)')
  const bytes = await readBody(body, options.maxBytes ?? DEFAULT_MAX_BYTES)
  for (const [algorithm, want] of supported) {
    if (!equalBytes(await hash(algorithm, bytes), want)) return false
  }
  return true
}

/**
 * Which spelling a digest value uses: `'rfc9530'` (`sha-256=:<b64>:`), `'bare'`
 * (`sha-256=<b64>`), or `undefined` when it is neither.
 */
export function form(value: string): DigestForm | undefined {
  return parseDigestValue(value, { bare: true })?.form
}

/** Reads a body to bytes, refusing more than `maxBytes` (streams are cut off early). */
export async function readBody(body: Body, maxBytes: number): Promise<Uint8Array> {
  if (body == null) return new Uint8Array(0)
  const bytes =
    typeof body === 'string' ? Utf8.toBytes(body) : body instanceof Uint8Array ? body : body instanceof ArrayBuffer ? new Uint8Array(body) : undefined
  if (bytes) {
    if (bytes.length > maxBytes) throw tooLarge(maxBytes)
    return bytes
  }
  const chunks: Uint8Array[] = []
  let total = 0
  const reader = (body as ReadableStream<Uint8Array>).getReader()
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    total += value.length
    if (total > maxBytes) {
      await reader.cancel()
      throw tooLarge(maxBytes)
    }
    chunks.push(value)
  }
  const out = new Uint8Array(total)
  let offset = 0
  for (const chunk of chunks) {
    out.set(chunk, offset)
    offset += chunk.length
  }
  return out
}

async function hash(algorithm: Algorithm, bytes: Uint8Array): Promise<Uint8Array> {
  // Web Crypto's types want ArrayBuffer-backed views; our bytes never sit on a SharedArrayBuffer.
  return new Uint8Array(await crypto.subtle.digest(SUBTLE_NAME[algorithm], bytes as Uint8Array<ArrayBuffer>))
}

function tooLarge(maxBytes: number): MppError {
  return new MppError('body-too-large', `body exceeds ${maxBytes} bytes`)
}
