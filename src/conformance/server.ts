/**
 * Black-box conformance checks for a live MPP server: point it at a paid resource and it
 * reports which server-side MUSTs and SHOULDs of draft-httpauth-payment-00 hold, from
 * the outside, over HTTP. Without a way to pay it sends only requests that cannot pay
 * (no credential, malformed, tampered or worthless credentials); with a `pay` function
 * it also pays (twice: once for the paid and replay checks, once for the two-credential
 * check) and checks the receipt, the caching and single use.
 *
 * Each case has the spec section it checks, a level (`must` or `should`) and a status:
 * a MUST that does not hold is `fail`, a SHOULD that does not hold is `warn`, and a case
 * that cannot run against this server (no body, no opaque, no pay function) is `skip`.
 * Messages are one line and never contain a credential.
 *
 * @example
 * const results = await runServerConformance({ url: 'https://api.example.com/paid' })
 * console.log(formatServerReport(results).text)
 */
import * as BodyDigest from '../BodyDigest.js'
import * as Challenge from '../Challenge.js'
import * as Credential from '../Credential.js'
import * as Problem from '../Problem.js'
import * as Receipt from '../Receipt.js'
import { parseChallengesSettled } from '../internal/authParams.js'
import { decodeObject, type JsonObject } from '../internal/json.js'
import * as Rfc3339 from '../internal/rfc3339.js'
import { BOGUS_PAYLOAD, MALFORMED, TAMPERINGS, UNKNOWN_METHOD, bogus, header } from './server/credentials.js'
import { send, sendRaw, type Observed, type Target } from './server/http.js'
import type { CaseResult } from './vectors.js'

export type Level = 'must' | 'should'
export type Status = 'pass' | 'fail' | 'warn' | 'skip'

/** A vector-runner result plus the requirement level and a four-way status (`ok` is `status !== 'fail'`). */
export type ServerCaseResult = CaseResult & { readonly level: Level; readonly status: Status; readonly message: string }

/** Pays one challenge: the payload (and source) of a credential for it. Throw to decline a challenge. */
export type Pay = (challenge: Challenge.Challenge) => Promise<{ payload: JsonObject; source?: string }>

export type ServerConformanceOptions = {
  /** The paid resource. */
  url: string
  /** HTTP method of every request (default GET, or POST when `body` is given). */
  method?: string
  /** Request body sent with every request; the digest checks run when there is one. */
  body?: string
  /** Extra headers sent with every request (an API key, say). Never printed. */
  headers?: Record<string, string>
  /** Enables the paid checks. Called at most twice. */
  pay?: Pay
  /** The fetch used for every request except the two-credential one (which needs node:http). */
  fetch?: typeof globalThis.fetch
  /** Per-request timeout in milliseconds (default 10 000). */
  timeoutMs?: number
}

const SUITE = 'server'
const DRAFT = 'draft-httpauth-payment-00'
const SPEC = {
  status: `${DRAFT} §4.2 (Status Codes)`,
  challengeRequired: `${DRAFT} §4.2; §4.4.2 (a 402 carries a Payment challenge)`,
  required: `${DRAFT} §5.1.1 (Required Parameters)`,
  expires: `${DRAFT} §5.1.2 (Optional Parameters: expires)`,
  binding: `${DRAFT} §5.1.2.1 (Challenge Binding)`,
  digest: `${DRAFT} §5.1.3 (Request Body Digest Binding)`,
  credential: `${DRAFT} §5.2 (Credentials)`,
  receipt: `${DRAFT} §5.3 (Payment-Receipt Header)`,
  receiptStatus: `${DRAFT} §5.3, §5.3.1 (Receipt Status Semantics)`,
  problem: `${DRAFT} §8.1 (Error Response Format); §8.2 (Error Codes)`,
  methodUnsupported: `${DRAFT} §8.2 (method-unsupported, 400)`,
  replay: `${DRAFT} §11.3 (Replay Protection); §4.2`,
  caching: `${DRAFT} §11.10 (Caching)`,
  unique: `${DRAFT} §11.10 (challenges carry unique identifiers); §5.1.1 (id)`,
  multiple: `${DRAFT} App. B.4 (Multiple Payment Options: several credentials → 400)`,
} as const

