/**
 * The verification pipeline (draft-httpauth-payment §5.2 and §11): one function from
 * a request to either the response to send or a settled payment. Every failure is a
 * 402 with fresh challenges and Problem Details, except where the draft says 400/403.
 */
import * as BodyDigest from '../BodyDigest.js'
import * as Challenge from '../Challenge.js'
import type * as ChallengeId from '../ChallengeId.js'
import * as Credential from '../Credential.js'
import { isMppError } from '../errors.js'
import * as Method from '../Method.js'
import * as Problem from '../Problem.js'
import type { JsonObject } from '../internal/json.js'
import * as Rfc3339 from '../internal/rfc3339.js'
import { validate } from '../internal/standardSchema.js'
import type { ServerEvent } from './events.js'
import { fingerprint, peek, PROTECTED_METHODS, recall, rememberRejection, storeKey } from './idempotency.js'
import { settledPayment, type Paid } from './paid.js'
import { methodUnsupported, outcomeUnknown, paymentRequired, problem } from './responses.js'
import type { Store } from './Store.js'

type AnyDriver = Method.Server<any, any, any>

export type PipelineConfig = {
  realm: string
  ring: ChallengeId.KeyRing
  drivers: Map<string, AnyDriver[]>
  store: Store
  now: () => number
  bindBody: boolean
  maxBodyBytes: number
  maxCredentialBytes: number
  proofTtl: number
  idempotencyTtl: number
  idempotencyWait: number
  refundOn: (status: number) => boolean
  emit: (event: ServerEvent) => void
  authorize?: (context: { request: Request; method: string; intent: string; paymentRequest: JsonObject }) =>
    | boolean
    | Response
    | Promise<boolean | Response>
}

/** What a driver charges on a route: its request, on the wire, and as its schema parsed it. */
export type ExpectedRequest = { request: JsonObject; wire: string; parsed: JsonObject }

export type RouteContext = {
  request: Request
  offered: readonly AnyDriver[]
  expectedRequest: (driver: AnyDriver) => Promise<ExpectedRequest>
  issue: (request: Request, digest?: string) => Promise<Challenge.Challenge[]>
  /** The route's bindings; a challenge's opaque must carry exactly these and a nonce. */
  bind: Readonly<Record<string, string>>
}

// Margin added to a claim's lifetime beyond the challenge expiry, for clock skew between processes.
const CLAIM_SLACK_MS = 5 * 60_000
const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/
const NEVER_ABORTED = new AbortController().signal

