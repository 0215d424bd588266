/**
 * The JSON-RPC shapes of draft-payment-transport-mcp-00, and conversions between its
 * challenge objects (native JSON `request`) and the HTTP wire form (base64url JCS).
 */
import * as Challenge from '../Challenge.js'
import { encodeCanonical, isObject, type JsonObject } from '../internal/json.js'

export const CREDENTIAL_META = 'org.paymentauth/credential'
export const RECEIPT_META = 'org.paymentauth/receipt'

/** JSON-RPC error codes the draft assigns (§9.1). */
export const ErrorCode = {
  paymentRequired: -32042,
  verificationFailed: -32043,
  invalidParams: -32602,
  internal: -32603,
  /** mppkit's own, in the server-error range: the seller's policy refused a verified payment. */
  paymentRefused: -32044,
} as const

export type JsonRpcId = string | number | null
export type JsonRpcRequest = {
  readonly jsonrpc: '2.0'
  readonly id?: JsonRpcId
  readonly method: string
  readonly params?: unknown
  readonly _meta?: Readonly<Record<string, unknown>>
}
export type JsonRpcError = { readonly code: number; readonly message: string; readonly data?: unknown }
export type JsonRpcResponse =
  | { readonly jsonrpc: '2.0'; readonly id: JsonRpcId; readonly result: unknown; readonly _meta?: Readonly<Record<string, unknown>> }
  | { readonly jsonrpc: '2.0'; readonly id: JsonRpcId; readonly error: JsonRpcError }

/** A challenge as JSON-RPC carries it: `request` is a JSON object, not base64url. */
export type McpChallenge = Omit<Challenge.Challenge, 'request' | 'extensions'> & { readonly request: JsonObject }

export function toMcpChallenge(challenge: Challenge.Challenge): McpChallenge {
  const { extensions: _extensions, ...fields } = challenge
  return { ...fields, request: Challenge.decodeRequest(challenge) }
}

/** Back to the wire form; JCS makes any key order of `request` the same bytes. */
export function fromMcpChallenge(challenge: McpChallenge): Challenge.Challenge {
  return Challenge.validate({ ...challenge, request: encodeCanonical(challenge.request) })
}

/** The credential in `params._meta` (MCP) or root `_meta` (generic JSON-RPC), if any. */
export function credentialOf(message: JsonRpcRequest): unknown {
  const params = isObject(message.params) ? message.params : undefined
  const nested = isObject(params?._meta) ? (params._meta as JsonObject)[CREDENTIAL_META] : undefined
  return nested ?? message._meta?.[CREDENTIAL_META]
}