type Verdict = { readonly status: 'pass' | 'bad' | 'skip'; readonly message: string }
const ok = (message: string): Verdict => ({ status: 'pass', message })
const bad = (message: string): Verdict => ({ status: 'bad', message })
const skip = (message: string): Verdict => ({ status: 'skip', message })

class Report {
  readonly results: ServerCaseResult[] = []
  add(level: Level, name: string, spec: string, verdict: Verdict): void {
    const status: Status = verdict.status === 'bad' ? (level === 'must' ? 'fail' : 'warn') : verdict.status
    this.results.push({ suite: SUITE, name, spec, level, status, ok: status !== 'fail', message: oneLine(verdict.message) })
  }
}

/** Runs every server check against `options.url` and returns one result per case, in order. */
export async function runServerConformance(options: ServerConformanceOptions): Promise<ServerCaseResult[]> {
  new URL(options.url) // throws on a malformed URL before any request
  const method = (options.method ?? (options.body === undefined ? 'GET' : 'POST')).toUpperCase()
  const target: Target = {
    url: options.url,
    method,
    ...(options.body !== undefined && { body: options.body }),
    headers: options.headers ?? {},
    fetch: options.fetch ?? globalThis.fetch,
    timeoutMs: options.timeoutMs ?? 10_000,
  }
  const report = new Report()

  const first = await attempt(() => send(target))
  if (first instanceof Error) {
    report.add('must', 'unpaid request → 402', SPEC.status, bad(`request failed: ${first.message}`))
    return report.results
  }
  unpaidChecks(report, first)
  await uniquenessCheck(report, target, first)
  await digestChecks(report, target, first)

  /** A challenge from a new unpaid request, so no check inherits another's state. */
  const fresh = async (): Promise<Challenge.Challenge | undefined> => {
    const response = await attempt(() => send(target))
    return response instanceof Error ? undefined : response.challenges[0]
  }
  await malformedChecks(report, target, fresh)
  await tamperingChecks(report, target, fresh)
  await worthlessPayloadCheck(report, target, fresh)
  await twoCredentialsCheck(report, target, fresh)
  await unknownMethodCheck(report, target, fresh)
  await paidChecks(report, target, options.pay)
  return report.results
}

// ---------------------------------------------------------------------------------------
// 1. The unpaid request

function unpaidChecks(report: Report, first: Observed): void {
  const is402 = first.status === 402
  report.add('must', 'unpaid request → 402', SPEC.status, is402 ? ok('402') : bad(`got ${first.status}`))
  const not402 = skip(`the unpaid request got ${first.status}, not 402`)

  report.add(
    'must',
    '402 → Cache-Control: no-store',
    SPEC.caching,
    !is402 ? not402 : first.cacheControl.includes('no-store') ? ok('no-store') : bad(`Cache-Control is ${quoteHeader(first.headers.get('cache-control'))}`),
  )

  report.add('must', '402 → Payment challenge(s) that parse strictly', SPEC.challengeRequired, !is402 ? not402 : strictParse(first))

  report.add('must', 'challenge → id, realm, lowercase method, valid intent, request object', SPEC.required, !is402 ? not402 : requiredFields(first))

  const challenges = first.challenges
  const none = skip('no Payment challenge parsed')
  const withoutExpires = challenges.filter((c) => c.expires === undefined).length
  report.add(
    'should',
    'challenge → expires present',
    SPEC.expires,
    challenges.length === 0 ? none : withoutExpires === 0 ? ok(`every challenge has expires`) : bad(`${withoutExpires} of ${challenges.length} challenge(s) have no expires`),
  )

  const dated = challenges.filter((c) => c.expires !== undefined)
  const now = Date.now()
  const stale = dated.filter((c) => (Rfc3339.toEpochMs(c.expires!) ?? -Infinity) <= now)
  report.add(
    'must',
    'challenge → expires in the future',
    SPEC.expires,
    dated.length === 0
      ? skip('no challenge has expires')
      : stale.length === 0
        ? ok(`expires ${describeLifetime(dated, now)}`)
        : bad(`${stale.length} challenge(s) already expired when issued (expires ${stale[0]!.expires})`),
  )

  report.add('should', '402 → Problem Details payment-required', SPEC.problem, !is402 ? not402 : problemIs(first, ['payment-required'], 402))
}

