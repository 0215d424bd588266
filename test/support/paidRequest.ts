/**
 * The paying side of a test exchange: read the challenges out of a 402, let a client
 * method pay one, and build the retry `Request` carrying `Authorization: Payment …`.
 * Hooks let a test tamper with the echoed challenge or the payload after paying, to
 * play a dishonest client.
 */
import { Challenge, Credential } from '../../src/index.js'
import type * as Method from '../../src/Method.js'
import type { JsonObject } from '../../src/internal/json.js'

export type PayOptions = {
  /** Which challenge to pay (default: the first one). */
  pick?: (challenges: Challenge.Challenge[]) => Challenge.Challenge | undefined
  /** Rewrites the echoed challenge after the client paid (tampering). */
  echo?: (echo: Credential.ChallengeEcho) => Credential.ChallengeEcho
  /** Rewrites the payload after the client paid. */
  payload?: (payload: JsonObject) => JsonObject
}

/** Every Payment challenge a response carries, in header order. */
export function challengesOf(response: Response): Challenge.Challenge[] {
  const header = response.headers.get('www-authenticate')
  if (header === null) throw new Error(`response ${response.status} carries no WWW-Authenticate header`)
  return Challenge.parseList(header)
}

/** The `Authorization` value a client sends after paying `challenge`. */
export async function authorizationFor(
  challenge: Challenge.Challenge,
  client: Method.Client<any, any>,
  options: Omit<PayOptions, 'pick'> = {},
): Promise<string> {
  const payment = await client.pay({ challenge, request: Challenge.decodeRequest(challenge), signal: new AbortController().signal })
  const echo = Credential.echo(challenge)
  return Credential.serialize(
    Credential.from({
      challenge: options.echo ? options.echo(echo) : echo,
      payload: options.payload ? options.payload(payment.payload) : payment.payload,
      ...(payment.source !== undefined && { source: payment.source }),
    }),
  )
}

/**
 * The paid retry of a request that got `response` (a 402): the same URL, method,
 * body and headers, plus the credential for the picked challenge.
 */
export async function paidRequest(
  response: Response,
  client: Method.Client<any, any>,
  target: { url: string } & RequestInit,
  options: PayOptions = {},
): Promise<Request> {
  const challenges = challengesOf(response)
  const challenge = (options.pick ?? ((list) => list[0]))(challenges)
  if (!challenge) throw new Error('no challenge to pay in the 402')
  const { url, headers, ...init } = target
  const retry = new Headers(headers)
  retry.set('authorization', await authorizationFor(challenge, client, options))
  return new Request(url, { ...init, headers: retry })
}
