/**
 * The `WWW-Authenticate: Payment` challenge (draft-httpauth-payment §5.1): parse it
 * out of a header, serialize it back, build one from typed fields.
 *
 * @example
 * const [challenge] = Challenge.parseList(response.headers.get('www-authenticate')!)
 * const request = Challenge.decodeRequest(challenge) // { amount: '1000', ... }
 */
import { MppError } from './errors.js'
import { parseChallengesSettled, type RawChallenge } from './internal/authParams.js'
import { fromByteString, toByteString } from './internal/headerText.js'
import { decodeObject, encodeCanonical, isObject, type JsonObject } from './internal/json.js'
import * as Rfc3339 from './internal/rfc3339.js'
import { parseDigestValue } from './internal/digestValue.js'

/** A Payment challenge as it travels: every value is the exact wire string. */
export type Challenge = {
  readonly id: string
  readonly realm: string
  /** Payment method, `1*LOWERALPHA` (e.g. `tempo`, `stripe`). */
  readonly method: string
  /** Payment intent, `1*(ALPHA / DIGIT / "-")` (e.g. `charge`). */
  readonly intent: string
  /** base64url(JCS(request object)), unpadded, exactly as received. */
  readonly request: string
  /** RFC 3339 date-time after which the challenge must not be paid. */
  readonly expires?: string
  /** RFC 9530 digest of the request body the challenge is bound to. */
  readonly digest?: string
  /** base64url(JCS(flat string map)) of server correlation data. */
  readonly opaque?: string
  /** Display text only; never used for verification. */
  readonly description?: string
  /** Parameters this version does not know, lowercase names, kept and ignored. */
  readonly extensions?: Readonly<Record<string, string>>
}

/** The typed fields a challenge is built from. */
export type Fields = {
  readonly id: string
  readonly realm: string
  readonly method: string
  readonly intent: string
  readonly request: JsonObject
  readonly expires?: string | Date
  readonly digest?: string
  readonly opaque?: Readonly<Record<string, string>>
  readonly description?: string
  readonly extensions?: Readonly<Record<string, string>>
}

/** Header strings longer than this are refused before scanning (clients must take 4 KB). */
export const MAX_HEADER_LENGTH = 64 * 1024

const KNOWN = new Set(['id', 'realm', 'method', 'intent', 'request', 'expires', 'digest', 'opaque', 'description'])
const REQUIRED = ['id', 'realm', 'method', 'intent', 'request'] as const
const METHOD = /^[a-z]+$/
const INTENT = /^[A-Za-z0-9-]+$/
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/
const LONE_SURROGATE = /\p{Surrogate}/u

/** Outcome of parsing one header's challenges without stopping at the first bad one. */
export type Settled = { challenges: Challenge[]; errors: MppError[] }

export type ParseOptions = {
  /**
   * Also accept a `digest` in the colon-less `sha-256=<base64>` form other SDKs write,
   * besides RFC 9530's `sha-256=:<base64>:`. The value is kept byte-exact, so the echo
   * still matches what the server issued. Off by default: it is not RFC 9530; a payer
   * that turns it on should pay only when the digest matches its body.
   */
  readonly bareDigest?: boolean
}

/**
 * Every Payment challenge in a `WWW-Authenticate` value, in order. Accepts one value,
 * the `", "`-joined value `fetch` produces, or an array of header lines. Other
 * schemes are skipped. Throws on the first invalid Payment challenge.
 */
export function parseList(header: string | readonly string[], options: ParseOptions = {}): Challenge[] {
  const { challenges, errors } = parseListSettled(header, options)
  if (errors[0]) throw errors[0]
  return challenges
}

/**
 * Like {@link parseList}, but an invalid Payment challenge is reported in `errors`
 * and the valid ones are still returned, so a client can pay with what it can use.
 * A header that breaks the auth-param grammar yields the challenges read before it.
 */
export function parseListSettled(header: string | readonly string[], options: ParseOptions = {}): Settled {
  const challenges: Challenge[] = []
  const errors: MppError[] = []
  for (const line of typeof header === 'string' ? [header] : header) {
    if (line.length > MAX_HEADER_LENGTH) {
      errors.push(new MppError('header-too-large', `WWW-Authenticate value exceeds ${MAX_HEADER_LENGTH} characters`))
      continue
    }
    const { challenges: raw, error } = parseChallengesSettled(line)
    for (const item of raw) {
      if (item.scheme.length !== 7 || item.scheme.toLowerCase() !== 'payment') continue
      try {
        challenges.push(fromRaw(item, options))
      } catch (error) {
        errors.push(error as MppError)
      }
    }
    if (error) errors.push(error)
  }
  return { challenges, errors }
}