function strictParse(response: Observed): Verdict {
  if (response.headers.get('www-authenticate') === null) return bad('no WWW-Authenticate header')
  if (response.challengeErrors.length > 0) return bad(`invalid Payment challenge: ${response.challengeErrors.join('; ')}`)
  if (response.challenges.length === 0) return bad('WWW-Authenticate has no Payment challenge')
  return ok(`${response.challenges.length} challenge(s): ${response.challenges.map((c) => `${c.method}/${c.intent}`).join(', ')}`)
}

/** The required parameters checked one by one on the raw auth-params, so each problem is named. */
function requiredFields(response: Observed): Verdict {
  const value = response.headers.get('www-authenticate')
  if (value === null) return bad('no WWW-Authenticate header')
  const { challenges, error } = parseChallengesSettled(value)
  const payments = challenges.filter((c) => c.scheme.toLowerCase() === 'payment')
  const problems: string[] = []
  if (error) problems.push(`header syntax: ${error.message}`)
  payments.forEach((raw, index) => {
    const params = new Map(raw.params)
    const where = payments.length > 1 ? `challenge ${index + 1}: ` : ''
    for (const name of ['id', 'realm'] as const) if (!params.get(name)) problems.push(`${where}${name} missing or empty`)
    const method = params.get('method')
    if (method === undefined || !/^[a-z]+$/.test(method)) problems.push(`${where}method ${JSON.stringify(method ?? null)} is not lowercase letters`)
    const intent = params.get('intent')
    if (intent === undefined || !/^[A-Za-z0-9-]+$/.test(intent)) problems.push(`${where}intent ${JSON.stringify(intent ?? null)} is not 1*(ALPHA / DIGIT / "-")`)
    const request = params.get('request')
    try {
      if (request === undefined) throw new Error('missing')
      decodeObject(request)
    } catch {
      problems.push(`${where}request is not unpadded base64url of a JSON object`)
    }
  })
  if (payments.length === 0 && !error) problems.push('no Payment challenge')
  return problems.length ? bad(problems.join('; ')) : ok(`${payments.length} challenge(s) well-formed`)
}

function describeLifetime(challenges: readonly Challenge.Challenge[], now: number): string {
  const seconds = Math.min(...challenges.map((c) => Rfc3339.toEpochMs(c.expires!)! - now)) / 1000
  return seconds >= 120 ? `in about ${Math.round(seconds / 60)} min` : `in ${Math.round(seconds)} s`
}

// ---------------------------------------------------------------------------------------
// 2. Unique ids

async function uniquenessCheck(report: Report, target: Target, first: Observed): Promise<void> {
  const name = 'unpaid requests → different challenge ids'
  if (first.challenges.length === 0) return report.add('should', name, SPEC.unique, skip('no Payment challenge parsed'))
  // One more request after the first, then two at once: ids without a nonce repeat
  // most readily for requests handled in the same instant.
  const later = await attempt(async () => [await send(target), ...(await Promise.all([send(target), send(target)]))])
  if (later instanceof Error) return report.add('should', name, SPEC.unique, bad(`request failed: ${later.message}`))
  const responses = [first, ...later]
  const seen = new Map<string, number>()
  let repeats = 0
  responses.forEach((response, index) => {
    for (const id of new Set(response.challenges.map((c) => c.id))) {
      if (seen.has(id) && seen.get(id) !== index) repeats++
      seen.set(id, index)
    }
  })
  report.add(
    'should',
    name,
    SPEC.unique,
    repeats === 0 ? ok(`${responses.length} responses, all ids distinct`) : bad(`${repeats} challenge id(s) repeated across ${responses.length} unpaid responses`),
  )
}

// ---------------------------------------------------------------------------------------
// 3. Body digest

