/**
 * A seller with one Tempo route, called in-process (`handler(new Request(...))`), and
 * the paying side's raw moves: read a 402's challenge, present any payload for it.
 * Dishonest clients build their payload by hand; honest ones go through
 * `createPaymentFetch` + `chargeClient` with `shop.fetch`.
 */
import type { Address, Chain, Client, Hex, Transport } from 'viem'
import { Challenge, Credential, Problem, Receipt } from '../../../src/index.js'
import type * as Method from '../../../src/Method.js'
import type { JsonObject } from '../../../src/internal/json.js'
import { createPaymentServer, type ServerEvent } from '../../../src/server/index.js'
import { chargeServer, type ChargeServerOptions, type RouteOptions } from '../../../src/methods/tempo/index.js'
import { DEV_KEYS, TOKENS } from './chain.js'
import { privateKeyToAccount } from 'viem/accounts'

export const REALM = 'api.test'
export const SECRET = 'tempo-charge-test-secret-0123456789abcdef'
export const URL_ = 'https://api.test/resource'
export const MERCHANT: Address = privateKeyToAccount(DEV_KEYS[2]).address

export type ShopOptions = {
  client: Client<Transport, Chain>
  /** chargeServer options beyond client/currency/recipient. */
  tempo?: Partial<Omit<ChargeServerOptions, 'client'>>
  /** The route (default price 0.25). */
  route?: Method.RouteOptions & { tempo?: RouteOptions }
  /** Server clock. */
  now?: () => number
}

export type Shop = {
  readonly fetch: typeof fetch
  readonly events: ServerEvent[]
  /** How many requests reached the paid handler. */
  delivered(): number
  /** GET without a credential: the 402 and its (first) challenge. */
  challenge(): Promise<Challenge.Challenge>
  /** Presents `payload` (and `source`) for `challenge`. */
  present(challenge: Challenge.Challenge, payload: JsonObject, source?: string): Promise<Response>
  /** Lets a client method pay `challenge` and presents what it made. */
  payWith(challenge: Challenge.Challenge, client: Method.Client<any, any>): Promise<{ response: Response; payload: JsonObject; source?: string }>
}

export function shop(options: ShopOptions): Shop {
  const events: ServerEvent[] = []
  const driver = chargeServer({ client: options.client, currency: TOKENS.pathUSD, recipient: MERCHANT, ...options.tempo })
  const server = createPaymentServer({
    realm: REALM,
    secrets: [SECRET],
    methods: [driver],
    onEvent: (event) => events.push(event),
    ...(options.now && { now: options.now }),
  })
  let delivered = 0
  const handler = server.route(options.route ?? { price: '0.25' }, () => {
    delivered++
    return Response.json({ ok: true })
  })
  const fetchImpl = (async (input: RequestInfo | URL, init?: RequestInit) => handler(new Request(input, init))) as typeof fetch
  return {
    fetch: fetchImpl,
    events,
    delivered: () => delivered,
    async challenge() {
      const response = await fetchImpl(URL_)
      if (response.status !== 402) throw new Error(`expected a 402, got ${response.status}`)
      const [challenge] = Challenge.parseList(response.headers.get('www-authenticate')!)
      if (!challenge) throw new Error('the 402 carries no challenge')
      return challenge
    },
    async present(challenge, payload, source) {
      const authorization = Credential.serialize(
        Credential.from({ challenge: Credential.echo(challenge), payload, ...(source !== undefined && { source }) }),
      )
      return fetchImpl(URL_, { headers: { authorization } })
    },
    async payWith(challenge, client) {
      const payment = await client.pay({ challenge, request: Challenge.decodeRequest(challenge), signal: new AbortController().signal })
      const response = await this.present(challenge, payment.payload, payment.source)
      return { response, payload: payment.payload, ...(payment.source !== undefined && { source: payment.source }) }
    },
  }
}

/** The core problem code of a Problem Details response. */
export async function problemCode(response: Response): Promise<string | undefined> {
  const body = (await response.clone().json()) as Problem.Problem
  return Problem.codeOf(body)
}

export async function problemDetail(response: Response): Promise<string | undefined> {
  const body = (await response.clone().json()) as Problem.Problem
  return body.detail
}

export function receiptOf(response: Response): Receipt.Receipt {
  const header = response.headers.get('payment-receipt')
  if (!header) throw new Error(`response ${response.status} carries no Payment-Receipt`)
  return Receipt.parse(header)
}

/** The challenge's expiry in whole seconds (the latest validBefore it allows). */
export function expirySeconds(challenge: Challenge.Challenge): number {
  return Math.floor(Challenge.expiresAt(challenge)! / 1000)
}

export function requestOf(challenge: Challenge.Challenge) {
  return Challenge.decodeRequest(challenge) as {
    amount: string
    externalId?: string
    currency: Address
    recipient: Address
    methodDetails?: { chainId?: number; feePayer?: boolean; memo?: Hex; splits?: Array<{ amount: string; recipient: Address; memo?: Hex }>; supportedModes?: string[] }
  }
}
