/**
 * Paid JSON-RPC operations (MCP `tools/call`, `resources/read`, `prompts/get`, or any
 * method), per draft-payment-transport-mcp-00. Each call goes through the same
 * verification pipeline as HTTP; the operation name is bound into the challenge, so a
 * challenge for one tool never pays for another.
 *
 * @example
 * const premium = paidOperation(server, { operation: 'tools/call:premium', price: '0.05' })
 * const response = await premium.handle(message, async (params, payment) => ({ content: [...] }))
 */
import * as Challenge from '../Challenge.js'
import * as Credential from '../Credential.js'
import { decodeObject, encodeCanonical, isObject, type JsonObject } from '../internal/json.js'
import * as Problem from '../Problem.js'
import type { PaymentInfo, PaymentServer, Route } from '../server/index.js'
import { CREDENTIAL_META, credentialOf, ErrorCode, RECEIPT_META, toMcpChallenge, type JsonRpcError, type JsonRpcRequest, type JsonRpcResponse } from './wire.js'

export type PaidOperationOptions = Route & {
  /** What is sold, e.g. `tools/call:premium-analysis` or `resources/read:data://premium`. */
  readonly operation: string
  /** Where the receipt goes: `result._meta` (MCP, default) or the response's root `_meta`. */
  readonly placement?: 'mcp' | 'root'
}

export type McpCheck =
  | { readonly kind: 'error'; readonly error: JsonRpcError }
  /** A paid operation sent as a notification: drop it, run nothing, answer nothing. */
  | { readonly kind: 'drop' }
  | {
      readonly kind: 'paid'
      readonly payment: PaymentInfo
      /** The handler's result, with the receipt in its `_meta`. */
      finish(result: JsonObject): Promise<JsonObject>
      /** The handler failed after payment: refund, and the error to answer with. */
      fail(error: unknown): Promise<JsonRpcError>
    }

export type PaidOperation = {
  /** Checks a JSON-RPC request for this operation, for servers that build responses themselves. */
  check(message: JsonRpcRequest): Promise<McpCheck>
  /** Check, run the handler when paid, and answer: the JSON-RPC response, or nothing for a notification. */
  handle(message: JsonRpcRequest, handler: (params: unknown, payment: PaymentInfo) => JsonObject | Promise<JsonObject>): Promise<JsonRpcResponse | undefined>
}

export function paidOperation(server: PaymentServer, options: PaidOperationOptions): PaidOperation {
  const { operation, placement = 'mcp', ...route } = options
  const gate = server.charge({ ...route, bind: { ...route.bind, operation } })
  const url = `https://mcp.invalid/${encodeURIComponent(operation)}`

  async function check(message: JsonRpcRequest): Promise<McpCheck> {
    if (message.id === undefined) return { kind: 'drop' }
    const headers = new Headers()
    const credential = credentialOf(message)
    if (credential !== undefined) {
      const encoded = encodeCredential(credential)
      if (typeof encoded !== 'string') return { kind: 'error', error: invalidParams(encoded.detail) }
      headers.set('authorization', encoded)
    }
    // GET: a JSON-RPC call has no HTTP body to bind a digest to.
    const result = await gate.check(new Request(url, { headers }))
    if (!result.paid) return { kind: 'error', error: await errorOf(result.response) }
    const { credential: paidCredential, challenge, paymentRequest, receipt, settlement } = result
    return {
      kind: 'paid',
      payment: { credential: paidCredential, challenge, paymentRequest, receipt, settlement },
      async finish(value) {
        await result.respond(new Response(null, { status: 204 })) // marks the payment delivered
        const { status, method, timestamp, reference } = receipt
        const meta = { [RECEIPT_META]: { status, method, timestamp, challengeId: challenge.id, reference } }
        return { ...value, _meta: { ...(isObject(value._meta) ? value._meta : {}), ...meta } }
      },
      async fail(error) {
        const response = await result.fail(error)
        const refund = response.headers.get('payment-refund')
        return { code: ErrorCode.internal, message: 'Internal error', data: { detail: 'the operation failed after payment', ...(refund && { refund: decodeObject(refund) }) } }
      },
    }
  }

  return {
    check,
    async handle(message, handler) {
      const outcome = await check(message)
      if (outcome.kind === 'drop') return undefined
      const id = message.id ?? null
      if (outcome.kind === 'error') return { jsonrpc: '2.0', id, error: outcome.error }
      let value: JsonObject
      try {
        value = await handler(message.params, outcome.payment)
      } catch (error) {
        return { jsonrpc: '2.0', id, error: await outcome.fail(error) }
      }
      const finished = await outcome.finish(value)
      if (placement === 'mcp') return { jsonrpc: '2.0', id, result: finished }
      const { _meta, ...rest } = finished
      return { jsonrpc: '2.0', id, result: rest, _meta: _meta as Record<string, unknown> }
    },
  }
}