/** Exactly one Payment challenge from a header value; throws when there are none or several. */
export function parse(header: string | readonly string[], options: ParseOptions = {}): Challenge {
  const list = parseList(header, options)
  if (list.length === 0) throw new MppError('challenge-not-found', 'no Payment challenge in the header')
  if (list.length > 1) throw new MppError('challenge-ambiguous', `${list.length} Payment challenges in the header; use parseList`)
  return list[0]!
}

/**
 * The `WWW-Authenticate` value for a challenge. Every value is a quoted-string with
 * `"` and `\` escaped; a non-ASCII description goes out as UTF-8 bytes (obs-text).
 * Control characters are refused, so a value can never split the header.
 */
export function serialize(challenge: Challenge): string {
  let out = 'Payment id=' + quote(challenge.id, 'id')
  out += ', realm=' + quote(challenge.realm, 'realm')
  out += ', method=' + quote(challenge.method, 'method')
  out += ', intent=' + quote(challenge.intent, 'intent')
  out += ', request=' + quote(challenge.request, 'request')
  if (challenge.expires !== undefined) out += ', expires=' + quote(challenge.expires, 'expires')
  if (challenge.digest !== undefined) out += ', digest=' + quote(challenge.digest, 'digest')
  if (challenge.opaque !== undefined) out += ', opaque=' + quote(challenge.opaque, 'opaque')
  if (challenge.description !== undefined) out += ', description=' + quoteText(challenge.description, 'description')
  for (const [name, value] of Object.entries(challenge.extensions ?? {})) {
    if (!TOKEN.test(name) || name !== name.toLowerCase() || KNOWN.has(name))
      throw new MppError('header-unsafe', 'extension parameter names must be lowercase tokens distinct from the core ones')
    out += `, ${name}=` + quoteText(value, name)
  }
  return out
}

/** A header value holding several challenges, in the given order. */
export function serializeList(challenges: readonly Challenge[]): string {
  return challenges.map(serialize).join(', ')
}

/**
 * Builds a challenge from typed fields: `request` and `opaque` become
 * base64url(JCS(json)), a `Date` expiry becomes RFC 3339. Validates like `parse`.
 */
export function from(fields: Fields): Challenge {
  if (fields.expires instanceof Date && Number.isNaN(fields.expires.getTime()))
    throw new MppError('expires-invalid', 'expires is an invalid Date')
  const expires = fields.expires instanceof Date ? Rfc3339.format(fields.expires.getTime()) : fields.expires
  if (!isObject(fields.request)) throw new MppError('request-invalid', 'request must be a JSON object')
  if (fields.opaque !== undefined && (!isObject(fields.opaque) || Object.values(fields.opaque).some((value) => typeof value !== 'string')))
    throw new MppError('opaque-invalid', 'opaque must be a flat string-to-string map')
  // request and opaque come straight from our own JCS encoder: no need to decode them again.
  return validate(
    {
    id: fields.id,
    realm: fields.realm,
    method: fields.method,
    intent: fields.intent,
    request: encodeCanonical(fields.request),
    ...(expires !== undefined && { expires }),
    ...(fields.digest !== undefined && { digest: fields.digest }),
    ...(fields.opaque !== undefined && { opaque: encodeCanonical(fields.opaque) }),
    ...(fields.description !== undefined && { description: fields.description }),
    ...(fields.extensions !== undefined && { extensions: fields.extensions }),
    },
    { encodedHere: true },
  )
}

/** The decoded `request` object. */
export function decodeRequest<T extends JsonObject = JsonObject>(challenge: Pick<Challenge, 'request'>): T {
  try {
    return decodeObject(challenge.request) as T
  } catch (error) {
    throw new MppError('request-invalid', 'request is not base64url of a JSON object', { cause: error })
  }
}

/** The decoded `opaque` map, or `undefined` when the challenge has none. */
export function decodeOpaque(challenge: Pick<Challenge, 'opaque'>): Record<string, string> | undefined {
  if (challenge.opaque === undefined) return undefined
  let value: JsonObject
  try {
    value = decodeObject(challenge.opaque)
  } catch (error) {
    throw new MppError('opaque-invalid', 'opaque is not base64url of a JSON object', { cause: error })
  }
  for (const member of Object.values(value))
    if (typeof member !== 'string') throw new MppError('opaque-invalid', 'opaque must be a flat string-to-string map')
  return value as Record<string, string>
}

