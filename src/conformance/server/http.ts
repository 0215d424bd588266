/**
 * How the server runner talks to the server under test: `fetch` for ordinary requests,
 * and `node:http(s)` for the one request `fetch` cannot make (two `Authorization` header
 * lines; `fetch` joins repeated headers into one line).
 */
import * as Challenge from '../../Challenge.js'
import { isObject, type JsonObject } from '../../internal/json.js'

export type Target = {
  readonly url: string
  readonly method: string
  readonly body?: string
  /** Extra request headers, sent with every request. */
  readonly headers: Readonly<Record<string, string>>
  readonly fetch: typeof globalThis.fetch
  readonly timeoutMs: number
}

/** One response, read whole, with what the checks look at already picked out. */
export type Observed = {
  readonly status: number
  readonly headers: Headers
  /** Every Payment challenge that parses strictly, in order. */
  readonly challenges: Challenge.Challenge[]
  /** Why a Payment challenge (or the header) did not parse: error codes and messages. */
  readonly challengeErrors: string[]
  /** Whether `Content-Type` is `application/problem+json`. */
  readonly problemJson: boolean
  /** The body as a JSON object, when it is one. */
  readonly problem?: JsonObject
  /** The raw `Payment-Receipt` value, or `null`. */
  readonly receipt: string | null
  /** `Cache-Control` directives, lowercase, without arguments. */
  readonly cacheControl: string[]
}

/** The request with at most one `Authorization` value, through `fetch`. */
export async function send(target: Target, authorization?: string): Promise<Observed> {
  const headers = new Headers(requestHeaders(target))
  if (authorization !== undefined) headers.set('authorization', authorization)
  const response = await target.fetch(target.url, {
    method: target.method,
    headers,
    ...(target.body !== undefined && { body: target.body }),
    redirect: 'manual',
    signal: AbortSignal.timeout(target.timeoutMs),
  })
  return observe(response.status, response.headers, await response.text())
}

/**
 * The request with every value of `authorizations` as its own `Authorization` header
 * line. `undefined` when the runtime has no `node:http` (the check is then skipped).
 */
export async function sendRaw(target: Target, authorizations: readonly string[]): Promise<Observed | undefined> {
  const url = new URL(target.url)
  let request: typeof import('node:http').request
  try {
    request = (url.protocol === 'https:' ? (await import('node:https')).request : (await import('node:http')).request) as typeof request
  } catch {
    return undefined
  }
  const body = target.body === undefined ? undefined : new TextEncoder().encode(target.body)
  return new Promise<Observed>((resolve, reject) => {
    // agent: false, so no keep-alive socket outlives the run.
    const req = request(url, { method: target.method, agent: false, timeout: target.timeoutMs }, (res) => {
      const chunks: Uint8Array[] = []
      res.on('data', (chunk: Uint8Array) => chunks.push(chunk))
      res.on('error', reject)
      res.on('end', () => {
        const headers = new Headers()
        for (let i = 0; i + 1 < res.rawHeaders.length; i += 2) headers.append(res.rawHeaders[i]!, res.rawHeaders[i + 1]!)
        resolve(observe(res.statusCode ?? 0, headers, new TextDecoder().decode(concat(chunks))))
      })
    })
    req.on('timeout', () => req.destroy(new Error(`no response within ${target.timeoutMs} ms`)))
    req.on('error', reject)
    for (const [name, value] of Object.entries(requestHeaders(target))) req.setHeader(name, value)
    // An array value goes out as one header line per element.
    req.setHeader('authorization', [...authorizations])
    if (body) {
      req.setHeader('content-length', String(body.byteLength))
      req.end(body)
    } else req.end()
  })
}

/** Picks out of a response what the checks read. */
export function observe(status: number, headers: Headers, text: string): Observed {
  const header = headers.get('www-authenticate')
  let challenges: Challenge.Challenge[] = []
  const challengeErrors: string[] = []
  if (header !== null) {
    const settled = Challenge.parseListSettled(header)
    challenges = settled.challenges
    for (const error of settled.errors) challengeErrors.push(`${error.code}: ${error.message}`)
  }
  const contentType = (headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase()
  let problem: JsonObject | undefined
  try {
    const value: unknown = JSON.parse(text)
    if (isObject(value)) problem = value
  } catch {
    // not JSON: no problem body
  }
  const cacheControl = (headers.get('cache-control') ?? '')
    .split(',')
    .map((directive) => directive.split('=')[0]!.trim().toLowerCase())
    .filter(Boolean)
  return {
    status,
    headers,
    challenges,
    challengeErrors,
    problemJson: contentType === 'application/problem+json',
    ...(problem && { problem }),
    receipt: headers.get('payment-receipt'),
    cacheControl,
  }
}

function requestHeaders(target: Target): Record<string, string> {
  const headers: Record<string, string> = { ...target.headers }
  const named = (name: string) => Object.keys(headers).some((key) => key.toLowerCase() === name)
  if (target.body !== undefined && !named('content-type')) headers['content-type'] = looksLikeJson(target.body) ? 'application/json' : 'text/plain;charset=UTF-8'
  return headers
}

function looksLikeJson(text: string): boolean {
  try {
    JSON.parse(text)
    return true
  } catch {
    return false
  }
}

function concat(chunks: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, chunk) => n + chunk.byteLength, 0))
  let at = 0
  for (const chunk of chunks) {
    out.set(chunk, at)
    at += chunk.byteLength
  }
  return out
}
