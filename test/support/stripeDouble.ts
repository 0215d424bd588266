/**
 * Loopback double of the Stripe API for tests: a node:http server on 127.0.0.1 that
 * speaks Stripe's v1 wire format (form-encoded bodies, Bearer/Basic secret-key auth,
 * Idempotency-Key replay, Stripe error objects). It covers what stripe/charge needs:
 * Shared Payment Tokens (SPTs), PaymentIntents and refunds. Drive it with the real
 * stripe SDK from `double.stripe()`, then assert on `double.requests`.
 *
 * Error codes for SPT misuse (unknown, used, expired, over limit) are not documented
 * by Stripe; the double picks plausible ones (see `usableSpt`). Notes: docs/research/stripe.md.
 */
import { randomBytes } from 'node:crypto'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import Stripe from 'stripe'

export type Params = { [key: string]: string | Params | Array<string | Params> }

export interface RecordedRequest {
  method: string
  path: string
  /** Lower-cased header names. */
  headers: Record<string, string>
  /** Form body (POST) or query string (GET), parsed into nested objects/arrays. Leaves are strings. */
  params: Params
  status: number
  replayed: boolean
  /** The response headers the double sent (lower-cased names), e.g. `request-id`. */
  responseHeaders: Record<string, string>
  /** True when the double processed the request, then closed the connection without answering. */
  dropped: boolean
}

/** What the next confirming PaymentIntent create does. */
export type PaymentIntentOutcome =
  | { status: 'succeeded' | 'requires_action' | 'processing' }
  | { error: 'card_declined'; declineCode?: string } // 402 card_error
  | { error: 'api_error' } // 500

export interface SharedPaymentToken {
  id: string
  paymentMethod: string
  usageLimits: { currency: string; max_amount: number; expires_at: number | null }
  deactivatedReason: null | 'consumed' | 'expired' | 'revoked'
  amountCaptured: number
  outcome?: PaymentIntentOutcome
  raw: Params
}

export interface StripeDoubleOptions {
  /** Exact secret key to accept. Default: any key starting with `sk_test_`. */
  apiKey?: string
  /** `Stripe-Version` returned when the request sends none. */
  defaultApiVersion?: string
  /** Reject `shared_payment_granted_token` unless the request's Stripe-Version ends in `.preview` (as Stripe does for private-preview params). */
  requirePreviewVersion?: boolean
}

type Json = Record<string, unknown>
class StripeFault extends Error {
  constructor(readonly status: number, readonly body: Json, readonly store = true) {
    super(String(body.message))
  }
}
const invalid = (message: string, extra: Json = {}, status = 400, store = true) =>
  new StripeFault(status, { type: 'invalid_request_error', message, ...extra }, store)

const id = (prefix: string) => `${prefix}_${randomBytes(12).toString('base64url').replace(/[-_]/g, 'x')}`
const now = () => Math.floor(Date.now() / 1000)

/** Test PaymentMethods with a built-in outcome (Stripe's documented test ids). */
const PM_OUTCOMES: Record<string, PaymentIntentOutcome> = {
  pm_card_chargeDeclined: { error: 'card_declined', declineCode: 'generic_decline' },
  pm_card_chargeDeclinedInsufficientFunds: { error: 'card_declined', declineCode: 'insufficient_funds' },
  pm_card_authenticationRequired: { status: 'requires_action' },
}

/** Parses `a[b][0]=x&c[]=y` into `{a:{b:['x']}, c:['y']}`. */
export function parseForm(body: string): Params {
  const root: Json = {}
  for (const [name, value] of new URLSearchParams(body)) {
    const m = /^([^[\]]+)((?:\[[^[\]]*\])*)$/.exec(name)
    const keys = m ? [m[1]!, ...[...m[2]!.matchAll(/\[([^[\]]*)\]/g)].map((x) => x[1]!)] : [name]
    if (keys.some((k) => k === '__proto__' || k === 'constructor' || k === 'prototype')) continue
    let node = root
    keys.forEach((key, i) => {
      if (key === '') key = String(Object.keys(node).length)
      if (i === keys.length - 1) node[key] = value
      else node = (node[key] ??= {}) as Json
    })
  }
  const arrayify = (v: unknown): unknown => {
    if (typeof v !== 'object' || v === null) return v
    const entries = Object.entries(v).map(([k, x]) => [k, arrayify(x)] as const)
    return entries.length > 0 && entries.every(([k], i) => k === String(i))
      ? entries.map(([, x]) => x)
      : Object.fromEntries(entries)
  }
  return arrayify(root) as Params
}

