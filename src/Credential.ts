/**
 * The `Authorization: Payment <base64url>` credential (draft-httpauth-payment §5.2).
 *
 * @example
 * const credential = Credential.parse(request.headers.get('authorization')!)
 * credential.challenge.id // the echoed challenge id
 */
import * as Challenge from './Challenge.js'
import { isMppError, MppError } from './errors.js'
import { parseChallenges, type RawChallenge } from './internal/authParams.js'
import { decodeObject, encodeObject, isObject, type JsonObject } from './internal/json.js'

/** The challenge as the client echoes it: the wire strings, unchanged (unknown parameters are not echoed). */
export type ChallengeEcho = Omit<Challenge.Challenge, 'extensions'>

export type Credential<Payload extends JsonObject = JsonObject> = {
  readonly challenge: ChallengeEcho
  /** Method-specific proof of payment. */
  readonly payload: Payload
  /** Payer identifier, a DID where the method defines one. */
  readonly source?: string
}

/** Credentials (and `Authorization` values) longer than this are refused before decoding (servers must take 4 KB). */
export const MAX_LENGTH = 64 * 1024

const SCHEME = /^payment +/i
const ECHO_REQUIRED = ['id', 'realm', 'method', 'intent', 'request'] as const
const ECHO_OPTIONAL = ['expires', 'digest', 'opaque', 'description'] as const

/**
 * Parses an `Authorization` value `Payment <base64url-nopad>`. Strict: unpadded
 * canonical base64url, fatal UTF-8, a JSON object with a `challenge` object and a
 * `payload` object, and an optional string `source`. The echoed challenge must pass
 * the same field rules as a parsed challenge ({@link Challenge.validate}); a failure is
 * `credential-invalid` with the challenge error (e.g. `method-invalid`) as its `cause`.
 */
export function parse(authorization: string, options: { maxLength?: number } = {}): Credential {
  const maxLength = options.maxLength ?? MAX_LENGTH
  if (authorization.length > maxLength)
    throw new MppError('header-too-large', `credential exceeds ${maxLength} characters`)
  const scheme = SCHEME.exec(authorization)
  if (!scheme) throw new MppError('credential-invalid', 'Authorization value is not a Payment credential')
  return decode(authorization.slice(scheme[0].length))
}

/** Decodes the base64url part of a credential (without the `Payment ` scheme). */
export function decode(encoded: string): Credential {
  return validate(decodeObject(encoded))
}

/** `Payment <base64url(JSON)>` for a credential. */
export function serialize(credential: Credential): string {
  return 'Payment ' + encode(credential)
}

/** base64url(JSON) of a credential, without the scheme. */
export function encode(credential: Credential): string {
  return encodeObject({
    challenge: credential.challenge,
    payload: credential.payload,
    ...(credential.source !== undefined && { source: credential.source }),
  })
}

/**
 * The one Payment credential in an `Authorization` value, or `undefined` when there
 * is none. Several (two header lines joined by `", "`, or one line listing two)
 * throw `credential-multiple`: the server must answer 400. A value longer than
 * `maxLength` (default {@link MAX_LENGTH}) throws `header-too-large` before it is scanned.
 */
export function extract(authorization: string | null | undefined, options: { maxLength?: number } = {}): string | undefined {
  if (!authorization) return undefined
  const maxLength = options.maxLength ?? MAX_LENGTH
  if (authorization.length > maxLength)
    throw new MppError('header-too-large', `Authorization value exceeds ${maxLength} characters`)
  let items: RawChallenge[]
  try {
    // Same grammar as WWW-Authenticate (RFC 9110 §11.4): commas inside another
    // scheme's quoted-strings are data, not separators.
    items = parseChallenges(authorization)
  } catch {
    return extractLoosely(authorization)
  }
  const payments = items.filter((item) => item.scheme.toLowerCase() === 'payment')
  if (payments.length > 1) throw new MppError('credential-multiple', 'more than one Payment credential in the request')
  const [payment] = payments
  if (!payment) return undefined
  // A credential is `Payment <token68>`; anything else is kept whole so parse() rejects it.
  return payment.token68 !== undefined && payment.params.length === 0 ? `${payment.scheme} ${payment.token68}` : payment.scheme
}

/** For values that break the grammar: find Payment credentials by their scheme word. */
function extractLoosely(authorization: string): string | undefined {
  const found = authorization.split(',').map((part) => part.trim()).filter((part) => /^payment(?: |$)/i.test(part))
  if (found.length > 1) throw new MppError('credential-multiple', 'more than one Payment credential in the request')
  return found[0]
}

/** Checks a decoded value has the credential shape and returns it typed. */
export function validate(value: unknown): Credential {
  if (!isObject(value)) throw new MppError('json-not-object', 'credential is not a JSON object')
  const { challenge, payload, source } = value
  if (!isObject(challenge)) throw new MppError('credential-invalid', 'credential.challenge must be an object')
  if (!isObject(payload)) throw new MppError('credential-invalid', 'credential.payload must be an object')
  if (source !== undefined && typeof source !== 'string')
    throw new MppError('credential-invalid', 'credential.source must be a string')
  for (const name of ECHO_REQUIRED) {
    const member = challenge[name]
    if (typeof member !== 'string' || member.length === 0)
      throw new MppError('credential-invalid', `credential.challenge.${name} must be a non-empty string`)
  }
  for (const name of ECHO_OPTIONAL) {
    const member = challenge[name]
    if (member !== undefined && typeof member !== 'string')
      throw new MppError('credential-invalid', `credential.challenge.${name} must be a string`)
  }
  // The echo obeys the rules a challenge does: method 1*LOWERALPHA, intent token,
  // request and opaque base64url JSON objects, RFC 3339 expires, RFC 9530 digest.
  try {
    Challenge.validate(challenge as ChallengeEcho)
  } catch (error) {
    if (!isMppError(error)) throw error
    throw new MppError('credential-invalid', `credential.challenge: ${error.message}`, { cause: error })
  }
  return value as Credential
}

/** The echo a client puts in its credential for a challenge: the wire fields, unchanged. */
export function echo(challenge: ChallengeEcho): ChallengeEcho {
  return {
    id: challenge.id,
    realm: challenge.realm,
    method: challenge.method,
    intent: challenge.intent,
    request: challenge.request,
    ...(challenge.expires !== undefined && { expires: challenge.expires }),
    ...(challenge.digest !== undefined && { digest: challenge.digest }),
    ...(challenge.opaque !== undefined && { opaque: challenge.opaque }),
    ...(challenge.description !== undefined && { description: challenge.description }),
  }
}

/** Builds a credential for a challenge. */
export function from<Payload extends JsonObject>(fields: {
  challenge: ChallengeEcho
  payload: Payload
  source?: string
}): Credential<Payload> {
  return {
    challenge: echo(fields.challenge),
    payload: fields.payload,
    ...(fields.source !== undefined && { source: fields.source }),
  }
}
