/**
 * `createPaymentServer`: what an API seller installs to put a price on a route.
 *
 * @example
 * const server = createPaymentServer({ realm: 'api.example.com', secrets: [secret], methods: [tempo] })
 * export default { fetch: server.route({ amount: '10000' }, () => Response.json({ ok: true })) }
 */
import * as AcceptPayment from '../AcceptPayment.js'
import * as Challenge from '../Challenge.js'
import * as ChallengeId from '../ChallengeId.js'
import { MppError } from '../errors.js'
import * as Method from '../Method.js'
import * as Base64url from '../internal/base64url.js'
import { encodeCanonical, type JsonObject } from '../internal/json.js'
import { randomBytes } from '../internal/randomPool.js'
import * as Rfc3339 from '../internal/rfc3339.js'
import { validate } from '../internal/standardSchema.js'
import * as Utf8 from '../internal/utf8.js'
import { verifyCredential, type ExpectedRequest, type Paid, type PipelineConfig } from './pipeline.js'
import type { Store } from './Store.js'
import { memoryStore } from './stores/memory.js'
import { withDeadlines } from './deadline.js'
import { reconcile, type ReconcileOptions, type ReconcileResult } from './reconcile.js'
import type { ServerEvent } from './events.js'

export type PaymentServerConfig = {
  /** Protection space put in every challenge (usually the API's host name). */
  realm: string
  /** `[current, ...previous]` challenge secrets, each at least 32 bytes. Keep a previous one until its challenges have expired. */
  secrets: ChallengeId.Secret | readonly ChallengeId.Secret[]
  /** Server halves of the methods this server accepts, in preference order. */
  methods: readonly Method.Server<any, any, any>[]
  /** Claims and cached responses; in-memory by default. Share one (Redis) across processes. */
  store?: Store
  /** Clock, milliseconds since the epoch. */
  now?: () => number
  /** Challenge lifetime in milliseconds (default 5 minutes). */
  challengeTtl?: number
  /** Bind challenges to the request body with an RFC 9530 digest when the request can carry one (default true). */
  bindBody?: boolean
  /** Largest body hashed for the digest binding (default 10 MiB); larger bodies get 413. */
  maxBodyBytes?: number
  /** Largest `Authorization` value read (default 16 KiB); larger ones get 402 malformed-credential. */
  maxCredentialBytes?: number
  /** How long a payment proof (transaction hash, token) stays claimed (default 400 days). */
  proofTtl?: number
  /** How long a response stays stored for `Idempotency-Key` replays (default 24 hours). */
  idempotencyTtl?: number
  /** How long a retry of a payment still in progress waits for it before being told to come back (default 10 s). */
  idempotencyWait?: number
  /** Deadline for each Store call (default 2 s); a store slower than this answers 503 and nothing is charged. */
  storeTimeout?: number
  /** How long the handler may take after payment before it is refunded and answered 504 (default 30 s). */
  handlerTimeout?: number
  /** How long reading a request body may take (default 30 s); a slower upload gets 408. */
  bodyTimeout?: number
  /**
   * How long a payment's record refuses replays beyond its challenge's expiry (default 5
   * minutes). Expiry is judged by the Store's clock, so this need not cover clock skew
   * between servers.
   */
  claimMargin?: number
  /** How long a payment not yet delivered is kept for the payer's retry and for `reconcile` (default 24 hours). */
  recordRetention?: number
  /** How long settling may take before a retry of the same credential takes the payment over (default 60 s). */
  settleLease?: number
  /**
   * The draft forbids Payment challenges over unencrypted HTTP, so a plain `http:`
   * request to a host other than loopback is answered 403 (default false). Behind a
   * TLS-terminating proxy, let the adapter trust it (`trustProxy`) instead of setting this.
   */
  allowInsecureHttp?: boolean
  /**
   * Runs after a payment verified and before it settles: return false (or a Response)
   * to refuse with 403 and no challenge. Nothing is charged.
   */
  authorize?: (context: { request: Request; method: string; intent: string; paymentRequest: JsonObject }) => boolean | Response | Promise<boolean | Response>
  /**
   * Whether a handler response with this status is a failed delivery to refund. Default:
   * every non-2xx status, since receipts go only on 2xx and a payer should not pay for
   * an answer it did not get; return false for statuses you still want to keep the money for.
   */
  refundOn?: (status: number) => boolean
  /** Audit events; they never carry a credential or secret. */
  onEvent?: (event: ServerEvent) => void
}

/** Either the response to send now (402, 400, 403, 409, or a stored idempotent replay), or a settled payment. */
export type GateResult = { readonly paid: false; readonly response: Response } | ({ readonly paid: true } & Paid)

