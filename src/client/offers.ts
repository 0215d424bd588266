/** What a 402 offers this client: each challenge a configured driver can pay, as an Offer. */
import * as BodyDigest from '../BodyDigest.js'
import * as Challenge from '../Challenge.js'
import type * as Method from '../Method.js'
import { validate } from '../internal/standardSchema.js'
import * as Policy from './Policy.js'

type AnyClient = Method.Client<any, any>

export type Candidate = { offer: Policy.Offer; challenge: Challenge.Challenge; driver: AnyClient; request: any }

/**
 * The payable offers in a 402, in the client's driver preference order (server order
 * within one driver), and how many challenges no driver can pay. A digest written
 * without RFC 8941 colons (`sha-256=<base64>`, as other SDKs write it) is accepted only
 * when it is the digest of `body`, the request body this client sent.
 */
export async function candidatesIn(
  response: Response,
  url: string,
  methods: readonly AnyClient[],
  body?: Uint8Array,
): Promise<{ candidates: Candidate[]; unusable: number }> {
  const header = response.headers.get('www-authenticate')
  const { challenges: parsed } = header ? Challenge.parseListSettled(header, { bareDigest: true }) : { challenges: [] }
  const challenges: Challenge.Challenge[] = []
  let unusable = 0
  for (const challenge of parsed) {
    const bare = challenge.digest !== undefined && BodyDigest.form(challenge.digest) === 'bare'
    if (bare && !(await BodyDigest.verify(challenge.digest!, body, { bare: true }).catch(() => false))) unusable++
    else challenges.push(challenge)
  }
  const candidates: Candidate[] = []
  for (const driver of methods) {
    for (const challenge of challenges) {
      if (challenge.method !== driver.name || challenge.intent !== driver.intent) continue
      const decoded = await validate(driver.request, Challenge.decodeRequest(challenge))
      if (!decoded.ok || (driver.canPay && !driver.canPay(decoded.value))) {
        unusable++
        continue
      }
      candidates.push({ challenge, driver, request: decoded.value, offer: offerOf(driver, challenge, decoded.value, url) })
    }
  }
  unusable += challenges.filter((c) => !methods.some((d) => d.name === c.method && d.intent === c.intent)).length
  return { candidates, unusable }
}

function offerOf(driver: AnyClient, challenge: Challenge.Challenge, request: unknown, url: string): Policy.Offer {
  const { amount, currency, recipient, decimals, symbol } = driver.amountOf(request)
  return {
    origin: new URL(url).origin,
    realm: challenge.realm,
    method: challenge.method,
    intent: challenge.intent,
    challengeId: challenge.id,
    amount,
    currency,
    ...(decimals !== undefined && { decimals }),
    ...(symbol !== undefined && { symbol }),
    ...(recipient !== undefined && { recipient }),
    ...(challenge.description !== undefined && { description: challenge.description }),
    display: Policy.display(amount, currency, decimals, symbol),
  }
}