async function digestChecks(report: Report, target: Target, first: Observed): Promise<void> {
  const present = 'request with a body → challenge carries digest'
  const matches = 'digest → RFC 9530 digest of the body'
  if (target.body === undefined || target.method === 'GET' || target.method === 'HEAD') {
    const reason = skip('no request body (use --method POST --body ...)')
    report.add('should', present, SPEC.digest, reason)
    report.add('must', matches, SPEC.digest, reason)
    return
  }
  const challenges = first.challenges
  if (challenges.length === 0) {
    report.add('should', present, SPEC.digest, skip('no Payment challenge parsed'))
    report.add('must', matches, SPEC.digest, skip('no Payment challenge parsed'))
    return
  }
  const digested = challenges.filter((c) => c.digest !== undefined)
  report.add(
    'should',
    present,
    SPEC.digest,
    digested.length === challenges.length ? ok('every challenge has digest') : bad(`${challenges.length - digested.length} of ${challenges.length} challenge(s) have no digest`),
  )
  if (digested.length === 0) return report.add('must', matches, SPEC.digest, skip('no challenge has digest'))
  const wrong: string[] = []
  for (const challenge of digested) {
    const valid = await BodyDigest.verify(challenge.digest!, target.body).catch(() => false)
    if (!valid) wrong.push(challenge.digest!)
  }
  const expected = await BodyDigest.compute(target.body)
  report.add(
    'must',
    matches,
    SPEC.digest,
    wrong.length === 0 ? ok(expected) : bad(`digest ${wrong[0]} does not match the body (expected ${expected})`),
  )
}

// ---------------------------------------------------------------------------------------
// 4-7. Credentials that must be refused

type Fresh = () => Promise<Challenge.Challenge | undefined>

async function malformedChecks(report: Report, target: Target, fresh: Fresh): Promise<void> {
  for (const variant of MALFORMED) {
    const refusedName = `malformed credential (${variant.label}) → refused with a fresh challenge, no receipt`
    const typeName = `malformed credential (${variant.label}) → problem malformed-credential`
    const spec = `${DRAFT} ${variant.spec}; §4.2`
    const challenge = await fresh()
    if (!challenge) {
      report.add('must', refusedName, spec, skip('no challenge to build it from'))
      report.add('should', typeName, SPEC.problem, skip('no challenge to build it from'))
      continue
    }
    const response = await attempt(() => send(target, variant.build(challenge)))
    report.add('must', refusedName, spec, response instanceof Error ? bad(`request failed: ${response.message}`) : refused(response, { allow400: true }))
    report.add('should', typeName, SPEC.problem, response instanceof Error ? skip('request failed') : problemIs(response, ['malformed-credential']))
  }
}

async function tamperingChecks(report: Report, target: Target, fresh: Fresh): Promise<void> {
  for (const tampering of TAMPERINGS) {
    const refusedName = `tampered credential (${tampering.label}) → 402 with a fresh challenge, no receipt`
    const typeName = `tampered credential (${tampering.label}) → problem invalid-challenge or verification-failed`
    const spec = `${DRAFT} ${tampering.spec}; §4.2`
    const challenge = await fresh()
    const echo = challenge && tampering.alter(challenge)
    if (!echo) {
      const reason = skip(challenge ? `the challenge has nothing to alter (${tampering.label})` : 'no challenge to build it from')
      report.add('must', refusedName, spec, reason)
      report.add('should', typeName, SPEC.problem, reason)
      continue
    }
    const response = await attempt(() => send(target, bogus(echo)))
    report.add('must', refusedName, spec, response instanceof Error ? bad(`request failed: ${response.message}`) : refused(response))
    report.add(
      'should',
      typeName,
      SPEC.problem,
      response instanceof Error ? skip('request failed') : problemIs(response, ['invalid-challenge', 'verification-failed']),
    )
  }
}

/** A real, untouched challenge with a worthless payload, sent twice: neither may succeed. */
async function worthlessPayloadCheck(report: Report, target: Target, fresh: Fresh): Promise<void> {
  const refusedName = 'untouched challenge, worthless payload, sent twice → refused both times, no receipt'
  const typeName = 'untouched challenge, worthless payload → a core problem type'
  const challenge = await fresh()
  if (!challenge) {
    report.add('must', refusedName, SPEC.replay, skip('no challenge to build it from'))
    report.add('should', typeName, SPEC.problem, skip('no challenge to build it from'))
    return
  }
  const authorization = bogus(Credential.echo(challenge))
  const responses = await attempt(async () => [await send(target, authorization), await send(target, authorization)])
  if (responses instanceof Error) {
    report.add('must', refusedName, SPEC.replay, bad(`request failed: ${responses.message}`))
    report.add('should', typeName, SPEC.problem, skip('request failed'))
    return
  }
  const verdicts = responses.map((response) => refused(response))
  const failing = verdicts.findIndex((v) => v.status === 'bad')
  report.add(
    'must',
    refusedName,
    SPEC.replay,
    failing === -1 ? ok(verdicts.map((v) => v.message).join(' / ')) : bad(`${failing === 0 ? 'first' : 'second'} attempt: ${verdicts[failing]!.message}`),
  )
  const codes = ['verification-failed', 'malformed-credential', 'invalid-challenge', 'payment-insufficient']
  const types = responses.map((response) => problemIs(response, codes))
  const wrongType = types.find((v) => v.status === 'bad')
  report.add('should', typeName, SPEC.problem, wrongType ?? ok(types.map((v) => v.message).join(' / ')))
}

