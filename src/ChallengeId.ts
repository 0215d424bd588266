/**
 * Stateless challenge binding (draft-httpauth-payment §5.1.3, HMAC-SHA256): the id is
 * `base64url(HMAC-SHA256(secret, realm|method|intent|request|expires|digest|opaque))`,
 * seven slots always, absent optional fields as empty strings.
 *
 * A {@link KeyRing} holds the current secret and the previous ones, so a secret can be
 * rotated without breaking challenges issued before the rotation and not yet expired.
 *
 * @example
 * const ring = ChallengeId.keyRing([process.env.MPP_SECRET!])
 * const challenge = await ring.issue({ realm, method: 'tempo', intent: 'charge', request, expires })
 * await ring.verify(credential.challenge) // true when one of our secrets issued it
 */
import * as Challenge from './Challenge.js'
import { MppError } from './errors.js'
import * as Base64url from './internal/base64url.js'
import * as Utf8 from './internal/utf8.js'

/** The challenge fields the id binds; `description` is deliberately not bound. */
export type Binding = {
  readonly realm: string
  readonly method: string
  readonly intent: string
  readonly request: string
  readonly expires?: string | undefined
  readonly digest?: string | undefined
  readonly opaque?: string | undefined
}

export type Secret = string | Uint8Array

/** Key-ring secrets must have at least this many bytes (the HMAC-SHA256 output size). */
export const MIN_SECRET_BYTES = 32

/** The HMAC input: the seven slots joined with `|`. */
export function input(binding: Binding): string {
  return [
    binding.realm,
    binding.method,
    binding.intent,
    binding.request,
    binding.expires ?? '',
    binding.digest ?? '',
    binding.opaque ?? '',
  ].join('|')
}

/**
 * The challenge id one secret gives a binding. Accepts secrets of any length so that
 * published vectors can be checked; a {@link KeyRing} insists on 32 bytes or more.
 */
export async function compute(secret: Secret, binding: Binding): Promise<string> {
  const key = await importKey(secretBytes(secret))
  return sign(key, binding)
}

export type KeyRing = {
  /** A fresh challenge, its id computed with the current secret. */
  issue(fields: Omit<Challenge.Fields, 'id'>): Promise<Challenge.Challenge>
  /** The id the current secret gives a binding. */
  sign(binding: Binding): Promise<string>
  /** True when any secret in the ring gives `challenge.id` for the challenge's fields (constant time). */
  verify(challenge: Binding & { readonly id: string }): Promise<boolean>
}

/**
 * A key ring from `[current, ...previous]` secrets. Keep a previous secret in the
 * ring until every challenge it issued has expired, then drop it.
 */
export function keyRing(secrets: readonly [Secret, ...Secret[]] | readonly Secret[]): KeyRing {
  if (secrets.length === 0) throw new MppError('secret-invalid', 'a key ring needs at least one secret')
  const bytes = secrets.map((secret) => {
    const value = secretBytes(secret)
    if (value.length < MIN_SECRET_BYTES)
      throw new MppError('secret-invalid', `challenge secrets must be at least ${MIN_SECRET_BYTES} bytes`)
    return value
  })
  const keys = Promise.all(bytes.map(importKey))
  // Surface an import failure at the first use, not as an unhandled rejection.
  keys.catch(() => {})

  const ring: KeyRing = {
    async sign(binding) {
      return sign((await keys)[0]!, binding)
    },
    async issue(fields) {
      const unsigned = Challenge.from({ ...fields, id: 'unsigned' })
      return { ...unsigned, id: await ring.sign(unsigned) }
    },
    async verify(challenge) {
      let mac: Uint8Array<ArrayBuffer>
      try {
        mac = Base64url.decode(challenge.id)
      } catch {
        return false
      }
      if (mac.length !== 32) return false
      const data = Utf8.toBytes(input(challenge))
      // subtle.verify compares in constant time; every key is tried so timing does
      // not reveal which secret matched.
      const results = await Promise.all((await keys).map((key) => crypto.subtle.verify('HMAC', key, mac as Uint8Array<ArrayBuffer>, data)))
      return results.includes(true)
    },
  }
  return ring
}

async function sign(key: CryptoKey, binding: Binding): Promise<string> {
  const mac = await crypto.subtle.sign('HMAC', key, Utf8.toBytes(input(binding)))
  return Base64url.encode(new Uint8Array(mac))
}

function importKey(secret: Uint8Array): Promise<CryptoKey> {
  return crypto.subtle.importKey('raw', secret as Uint8Array<ArrayBuffer>, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify'])
}

function secretBytes(secret: Secret): Uint8Array {
  return typeof secret === 'string' ? Utf8.toBytes(secret) : secret
}
