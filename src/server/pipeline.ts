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
import type * as Method from '../Method.js'
import type * as Problem from '../Problem.js'
import type { JsonObject } from '../internal/json.js'
import * as Rfc3339 from '../internal/rfc3339.js'
import { validate } from '../internal/standardSchema.js'
import type { ServerEvent } from './events.js'
import { begin, resumeExpired, type Attempt } from './attempt.js'
import { fingerprint, peek, PROTECTED_METHODS, storeKey } from './idempotency.js'
import type { Paid } from './paid.js'
import { methodUnsupported, paymentRequired, problem } from './responses.js'
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
  /** How long a retry waits for the payment it repeats to finish before it is told to come back. */
  idempotencyWait: number
  /** Added to a challenge's expiry for how long its record refuses replays. */
  claimMargin: number
  /** How long a record not yet delivered is kept for the payer's retry and for reconciliation. */
  recordRetention: number
  /** How long an owner may take to settle before a retry takes its payment over. */
  settleLease: number
  /** How long the handler may take before the payment is refunded. */
  handlerTimeout: number
  /** How long reading the request body may take. */
  bodyTimeout: number
  /** Take payments over plain HTTP from non-loopback hosts (the draft forbids it; for tests and private networks). */
  allowInsecureHttp: boolean
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

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/

export async function verifyCredential(config: PipelineConfig, route: RouteContext): Promise<Response | Paid> {
  const { request } = route
  const at = config.now()

  // draft-httpauth-payment §Transport Security: no challenge is issued, and no credential
  // taken, over unencrypted HTTP. Loopback is exempt (development); behind a
  // TLS-terminating proxy the adapters' `trustProxy` gives the request its https URL.
  if (!config.allowInsecureHttp && isInsecure(request.url))
    return problem(403, undefined, 'payments are taken over HTTPS only; nothing was charged')

  // The body is read once: hashed for the digest binding, then handed on re-readable.
  let body: Uint8Array | undefined
  let digest: string | undefined
  if (config.bindBody && canHaveBody(request.method)) {
    try {
      body = await readBodyWithin(request, config)
    } catch (error) {
      if (isMppError(error, 'body-too-large')) return problem(413, undefined, `request body exceeds ${config.maxBodyBytes} bytes`)
      if (error === BODY_TIMEOUT) return problem(408, undefined, `request body did not arrive within ${config.bodyTimeout} ms; nothing was charged`)
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
    // Room for other schemes beside ours; anything longer is refused before it is scanned.
    token = Credential.extract(request.headers.get('authorization'), { maxLength: Math.max(Credential.MAX_LENGTH, 2 * config.maxCredentialBytes) })
  } catch (error) {
    if (isMppError(error, 'header-too-large')) return reject('malformed-credential', `credential exceeds ${config.maxCredentialBytes} bytes`)
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
  const attempt: Attempt = {
    config,
    request: body === undefined ? request : rebuild(request, body),
    echo,
    credential,
    driver,
    paymentRequest,
    payload: payload.value as JsonObject,
    fp,
    idempotencyKey,
    at,
    expiresAt: 0,
    reject,
  }
  if (idempotencyKey !== null) {
    const stored = await peek(config.store, storeKey(echo.id, idempotencyKey), fp)
    if (stored !== undefined) return answerReplay(config, echo.id, stored, reject)
  }

  // 5. Not expired; a challenge without expiry is never accepted. A payment already
  //    under way for this very credential and body is resumed even after expiry.
  const expiresAt = echo.expires === undefined ? undefined : Rfc3339.toEpochMs(echo.expires)
  if (expiresAt === undefined) return reject('invalid-challenge', 'challenge has expired', echo.id)
  attempt.expiresAt = expiresAt
  if (at >= expiresAt) return resumeExpired(attempt)

  // 6. Verify, authorize, claim, settle: the payment lifecycle (./attempt.ts).
  return begin(attempt)
}

async function answerReplay(
  config: PipelineConfig,
  challengeId: string,
  stored: Response | 'too-large' | 'rejected',
  reject: (code: Problem.Code, detail: string, challengeId?: string) => Promise<Response>,
): Promise<Response> {
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

const BODY_TIMEOUT = new Error('body timeout')

/** Reads the body, giving up on an upload slower than `bodyTimeout` (a slow-loris upload holds no payment). */
async function readBodyWithin(request: Request, config: PipelineConfig): Promise<Uint8Array> {
  if (request.body === null) return new Uint8Array(0)
  let timer: ReturnType<typeof setTimeout> | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(BODY_TIMEOUT), config.bodyTimeout)
  })
  try {
    return await Promise.race([BodyDigest.readBody(request.body, config.maxBodyBytes), timeout])
  } finally {
    clearTimeout(timer)
  }
}

function isInsecure(url: string): boolean {
  if (!url.startsWith('http:')) return false
  const host = new URL(url).hostname
  return !(host === 'localhost' || host.endsWith('.localhost') || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host))
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
