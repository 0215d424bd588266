/**
 * In-process JSON-RPC plumbing for the MCP interop tests (test/interop/mcp.test.ts).
 *
 * The SDK's transports are not needed here: every mppx MCP piece these tests drive is
 * plain JSON-RPC at runtime.
 *
 *   - `mppx/server`'s `Transport.mcp()` takes a raw JSON-RPC request and answers a raw
 *     JSON-RPC response (the SDK is only imported by `Transport.mcpSdk()` and by
 *     `compose()` under an MCP transport, neither used here);
 *   - `mppx/mcp/client`'s `McpClient.wrap(client, …)` only needs an object with the SDK
 *     `Client.callTool(params, resultSchema?, options?)` signature that throws an
 *     `McpError`-shaped error (`code`, `message`, `data`) for a JSON-RPC error answer.
 *     (`McpClient.d.ts` imports SDK types with `import type` only.)
 *
 * `sdkShapedClient` below is that object: it does what the SDK's `Client.callTool` /
 * `Protocol.request` do on the wire — send `{ jsonrpc, id, method: 'tools/call', params }`
 * with `params` verbatim (so `params._meta` reaches the server), resolve with `result`,
 * and reject with `new McpError(code, message, data)` for an `error` answer.
 */
import { Mppx as MppxServer, Transport as MppxTransport } from 'mppx/server'
import type { JsonRpcRequest, JsonRpcResponse } from '../../../src/mcp/index.js'
import { mppxTestpayServer, type Settlement } from './testpay.js'
import { SECRET } from './wire.js'

/** What the SDK's `McpError` carries; `McpClient.isPaymentRequiredError` reads exactly these. */
export class McpErrorLike extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly data?: unknown,
  ) {
    super(`MCP error ${code}: ${message}`)
    this.name = 'McpError'
  }
}

export type CallToolParams = { name: string; arguments?: Record<string, unknown>; _meta?: Record<string, unknown> }

/** A stand-in for the SDK `Client` (just `callTool`), over an in-process `send`. */
export function sdkShapedClient(send: (message: JsonRpcRequest) => Promise<JsonRpcResponse | undefined>) {
  let nextId = 1
  const sent: JsonRpcRequest[] = []
  const received: JsonRpcResponse[] = []
  return {
    sent,
    received,
    // `any`: the SDK types the result by its zod schema, which this stand-in does not model.
    async callTool(params: CallToolParams, _resultSchema?: unknown, _options?: unknown): Promise<any> {
      // A structured clone, as a real transport would serialize it.
      const message = JSON.parse(JSON.stringify({ jsonrpc: '2.0', id: nextId++, method: 'tools/call', params })) as JsonRpcRequest
      sent.push(message)
      const response = await send(message)
      if (!response) throw new Error('no response to a request (the server treated it as a notification?)')
      const wire = JSON.parse(JSON.stringify(response)) as JsonRpcResponse
      received.push(wire)
      if ('error' in wire) throw new McpErrorLike(wire.error.code, wire.error.message, wire.error.data)
      return wire.result as Record<string, unknown>
    },
  }
}

/**
 * An mppx server with the raw JSON-RPC MCP transport, selling one tool for
 * `amount` (base units) of `currency` with the shared `testpay/charge` method.
 */
export type MppxMcpShop = {
  readonly settlements: Settlement[]
  /** The params of every tools/call the tool ran for (only paid ones). */
  readonly runs: unknown[]
  /** One JSON-RPC request in, one JSON-RPC response out (what an MCP server loop would call). */
  handle(message: JsonRpcRequest): Promise<JsonRpcResponse>
}

export function mppxMcpShop(
  options: { amount?: string; description?: string; realm?: string; meta?: Record<string, string>; settlements?: Settlement[] } = {},
): MppxMcpShop {
  const settlements: Settlement[] = options.settlements ?? []
  const runs: unknown[] = []
  const mppx = MppxServer.create({
    methods: [mppxTestpayServer(settlements)],
    secretKey: SECRET,
    realm: options.realm ?? 'tools.mppx.example',
    transport: MppxTransport.mcp(),
  })
  const route = mppx.testpay.charge({
    amount: options.amount ?? '1000',
    currency: 'usd',
    recipient: 'acct_mppx',
    ...(options.description !== undefined && { description: options.description }),
    // mppx binds `meta` into `opaque` (under its HMAC): how an mppx server scopes a challenge to one tool.
    ...(options.meta !== undefined && { meta: options.meta }),
  })
  async function handle(message: JsonRpcRequest): Promise<JsonRpcResponse> {
    const result = await route(message as never)
    if (result.status === 402) return result.challenge as unknown as JsonRpcResponse
    runs.push(message.params)
    const answer = { jsonrpc: '2.0', id: message.id ?? undefined, result: { content: [{ type: 'text', text: 'mppx tool output' }] } }
    return result.withReceipt(answer as never) as unknown as JsonRpcResponse
  }
  return { settlements, runs, handle }
}
