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
import { hmac } from '@noble/hashes/hmac'
import { sha256 } from '@noble/hashes/sha2'
import * as Challenge from './Challenge.js'
import { MppError } from './errors.js'
import * as Base64url from './internal/base64url.js'
import { equalBytes } from './internal/constantTime.js'
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
  return Base64url.encode(hmac(sha256, secretBytes(secret), Utf8.toBytes(input(binding))))
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
  // HMAC state keyed once per secret; each MAC clones it. Synchronous (audited
  // @noble/hashes), so a verification never waits on a crypto thread pool.
  const keys = bytes.map((key) => hmac.create(sha256, key))
  const mac = (index: number, data: Uint8Array) => keys[index]!.clone().update(data).digest()

  const ring: KeyRing = {
    async sign(binding) {
      return Base64url.encode(mac(0, Utf8.toBytes(input(binding))))
    },
    async issue(fields) {
      const unsigned = Challenge.from({ ...fields, id: 'unsigned' })
      return { ...unsigned, id: await ring.sign(unsigned) }
    },
    async verify(challenge) {
      let presented: Uint8Array
      try {
        presented = Base64url.decode(challenge.id)
      } catch {
        return false
      }
      if (presented.length !== 32) return false
      const data = Utf8.toBytes(input(challenge))
      // Every key is tried and compared in constant time, so timing reveals neither
      // how much of the id matched nor which secret did.
      let matched = false
      for (let i = 0; i < keys.length; i++) matched = equalBytes(mac(i, data), presented) || matched
      return matched
    },
  }
  return ring
}

function secretBytes(secret: Secret): Uint8Array {
  return typeof secret === 'string' ? Utf8.toBytes(secret) : secret
}