async function twoCredentialsCheck(report: Report, target: Target, fresh: Fresh): Promise<void> {
  const refusedName = 'two Authorization: Payment lines → refused, no receipt'
  const statusName = 'two Authorization: Payment lines → 400'
  const challenge = await fresh()
  if (!challenge) {
    report.add('must', refusedName, SPEC.multiple, skip('no challenge to build them from'))
    report.add('should', statusName, SPEC.multiple, skip('no challenge to build them from'))
    return
  }
  const echo = Credential.echo(challenge)
  const lines = [bogus(echo), header({ challenge: echo, payload: { ...BOGUS_PAYLOAD, second: true } })]
  const response = await attempt(() => sendRaw(target, lines))
  if (response === undefined) {
    report.add('must', refusedName, SPEC.multiple, skip('node:http is not available in this runtime'))
    report.add('should', statusName, SPEC.multiple, skip('node:http is not available in this runtime'))
    return
  }
  if (response instanceof Error) {
    report.add('must', refusedName, SPEC.multiple, bad(`request failed: ${response.message}`))
    report.add('should', statusName, SPEC.multiple, skip('request failed'))
    return
  }
  report.add('must', refusedName, SPEC.multiple, refused(response, { allow400: true }))
  report.add('should', statusName, SPEC.multiple, response.status === 400 ? ok('400') : bad(`got ${describe(response)}`))
}

async function unknownMethodCheck(report: Report, target: Target, fresh: Fresh): Promise<void> {
  const refusedName = 'credential for an unknown payment method → refused, no receipt'
  const typeName = 'credential for an unknown payment method → 400 method-unsupported'
  const challenge = await fresh()
  if (!challenge) {
    report.add('must', refusedName, SPEC.status, skip('no challenge to build it from'))
    report.add('should', typeName, SPEC.methodUnsupported, skip('no challenge to build it from'))
    return
  }
  const response = await attempt(() => send(target, bogus({ ...Credential.echo(challenge), method: UNKNOWN_METHOD })))
  if (response instanceof Error) {
    report.add('must', refusedName, SPEC.status, bad(`request failed: ${response.message}`))
    report.add('should', typeName, SPEC.methodUnsupported, skip('request failed'))
    return
  }
  report.add('must', refusedName, SPEC.status, refused(response, { allow400: true }))
  const code = problemCode(response)
  report.add(
    'should',
    typeName,
    SPEC.methodUnsupported,
    response.status === 400 && code === 'method-unsupported'
      ? ok('400 method-unsupported')
      : response.status === 402 && code === 'invalid-challenge'
        ? bad('402 invalid-challenge (the binding was checked before the method)')
        : bad(`got ${describe(response)}`),
  )
}

// ---------------------------------------------------------------------------------------
// 8. Paid