const stable = (v: unknown) =>
  JSON.stringify(v, (_k, x) =>
    x && typeof x === 'object' && !Array.isArray(x) ? Object.fromEntries(Object.entries(x).sort()) : x,
  )

const str = (p: Params, key: string) => (typeof p[key] === 'string' ? (p[key] as string) : undefined)
function int(p: Params, key: string, required: boolean): number | undefined {
  const v = str(p, key)
  if (v === undefined) {
    if (required) throw invalid(`Missing required param: ${key}.`, { code: 'parameter_missing', param: key }, 400, false)
    return undefined
  }
  if (!/^\d+$/.test(v)) throw invalid(`Invalid integer: ${v}`, { code: 'parameter_invalid_integer', param: key }, 400, false)
  return Number(v)
}
function onlyKnown(p: Params, known: string[]) {
  const extra = Object.keys(p).find((k) => !known.includes(k))
  if (extra) throw invalid(`Received unknown parameter: ${extra}`, { code: 'parameter_unknown', param: extra }, 400, false)
}

export async function startStripeDouble(opts: StripeDoubleOptions = {}) {
  const requests: RecordedRequest[] = []
  const spts = new Map<string, SharedPaymentToken>()
  const paymentIntents = new Map<string, Json & { id: string; status: string; amount: number }>()
  const piAccount = new Map<string, string | undefined>() // Stripe-Account each PaymentIntent was created under
  const refunds = new Map<string, Json>()
  const idempotency = new Map<string, { fingerprint: string; status: number; body: Json }>()
  let nextOutcome: PaymentIntentOutcome | undefined
  let dropNext: string | undefined

  const sptJson = (t: SharedPaymentToken) => ({
    id: t.id, object: 'shared_payment.granted_token', created: now(), livemode: false,
    deactivated_at: t.deactivatedReason ? now() : null, deactivated_reason: t.deactivatedReason,
    payment_method_details: { type: 'card', card: { brand: 'visa', last4: '4242' } },
    shared_metadata: t.raw.shared_metadata ?? {},
    usage_details: { amount_captured: { value: t.amountCaptured, currency: t.usageLimits.currency } },
    usage_limits: t.usageLimits,
  })
  function findSpt(tokenId: string, param: string, status = 400) {
    const t = spts.get(tokenId)
    if (!t) throw invalid(`No such shared_payment_granted_token: '${tokenId}'`, { code: 'resource_missing', param }, status)
    if (t.deactivatedReason === null && t.usageLimits.expires_at !== null && t.usageLimits.expires_at <= now())
      t.deactivatedReason = 'expired'
    return t
  }

  /** Checks an SPT before confirming with it. The real error codes are undocumented; these are the double's choice. */
  function usableSpt(tokenId: string, amount: number, currency: string) {
    const param = 'shared_payment_granted_token'
    const t = findSpt(tokenId, param)
    if (t.deactivatedReason === 'consumed')
      throw invalid(`Shared payment token ${t.id} has already been used.`, { code: 'token_already_used', param })
    if (t.deactivatedReason)
      throw invalid(`Shared payment token ${t.id} is ${t.deactivatedReason}.`, { code: 'payment_intent_invalid_parameter', param })
    if (currency !== t.usageLimits.currency)
      throw invalid(`Currency ${currency} is outside the shared payment token's usage limits.`, { code: 'payment_intent_invalid_parameter', param: 'currency' })
    if (amount > t.usageLimits.max_amount)
      throw invalid(`Amount ${amount} exceeds the shared payment token's max_amount.`, { code: 'amount_too_large', param: 'amount' })
    return t
  }

  function createSpt(p: Params): Json {
    onlyKnown(p, ['payment_method', 'usage_limits', 'customer', 'shared_metadata', 'seller_details', 'expand'])
    const pm = str(p, 'payment_method')
    if (!pm) throw invalid('Missing required param: payment_method.', { code: 'parameter_missing', param: 'payment_method' }, 400, false)
    const limits = (typeof p.usage_limits === 'object' && !Array.isArray(p.usage_limits) ? p.usage_limits : {}) as Params
    const currency = str(limits, 'currency')
    if (!currency) throw invalid('Missing required param: usage_limits[currency].', { code: 'parameter_missing', param: 'usage_limits[currency]' }, 400, false)
    const t: SharedPaymentToken = {
      id: id('spt'),
      paymentMethod: pm,
      usageLimits: { currency, max_amount: int(limits, 'max_amount', true)!, expires_at: int(limits, 'expires_at', false) ?? null },
      deactivatedReason: null,
      amountCaptured: 0,
      raw: p,
    }
    if (PM_OUTCOMES[pm]) t.outcome = PM_OUTCOMES[pm]
    spts.set(t.id, t)
    return sptJson(t)
  }

  function createPaymentIntent(p: Params, headers: Record<string, string>): Json {
    const amount = int(p, 'amount', true)!
    const currency = str(p, 'currency')
    if (!currency) throw invalid('Missing required param: currency.', { code: 'parameter_missing', param: 'currency' }, 400, false)
    const pmd = p.payment_method_data as Params | undefined
    const tokenId = str(p, 'shared_payment_granted_token') ?? (pmd && str(pmd, 'shared_payment_granted_token'))
    if (tokenId && opts.requirePreviewVersion && !headers['stripe-version']?.endsWith('.preview'))
      throw invalid('Received unknown parameter: shared_payment_granted_token', { code: 'parameter_unknown', param: 'shared_payment_granted_token' }, 400, false)
    const confirm = str(p, 'confirm') === 'true'
    const spt = tokenId && confirm ? usableSpt(tokenId, amount, currency) : undefined
    const piId = id('pi')
    const pi = {
      id: piId, object: 'payment_intent', amount, amount_received: 0, currency, created: now(), livemode: false,
      status: confirm ? 'succeeded' : tokenId ? 'requires_confirmation' : 'requires_payment_method',
      capture_method: 'automatic', confirmation_method: 'automatic', client_secret: `${piId}_secret_${id('s')}`,
      metadata: p.metadata ?? {},
      automatic_payment_methods: p.automatic_payment_methods ?? null,
      payment_method: spt ? id('pm') : (str(p, 'payment_method') ?? null), // Stripe clones the shared PM
      shared_payment_granted_token: tokenId ?? null,
      application_fee_amount: int(p, 'application_fee_amount', false) ?? null,
      on_behalf_of: str(p, 'on_behalf_of') ?? null,
      transfer_data: p.transfer_data ?? null,
      transfer_group: str(p, 'transfer_group') ?? null,
      latest_charge: null as string | null, last_payment_error: null as Json | null, next_action: null as Json | null,
    }
    paymentIntents.set(pi.id, pi)
    piAccount.set(pi.id, headers['stripe-account'])
    if (!confirm) return pi
    const outcome = nextOutcome ?? spt?.outcome ?? PM_OUTCOMES[str(p, 'payment_method') ?? ''] ?? { status: 'succeeded' }
    nextOutcome = undefined
    if ('error' in outcome && outcome.error === 'api_error') {
      paymentIntents.delete(pi.id)
      throw new StripeFault(500, { type: 'api_error', message: 'An unknown error occurred (simulated by the Stripe double).' })
    }
    pi.latest_charge = id('ch')
    if ('error' in outcome) {
      const decline_code = outcome.declineCode ?? 'generic_decline'
      const error = { type: 'card_error', code: 'card_declined', decline_code, message: `Your card was declined (${decline_code}).`, charge: pi.latest_charge, param: '' }
      Object.assign(pi, { status: 'requires_payment_method', last_payment_error: error })
      throw new StripeFault(402, { ...error, payment_intent: pi })
    }
    pi.status = outcome.status
    if (pi.status === 'requires_action') pi.next_action = { type: 'use_stripe_sdk', use_stripe_sdk: {} }
    if (pi.status === 'succeeded') pi.amount_received = amount
    if (spt) {
      spt.deactivatedReason = 'consumed'
      if (pi.status === 'succeeded') spt.amountCaptured += amount
    }
    return pi
  }

  function createRefund(p: Params): Json {
    const piId = str(p, 'payment_intent')
    if (!piId) throw invalid('Missing required param: payment_intent.', { code: 'parameter_missing', param: 'payment_intent' }, 400, false)
    const pi = paymentIntents.get(piId)
    if (!pi) throw invalid(`No such payment_intent: '${piId}'`, { code: 'resource_missing', param: 'payment_intent' })
    if (pi.status !== 'succeeded')
      throw invalid(`PaymentIntent ${piId} does not have a successful charge to refund.`, { code: 'charge_not_refundable' })
    const refunded = [...refunds.values()].filter((r) => r.payment_intent === piId).reduce((s, r) => s + (r.amount as number), 0)
    const amount = int(p, 'amount', false) ?? pi.amount - refunded
    if (amount <= 0 || refunded + amount > pi.amount)
      throw invalid(`Refund amount ${amount} exceeds the remaining refundable amount ${pi.amount - refunded}.`, { code: refunded >= pi.amount ? 'charge_already_refunded' : 'amount_too_large', param: 'amount' })
    const refund = { id: id('re'), object: 'refund', amount, currency: pi.currency, payment_intent: piId, charge: pi.latest_charge, status: 'succeeded', reason: str(p, 'reason') ?? null, metadata: p.metadata ?? {}, created: now() }
    refunds.set(refund.id, refund)
    return refund
  }

  function route(method: string, path: string, p: Params, headers: Record<string, string>): Json {
    let m: RegExpExecArray | null
    if (method === 'POST' && path === '/v1/test_helpers/shared_payment/granted_tokens') return createSpt(p)
    if (method === 'POST' && (m = /^\/v1\/test_helpers\/shared_payment\/granted_tokens\/([^/]+)\/revoke$/.exec(path))) {
      const t = findSpt(m[1]!, 'id', 404)
      t.deactivatedReason ??= 'revoked'
      return sptJson(t)
    }
    if (method === 'GET' && (m = /^\/v1\/shared_payment\/granted_tokens\/([^/]+)$/.exec(path)))
      return sptJson(findSpt(m[1]!, 'id', 404))
    if (method === 'POST' && path === '/v1/payment_intents') return createPaymentIntent(p, headers)
    if (method === 'GET' && (m = /^\/v1\/payment_intents\/([^/]+)$/.exec(path))) {
      const pi = paymentIntents.get(m[1]!)
      if (!pi || piAccount.get(pi.id) !== headers['stripe-account'])
        throw invalid(`No such payment_intent: '${m[1]}'`, { code: 'resource_missing', param: 'intent' }, 404)
      return pi
    }
    if (method === 'POST' && path === '/v1/refunds') return createRefund(p)
    throw invalid(`Unrecognized request URL (${method}: ${path}).`, {}, 404, false)
  }

  function authorize(headers: Record<string, string>) {
    const auth = headers.authorization ?? ''
    const key = auth.startsWith('Bearer ')
      ? auth.slice(7)
      : auth.startsWith('Basic ')
        ? Buffer.from(auth.slice(6), 'base64').toString().replace(/:.*$/, '')
        : ''
    if (!key) throw invalid('You did not provide an API key.', {}, 401, false)
    if (opts.apiKey ? key !== opts.apiKey : !key.startsWith('sk_test_'))
      throw invalid(`Invalid API Key provided: ${key.slice(0, 8)}****${key.slice(-4)}`, {}, 401, false)
  }

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1')
      const method = req.method ?? 'GET'
      const headers = Object.fromEntries(
        Object.entries(req.headers).map(([k, v]) => [k.toLowerCase(), Array.isArray(v) ? v.join(', ') : (v ?? '')]),
      )
      const params = parseForm(method === 'GET' ? url.search.slice(1) : Buffer.concat(chunks).toString())
      const record: RecordedRequest = { method, path: url.pathname, headers, params, status: 0, replayed: false, responseHeaders: {}, dropped: false }
      requests.push(record)
      const out: Record<string, string> = {
        'content-type': 'application/json',
        'request-id': id('req'),
        'stripe-version': headers['stripe-version'] ?? opts.defaultApiVersion ?? Stripe.API_VERSION,
      }
      const idemKey = method === 'POST' ? headers['idempotency-key'] : undefined
      if (idemKey) out['idempotency-key'] = idemKey
      if (headers['stripe-account']) out['stripe-account'] = headers['stripe-account']
      const asError = (f: StripeFault) => ({ status: f.status, body: { error: f.body } as Json })
      let result: { status: number; body: Json }
      try {
        authorize(headers)
        // Stripe v1 saves the first response per key once the endpoint starts executing (incl. 402/500),
        // scoped per account; a reused key with another endpoint or other params is an idempotency_error.
        const scope = `${headers['stripe-account'] ?? ''} ${idemKey}`
        const fingerprint = stable([method, url.pathname, params])
        const saved = idemKey ? idempotency.get(scope) : undefined
        if (saved && saved.fingerprint !== fingerprint)
          throw new StripeFault(400, { type: 'idempotency_error', message: `Idempotency key '${idemKey}' was already used with different parameters; use a new key for a different request.` }, false)
        if (saved) {
          result = saved
          out['idempotent-replayed'] = 'true'
          record.replayed = true
        } else {
          try {
            result = { status: 200, body: route(method, url.pathname, params, headers) }
          } catch (e) {
            if (!(e instanceof StripeFault) || !e.store) throw e
            result = asError(e)
          }
          if (idemKey) idempotency.set(scope, { fingerprint, ...result })
        }
      } catch (e) {
        result = asError(e instanceof StripeFault ? e : new StripeFault(500, { type: 'api_error', message: String(e) }))
      }
      record.status = result.status
      if (dropNext === url.pathname && method === 'POST' && !record.replayed) {
        // Committed (and saved under its Idempotency-Key), but the answer is lost on the way back.
        dropNext = undefined
        record.dropped = true
        req.socket.destroy()
        return
      }
      record.responseHeaders = { ...out }
      res.writeHead(result.status, out).end(JSON.stringify(result.body))
    })
  })

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  const host = '127.0.0.1'
  const apiKey = opts.apiKey ?? 'sk_test_double_0000000000000000'

  return {
    url: `http://${host}:${port}`, host, port, apiKey, requests,
    /** Live state, for assertions and for seeding (e.g. expiring an SPT). */
    spts, paymentIntents, refunds,
    /** A real stripe SDK client pointed at the double. `maxNetworkRetries` defaults to 0. */
    stripe(config: ConstructorParameters<typeof Stripe>[1] = {}, key = apiKey): Stripe {
      return new Stripe(key, { maxNetworkRetries: 0, ...config, host, port, protocol: 'http' })
    },
    /** Applies to the next confirming POST /v1/payment_intents, then resets. */
    setNextPaymentIntentOutcome(outcome: PaymentIntentOutcome) { nextOutcome = outcome },
    /**
     * The next POST to `path` is processed and saved under its Idempotency-Key, then the
     * connection is closed without an answer (a response lost in the network). stripe-node
     * retries ECONNRESET once even with `maxNetworkRetries: 0`, with the same key.
     */
    dropNextResponse(path = '/v1/payment_intents') { dropNext = path },
    /** Applies to every confirming PaymentIntent that uses this SPT. */
    setSptOutcome(sptId: string, outcome: PaymentIntentOutcome) {
      const t = spts.get(sptId)
      if (!t) throw new Error(`unknown SPT ${sptId}`)
      t.outcome = outcome
    },
    /** The recorded requests to `path` (optionally with `method`). */
    requestsTo(path: string, method?: string) {
      return requests.filter((r) => r.path === path && (!method || r.method === method))
    },
    close(): Promise<void> {
      return new Promise((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()))
        server.closeAllConnections()
      })
    },
  }
}

export type StripeDouble = Awaited<ReturnType<typeof startStripeDouble>>