export async function verifyCredential(config: PipelineConfig, route: RouteContext): Promise<Response | Paid> {
  const { request } = route
  const at = config.now()

  // The body is read once: hashed for the digest binding, then handed on re-readable.
  let body: Uint8Array | undefined
  let digest: string | undefined
  if (config.bindBody && canHaveBody(request.method)) {
    try {
      body = await BodyDigest.readBody(request.body, config.maxBodyBytes)
    } catch (error) {
      if (isMppError(error, 'body-too-large')) return problem(413, undefined, `request body exceeds ${config.maxBodyBytes} bytes`)
      throw error
    }
    digest = await BodyDigest.compute(body)
  }
  const reject = async (code: Problem.Code, detail: string, challengeId?: string) => {
    // A request that carried no credential was not rejected: it is asked to pay.
    if (code !== 'payment-required') config.emit({ type: 'credential-rejected', problem: code, detail, ...(challengeId !== undefined && { challengeId }) })
    const fresh = await route.issue(request, digest)
    config.emit({ type: 'challenge-issued', challengeIds: fresh.map((c) => c.id), route: new URL(request.url).pathname })
    return paymentRequired(fresh, code, detail)
  }

  // 1. Exactly one credential.
  let token: string | undefined
  try {
    token = Credential.extract(request.headers.get('authorization'))
  } catch {
    return problem(400, 'malformed-credential', 'send exactly one Payment credential')
  }
  if (token === undefined) return reject('payment-required', 'this resource requires payment')
  if (token.length > config.maxCredentialBytes)
    return reject('malformed-credential', `credential exceeds ${config.maxCredentialBytes} bytes`)

  // 2. Decode.
  let credential: Credential.Credential
  try {
    credential = Credential.parse(token, { maxLength: config.maxCredentialBytes })
  } catch {
    return reject('malformed-credential', 'credential is not base64url JSON with a challenge and a payload')
  }
  const echo = credential.challenge
  const configured = config.drivers.get(`${echo.method}/${echo.intent}`)
  if (!configured) return methodUnsupported(await route.issue(request, digest), 'the credential names a payment method this server does not accept')

  // 3. Issued by us, for this route, as it charges now.
  const candidates = route.offered.filter((driver) => configured.includes(driver))
  if (candidates.length === 0 || echo.realm !== config.realm)
    return reject('invalid-challenge', 'challenge was issued for another route', echo.id)
  if (!(await config.ring.verify(echo))) return reject('invalid-challenge', 'challenge was not issued by this server or was altered', echo.id)
  // The one driver this credential is for: the one whose request for this route it
  // echoes. The HMAC binds the wire string and requests are JCS, so the same terms
  // are the same bytes: a challenge from a cheaper route, or from before a price
  // change, differs here.
  let driver: AnyDriver | undefined
  let paymentRequest: JsonObject | undefined
  for (const candidate of candidates) {
    const expected = await route.expectedRequest(candidate)
    if (echo.request === expected.wire) {
      driver = candidate
      paymentRequest = expected.parsed
      break
    }
  }
  if (!driver || !paymentRequest || !opaqueFits(echo, route.bind))
    return reject('invalid-challenge', 'challenge does not match what this route charges', echo.id)

  // 4. The body is the one the challenge was issued for, and the payload has the method's shape.
  if (digest !== undefined && echo.digest === undefined)
    return reject('invalid-challenge', 'challenge is not bound to this request body', echo.id)
  if (echo.digest !== undefined) {
    body ??= await BodyDigest.readBody(request.body, config.maxBodyBytes)
    if (!(await BodyDigest.verify(echo.digest, body).catch(() => false)))
      return reject('verification-failed', 'request body does not match the challenge digest', echo.id)
  }
  const payload = await validate(driver.payload, credential.payload)
  if (!payload.ok) return reject('malformed-credential', `payload is invalid (${payload.issue})`, echo.id)

  // A retry with the Idempotency-Key of a request already answered gets that answer,
  // for as long as it is stored, even after the challenge expired, but only when it
  // carries the same credential and body: everything above was checked first.
  const idempotencyKey = PROTECTED_METHODS.has(request.method) ? request.headers.get('idempotency-key') : null
  if (idempotencyKey !== null && !IDEMPOTENCY_KEY.test(idempotencyKey))
    return problem(400, undefined, 'Idempotency-Key must be 1 to 255 visible ASCII characters')
  const fp = fingerprint(token, digest)
  if (idempotencyKey !== null) {
    const stored = await peek(config.store, storeKey(echo.id, idempotencyKey), fp)
    if (stored !== undefined) return answerReplay(config, echo.id, stored, reject)
  }

  // 5. Not expired; a challenge without expiry is never accepted.
  const expiresAt = echo.expires === undefined ? undefined : Rfc3339.toEpochMs(echo.expires)
  if (expiresAt === undefined || at >= expiresAt) return reject('invalid-challenge', 'challenge has expired', echo.id)

  // 6. Single use: claim the id atomically. A retry that carries the Idempotency-Key
  //    of the request that claimed it gets that request's stored response.
  const owner = idempotencyKey === null ? '-' : `k:${idempotencyKey}:${fp}`
  let previousOwner: string | undefined
  try {
    previousOwner = await config.store.putIfAbsent(`challenge:${echo.id}`, owner, expiresAt - at + CLAIM_SLACK_MS)
  } catch {
    return problem(503, undefined, 'payment state is unavailable; nothing was charged')
  }
  if (previousOwner !== undefined) {
    // A retry of a credential whose settlement outcome is unknown learns that again, not "already used".
    if (previousOwner === `unknown:${fp}`) return outcomeUnknown(echo.id, 'the outcome of this payment is not known yet; retry later with the same credential')
    if (idempotencyKey !== null && previousOwner === owner)
      return answerReplay(config, echo.id, await recall(config.store, storeKey(echo.id, idempotencyKey), config.idempotencyWait, fp), reject)
    return reject('invalid-challenge', 'challenge has already been used', echo.id)
  }

  // From here on the challenge is spent: a refusal is recorded for the Idempotency-Key
  // so a retry learns the challenge is used instead of waiting for a response.
  const refuse = async (response: Response | Promise<Response>) => {
    if (idempotencyKey !== null) await rememberRejection(config.store, storeKey(echo.id, idempotencyKey), config.idempotencyTtl, fp)
    return response
  }

  // 7. The method verifies, the seller's policy may refuse, then the method settles.
  const context = {
    challenge: echo as Challenge.Challenge,
    credential,
    request: paymentRequest,
    payload: payload.value,
    now: at,
    proofs: {
      claim: async (proof: string) =>
        (await config.store.putIfAbsent(`proof:${driver.name}:${proof}`, echo.id, config.proofTtl)) === undefined,
    },
    // Settlement must not stop halfway because the payer hung up.
    signal: NEVER_ABORTED,
  }
  const base = { challengeId: echo.id, method: driver.name, intent: driver.intent }
  let verified: unknown
  try {
    verified = await driver.verify(context)
  } catch (error) {
    const { code, reason } = failureOf(error)
    config.emit({ type: 'payment-failed', ...base, stage: 'verify', reason })
    return refuse(reject(code, reason, echo.id))
  }
  config.emit({ type: 'payment-verified', ...base })
  if (config.authorize) {
    const verdict = await config.authorize({
      request: body === undefined ? request : rebuild(request, body),
      method: driver.name,
      intent: driver.intent,
      paymentRequest,
    })
    if (verdict !== true) {
      config.emit({ type: 'payment-refused', ...base })
      return refuse(verdict instanceof Response ? verdict : problem(403, undefined, 'the server refused this payment; nothing was charged'))
    }
  }
  let settlement: Method.Settlement
  try {
    settlement = await driver.settle({ ...context, verified })
  } catch (error) {
    // Only a VerificationError means nothing moved; anything else may have moved money.
    if (!(error instanceof Method.VerificationError)) {
      const reason = error instanceof Method.OutcomeUnknownError ? error.reason : 'the payment method did not confirm the outcome'
      config.emit({ type: 'payment-outcome-unknown', ...base, reason })
      // The claim now says so, for the challenge's remaining life: a retry of this credential is told the same.
      await config.store.set(`challenge:${echo.id}`, `unknown:${fp}`, expiresAt - at + CLAIM_SLACK_MS).catch(() => {})
      return outcomeUnknown(echo.id, `${reason}; the payment may have settled. Retry later with the same credential; do not pay again`)
    }
    const { code, reason } = failureOf(error)
    config.emit({ type: 'payment-failed', ...base, stage: 'settle', reason })
    return refuse(reject(code, reason, echo.id))
  }
  config.emit({ type: 'payment-settled', ...base, reference: settlement.reference })

  return settledPayment(config, {
    driver,
    echo,
    credential,
    request: body === undefined ? request : rebuild(request, body),
    paymentRequest,
    settlement,
    at,
    idempotencyKey,
    fingerprint: fp,
  })
}