async function paidChecks(report: Report, target: Target, pay: Pay | undefined): Promise<void> {
  const names = {
    paid: ['must', 'paid request → 2xx', SPEC.status],
    receipt: ['should', 'paid response → Payment-Receipt', SPEC.receipt],
    receiptShape: ['must', 'receipt → status success, method, RFC 3339 timestamp, reference', SPEC.receiptStatus],
    private: ['must', 'response with a receipt → Cache-Control: private', SPEC.caching],
    replay: ['must', 'replayed paid credential → 402 with a fresh challenge, no receipt', SPEC.replay],
    replayType: ['should', 'replayed paid credential → problem invalid-challenge', SPEC.problem],
    twoPaid: ['should', 'two credentials, the first one paid → 400', SPEC.multiple],
  } as const satisfies Record<string, readonly [Level, string, string]>
  const add = (key: keyof typeof names, verdict: Verdict) => report.add(names[key][0], names[key][1], names[key][2], verdict)
  const skipRest = (from: keyof typeof names, reason: string) => {
    const keys = Object.keys(names) as Array<keyof typeof names>
    for (const key of keys.slice(keys.indexOf(from))) add(key, skip(reason))
  }

  if (!pay) return skipRest('paid', 'no pay function given (programmatic API only)')
  const paid = await payFresh(target, pay)
  if ('error' in paid) {
    add('paid', bad(paid.error))
    return skipRest('receipt', 'the paid request did not run')
  }
  const response = await attempt(() => send(target, paid.authorization))
  if (response instanceof Error) {
    add('paid', bad(`request failed: ${response.message}`))
    return skipRest('receipt', 'the paid request failed')
  }
  const success = response.status >= 200 && response.status < 300
  add('paid', success ? ok(`${response.status} (${paid.challenge.method}/${paid.challenge.intent})`) : bad(`got ${describe(response)}`))
  if (!success) return skipRest('receipt', 'the paid request was not accepted')

  add('receipt', response.receipt !== null ? ok('present') : bad('no Payment-Receipt on the paid response'))
  if (response.receipt === null) {
    add('receiptShape', skip('no receipt'))
    add('private', skip('no receipt'))
  } else {
    add('receiptShape', receiptShape(response.receipt, paid.challenge))
    add(
      'private',
      response.cacheControl.includes('private') ? ok('private') : bad(`Cache-Control is ${quoteHeader(response.headers.get('cache-control'))}`),
    )
  }

  const replay = await attempt(() => send(target, paid.authorization))
  add('replay', replay instanceof Error ? bad(`request failed: ${replay.message}`) : refused(replay))
  add('replayType', replay instanceof Error ? skip('request failed') : problemIs(replay, ['invalid-challenge']))

  // A second payment: a paid credential followed by a worthless one on a second line.
  const second = await payFresh(target, pay)
  if ('error' in second) return add('twoPaid', skip(second.error))
  const both = await attempt(() => sendRaw(target, [second.authorization, bogus(Credential.echo(second.challenge))]))
  if (both === undefined) return add('twoPaid', skip('node:http is not available in this runtime'))
  if (both instanceof Error) return add('twoPaid', skip(`request failed: ${both.message}`))
  add(
    'twoPaid',
    both.status === 400
      ? ok('400')
      : both.status >= 200 && both.status < 300
        ? bad(`got ${both.status}: the server accepted a request carrying two credentials`)
        : bad(`got ${describe(both)}`),
  )
}

/** A new challenge, paid by the caller's function: the first offered challenge it pays. */
async function payFresh(target: Target, pay: Pay): Promise<{ challenge: Challenge.Challenge; authorization: string } | { error: string }> {
  const offer = await attempt(() => send(target))
  if (offer instanceof Error) return { error: `request failed: ${offer.message}` }
  if (offer.challenges.length === 0) return { error: `the unpaid request got ${offer.status} without a Payment challenge` }
  let reason = ''
  for (const challenge of offer.challenges) {
    try {
      const { payload, source } = await pay(challenge)
      const credential = Credential.from({ challenge, payload, ...(source !== undefined && { source }) })
      return { challenge, authorization: Credential.serialize(credential) }
    } catch (error) {
      reason = error instanceof Error ? error.message : String(error)
    }
  }
  return { error: `the pay function paid none of the ${offer.challenges.length} challenge(s): ${reason}` }
}

function receiptShape(value: string, challenge: Challenge.Challenge): Verdict {
  let receipt: Receipt.Receipt
  try {
    receipt = Receipt.parse(value)
  } catch (error) {
    return bad(`receipt does not parse: ${(error as Error).message}`)
  }
  if (receipt.method !== challenge.method) return bad(`receipt method "${receipt.method}" is not the paid challenge's "${challenge.method}"`)
  return ok(`${receipt.method}, ${receipt.timestamp}`)
}

// ---------------------------------------------------------------------------------------
// Shared judgements

/**
 * A refusal as the draft requires: not 2xx, no receipt, and a 402 carries a Payment
 * challenge that parses and `Cache-Control: no-store`. A 400 passes only where allowed.
 */
