/**
 * Loopback double of the Stripe API for tests: a node:http server on 127.0.0.1 that
 * speaks Stripe's v1 wire format (form-encoded bodies, Bearer/Basic secret-key auth,
 * Idempotency-Key replay, Stripe error objects). It covers what stripe/charge needs:
 * Shared Payment Tokens (SPTs), PaymentIntents (create, retrieve, search, cancel) and
 * refunds. Drive it with the real stripe SDK from `double.stripe()`, then assert on
 * `double.requests`.
 *
 * It is strict: every endpoint checks its parameters against Stripe's documented ones
 * (an unknown one is Stripe's `parameter_unknown` 400), and it enforces the amount,
 * Connect, state-transition, refund and idempotency rules the driver depends on. Each
 * rule names the Stripe page it models; the table is in docs/research/stripe.md §4.
 * Where Stripe documents a rule but not its error code, the code here is the double's
 * choice, and that table says so.
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

/** Refund statuses (docs.stripe.com/api/refunds/object#refund_object-status). */
export type RefundStatus = 'pending' | 'requires_action' | 'succeeded' | 'failed' | 'canceled'

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
  /**
   * Reject `seller_details` on the granted-token test helper as an unknown parameter. The
   * helper's API reference and the SDK beta types do not list it, while Stripe's SPT concept
   * page sends it; which one live Stripe follows is not known, so tests choose.
   */
  rejectSellerDetails?: boolean
}

type Json = Record<string, unknown>
type PaymentIntent = Json & { id: string; status: string; amount: number; currency: string; metadata: Params }
class StripeFault extends Error {
  constructor(readonly status: number, readonly body: Json, readonly store = true) {
    super(String(body.message))
  }
}
const invalid = (message: string, extra: Json = {}, status = 400, store = true) =>
  new StripeFault(status, { type: 'invalid_request_error', message, ...extra }, store)

const id = (prefix: string) => `${prefix}_${randomBytes(12).toString('base64url').replace(/[-_]/g, 'x')}`
const now = () => Math.floor(Date.now() / 1000)

/** Test PaymentMethods with a built-in outcome (Stripe's documented test ids, docs.stripe.com/testing). */
const PM_OUTCOMES: Record<string, PaymentIntentOutcome> = {
  pm_card_chargeDeclined: { error: 'card_declined', declineCode: 'generic_decline' },
  pm_card_chargeDeclinedInsufficientFunds: { error: 'card_declined', declineCode: 'insufficient_funds' },
  pm_card_authenticationRequired: { status: 'requires_action' },
}

// ---------------------------------------------------------------------------------------
// Parameter schemas. `true` is a scalar or list leaf, `'map'` is free-form (metadata), a
// nested object is checked recursively. Top-level names are the `stripe` 23.1.0 SDK's
// *CreateParams (node_modules/stripe/esm/resources/*.d.ts), plus the preview parameters
// noted. An unknown name answers 400 `parameter_unknown` (docs.stripe.com/error-codes#parameter-unknown).
// ---------------------------------------------------------------------------------------
type Shape = { readonly [name: string]: true | 'map' | Shape }

