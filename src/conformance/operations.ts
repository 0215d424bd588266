/**
 * The operations spec vectors exercise, each mapping a case's `input` to the value
 * its `expect` describes. Another SDK implements the same table to run the vectors.
 */
import * as AcceptPayment from '../AcceptPayment.js'
import * as BodyDigest from '../BodyDigest.js'
import * as Challenge from '../Challenge.js'
import * as ChallengeId from '../ChallengeId.js'
import * as Credential from '../Credential.js'
import * as Receipt from '../Receipt.js'
import * as Base64url from '../internal/base64url.js'
import { canonicalize } from '../internal/jcs.js'

type Input = Record<string, any>
export type Operation = (input: Input) => unknown | Promise<unknown>

export const operations: Record<string, Operation> = {
  'challenge.parse': (input) => ({
    challenges: Challenge.parseList(input.header).map((c) => ({ ...c, requestJson: Challenge.decodeRequest(c) })),
  }),
  'challenge.serialize': (input) => ({ header: Challenge.serialize(input.challenge) }),
  'challenge.from': (input) => ({ challenge: Challenge.from(input.fields) }),
  'challenge.id': async (input) => ({
    id: await ChallengeId.compute(input.secret ?? hexToBytes(input.secretHex), input.binding),
  }),
  'credential.parse': (input) => ({ credential: Credential.parse(input.header) }),
  'credential.extract': (input) => ({ credential: Credential.extract(input.authorization) ?? null }),
  'receipt.parse': (input) => ({ receipt: Receipt.parse(input.header) }),
  'base64url.decode': (input) => ({ hex: bytesToHex(Base64url.decode(input.text)) }),
  'base64url.encode': (input) => ({ text: Base64url.encode(hexToBytes(input.hex)) }),
  'jcs.canonicalize': (input) => ({ canonical: canonicalize(JSON.parse(input.json)) }),
  'digest.compute': async (input) => ({
    digest: await BodyDigest.compute(bodyOf(input), input.algorithm ? { algorithm: input.algorithm } : {}),
  }),
  'digest.verify': async (input) => ({ valid: await BodyDigest.verify(input.digest, bodyOf(input)) }),
  'accept-payment.parse': (input) => ({ ranges: AcceptPayment.parse(input.header) }),
  'accept-payment.rank': (input) => {
    const offers = (input.offers as string[]).map((pair) => {
      const [method, intent] = pair.split('/') as [string, string]
      return { method, intent, pair }
    })
    return { order: AcceptPayment.rank(offers, input.header).map((offer) => offer.pair) }
  },
}

function bodyOf(input: Input): Uint8Array | string {
  return input.bodyHex !== undefined ? hexToBytes(input.bodyHex) : (input.body ?? '')
}

function hexToBytes(hex: string): Uint8Array {
  if (!/^(?:[0-9a-f]{2})*$/i.test(hex)) throw new Error('vector has a malformed hex value')
  const out = new Uint8Array(hex.length / 2)
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16)
  return out
}

function bytesToHex(bytes: Uint8Array): string {
  let out = ''
  for (const byte of bytes) out += byte.toString(16).padStart(2, '0')
  return out
}