export type Gate = {
  /** Checks a request: either the response to send now, or a verified, settled payment. */
  check(request: Request): Promise<GateResult>
  /** The challenges this route offers now (already ranked by the request's Accept-Payment). */
  challenges(request: Request): Promise<Challenge.Challenge[]>
}

/** What a route charges, and for what. */
export type Route = Method.RouteOptions & {
  /** Offer only these methods (names, or `method/intent`). */
  only?: readonly string[]
  /**
   * Values the route's challenges are bound to (in `opaque`, under the HMAC), such as an
   * MCP tool name: a challenge issued for one binding does not pay for another.
   */
  bind?: Readonly<Record<string, string>>
}

export type PaymentServer = {
  readonly realm: string
  /** A payment gate for a route with this price. */
  charge(route: Route): Gate
  /** Gate and handler in one: the handler runs only for a paid request, and its response gets the receipt. */
  route(
    route: Route,
    handler: (request: Request, payment: Paid) => Response | Promise<Response>,
  ): (request: Request) => Promise<Response>
  /**
   * Resolves a payment whose payer never came back (ids from `payment-outcome-unknown`
   * or `payment-record-failed` events): once its lease ran out, money that moved is
   * refunded (or kept, with `settled: 'keep'`) and a payment that moved nothing is released.
   */
  reconcile(challengeId: string, options?: ReconcileOptions): Promise<ReconcileResult>
}

const DEFAULTS = {
  challengeTtl: 5 * 60_000,
  maxBodyBytes: 10 * 1024 * 1024,
  maxCredentialBytes: 16 * 1024,
  proofTtl: 400 * 24 * 3600_000,
  idempotencyTtl: 24 * 3600_000,
  idempotencyWait: 10_000,
  storeTimeout: 2_000,
  handlerTimeout: 30_000,
  bodyTimeout: 30_000,
  claimMargin: 5 * 60_000,
  recordRetention: 24 * 3600_000,
  settleLease: 60_000,
}

