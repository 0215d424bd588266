/**
 * The credentials the server runner sends: malformed ones (bad encodings and shapes),
 * tampered ones (a real challenge with one bound field changed) and ones with a
 * well-formed but worthless payload. None of them can pay for anything.
 */
import * as Challenge from '../../Challenge.js'
import * as Credential from '../../Credential.js'
import * as Base64url from '../../internal/base64url.js'
import { encodeCanonical, type JsonObject } from '../../internal/json.js'
import * as Rfc3339 from '../../internal/rfc3339.js'
import * as Utf8 from '../../internal/utf8.js'

/** A syntactically valid payload that proves nothing. */
export const BOGUS_PAYLOAD: JsonObject = { conformance: 'not-a-payment-proof' }

/** A method name no server should accept (`1*LOWERALPHA`, so it is well-formed). */
export const UNKNOWN_METHOD = 'mppkitconformanceunknown'

/** `Payment <base64url(JSON)>` of any value: the shape is not checked. */
export function header(value: unknown): string {
  return 'Payment ' + Base64url.encode(Utf8.toBytes(JSON.stringify(value)))
}

/** A credential echoing `echo` unchanged, with a worthless payload. */
export function bogus(echo: Readonly<Record<string, unknown>>): string {
  return header({ challenge: echo, payload: BOGUS_PAYLOAD })
}

export type Malformed = { readonly label: string; readonly spec: string; build(challenge: Challenge.Challenge): string }

/** Credentials a strict decoder must refuse (draft §5.2; digest §8 items 20-23). */
export const MALFORMED: readonly Malformed[] = [
  { label: 'not base64url', spec: '§5.2', build: () => 'Payment *not-base64url*' },
  { label: 'base64url of text that is not JSON', spec: '§5.2', build: () => 'Payment ' + Base64url.encode(Utf8.toBytes('not json at all')) },
  { label: 'padded base64url', spec: '§5.2 (base64url-nopad)', build: (challenge) => padded(challenge) },
  { label: 'standard base64 alphabet (+ or /)', spec: '§5.2 (base64url-nopad)', build: (challenge) => standardAlphabet(challenge) },
  {
    label: 'a JSON array',
    spec: '§5.2 (a JSON object)',
    build: (challenge) => header([{ challenge: Credential.echo(challenge), payload: BOGUS_PAYLOAD }]),
  },
  { label: 'payload missing', spec: '§5.2 (payload: required)', build: (challenge) => header({ challenge: Credential.echo(challenge) }) },
  {
    label: 'challenge not an object',
    spec: '§5.2 (challenge: object)',
    build: (challenge) => header({ challenge: challenge.id, payload: BOGUS_PAYLOAD }),
  },
]

export type Tampering = {
  readonly label: string
  readonly spec: string
  /** The altered echo, or `undefined` when the challenge has nothing to alter this way. */
  alter(challenge: Challenge.Challenge): Record<string, unknown> | undefined
}

/** One bound field of a real challenge changed in the echo (digest §8 items 28-31). */
export const TAMPERINGS: readonly Tampering[] = [
  {
    label: 'amount changed in the echoed request',
    spec: '§5.1.2.1 (Challenge Binding)',
    alter(challenge) {
      let request: JsonObject
      try {
        request = Challenge.decodeRequest(challenge)
      } catch {
        return undefined
      }
      const amount = request.amount === '1' ? '2' : '1'
      return { ...Credential.echo(challenge), request: encodeCanonical({ ...request, amount }) }
    },
  },
  {
    label: 'expires extended',
    spec: '§5.1.2.1 (Challenge Binding)',
    alter(challenge) {
      const at = challenge.expires === undefined ? undefined : Rfc3339.toEpochMs(challenge.expires)
      return { ...Credential.echo(challenge), expires: Rfc3339.format((at ?? Date.now()) + 3600_000) }
    },
  },
  {
    label: 'realm changed',
    spec: '§5.1.2.1 (Challenge Binding)',
    alter: (challenge) => ({ ...Credential.echo(challenge), realm: `${challenge.realm}.conformance.invalid` }),
  },
  {
    label: 'id altered',
    spec: '§5.1.1 (id); §4.2 (unknown challenge id)',
    alter: (challenge) => ({ ...Credential.echo(challenge), id: alterId(challenge.id) }),
  },
  {
    label: 'opaque removed',
    spec: '§5.1.2 (opaque); §5.1.2.1',
    alter(challenge) {
      if (challenge.opaque === undefined) return undefined
      const { opaque: _removed, ...echo } = Credential.echo(challenge)
      return echo
    },
  },
  {
    label: 'digest removed',
    spec: '§5.1.3 (Request Body Digest Binding); §5.1.2.1',
    alter(challenge) {
      if (challenge.digest === undefined) return undefined
      const { digest: _removed, ...echo } = Credential.echo(challenge)
      return echo
    },
  },
]

/** Unpadded base64url of a credential whose JSON length needs padding, with the `=` added. */
function padded(challenge: Challenge.Challenge): string {
  let json = JSON.stringify({ challenge: Credential.echo(challenge), payload: BOGUS_PAYLOAD })
  // Trailing whitespace is still JSON; it changes the length until padding is needed.
  while (Utf8.toBytes(json).length % 3 === 0) json += ' '
  const missing = 3 - (Utf8.toBytes(json).length % 3)
  return 'Payment ' + Base64url.encode(Utf8.toBytes(json)) + '='.repeat(missing)
}

/** The credential in the standard base64 alphabet, made to contain `+` or `/`. */
function standardAlphabet(challenge: Challenge.Challenge): string {
  // A run of "?" (0x3f) bytes encodes to "_" in base64url whatever its alignment.
  for (let filler = '??????'; ; filler += '?') {
    const encoded = Base64url.encode(Utf8.toBytes(JSON.stringify({ challenge: Credential.echo(challenge), payload: { ...BOGUS_PAYLOAD, filler } })))
    if (/[-_]/.test(encoded)) return 'Payment ' + encoded.replace(/-/g, '+').replace(/_/g, '/')
  }
}

function alterId(id: string): string {
  const last = id.at(-1)
  return id.slice(0, -1) + (last === 'A' ? 'B' : 'A')
}
