/**
 * Stored responses for `Idempotency-Key` replays: a paid POST retried with the same
 * key and credential gets the first response again, and the handler runs once. Each
 * stored answer carries the fingerprint of the credential (and body) it answered, and
 * is served to that credential only.
 */
import { sha256 } from '@noble/hashes/sha2'
import * as Base64url from '../internal/base64url.js'
import * as Utf8 from '../internal/utf8.js'
import type { Store } from './Store.js'

/** Methods whose retries the key protects (RFC 9110 §9.2.2: not idempotent, or with side effects). */
export const PROTECTED_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE'])

/** Responses larger than this are not stored; a replay of one gets 409. */
export const MAX_STORED_BYTES = 1024 * 1024

type Stored = { fp: string } & (
  | { status: number; statusText: string; headers: Array<[string, string]>; body: string }
  | { tooLarge: true }
)

/**
 * What a stored answer is bound to: the credential as sent and the body's digest. A
 * request with the same challenge and key but another payload or body is not a retry.
 */
export function fingerprint(token: string, bodyDigest: string | undefined): string {
  return Base64url.encode(sha256(Utf8.toBytes(`${token}\n${bodyDigest ?? ''}`)).subarray(0, 18))
}

export function storeKey(challengeId: string, idempotencyKey: string): string {
  return `idem:${challengeId}:${idempotencyKey}`
}

/**
 * Buffers a response, stores it, and returns an equivalent fresh response. A store
 * failure loses only the replay copy: the paid response is still delivered.
 */
export async function remember(store: Store, key: string, response: Response, expiresAt: number, fp: string): Promise<Response> {
  // An event stream is not buffered for a replay that could never be the same stream:
  // it flows to the payer as it is produced, and a retry is told it cannot be replayed.
  if (response.headers.get('content-type')?.toLowerCase().startsWith('text/event-stream')) {
    await store.set(key, JSON.stringify({ fp, tooLarge: true } satisfies Stored), expiresAt).catch(() => {})
    return response
  }
  const bytes = new Uint8Array(await response.arrayBuffer())
  const stored: Stored =
    bytes.length > MAX_STORED_BYTES
      ? { fp, tooLarge: true }
      : { fp, status: response.status, statusText: response.statusText, headers: [...response.headers], body: Base64url.encode(bytes) }
  await store.set(key, JSON.stringify(stored), expiresAt).catch(() => {})
  return new Response(response.status === 204 || response.status === 304 ? null : bytes, response)
}

/**
 * The stored answer for a key, if there is one now (no waiting). An answer stored for
 * another credential or body is `rejected`: this request is not a retry of that one.
 */
export async function peek(store: Store, key: string, fp: string): Promise<Response | 'too-large' | 'rejected' | undefined> {
  const text = await store.get(key).catch(() => undefined)
  return text === undefined ? undefined : revive(text, fp)
}

function revive(text: string, fp: string): Response | 'too-large' | 'rejected' {
  const stored = JSON.parse(text) as Stored
  if (stored.fp !== fp) return 'rejected'
  if ('tooLarge' in stored) return 'too-large'
  const body = stored.status === 204 || stored.status === 304 ? null : Base64url.decode(stored.body)
  const response = new Response(body, { status: stored.status, statusText: stored.statusText, headers: stored.headers })
  response.headers.set('idempotent-replayed', 'true')
  return response
}