async function answerReplay(
  config: PipelineConfig,
  challengeId: string,
  stored: Response | 'in-progress' | 'too-large' | 'rejected',
  reject: (code: Problem.Code, detail: string, challengeId?: string) => Promise<Response>,
): Promise<Response> {
  if (stored === 'in-progress') return problem(409, undefined, 'a request with this Idempotency-Key is still in progress')
  if (stored === 'too-large') return problem(409, undefined, 'the response to this Idempotency-Key was too large to store')
  if (stored === 'rejected') return reject('invalid-challenge', 'challenge has already been used', challengeId)
  config.emit({ type: 'idempotent-replay', challengeId })
  return stored
}

// mppkit's challenges carry a nonce and the route's bindings in opaque, nothing else.
function opaqueFits(echo: Credential.ChallengeEcho, bind: Readonly<Record<string, string>>): boolean {
  try {
    const opaque = Challenge.decodeOpaque(echo)
    if (opaque === undefined || typeof opaque.nonce !== 'string') return false
    const keys = Object.keys(bind)
    return Object.keys(opaque).length === keys.length + 1 && keys.every((key) => opaque[key] === bind[key])
  } catch {
    return false
  }
}

function failureOf(error: unknown): { code: Problem.Code; reason: string } {
  if (error instanceof Method.VerificationError) return { code: error.code, reason: error.reason }
  if (isMppError(error)) return { code: 'verification-failed', reason: error.message }
  // Unknown errors can carry RPC URLs or API keys in their text: say nothing of them.
  return { code: 'verification-failed', reason: 'the payment method could not process this payment' }
}

function canHaveBody(method: string): boolean {
  return method !== 'GET' && method !== 'HEAD' && method !== 'OPTIONS'
}

function rebuild(request: Request, body: Uint8Array): Request {
  return new Request(request.url, {
    method: request.method,
    headers: request.headers,
    body: body as Uint8Array<ArrayBuffer>,
    signal: request.signal,
  })
}

export type { Paid, PaymentInfo } from './paid.js'
