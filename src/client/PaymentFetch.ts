/**
 * `createPaymentFetch`: a `fetch` that pays `402 Payment Required` by itself, inside a
 * spending policy. It never patches globals.
 *
 * @example
 * const pay = createPaymentFetch({
 *   methods: [tempoClient],
 *   policy: { maxAmount: { [pathUsd]: 1_000_000n }, budgets: [{ currency: pathUsd, limit: 5_000_000n, period: 'day' }] },
 * })
 * const response = await pay('https://api.example.com/weather')
 * response.payment?.receipt.reference
 */
import * as AcceptPayment from '../AcceptPayment.js'
import * as Challenge from '../Challenge.js'
import * as Credential from '../Credential.js'
import { MppError } from '../errors.js'
import * as Method from '../Method.js'
import * as Receipt from '../Receipt.js'
import { decodeObject } from '../internal/json.js'
import { OUTCOME_UNKNOWN_TYPE } from '../Problem.js'
import { PaymentDeniedError, PaymentOutcomeUnknownError, PaymentRejectedError } from './errors.js'
import { candidatesIn, type Candidate } from './offers.js'
import { sendWithCredential } from './redirects.js'
import type { ClientEvent } from './events.js'
import * as Policy from './Policy.js'
import { memorySpendLedger, type SpendLedger } from './SpendLedger.js'

type AnyClient = Method.Client<any, any>

export type PaymentFetchConfig = {
  /** Client halves of the methods this client can pay with, most preferred first. */
  methods: readonly AnyClient[]
  /** The fetch to wrap (default: the global one at creation time). */
  fetch?: typeof fetch
  policy?: Policy.Policy
  /** Where budget spending is kept; in-memory by default. */
  spendLedger?: SpendLedger
  /** Clock, milliseconds since the epoch. */
  now?: () => number
  /** Audit events; they never carry a credential. */
  onEvent?: (event: ClientEvent) => void
  /** Idempotency keys for non-idempotent requests (default: random UUIDs). */
  idempotencyKey?: () => string
  /** Most redirects followed by hand on a paid request (default 10). */
  maxRedirects?: number
  /**
   * Pay over plain `http:` to hosts other than loopback. Off by default: a credential is
   * a bearer secret and the draft requires TLS (loopback is allowed for development).
   */
  allowInsecureHttp?: boolean
}

/** What a paid response carries, besides the response itself. */
export type PaymentInfo = {
  readonly offer: Policy.Offer
  readonly challenge: Challenge.Challenge
  readonly receipt?: Receipt.Receipt
}

export type PaidResponse = Response & { readonly payment?: PaymentInfo }

export type Quote = { readonly status: number; readonly offers: ReadonlyArray<Policy.Offer & { readonly refusedBecause: string[] }> }

export type PaymentFetch = ((input: RequestInfo | URL, init?: RequestInit) => Promise<PaidResponse>) & {
  /** Asks the price without paying: the offers a 402 makes, with what policy says of each. */
  quote(input: RequestInfo | URL, init?: RequestInit): Promise<Quote>
}

const UNSAFE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE'])
const ADJECTIVE: Record<Policy.Period, string> = { hour: 'hourly', day: 'daily', month: 'monthly' }