/** Milliseconds since the epoch at which the challenge expires, or `undefined` without `expires`. */
export function expiresAt(challenge: Pick<Challenge, 'expires'>): number | undefined {
  if (challenge.expires === undefined) return undefined
  const ms = Rfc3339.toEpochMs(challenge.expires)
  if (ms === undefined) throw new MppError('expires-invalid', 'expires is not an RFC 3339 date-time')
  return ms
}

/** True when the challenge has an expiry and `now` is at or past it. */
export function isExpired(challenge: Pick<Challenge, 'expires'>, now: number = Date.now()): boolean {
  const at = expiresAt(challenge)
  return at !== undefined && now >= at
}

/**
 * Checks the invariants `parse` enforces on a challenge object from elsewhere
 * (JSON, a credential echo, user code) and returns it.
 */
export function validate<T extends Challenge>(challenge: T, options: ParseOptions & { encodedHere?: boolean } = {}): T {
  for (const name of REQUIRED) {
    const value = challenge[name]
    if (typeof value !== 'string' || value.length === 0)
      throw new MppError('parameter-missing', `Payment challenge lacks a non-empty "${name}"`)
  }
  if (!METHOD.test(challenge.method)) throw new MppError('method-invalid', 'method must be lowercase ASCII letters')
  if (!INTENT.test(challenge.intent)) throw new MppError('intent-invalid', 'intent must be letters, digits and "-"')
  if (!options.encodedHere) decodeRequest(challenge)
  if (challenge.expires !== undefined) {
    if (typeof challenge.expires !== 'string') throw new MppError('expires-invalid', 'expires must be a string')
    expiresAt(challenge)
  }
  if (challenge.digest !== undefined && (typeof challenge.digest !== 'string' || !parseDigestValue(challenge.digest, { bare: options.bareDigest === true })))
    throw new MppError('digest-invalid', 'digest is not an RFC 9530 dictionary of byte sequences')
  if (challenge.opaque !== undefined && typeof challenge.opaque !== 'string') throw new MppError('opaque-invalid', 'opaque must be a string')
  if (challenge.description !== undefined && typeof challenge.description !== 'string')
    throw new MppError('parameter-invalid', 'description must be a string')
  for (const value of Object.values(challenge.extensions ?? {}))
    if (typeof value !== 'string') throw new MppError('parameter-invalid', 'extension parameter values must be strings')
  if (!options.encodedHere) decodeOpaque(challenge)
  return challenge
}

function fromRaw(raw: RawChallenge, options: ParseOptions): Challenge {
  if (raw.token68 !== undefined) throw new MppError('header-syntax', 'a Payment challenge takes auth-params, not a token68')
  const known: Record<string, string> = {}
  let extensions: Record<string, string> | undefined
  const seen = new Set<string>()
  for (const [name, value] of raw.params) {
    if (seen.has(name))
      // Unknown names are header data: the message names only parameters we define.
      throw new MppError('parameter-duplicate', KNOWN.has(name) ? `parameter "${name}" appears twice in one challenge` : 'a parameter appears twice in one challenge')
    seen.add(name)
    if (KNOWN.has(name)) known[name] = value
    // defineProperty, so that a parameter called "__proto__" is kept as data.
    else Object.defineProperty((extensions ??= {}), name, { value: fromByteString(value), enumerable: true, writable: true, configurable: true })
  }
  const challenge = {
    id: known.id,
    realm: known.realm,
    method: known.method,
    intent: known.intent,
    request: known.request,
    ...(known.expires !== undefined && { expires: known.expires }),
    ...(known.digest !== undefined && { digest: known.digest }),
    ...(known.opaque !== undefined && { opaque: known.opaque }),
    ...(known.description !== undefined && { description: fromByteString(known.description) }),
    ...(extensions && { extensions }),
  } as Challenge
  return validate(challenge, options)
}

/** Free text (description, extensions): UTF-8 bytes as obs-text. Everything else: ASCII only. */
function quoteText(value: string, name: string): string {
  // A lone surrogate has no UTF-8 form; encoding would silently replace it.
  if (LONE_SURROGATE.test(value)) throw new MppError('header-unsafe', `parameter "${name}" contains a lone surrogate`)
  return quote(toByteString(value), name, 0xff)
}

function quote(value: string, name: string, highest = 0x7e): string {
  let out = '"'
  let chunk = 0
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i)
    if ((c < 0x20 && c !== 0x09) || c === 0x7f || c > highest)
      throw new MppError('header-unsafe', `parameter "${name}" contains a character a header cannot carry`)
    if (c === 0x22 || c === 0x5c) {
      out += value.slice(chunk, i) + '\\'
      chunk = i
    }
  }
  return out + value.slice(chunk) + '"'
}