/** The credential object as an `Authorization` value, or why it is malformed (-32602). */
function encodeCredential(value: unknown): string | { detail: string } {
  if (!isObject(value) || !isObject(value.challenge) || !isObject(value.payload))
    return { detail: `${CREDENTIAL_META} must be an object with challenge and payload objects` }
  const challenge = value.challenge
  if (typeof challenge.id !== 'string' || challenge.id === '') return { detail: 'Missing required field: challenge.id' }
  if (!isObject(challenge.request)) return { detail: 'challenge.request must be a JSON object' }
  try {
    // JCS: the request's key order on this transport does not change its bytes.
    const wire = { ...challenge, request: encodeCanonical(challenge.request) }
    return Credential.serialize(Credential.validate({ challenge: wire, payload: value.payload, ...(value.source !== undefined && { source: value.source }) }))
  } catch {
    return { detail: 'the credential is not a valid Payment credential' }
  }
}

/** The JSON-RPC error for a refusal the HTTP pipeline answered with `response`. */
async function errorOf(response: Response): Promise<JsonRpcError> {
  const problem = (await response.json().catch(() => ({}))) as Partial<Problem.Problem>
  const code = problem.type ? Problem.codeOf({ type: problem.type }) : undefined
  const header = response.headers.get('www-authenticate')
  const challenges = header ? Challenge.parseList(header).map(toMcpChallenge) : []
  const detail = problem.detail ?? 'payment error'
  if (response.status === 402 && code === 'payment-required')
    return { code: ErrorCode.paymentRequired, message: 'Payment Required', data: { httpStatus: 402, challenges, problem } }
  if (code === 'malformed-credential') return invalidParams(detail)
  if (response.status === 402 || code === 'method-unsupported')
    return { code: ErrorCode.verificationFailed, message: 'Payment Verification Failed', data: { httpStatus: 402, challenges, failure: { reason: code ?? 'verification-failed', detail }, problem } }
  // The transport draft names no code for a seller's policy refusal; -32044 is mppkit's, in the server-error range the draft requires.
  if (response.status === 403) return { code: ErrorCode.paymentRefused, message: 'Payment Refused', data: { detail } }
  if (response.status === 400) return invalidParams(detail)
  // 503 (nothing charged), 409 (still in progress), 504 (outcome unknown): the draft's
  // "internal payment error", carrying the problem (its type and challenge id) and when to retry.
  const retryAfter = Number(response.headers.get('retry-after') ?? Number.NaN)
  return {
    code: ErrorCode.internal,
    message: 'Internal error',
    data: { httpStatus: response.status, detail, ...(problem.type !== undefined && { problem }), ...(Number.isFinite(retryAfter) && { retryAfter }) },
  }
}

function invalidParams(detail: string): JsonRpcError {
  return { code: ErrorCode.invalidParams, message: 'Invalid params', data: { detail } }
}