export function createPaymentFetch(config: PaymentFetchConfig): PaymentFetch {
  if (config.methods.length === 0) throw new MppError('configuration-invalid', 'at least one payment method is required')
  const baseFetch = config.fetch ?? globalThis.fetch
  const policy = config.policy ?? {}
  const spendLedger = config.spendLedger ?? memorySpendLedger(config.now ? { now: config.now } : {})
  const now = config.now ?? Date.now
  const emit = config.onEvent ?? (() => {})
  const newKey = config.idempotencyKey ?? (() => crypto.randomUUID())
  const maxRedirects = config.maxRedirects ?? 10
  const acceptPayment = AcceptPayment.serialize(
    config.methods.map((driver, index) => ({ method: driver.name, intent: driver.intent, q: Math.max(0.001, 1 - index / 1000) })),
  )

  /** The request, buffered once so every attempt sends the same bytes. */
  async function prepare(input: RequestInfo | URL, init?: RequestInit) {
    const request = new Request(input, init)
    const body = request.body ? new Uint8Array(await request.arrayBuffer()) : undefined
    const headers = new Headers(request.headers)
    if (!headers.has('accept-payment')) headers.set('accept-payment', acceptPayment)
    if (UNSAFE_METHODS.has(request.method) && !headers.has('idempotency-key')) headers.set('idempotency-key', newKey())
    return { url: request.url, method: request.method, headers, body, signal: init?.signal ?? request.signal, redirect: request.redirect }
  }
  type Prepared = Awaited<ReturnType<typeof prepare>>

  const send = (prepared: Prepared, headers: Headers) =>
    baseFetch(prepared.url, {
      method: prepared.method,
      headers,
      ...(prepared.body && { body: prepared.body as Uint8Array<ArrayBuffer> }),
      signal: prepared.signal,
      redirect: prepared.redirect,
    })

  async function offersOf(response: Response, url: string, body: Uint8Array | undefined): Promise<Candidate[]> {
    const { candidates, unusable } = await candidatesIn(response, url, config.methods, body)
    emit({ type: 'challenge-received', url, offers: candidates.map((c) => c.offer), unusable })
    return candidates
  }

  /** Reserves every budget an offer falls under; all or none. */
  async function reserve(offer: Policy.Offer): Promise<{ ok: true; release: () => Promise<void> } | { ok: false; reason: string }> {
    const taken: Array<[string, bigint]> = []
    const release = async () => {
      for (const [key, amount] of taken) await spendLedger.release(key, amount)
    }
    for (const budget of policy.budgets ?? []) {
      if (budget.currency !== offer.currency) continue
      const window = Policy.window(budget.period, now())
      const key = `${budget.currency}:${budget.period}:${window.id}`
      if (!(await spendLedger.reserve(key, offer.amount, budget.limit, window.endsAt))) {
        await release()
        return { ok: false, reason: `the ${ADJECTIVE[budget.period]} budget for ${offer.symbol ?? offer.currency} would be exceeded` }
      }
      taken.push([key, offer.amount])
    }
    return { ok: true, release }
  }

  async function paymentFetch(input: RequestInfo | URL, init?: RequestInit): Promise<PaidResponse> {
    const prepared = await prepare(input, init)
    let response = await send(prepared, prepared.headers)
    if (response.status !== 402) return response

    // Pay where the 402 came from (after any redirects of the unpaid request).
    if (response.url) prepared.url = response.url
    if (!config.allowInsecureHttp && !isSecure(prepared.url))
      throw new MppError('policy-denied', 'refusing to pay over plain HTTP to a non-loopback host (use https, or allowInsecureHttp)')
    let offers = await offersOf(response, prepared.url, prepared.body)
    // An expired challenge is never paid: ask once more for fresh ones.
    if (offers.length > 0 && offers.every((o) => Challenge.isExpired(o.challenge, now()))) {
      response = await send(prepared, prepared.headers)
      if (response.status !== 402) return response
      offers = await offersOf(response, prepared.url, prepared.body)
    }
    offers = offers.filter((o) => !Challenge.isExpired(o.challenge, now()))
    if (offers.length === 0) throw new MppError('method-unsupported', 'the server offers no unexpired payment this client can make')

    const refusals: string[] = []
    for (const candidate of offers) {
      const { offer } = candidate
      const reasons = Policy.check(policy, offer)
      if (reasons.length > 0) {
        emit({ type: 'payment-denied', offer, reasons })
        refusals.push(...reasons)
        continue
      }
      if (Policy.needsApproval(policy, offer) && !(await policy.approve!(offer))) {
        emit({ type: 'payment-denied', offer, reasons: ['the approver said no'] })
        refusals.push('the approver said no')
        continue
      }
      // Approval can take a while: a challenge that expired meanwhile is never paid.
      if (Challenge.isExpired(candidate.challenge, now())) {
        emit({ type: 'payment-denied', offer, reasons: ['the challenge expired before the payment was approved'] })
        refusals.push('the challenge expired before the payment was approved')
        continue
      }
      const reservation = await reserve(offer)
      if (!reservation.ok) {
        emit({ type: 'payment-denied', offer, reasons: [reservation.reason] })
        refusals.push(reservation.reason)
        continue
      }
      emit({ type: 'payment-approved', offer })
      return pay(prepared, candidate, reservation.release)
    }
    throw new PaymentDeniedError(
      offers.map((o) => o.offer),
      [...new Set(refusals)],
    )
  }

  async function pay(
    prepared: Prepared,
    candidate: Candidate,
    release: () => Promise<void>,
  ): Promise<PaidResponse> {
    const { offer, challenge, driver } = candidate
    let payment: Method.Payment<any>
    try {
      payment = await driver.pay({ challenge, request: candidate.request, signal: prepared.signal ?? new AbortController().signal })
    } catch (error) {
      await release()
      emit({ type: 'payment-failed', offer, reason: 'the payment method could not create the payment' })
      throw error
    }
    const authorization = Credential.serialize(Credential.from({ challenge, ...payment }))
    const headers = new Headers(prepared.headers)
    headers.set('authorization', authorization)
    emit({ type: 'credential-sent', offer })

    // `answer` is the paid server's own response; `response` is where redirects led.
    let answer: Response
    let response: Response
    try {
      ;({ answer, response } = await sendPaid(prepared, headers))
    } catch (error) {
      emit({ type: 'payment-failed', offer, reason: 'no response after the credential was sent' })
      throw new PaymentOutcomeUnknownError(offer, { cause: error, challengeId: challenge.id })
    }
    // The server says the payment may have moved: the budget stays reserved, nothing is paid again.
    if (isProblem(answer) && (await problemType(answer)) === OUTCOME_UNKNOWN_TYPE) {
      emit({ type: 'payment-failed', offer, reason: 'the server could not confirm the outcome of the payment', status: answer.status })
      throw new PaymentOutcomeUnknownError(offer, { challengeId: challenge.id, response: answer })
    }
    if (answer.status === 402) {
      // The protocol settles all or nothing: a 402 after paying means nothing moved.
      await release()
      const problem = await problemType(answer)
      emit({ type: 'payment-failed', offer, reason: problem ?? 'payment rejected', status: 402 })
      throw new PaymentRejectedError(offer, answer, problem)
    }
    const refund = answer.headers.get('payment-refund')
    if (refund) {
      emit({ type: 'payment-refunded', offer, refund })
      if (refundSucceeded(refund)) await release()
    }
    const receiptHeader = answer.headers.get('payment-receipt')
    let receipt: Receipt.Receipt | undefined
    if (receiptHeader) {
      try {
        receipt = Receipt.parse(receiptHeader)
        emit({ type: 'receipt-received', offer, reference: receipt.reference, status: answer.status })
      } catch {
        emit({ type: 'payment-failed', offer, reason: 'the receipt could not be parsed', status: answer.status })
      }
    }
    Object.defineProperty(response, 'payment', { value: { offer, challenge, ...(receipt && { receipt }) }, enumerable: false })
    return response as PaidResponse
  }

  const sendPaid = (prepared: Prepared, headers: Headers) =>
    sendWithCredential(baseFetch, { ...prepared, headers }, maxRedirects)

  paymentFetch.quote = async (input: RequestInfo | URL, init?: RequestInit): Promise<Quote> => {
    const prepared = await prepare(input, init)
    const response = await send(prepared, prepared.headers)
    if (response.status !== 402) return { status: response.status, offers: [] }
    const offers = await offersOf(response, prepared.url, prepared.body)
    return {
      status: 402,
      offers: offers.map(({ offer, challenge }) => ({
        ...offer,
        refusedBecause: [...Policy.check(policy, offer), ...(Challenge.isExpired(challenge, now()) ? ['the challenge has expired'] : [])],
      })),
    }
  }

  return paymentFetch
}

/** https, or http to a loopback host (development). */
function isSecure(url: string): boolean {
  const { protocol, hostname } = new URL(url)
  if (protocol === 'https:') return true
  return protocol === 'http:' && (hostname === 'localhost' || hostname.endsWith('.localhost') || hostname === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(hostname))
}

/** Only problem bodies are read: a paid resource's body is the caller's, unread. */
function isProblem(response: Response): boolean {
  return (response.headers.get('content-type') ?? '').toLowerCase().startsWith('application/problem+json')
}

async function problemType(response: Response): Promise<string | undefined> {
  try {
    const body = (await response.clone().json()) as { type?: unknown }
    return typeof body.type === 'string' ? body.type.replace('https://paymentauth.org/problems/', '') : undefined
  } catch {
    return undefined
  }
}

function refundSucceeded(header: string): boolean {
  try {
    return decodeObject(header).status === 'refunded'
  } catch {
    return false
  }
}