const PAYMENT_INTENT_CREATE: Shape = {
  amount: true, currency: true, allowed_payment_method_types: true, amount_details: 'map', application_fee_amount: true,
  automatic_payment_methods: { enabled: true, allow_redirects: true }, capture_method: true, confirm: true,
  confirmation_method: true, confirmation_token: true, customer: true, customer_account: true, description: true,
  error_on_requires_action: true, excluded_payment_method_types: true, expand: true, hooks: 'map', mandate: true,
  mandate_data: 'map', metadata: 'map', off_session: true, on_behalf_of: true, payment_details: 'map', payment_method: true,
  payment_method_configuration: true,
  // The SPT goes here from 2026-04-22.preview (docs.stripe.com/changelog/dahlia/2026-04-22/shared-payment-granted-token).
  payment_method_data: { type: true, shared_payment_granted_token: true, billing_details: 'map', metadata: 'map', allow_redisplay: true, radar_options: 'map' },
  payment_method_options: 'map', radar_options: 'map', receipt_email: true, return_url: true, setup_future_usage: true,
  shipping: 'map', statement_descriptor: true, statement_descriptor_suffix: true,
  transfer_data: { destination: true, amount: true }, transfer_group: true, use_stripe_sdk: true,
  // Preview: the SPT concept page confirms with a top-level token (what the draft and mppx 0.11.0 send).
  shared_payment_granted_token: true,
  // Writable until 2026-08-26.preview (docs.stripe.com/changelog/dahlia/2026-08-26/removes-payment-method-types-parameter-from-payment-intents-setup-intents).
  payment_method_types: true,
}
const PAYMENT_INTENT_CANCEL: Shape = { cancellation_reason: true, expand: true }
const PAYMENT_INTENT_SEARCH: Shape = { query: true, limit: true, page: true, expand: true }
const REFUND_CREATE: Shape = {
  amount: true, charge: true, currency: true, customer: true, expand: true, instructions_email: true, metadata: 'map',
  origin: true, payment_intent: true, reason: true, refund_application_fee: true, reverse_transfer: true,
}
/** docs.stripe.com/api/shared-payment/granted-token/create (test helper). */
const GRANTED_TOKEN_CREATE: Shape = {
  payment_method: true, usage_limits: { currency: true, max_amount: true, expires_at: true }, customer: true,
  shared_metadata: 'map', expand: true,
}
const SELLER_DETAILS: Shape = { seller_details: { network_id: true, external_id: true } }

function checkShape(p: Params, shape: Shape, prefix = '') {
  for (const [name, value] of Object.entries(p)) {
    const path = prefix ? `${prefix}[${name}]` : name
    const rule = shape[name]
    if (rule === undefined)
      throw invalid(`Received unknown parameter: ${path}`, { code: 'parameter_unknown', param: path }, 400, false)
    if (typeof rule === 'object') {
      if (typeof value !== 'object' || Array.isArray(value))
        throw invalid(`Invalid object: ${path}`, { code: 'parameter_invalid_empty', param: path }, 400, false)
      checkShape(value, rule, path)
    }
  }
}

// ---------------------------------------------------------------------------------------
// Amount rules (docs.stripe.com/currencies: minimums, "Special cases", three-decimal
// currencies; API reference `amount`: "supports up to eight digits").
// ---------------------------------------------------------------------------------------
/** A few of Stripe's documented minimums, in the smallest unit (settlement in the same currency). */
const MINIMUMS: Record<string, number> = { usd: 50, eur: 50, gbp: 30, jpy: 50, huf: 17500 }
const THREE_DECIMAL = new Set(['bhd', 'jod', 'kwd', 'omr', 'tnd'])
const MAX_AMOUNT = 99_999_999