export function createPaymentServer(config: PaymentServerConfig): PaymentServer {
  if (!config.realm) throw new MppError('configuration-invalid', 'realm is required')
  if (config.methods.length === 0) throw new MppError('configuration-invalid', 'at least one payment method is required')
  // Several drivers may share a method/intent (one method in two currencies, say);
  // a credential goes to the one whose route request its challenge echoes.
  const drivers = new Map<string, Method.Server<any, any, any>[]>()
  assertHeaderSafe({ realm: config.realm })
  for (const driver of config.methods) {
    if (!/^[a-z]+$/.test(driver.name) || !/^[A-Za-z0-9-]+$/.test(driver.intent))
      throw new MppError('configuration-invalid', 'a method name must be lowercase letters and an intent letters, digits and "-"')
    const key = Method.key(driver)
    const same = drivers.get(key) ?? []
    if (same.includes(driver)) throw new MppError('configuration-invalid', `the same ${key} driver is configured twice`)
    drivers.set(key, [...same, driver])
  }
  const secrets = typeof config.secrets === 'string' || config.secrets instanceof Uint8Array ? [config.secrets] : config.secrets
  const ring = ChallengeId.keyRing(secrets)
  const now = config.now ?? Date.now
  const pipeline: PipelineConfig = {
    realm: config.realm,
    ring,
    drivers,
    // The default store keeps time by the server's clock (an injected one too).
    store: withDeadlines(config.store ?? memoryStore({ now }), config.storeTimeout ?? DEFAULTS.storeTimeout),
    now,
    bindBody: config.bindBody ?? true,
    maxBodyBytes: config.maxBodyBytes ?? DEFAULTS.maxBodyBytes,
    maxCredentialBytes: config.maxCredentialBytes ?? DEFAULTS.maxCredentialBytes,
    proofTtl: config.proofTtl ?? DEFAULTS.proofTtl,
    idempotencyTtl: config.idempotencyTtl ?? DEFAULTS.idempotencyTtl,
    idempotencyWait: config.idempotencyWait ?? DEFAULTS.idempotencyWait,
    claimMargin: config.claimMargin ?? DEFAULTS.claimMargin,
    recordRetention: config.recordRetention ?? DEFAULTS.recordRetention,
    settleLease: config.settleLease ?? DEFAULTS.settleLease,
    handlerTimeout: config.handlerTimeout ?? DEFAULTS.handlerTimeout,
    bodyTimeout: config.bodyTimeout ?? DEFAULTS.bodyTimeout,
    allowInsecureHttp: config.allowInsecureHttp ?? false,
    refundOn: config.refundOn ?? ((status) => status < 200 || status >= 300),
    emit: config.onEvent ?? (() => {}),
    ...(config.authorize && { authorize: config.authorize }),
  }
  const challengeTtl = config.challengeTtl ?? DEFAULTS.challengeTtl

  function charge(route: Route): Gate {
    if (route.bind && ('nonce' in route.bind || Object.values(route.bind).some((value) => typeof value !== 'string')))
      throw new MppError('configuration-invalid', 'bind takes string values, and "nonce" is reserved')
    const offered = route.only ? route.only.map((name) => findByName(config.methods, name)).flat() : [...config.methods]
    if (offered.length === 0) throw new MppError('configuration-invalid', 'the route offers no configured payment method')
    // Each driver's request for this route, built once and now: the route's price is
    // fixed, and a bad price (too many decimals, under a minimum) fails at declaration.
    // Its wire form and schema-parsed form are computed once too, so a paid request
    // whose echo is byte-identical needs neither decoding nor validating again.
    const requests = new Map<Method.Server<any, any, any>, Promise<ExpectedRequest>>()
    for (const driver of offered) {
      const built = Promise.resolve(driver.buildRequest(route)).then(async (request: JsonObject) => {
        const parsed = await validate(driver.request, request)
        if (!parsed.ok)
          throw new MppError('configuration-invalid', `${Method.key(driver)} built a request its own schema refuses (${parsed.issue})`)
        return { request, wire: encodeCanonical(request), parsed: parsed.value as JsonObject }
      })
      built.catch(() => {}) // an async failure surfaces at the first request instead
      requests.set(driver, built)
    }
    const expectedRequest = (driver: Method.Server<any, any, any>) => requests.get(driver)!
    if (route.description !== undefined) assertHeaderSafe({ description: route.description })

    async function challenges(request: Request, digest?: string): Promise<Challenge.Challenge[]> {
      const ranked = AcceptPayment.rank(offered.map((driver) => ({ driver, method: driver.name, intent: driver.intent })), request.headers.get('accept-payment'))
      const expires = Rfc3339.format(now() + challengeTtl)
      // Every field here was validated when the server and route were declared.
      return Promise.all(
        ranked.map(async ({ driver }) => {
          const unsigned = {
            realm: config.realm,
            method: driver.name,
            intent: driver.intent,
            request: (await expectedRequest(driver)).wire,
            expires,
            ...(digest !== undefined && { digest }),
            opaque: opaqueFor(route.bind),
            ...(route.description !== undefined && { description: route.description }),
          }
          return { ...unsigned, id: await ring.sign(unsigned) }
        }),
      )
    }

    const gate: Gate = {
      challenges: (request) => challenges(request),
      async check(request) {
        const outcome = await verifyCredential(pipeline, { request, offered, expectedRequest, issue: challenges, bind: route.bind ?? {} })
        if (outcome instanceof Response) return { paid: false, response: outcome }
        return { paid: true, ...outcome }
      },
    }
    return gate
  }

  return {
    realm: config.realm,
    charge,
    reconcile: (challengeId, options) => reconcile(pipeline, challengeId, options),
    route(route, handler) {
      const gate = charge(route)
      return async (request) => {
        const result = await gate.check(request)
        if (!result.paid) return result.response
        return result.deliver(() => handler(result.request, result))
      }
    },
  }
}

/**
 * `opaque`: a random nonce, so that every challenge id is unique and two payers of one
 * route in the same second never collide on the single-use claim, plus the route's
 * bindings. Without bindings the JSON is built directly: a base64url nonce is already JCS.
 */
function opaqueFor(bind: Readonly<Record<string, string>> | undefined): string {
  const nonce = Base64url.encode(randomBytes(12))
  if (!bind) return Base64url.encode(Utf8.toBytes(`{"nonce":"${nonce}"}`))
  return encodeCanonical({ ...bind, nonce })
}

/** Refuses, at configuration time, text no `WWW-Authenticate` header can carry (CR, LF, controls). */
function assertHeaderSafe(fields: { realm?: string; description?: string }): void {
  Challenge.serialize({ id: 'x', realm: 'x', method: 'x', intent: 'x', request: 'e30', ...fields })
}

function findByName(drivers: readonly Method.Server<any, any, any>[], name: string) {
  const found = drivers.filter((driver) => driver.name === name || Method.key(driver) === name)
  if (found.length === 0) throw new MppError('configuration-invalid', `route names payment method "${name}", which is not configured`)
  return found
}