function refused(response: Observed, options: { allow400?: boolean } = {}): Verdict {
  const { status } = response
  if (status >= 200 && status < 300) return bad(`accepted with ${status}${response.receipt !== null ? ' and a Payment-Receipt' : ''}`)
  if (response.receipt !== null) return bad(`${status} carries a Payment-Receipt`)
  if (status === 402) {
    if (response.challenges.length === 0)
      return bad(`402 without a Payment challenge${response.challengeErrors.length ? ` that parses (${response.challengeErrors[0]})` : ''}`)
    if (response.challengeErrors.length > 0) return bad(`402 with an invalid Payment challenge (${response.challengeErrors[0]})`)
    if (!response.cacheControl.includes('no-store')) return bad(`402 without Cache-Control: no-store`)
    return ok(`402 with ${response.challenges.length} challenge(s)${problemCode(response) ? ` (${problemCode(response)})` : ''}`)
  }
  if (status === 400 && options.allow400) return ok(`400${problemCode(response) ? ` (${problemCode(response)})` : ''}`)
  return bad(`got ${describe(response)}, expected 402`)
}

/** Problem Details with one of the core `codes` (and, when given, the `status` member). */
function problemIs(response: Observed, codes: readonly string[], status?: number): Verdict {
  if (response.status >= 200 && response.status < 300) return skip(`accepted with ${response.status}; see the MUST case`)
  const code = problemCode(response)
  const issues: string[] = []
  if (!response.problemJson) issues.push(`Content-Type is ${quoteHeader(response.headers.get('content-type'))}, not application/problem+json`)
  if (code === undefined) issues.push('no problem type in the body')
  else if (!codes.includes(code)) issues.push(`problem ${code}${Problem.codeOf({ type: String(response.problem!.type) }) ? '' : ' (not a core type)'}, expected ${codes.join(' or ')}`)
  if (status !== undefined && response.problem?.status !== status) issues.push(`problem status ${JSON.stringify(response.problem?.status ?? null)}, expected ${status}`)
  return issues.length ? bad(issues.join('; ')) : ok(code!)
}

/** The problem `type` with the core base URI removed (other URIs are kept whole). */
function problemCode(response: Observed): string | undefined {
  const type = response.problem?.type
  if (typeof type !== 'string') return undefined
  return type.startsWith(Problem.BASE_URI) ? type.slice(Problem.BASE_URI.length) : type
}

function describe(response: Observed): string {
  const code = problemCode(response)
  return `${response.status}${code ? ` ${code}` : ''}`
}

function quoteHeader(value: string | null): string {
  return value === null ? 'absent' : JSON.stringify(value.length > 80 ? value.slice(0, 77) + '...' : value)
}

function oneLine(text: string): string {
  return text.replace(/[\r\n]+/g, ' ')
}

async function attempt<T>(run: () => Promise<T>): Promise<T | Error> {
  try {
    return await run()
  } catch (error) {
    return error instanceof Error ? new Error(causeOf(error)) : new Error(String(error))
  }
}

// fetch failures say only "fetch failed"; the cause says why (ECONNREFUSED, a timeout).
function causeOf(error: Error): string {
  const cause = (error as { cause?: unknown }).cause
  return cause instanceof Error && cause.message ? `${error.message} (${cause.message})` : error.message
}

// ---------------------------------------------------------------------------------------
// Report text

export type ServerReport = {
  readonly passed: number
  readonly failed: number
  readonly warnings: number
  readonly skipped: number
  /** One line per case, then the counts; the last line is `N passed, N failed`. */
  readonly text: string
}

const TAGS: Record<Status, string> = { pass: 'ok  ', fail: 'FAIL', warn: 'warn', skip: 'skip' }

/** The CLI's report: one line per case and a closing summary. */
export function formatServerReport(results: readonly ServerCaseResult[]): ServerReport {
  const count = (status: Status) => results.filter((result) => result.status === status).length
  const passed = count('pass')
  const failed = count('fail')
  const warnings = count('warn')
  const skipped = count('skip')
  const lines = results.map((r) => `${TAGS[r.status]} ${r.level.padEnd(6)} ${r.name}: ${r.message} [${r.spec}]`)
  lines.push('', `${warnings} warning${warnings === 1 ? '' : 's'} (SHOULD), ${skipped} skipped`, `${passed} passed, ${failed} failed`)
  return { passed, failed, warnings, skipped, text: lines.join('\n') }
}
