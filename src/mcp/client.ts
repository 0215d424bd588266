/**
 * A paying JSON-RPC / MCP client: `-32042` and `-32043` answers are paid like HTTP 402s,
 * by the same machinery (`createPaymentFetch`), so the same policy, budgets, approval
 * hook and audit events apply. The credential goes in `params._meta`.
 *
 * @example
 * const client = createMcpPaymentClient({ origin: 'https://tools.example.com', send, methods: [tempo], policy })
 * const { response, payment } = await client.request({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'premium' } })
 */
import * as Challenge from '../Challenge.js'
import * as Credential from '../Credential.js'
import { createPaymentFetch, type PaymentFetchConfig, type PaymentInfo } from '../client/index.js'
import { encodeObject, isObject } from '../internal/json.js'
import * as Problem from '../Problem.js'
import { CREDENTIAL_META, ErrorCode, fromMcpChallenge, RECEIPT_META, type JsonRpcRequest, type JsonRpcResponse, type McpChallenge } from './wire.js'

export type McpPaymentClientConfig = Omit<PaymentFetchConfig, 'fetch'> & {
  /** Sends one JSON-RPC request and resolves with its response (your transport). */
  send: (message: JsonRpcRequest) => Promise<JsonRpcResponse>
  /** The server's origin, e.g. `https://tools.example.com`: what allow lists and audit events name. */
  origin: string
}

export type McpPaymentClient = {
  /** Sends a request, paying a payment-required answer within policy; the final response and what was paid. */
  request(message: JsonRpcRequest): Promise<{ response: JsonRpcResponse; payment?: PaymentInfo }>
}

export function createMcpPaymentClient(config: McpPaymentClientConfig): McpPaymentClient {
  const { send, origin, ...rest } = config
  const pay = createPaymentFetch({ ...rest, fetch: bridge(send) })
  return {
    async request(message) {
      const response = await pay(`${origin.replace(/\/$/, '')}/${encodeURIComponent(message.method)}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(message),
      })
      return { response: (await response.json()) as JsonRpcResponse, ...(response.payment && { payment: response.payment }) }
    },
  }
}

/** A `fetch` that speaks JSON-RPC: payment errors become 402s, receipts `Payment-Receipt`. */
function bridge(send: McpPaymentClientConfig['send']): typeof fetch {
  return async (input, init) => {
    const request = new Request(input, init)
    const message = JSON.parse(await request.text()) as JsonRpcRequest
    const authorization = request.headers.get('authorization')
    const outgoing = authorization ? withCredential(message, Credential.parse(authorization)) : message
    const response = await send(outgoing)
    if ('error' in response && (response.error.code === ErrorCode.paymentRequired || response.error.code === ErrorCode.verificationFailed)) {
      const data = (isObject(response.error.data) ? response.error.data : {}) as { challenges?: McpChallenge[]; problem?: unknown }
      const challenges = (data.challenges ?? []).flatMap((challenge) => {
        try {
          return [fromMcpChallenge(challenge)]
        } catch {
          return [] // an invalid challenge is not payable; the others still are
        }
      })
      const problem = data.problem ?? Problem.from(response.error.code === ErrorCode.paymentRequired ? 'payment-required' : 'verification-failed')
      return new Response(JSON.stringify(problem), {
        status: 402,
        headers: { 'content-type': Problem.CONTENT_TYPE, ...(challenges.length && { 'www-authenticate': Challenge.serializeList(challenges) }) },
      })
    }
    // A malformed-credential answer to a paid call: the payment was refused, nothing settled.
    if (authorization && 'error' in response && response.error.code === ErrorCode.invalidParams)
      return new Response(JSON.stringify(Problem.from('malformed-credential', { detail: detailOf(response.error.data) })), {
        status: 402,
        headers: { 'content-type': Problem.CONTENT_TYPE },
      })
    const headers = new Headers({ 'content-type': 'application/json' })
    const receipt = receiptOf(response)
    if (receipt) headers.set('payment-receipt', receipt)
    // A failure after payment that the server refunded (mppkit servers say so in data.refund).
    const refund = 'error' in response && isObject(response.error.data) ? response.error.data.refund : undefined
    if (isObject(refund)) headers.set('payment-refund', encodeObject(refund))
    return new Response(JSON.stringify(response), { status: 'error' in response ? 500 : 200, headers })
  }
}

function detailOf(data: unknown): string {
  return isObject(data) && typeof data.detail === 'string' ? data.detail : 'the server refused the credential'
}

/** The request with the credential in `params._meta`, its `request` as a JSON object. */
function withCredential(message: JsonRpcRequest, credential: Credential.Credential): JsonRpcRequest {
  const params = isObject(message.params) ? message.params : {}
  const meta = isObject(params._meta) ? params._meta : {}
  const challenge = { ...credential.challenge, request: Challenge.decodeRequest(credential.challenge) }
  const value = { challenge, payload: credential.payload, ...(credential.source !== undefined && { source: credential.source }) }
  return { ...message, params: { ...params, _meta: { ...meta, [CREDENTIAL_META]: value } } }
}

/** The receipt in `result._meta` (MCP) or root `_meta`, as a `Payment-Receipt` value. */
function receiptOf(response: JsonRpcResponse): string | undefined {
  const nested = 'result' in response && isObject(response.result) && isObject(response.result._meta) ? response.result._meta[RECEIPT_META] : undefined
  const receipt = nested ?? ('result' in response ? response._meta?.[RECEIPT_META] : undefined)
  if (!isObject(receipt)) return undefined
  // MCP receipts name the challenge and may omit `reference`; the HTTP form requires one.
  const reference = typeof receipt.reference === 'string' ? receipt.reference : receipt.challengeId
  return encodeObject({ ...receipt, reference })
}