function checkAmount(amount: number, currency: string) {
  if (amount > MAX_AMOUNT)
    throw invalid('Amount must be no more than 99999999 in the smallest currency unit.', { code: 'amount_too_large', param: 'amount' })
  const minimum = MINIMUMS[currency]
  if (minimum !== undefined && amount < minimum)
    throw invalid(`Amount must be at least ${minimum} ${currency}.`, { code: 'amount_too_small', param: 'amount' })
  // support.stripe.com/questions/deprecation-of-fractional-isk-charges-and-refunds
  if (currency === 'isk' && amount % 100 !== 0)
    throw invalid('Invalid amount. ISK is effectively a zero-decimal currency; amounts must be divisible by 100.', { code: 'invalid_charge_amount_no_decimal_compatible', param: 'amount' })
  if (THREE_DECIMAL.has(currency) && amount % 10 !== 0)
    throw invalid('Invalid amount: the last digit of a three-decimal amount must be 0.', { code: 'invalid_charge_amount', param: 'amount' })
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
const obj = (p: Params, key: string) => (typeof p[key] === 'object' && !Array.isArray(p[key]) ? (p[key] as Params) : undefined)
const list = (p: Params, key: string) => (Array.isArray(p[key]) ? (p[key] as string[]) : undefined)
function int(p: Params, key: string, required: boolean, param = key): number | undefined {
  const v = str(p, key)
  if (v === undefined) {
    if (required) throw invalid(`Missing required param: ${param}.`, { code: 'parameter_missing', param }, 400, false)
    return undefined
  }
  if (!/^\d+$/.test(v)) throw invalid(`Invalid integer: ${v}`, { code: 'parameter_invalid_integer', param }, 400, false)
  return Number(v)
}

/** `metadata['k']:'v' AND status:'x'` (docs.stripe.com/search#search-query-language), the subset the driver uses. */
function parseSearch(query: string): Array<{ field: string; key?: string; value: string }> {
  const clauses = query.split(/\s+AND\s+/)
  return clauses.map((clause) => {
    const m = /^(metadata\['([^']+)'\]|status|currency|amount):'([^']*)'$/.exec(clause.trim())
    if (!m) throw invalid(`Invalid search query: ${query}`, { code: 'parameter_invalid_string_blank', param: 'query' }, 400, false)
    return m[2] !== undefined ? { field: 'metadata', key: m[2], value: m[3]! } : { field: m[1]!, value: m[3]! }
  })
}

export async function startStripeDouble(opts: StripeDoubleOptions = {}) {
  const requests: RecordedRequest[] = []
  const spts = new Map<string, SharedPaymentToken>()
  const paymentIntents = new Map<string, PaymentIntent>()
  const piAccount = new Map<string, string | undefined>() // Stripe-Account each PaymentIntent was created under
  const piSpt = new Map<string, string>() // the SPT each PaymentIntent confirmed with
  const refunds = new Map<string, Json>()
  const idempotency = new Map<string, { fingerprint: string; status: number; body: Json }>()
  const inFlight = new Set<string>()
  const holds = new Map<string, { release: () => void; gate: Promise<void>; arrived: () => void }>()
  const unindexed = new Set<string>() // PaymentIntents search does not see yet
  let staleSearch = false
  let nextOutcome: PaymentIntentOutcome | undefined
  let nextRefundStatus: RefundStatus | undefined
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
  function usableSpt(tokenId: string, amount: number, currency: string, param: string) {
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
    checkShape(p, opts.rejectSellerDetails ? GRANTED_TOKEN_CREATE : { ...GRANTED_TOKEN_CREATE, ...SELLER_DETAILS })
    const pm = str(p, 'payment_method')
    if (!pm) throw invalid('Missing required param: payment_method.', { code: 'parameter_missing', param: 'payment_method' }, 400, false)
    const limits = obj(p, 'usage_limits') ?? {}
    const currency = str(limits, 'currency')
    if (!currency) throw invalid('Missing required param: usage_limits[currency].', { code: 'parameter_missing', param: 'usage_limits[currency]' }, 400, false)
    const t: SharedPaymentToken = {
      id: id('spt'),
      paymentMethod: pm,
      usageLimits: {
        currency,
        max_amount: int(limits, 'max_amount', true, 'usage_limits[max_amount]')!,
        expires_at: int(limits, 'expires_at', false, 'usage_limits[expires_at]') ?? null,
      },
      deactivatedReason: null,
      amountCaptured: 0,
      raw: p,
    }
    if (PM_OUTCOMES[pm]) t.outcome = PM_OUTCOMES[pm]
    spts.set(t.id, t)
    return sptJson(t)
  }

  /**
   * Connect rules for a PaymentIntent (docs.stripe.com/connect/direct-charges,
   * docs.stripe.com/connect/destination-charges, API reference `on_behalf_of`,
   * `application_fee_amount`, `transfer_data[amount]`).
   */
  function checkConnect(p: Params, amount: number, account: string | undefined) {
    const transfer = obj(p, 'transfer_data')
    const onBehalfOf = str(p, 'on_behalf_of')
    const fee = int(p, 'application_fee_amount', false)
    if (account !== undefined && (transfer || onBehalfOf))
      throw invalid('A direct charge (Stripe-Account) cannot also transfer to or act on behalf of a connected account.', { param: transfer ? 'transfer_data' : 'on_behalf_of' }, 400, false)
    if (transfer) {
      const destination = str(transfer, 'destination')
      if (!destination) throw invalid('Missing required param: transfer_data[destination].', { code: 'parameter_missing', param: 'transfer_data[destination]' }, 400, false)
      const transferAmount = int(transfer, 'amount', false, 'transfer_data[amount]')
      if (transferAmount !== undefined && fee !== undefined)
        throw invalid('You may only specify one of these parameters: application_fee_amount, transfer_data[amount].', { code: 'parameters_exclusive', param: 'application_fee_amount' }, 400, false)
      if (transferAmount !== undefined && transferAmount > amount)
        throw invalid('transfer_data[amount] cannot exceed the PaymentIntent amount.', { code: 'amount_too_large', param: 'transfer_data[amount]' }, 400, false)
      if (onBehalfOf !== undefined && onBehalfOf !== destination)
        throw invalid('on_behalf_of must be the same account as transfer_data[destination].', { param: 'on_behalf_of' }, 400, false)
    }
    if (fee !== undefined) {
      if (account === undefined && !transfer)
        throw invalid('application_fee_amount requires a Stripe-Account header or transfer_data[destination].', { param: 'application_fee_amount' }, 400, false)
      if (fee > amount) throw invalid('application_fee_amount cannot exceed the amount.', { code: 'amount_too_large', param: 'application_fee_amount' }, 400, false)
    }
  }

  /**
   * Which payment method types may confirm: `allowed_payment_method_types` (2026-07-29,
   * docs.stripe.com/changelog/dahlia/2026-07-29/allowed-payment-method-types-parameter) is
   * exclusive with `payment_method_types`, `excluded_payment_method_types`,
   * `automatic_payment_methods` and `payment_method_configuration`.
   */
  function allowedTypes(p: Params, version: string): string[] | undefined {
    if (p.payment_method_types !== undefined && version >= '2026-08-26')
      throw invalid('payment_method_types is no longer supported on this API version.', { code: 'payment_method_types_no_longer_supported', param: 'payment_method_types' }, 400, false)
    const allowed = list(p, 'allowed_payment_method_types')
    if (allowed) {
      const other = ['payment_method_types', 'excluded_payment_method_types', 'automatic_payment_methods', 'payment_method_configuration'].find((k) => p[k] !== undefined)
      if (other)
        throw invalid(`You may only specify one of these parameters: allowed_payment_method_types, ${other}.`, { code: 'parameters_exclusive', param: other }, 400, false)
      return allowed
    }
    if (p.payment_method_types !== undefined && p.automatic_payment_methods !== undefined)
      throw invalid('You may only specify one of these parameters: automatic_payment_methods, payment_method_types.', { code: 'parameters_exclusive', param: 'payment_method_types' }, 400, false)
    return list(p, 'payment_method_types')
  }

  function createPaymentIntent(p: Params, headers: Record<string, string>): Json {
    checkShape(p, PAYMENT_INTENT_CREATE)
    const amount = int(p, 'amount', true)!
    const currency = str(p, 'currency')
    if (!currency) throw invalid('Missing required param: currency.', { code: 'parameter_missing', param: 'currency' }, 400, false)
    const version = headers['stripe-version'] ?? opts.defaultApiVersion ?? Stripe.API_VERSION
    const account = headers['stripe-account']
    const pmd = obj(p, 'payment_method_data')
    const topToken = str(p, 'shared_payment_granted_token')
    const nestedToken = pmd && str(pmd, 'shared_payment_granted_token')
    if (topToken && nestedToken) // the double's choice: one token, in one place
      throw invalid('You may only specify one of these parameters: shared_payment_granted_token, payment_method_data[shared_payment_granted_token].', { code: 'parameters_exclusive', param: 'shared_payment_granted_token' }, 400, false)
    const tokenId = topToken ?? nestedToken
    const tokenParam = topToken ? 'shared_payment_granted_token' : 'payment_method_data[shared_payment_granted_token]'
    if (tokenId && opts.requirePreviewVersion && !version.endsWith('.preview'))
      throw invalid(`Received unknown parameter: ${tokenParam}`, { code: 'parameter_unknown', param: tokenParam }, 400, false)
    checkAmount(amount, currency)
    checkConnect(p, amount, account)
    const allowed = allowedTypes(p, version)
    const confirm = str(p, 'confirm') === 'true'
    const spt = tokenId && confirm ? usableSpt(tokenId, amount, currency, tokenParam) : undefined
    // A shared card may confirm only where card is allowed (the double's code; the changelog above).
    if (spt && allowed && !allowed.includes('card'))
      throw invalid('The shared payment method (card) is not among the payment method types this PaymentIntent allows.', { code: 'payment_intent_incompatible_payment_method', param: 'allowed_payment_method_types' })
    const piId = id('pi')
    const pi: PaymentIntent = {
      id: piId, object: 'payment_intent', amount, amount_received: 0, currency, created: now(), livemode: false,
      status: confirm ? 'succeeded' : tokenId ? 'requires_confirmation' : 'requires_payment_method',
      capture_method: 'automatic', confirmation_method: 'automatic', client_secret: `${piId}_secret_${id('s')}`,
      metadata: obj(p, 'metadata') ?? {},
      automatic_payment_methods: p.automatic_payment_methods ?? null,
      allowed_payment_method_types: list(p, 'allowed_payment_method_types') ?? null,
      payment_method_types: allowed ?? ['card', 'link'],
      payment_method: spt ? id('pm') : (str(p, 'payment_method') ?? null), // Stripe clones the shared PM
      application_fee_amount: int(p, 'application_fee_amount', false) ?? null,
      on_behalf_of: str(p, 'on_behalf_of') ?? null,
      transfer_data: p.transfer_data ?? null,
      transfer_group: str(p, 'transfer_group') ?? null,
      latest_charge: null as string | null, last_payment_error: null as Json | null, next_action: null as Json | null,
      canceled_at: null as number | null, cancellation_reason: null as string | null,
    }
    paymentIntents.set(pi.id, pi)
    piAccount.set(pi.id, account)
    if (staleSearch) unindexed.add(pi.id)
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
      piSpt.set(pi.id, spt.id)
      spt.deactivatedReason = 'consumed'
      if (pi.status === 'succeeded') spt.amountCaptured += amount
    }
    return pi
  }

  function scopedPaymentIntent(piId: string, account: string | undefined, param: string, status = 404) {
    const pi = paymentIntents.get(piId)
    if (!pi || piAccount.get(pi.id) !== account)
      throw invalid(`No such payment_intent: '${piId}'`, { code: 'resource_missing', param }, status)
    return pi
  }

  /**
   * Cancelable in requires_payment_method, requires_capture, requires_confirmation,
   * requires_action and (rarely) processing (docs.stripe.com/api/payment_intents/cancel).
   */
  function cancelPaymentIntent(piId: string, p: Params, account: string | undefined): Json {
    checkShape(p, PAYMENT_INTENT_CANCEL)
    const pi = scopedPaymentIntent(piId, account, 'intent')
    if (!['requires_payment_method', 'requires_capture', 'requires_confirmation', 'requires_action', 'processing'].includes(pi.status))
      throw invalid(`You cannot cancel this PaymentIntent because it has a status of ${pi.status}.`, { code: 'payment_intent_unexpected_state', param: 'intent', payment_intent: pi })
    Object.assign(pi, { status: 'canceled', canceled_at: now(), cancellation_reason: str(p, 'cancellation_reason') ?? null, next_action: null })
    return pi
  }

  /** docs.stripe.com/api/payment_intents/search; results lag writes (docs.stripe.com/search#data-freshness). */
  function searchPaymentIntents(p: Params, account: string | undefined, path: string): Json {
    checkShape(p, PAYMENT_INTENT_SEARCH)
    const query = str(p, 'query')
    if (!query) throw invalid('Missing required param: query.', { code: 'parameter_missing', param: 'query' }, 400, false)
    const clauses = parseSearch(query)
    const data = [...paymentIntents.values()].filter(
      (pi) =>
        piAccount.get(pi.id) === account &&
        !unindexed.has(pi.id) &&
        clauses.every((c) => (c.field === 'metadata' ? pi.metadata[c.key!] === c.value : String(pi[c.field]) === c.value)),
    )
    return { object: 'search_result', data, has_more: false, next_page: null, url: path }
  }

  function createRefund(p: Params, account: string | undefined): Json {
    checkShape(p, REFUND_CREATE)
    const piId = str(p, 'payment_intent')
    if (!piId) throw invalid('Missing required param: payment_intent.', { code: 'parameter_missing', param: 'payment_intent' }, 400, false)
    const pi = scopedPaymentIntent(piId, account, 'payment_intent', 400)
    if (pi.status !== 'succeeded')
      throw invalid(`PaymentIntent ${piId} does not have a successful charge to refund.`, { code: 'charge_not_refundable' })
    // Only a charge that created a transfer (a destination charge) has one to reverse
    // (docs.stripe.com/api/refunds/create#create_refund-reverse_transfer).
    if (str(p, 'reverse_transfer') === 'true' && !pi.transfer_data)
      throw invalid('This charge has no transfer to reverse.', { param: 'reverse_transfer' }, 400, false)
    const counted = [...refunds.values()].filter((r) => r.payment_intent === piId && r.status !== 'failed' && r.status !== 'canceled')
    const refunded = counted.reduce((s, r) => s + (r.amount as number), 0)
    const amount = int(p, 'amount', false) ?? pi.amount - refunded
    if (amount <= 0 || refunded + amount > pi.amount)
      throw invalid(`Refund amount ${amount} exceeds the remaining refundable amount ${pi.amount - refunded}.`, { code: refunded >= pi.amount ? 'charge_already_refunded' : 'amount_too_large', param: 'amount' })
    const status = nextRefundStatus ?? 'succeeded'
    nextRefundStatus = undefined
    const refund = {
      id: id('re'), object: 'refund', amount, currency: pi.currency, payment_intent: piId, charge: pi.latest_charge, status,
      failure_reason: status === 'failed' ? 'lost_or_stolen_card' : null,
      next_action: status === 'requires_action' ? { type: 'display_details' } : null,
      reason: str(p, 'reason') ?? null, metadata: p.metadata ?? {}, created: now(),
      transfer_reversal: str(p, 'reverse_transfer') === 'true' ? id('trr') : null,
      application_fee_refunded: str(p, 'refund_application_fee') === 'true' && pi.application_fee_amount !== null,
    }
    refunds.set(refund.id, refund)
    return refund
  }

  function route(method: string, path: string, p: Params, headers: Record<string, string>): Json {
    let m: RegExpExecArray | null
    const account = headers['stripe-account']
    if (method === 'POST' && path === '/v1/test_helpers/shared_payment/granted_tokens') return createSpt(p)
    if (method === 'POST' && (m = /^\/v1\/test_helpers\/shared_payment\/granted_tokens\/([^/]+)\/revoke$/.exec(path))) {
      const t = findSpt(m[1]!, 'id', 404)
      t.deactivatedReason ??= 'revoked'
      return sptJson(t)
    }
    if (method === 'GET' && (m = /^\/v1\/shared_payment\/granted_tokens\/([^/]+)$/.exec(path)))
      return sptJson(findSpt(m[1]!, 'id', 404))
    if (method === 'POST' && path === '/v1/payment_intents') return createPaymentIntent(p, headers)
    if (method === 'GET' && path === '/v1/payment_intents/search') return searchPaymentIntents(p, account, path)
    if (method === 'POST' && (m = /^\/v1\/payment_intents\/([^/]+)\/cancel$/.exec(path))) return cancelPaymentIntent(m[1]!, p, account)
    if (method === 'GET' && (m = /^\/v1\/payment_intents\/([^/]+)$/.exec(path))) return scopedPaymentIntent(m[1]!, account, 'intent')
    if (method === 'POST' && path === '/v1/refunds') return createRefund(p, account)
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

  async function handle(req: IncomingMessage, res: ServerResponse, body: string) {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1')
    const method = req.method ?? 'GET'
    const headers = Object.fromEntries(
      Object.entries(req.headers).map(([k, v]) => [k.toLowerCase(), Array.isArray(v) ? v.join(', ') : (v ?? '')]),
    )
    const params = parseForm(method === 'GET' ? url.search.slice(1) : body)
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
    // Stripe v1 saves the first response per key once the endpoint starts executing (incl. 402/500),
    // scoped per account; a reused key with another endpoint or other params is an idempotency_error;
    // a key whose first request is still executing is 409 idempotency_key_in_use
    // (docs.stripe.com/api/idempotent_requests; docs.stripe.com/error-codes#idempotency-key-in-use).
    const scope = `${headers['stripe-account'] ?? ''} ${idemKey}`
    let result: { status: number; body: Json }
    let owned = false
    try {
      authorize(headers)
      const fingerprint = stable([method, url.pathname, params])
      if (idemKey && inFlight.has(scope))
        throw invalid('There is currently another in-progress request using this Stripe token (probably the same idempotency key); retry it later.', { code: 'idempotency_key_in_use' }, 409, false)
      const saved = idemKey ? idempotency.get(scope) : undefined
      if (saved && saved.fingerprint !== fingerprint)
        throw new StripeFault(400, { type: 'idempotency_error', message: `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${idemKey}' if you meant to execute a different request.` }, false)
      if (saved) {
        result = saved
        out['idempotent-replayed'] = 'true'
        record.replayed = true
      } else {
        if (idemKey) {
          inFlight.add(scope)
          owned = true
        }
        const hold = holds.get(url.pathname)
        if (hold && method === 'POST') {
          holds.delete(url.pathname)
          hold.arrived()
          await hold.gate
        }
        try {
          result = { status: 200, body: route(method, url.pathname, params, headers) }
        } catch (e) {
          if (!(e instanceof StripeFault) || !e.store) throw e
          result = asError(e)
        }
        // A snapshot: Stripe replays the response as it was sent, not the object's current state.
        if (idemKey) idempotency.set(scope, { fingerprint, status: result.status, body: JSON.parse(JSON.stringify(result.body)) as Json })
      }
    } catch (e) {
      result = asError(e instanceof StripeFault ? e : new StripeFault(500, { type: 'api_error', message: String(e) }))
    } finally {
      if (owned) inFlight.delete(scope)
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
  }

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => void handle(req, res, Buffer.concat(chunks).toString()))
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
    /** The status the next refund is created with (then resets to `succeeded`). */
    setNextRefundStatus(status: RefundStatus) { nextRefundStatus = status },
    /**
     * Ends a `processing` PaymentIntent the way the network would: `succeeded`, or failed,
     * which returns it to `requires_payment_method` with a `last_payment_error`
     * (docs.stripe.com/payments/paymentintents/lifecycle).
     */
    finishProcessing(piId: string, outcome: 'succeeded' | 'failed') {
      const pi = paymentIntents.get(piId)
      if (pi?.status !== 'processing') throw new Error(`${piId} is not processing`)
      if (outcome === 'succeeded') {
        Object.assign(pi, { status: 'succeeded', amount_received: pi.amount })
        const spt = spts.get(piSpt.get(pi.id) ?? '')
        if (spt) spt.amountCaptured += pi.amount
      } else {
        Object.assign(pi, { status: 'requires_payment_method', last_payment_error: { type: 'card_error', code: 'card_declined', decline_code: 'generic_decline' } })
      }
    },
    /** Ends a `pending` or `requires_action` refund (docs.stripe.com/refunds#failed-refunds). */
    finishRefund(refundId: string, status: 'succeeded' | 'failed' | 'canceled') {
      const refund = refunds.get(refundId)
      if (refund?.status !== 'pending' && refund?.status !== 'requires_action') throw new Error(`${refundId} is not pending`)
      refund.status = status
    },
    /** While on, new PaymentIntents are not visible to search until `indexSearch()` (search lags writes). */
    setStaleSearch(on: boolean) { staleSearch = on },
    indexSearch() { unindexed.clear() },
    /**
     * The next POST to `path` waits (after the idempotency check marks its key in flight)
     * until `release()`; `arrived` resolves when it is waiting. For concurrent-key tests.
     */
    holdNext(path = '/v1/payment_intents') {
      let release!: () => void
      let arrived!: () => void
      const gate = new Promise<void>((r) => (release = r))
      const waiting = new Promise<void>((r) => (arrived = r))
      holds.set(path, { release, gate, arrived })
      return { release, arrived: waiting }
    },
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
