/**
 * Helpers to compare mppx's view of a challenge with mppkit's. mppx keeps `request`
 * decoded (an object) and re-encodes it with JCS when it serializes; mppkit keeps the
 * exact wire string. For a JCS-encoded request the two agree byte for byte, so the
 * comparison is on wire strings.
 */
import { Challenge as MppxChallenge, PaymentRequest } from 'mppx'
import type * as Challenge from '../../../src/Challenge.js'

/** A 32+ byte secret, so it is valid for mppkit's key ring and for mppx's server. */
export const SECRET = 'interop-secret-0123456789-abcdefghijklmnop'
export const OLD_SECRET = 'interop-secret-previous-ZYXWVUTSRQPONMLKJI'

/** The shape mppx's `Challenge.from` takes, minus `id` / `secretKey`. */
export type MppxShape = {
  realm: string
  method: string
  intent: string
  request: Record<string, unknown>
  description?: string
  digest?: string
  expires?: string
  meta?: Record<string, string>
  opaque?: string
}

/** mppx issues a challenge with an HMAC id over `shape`. */
export function mppxIssue(shape: MppxShape, secretKey: string = SECRET): MppxChallenge.Challenge {
  return MppxChallenge.from({ ...shape, secretKey })
}

/** mppx's challenge as the wire strings mppkit keeps (request and opaque encoded). */
export function mppxAsWire(challenge: MppxChallenge.Challenge): Challenge.Challenge {
  return {
    id: challenge.id,
    realm: challenge.realm,
    method: challenge.method,
    intent: challenge.intent,
    request: PaymentRequest.serialize(challenge.request),
    ...(challenge.expires !== undefined && { expires: challenge.expires }),
    ...(challenge.digest !== undefined && { digest: challenge.digest }),
    ...(challenge.opaque !== undefined && { opaque: challenge.opaque }),
    ...(challenge.description !== undefined && { description: challenge.description }),
  }
}

/**
 * How a Unicode string reads when its UTF-8 bytes are taken as Latin-1 characters:
 * what mppx's parser yields for a non-ASCII description mppkit sent (mppkit sends
 * UTF-8 in obs-text; mppx has no UTF-8 decoding step).
 */
export function utf8AsLatin1(text: string): string {
  return Buffer.from(text, 'utf8').toString('latin1')
}

/** A base64url(JSON) value, for hand-built fixtures independent of both SDKs. */
export function b64json(value: unknown): string {
  return Buffer.from(JSON.stringify(value), 'utf8').toString('base64url')
}
