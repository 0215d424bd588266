/**
 * MCP / JSON-RPC interop (draft-payment-transport-mcp-00) between mppkit and mppx 0.11.0,
 * with the custom method `testpay/charge` defined on both sides (support/testpay.ts).
 * JSON-RPC messages go in-process and are JSON round-tripped at every hop, as a real
 * transport would (see support/mcp.ts for why no MCP SDK is needed):
 *
 *   1. mppx's MCP client (`McpClient.wrap` from `mppx/mcp/client`) pays an mppkit
 *      `paidOperation` tools/call;
 *   2. mppkit's `createMcpPaymentClient` pays an mppx tool served through
 *      `Transport.mcp()` (`mppx/server`, the raw JSON-RPC transport);
 *   3. error codes (-32042 / -32043 / -32602), receipt placement, root `_meta`,
 *      notifications.
 */
import { Credential as MppxCredential, Mcp as MppxMcp } from 'mppx'
import { McpClient } from 'mppx/mcp/client'
import { describe, expect, it } from 'vitest'
import * as Challenge from '../../src/Challenge.js'
import { PaymentRejectedError, type ClientEvent } from '../../src/client/index.js'
import { CREDENTIAL_META, createMcpPaymentClient, ErrorCode, paidOperation, RECEIPT_META, type JsonRpcRequest, type JsonRpcResponse, type McpChallenge } from '../../src/mcp/index.js'
import { createPaymentServer, type ServerEvent } from '../../src/server/index.js'
import { McpErrorLike, mppxMcpShop, sdkShapedClient } from './support/mcp.js'
import { mppkitTestpayClient, mppkitTestpayServer, mppxTestpayClient, proofFor, type Settlement } from './support/testpay.js'
import { SECRET } from './support/wire.js'

type AnyObject = Record<string, any>

const errorOf = (response: JsonRpcResponse | undefined): AnyObject => {
  if (!response || !('error' in response)) throw new Error(`expected a JSON-RPC error, got ${JSON.stringify(response)}`)
  return response.error as AnyObject
}
const resultOf = (response: JsonRpcResponse | undefined): AnyObject => {
  if (!response || !('result' in response)) throw new Error(`expected a JSON-RPC result, got ${JSON.stringify(response)}`)
  return response.result as AnyObject
}

// -----------------------------------------------------------------------------------------
// 1. mppx client -> mppkit server

/** An mppkit MCP server selling two tools with testpay, dispatching tools/call by name. */
function mppkitMcpShop() {
  const settlements: Settlement[] = []
  const events: ServerEvent[] = []
  const runs: unknown[] = []
  const server = createPaymentServer({
    realm: 'tools.mppkit.example',
    secrets: [SECRET],
    methods: [mppkitTestpayServer(settlements, { recipient: 'acct_shop' })],
    onEvent: (event) => events.push(event),
  })
  const tools = {
    premium: paidOperation(server, { operation: 'tools/call:premium', amount: '1000', currency: 'usd', description: 'Premium analysis' }),
    other: paidOperation(server, { operation: 'tools/call:other', amount: '1000', currency: 'usd', description: 'Premium analysis' }),
  }
  async function handle(message: JsonRpcRequest): Promise<JsonRpcResponse | undefined> {
    const name = (message.params as AnyObject | undefined)?.name as keyof typeof tools
    const tool = tools[name]
    if (message.method !== 'tools/call' || !tool) return { jsonrpc: '2.0', id: message.id ?? null, error: { code: -32601, message: 'Method not found' } }
    return tool.handle(message, async (params) => {
      runs.push(params)
      return { content: [{ type: 'text', text: `mppkit ${name} output` }] }
    })
  }
  return { settlements, events, runs, handle }
}

/** mppx client method that signs with the wrong key: every credential fails verification. */
function mppxBadProofClient() {
  const good = mppxTestpayClient('did:example:mppx-payer')
  const createCredential = async ({ challenge }: { challenge: AnyObject }) =>
    MppxCredential.serialize({ challenge: challenge as never, payload: { proof: 'not-a-proof', payer: 'did:example:mppx-payer' } })
  return { ...good, createCredential } as typeof good
}

describe('mppx MCP client (McpClient.wrap) -> mppkit paidOperation', () => {
  it('pays a tools/call: -32042, credential in params._meta with opaque echoed unchanged, receipt in result._meta; settles once', async () => {
    const shop = mppkitMcpShop()
    const client = sdkShapedClient(shop.handle)
    const paying = McpClient.wrap(client, { methods: [mppxTestpayClient('did:example:mppx-payer')] })

    const result = (await paying.callTool({ name: 'premium', arguments: { q: 'why?' } })) as AnyObject

    // The mppkit -32042 answer, as the mppx client saw it.
    expect(client.sent).toHaveLength(2)
    const first = errorOf(client.received[0])
    expect(first.code).toBe(-32042)
    expect(McpClient.isPaymentRequiredError(new McpErrorLike(first.code, first.message, first.data))).toBe(true)
    expect(first.data).toMatchObject({ httpStatus: 402, problem: { type: 'https://paymentauth.org/problems/payment-required' } })
    const offered = first.data.challenges[0] as McpChallenge
    expect(offered).toMatchObject({ realm: 'tools.mppkit.example', method: 'testpay', intent: 'charge', request: { amount: '1000', currency: 'usd', recipient: 'acct_shop' } })
    expect(Challenge.decodeOpaque(offered)).toEqual({ operation: 'tools/call:premium', nonce: expect.any(String) })

    // The paid retry: mppx put the credential in params._meta and echoed the challenge
    // member for member, `opaque` included, `request` as a JSON object.
    expect((client.sent[0]!.params as AnyObject)._meta).toBeUndefined()
    const params = client.sent[1]!.params as AnyObject
    expect(params.name).toBe('premium')
    expect(params.arguments).toEqual({ q: 'why?' })
    const credential = params._meta[CREDENTIAL_META]
    expect(credential.challenge).toEqual(offered)
    expect(credential.challenge.opaque).toBe(offered.opaque)
    expect(credential).toMatchObject({ payload: { payer: 'did:example:mppx-payer' }, source: 'did:example:mppx-payer' })
    expect(client.sent[1]!._meta).toBeUndefined() // MCP placement, not root

    // The result carries the receipt in result._meta; mppx surfaces it as `.receipt`.
    expect(result.content).toEqual([{ type: 'text', text: 'mppkit premium output' }])
    const receipt = { status: 'success', method: 'testpay', challengeId: offered.id, reference: 'tp_1', timestamp: expect.any(String) }
    expect(result._meta[RECEIPT_META]).toEqual(receipt)
    expect(result.receipt).toEqual(receipt)
    expect(result._meta[MppxMcp.receiptMetaKey]).toBe(result._meta[RECEIPT_META])

    // Exactly one settlement, for the challenge mppx paid; the tool ran once.
    expect(shop.settlements).toEqual([{ challengeId: offered.id, amount: '1000', currency: 'usd', payer: 'did:example:mppx-payer' }])
    expect(shop.events.filter((e) => e.type === 'payment-settled')).toHaveLength(1)
    expect(shop.runs).toHaveLength(1)
  })

  it('a replay of the mppx credential gets -32043 with a fresh challenge, which mppx would pay again; nothing settles twice', async () => {
    const shop = mppkitMcpShop()
    const client = sdkShapedClient(shop.handle)
    await McpClient.wrap(client, { methods: [mppxTestpayClient()] }).callTool({ name: 'premium' })
    const replay = errorOf(await shop.handle(client.sent[1]!))
    expect(replay.code).toBe(ErrorCode.verificationFailed)
    expect(replay.code).toBe(MppxMcp.paymentVerificationFailedCode)
    expect(replay.data.failure.reason).toBe('invalid-challenge')
    expect(replay.data.challenges[0].id).not.toBe((client.sent[1]!.params as AnyObject)._meta[CREDENTIAL_META].challenge.id)
    expect(McpClient.isPaymentRequiredError(new McpErrorLike(replay.code, replay.message, replay.data))).toBe(true)
    expect(shop.settlements).toHaveLength(1)
    expect(shop.runs).toHaveLength(1)
  })

  it('a bad proof: mppkit answers -32043 + fresh challenge each time; mppx retries 3 times, then throws it; nothing settles', async () => {
    const shop = mppkitMcpShop()
    const client = sdkShapedClient(shop.handle)
    const paying = McpClient.wrap(client, { methods: [mppxBadProofClient()] })
    const error = await paying.callTool({ name: 'premium' }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(McpErrorLike)
    expect((error as McpErrorLike).code).toBe(-32043)
    expect(((error as McpErrorLike).data as AnyObject).failure.reason).toBe('verification-failed')
    // 1 unpaid + 3 paid attempts (mppx's maxPaymentAttempts), each on a fresh challenge.
    expect(client.sent).toHaveLength(4)
    const ids = client.sent.slice(1).map((m) => (m.params as AnyObject)._meta[CREDENTIAL_META].challenge.id)
    expect(new Set(ids).size).toBe(3)
    expect(shop.settlements).toEqual([])
    expect(shop.runs).toEqual([])
  })

  it('a challenge mppx was given for tool A does not pay for tool B (operation bound in opaque)', async () => {
    const shop = mppkitMcpShop()
    const client = sdkShapedClient(shop.handle)
    await McpClient.wrap(client, { methods: [mppxTestpayClient()] }).callTool({ name: 'premium' })
    const stolen = (client.sent[1]!.params as AnyObject)._meta[CREDENTIAL_META]
    // A fresh credential for the same challenge (so it is not a replay), sent to tool B.
    const fresh = { ...stolen, payload: { ...stolen.payload } }
    const answer = errorOf(await shop.handle({ jsonrpc: '2.0', id: 9, method: 'tools/call', params: { name: 'other', _meta: { [CREDENTIAL_META]: fresh } } }))
    expect(answer.code).toBe(-32043)
    expect(answer.data.failure.reason).toBe('invalid-challenge')
    expect(shop.settlements).toHaveLength(1)
  })

  it('a malformed credential gets -32602, which mppx does not treat as payment-required (it surfaces the error)', async () => {
    const shop = mppkitMcpShop()
    const client = sdkShapedClient(shop.handle)
    const paying = McpClient.wrap(client, { methods: [mppxTestpayClient()] })
    // An mppx-built credential whose challenge lost its id.
    await paying.callTool({ name: 'premium' })
    const { id: _id, ...challenge } = (client.sent[1]!.params as AnyObject)._meta[CREDENTIAL_META].challenge
    const answer = errorOf(await shop.handle({ jsonrpc: '2.0', id: 10, method: 'tools/call', params: { name: 'premium', _meta: { [CREDENTIAL_META]: { challenge, payload: { proof: 'x', payer: 'y' } } } } }))
    expect(answer).toEqual({ code: -32602, message: 'Invalid params', data: { detail: 'Missing required field: challenge.id' } })
    expect(MppxMcp.invalidParamsCode).toBe(-32602)
    expect(McpClient.isPaymentRequiredError(new McpErrorLike(answer.code, answer.message, answer.data))).toBe(false)
  })

  // Receipt placement: mppx's McpClient reads the receipt only from `result._meta` (the
  // draft's MCP placement). mppkit's `placement: 'root'` (generic JSON-RPC) is therefore
  // invisible to it: the call succeeds and settles, but `.receipt` is undefined. MCP
  // servers must keep mppkit's default placement.
  it("receipt placement: mppx's client reads result._meta only, so mppkit's placement 'root' leaves .receipt undefined", async () => {
    const settlements: Settlement[] = []
    const server = createPaymentServer({ realm: 'tools.mppkit.example', secrets: [SECRET], methods: [mppkitTestpayServer(settlements)] })
    const rooted = paidOperation(server, { operation: 'tools/call:premium', amount: '1000', currency: 'usd', placement: 'root' })
    const client = sdkShapedClient(async (message) => rooted.handle(message, () => ({ content: [] })))
    const result = (await McpClient.wrap(client, { methods: [mppxTestpayClient()] }).callTool({ name: 'premium' })) as AnyObject
    expect((client.received[1] as AnyObject)._meta[RECEIPT_META].challengeId).toBe(settlements[0]!.challengeId)
    expect(result.receipt).toBeUndefined()
    expect(settlements).toHaveLength(1)
  })

  it('the mppx credential sent as a notification is dropped by mppkit: no answer, nothing settled or run', async () => {
    const shop = mppkitMcpShop()
    const first = errorOf(await shop.handle({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'premium' } }))
    const challenge = first.data.challenges[0] as AnyObject
    // Build the credential exactly as McpClient does: createCredential, then deserialize.
    const credential = MppxCredential.deserialize(await mppxTestpayClient().createCredential({ challenge: challenge as never }))
    const notification = { jsonrpc: '2.0', method: 'tools/call', params: { name: 'premium', _meta: { [CREDENTIAL_META]: credential } } } as JsonRpcRequest
    expect(await shop.handle(notification)).toBeUndefined()
    expect(shop.settlements).toEqual([])
    expect(shop.runs).toEqual([])
  })
})

// -----------------------------------------------------------------------------------------
// 2. mppkit client -> mppx server

function mppkitPayer(send: (message: JsonRpcRequest) => Promise<JsonRpcResponse>, driver = mppkitTestpayClient('did:example:mppkit-payer')) {
  const sent: JsonRpcRequest[] = []
  const received: JsonRpcResponse[] = []
  const events: ClientEvent[] = []
  const client = createMcpPaymentClient({
    origin: 'https://tools.mppx.example',
    methods: [driver],
    policy: { maxAmount: { usd: 5000n } },
    onEvent: (event) => events.push(event),
    send: async (message) => {
      const wire = JSON.parse(JSON.stringify(message)) as JsonRpcRequest
      sent.push(wire)
      const response = JSON.parse(JSON.stringify(await send(wire))) as JsonRpcResponse
      received.push(response)
      return response
    },
  })
  return { client, sent, received, events }
}

describe('mppkit MCP client (createMcpPaymentClient) -> mppx Transport.mcp()', () => {
  it('pays an mppx tool: -32042, credential in params._meta, receipt in result._meta with the challengeId; settles once', async () => {
    const shop = mppxMcpShop({ description: 'Premium (mppx)' })
    const payer = mppkitPayer(shop.handle)

    const { response, payment } = await payer.client.request({ jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'premium', arguments: { q: 1 } } })

    // mppx's -32042, as mppkit saw it.
    expect(payer.sent).toHaveLength(2)
    const first = errorOf(payer.received[0])
    expect(first).toMatchObject({ code: -32042, data: { httpStatus: 402, problem: { type: 'https://paymentauth.org/problems/payment-required' } } })
    const offered = first.data.challenges[0] as AnyObject
    expect(offered).toMatchObject({ realm: 'tools.mppx.example', method: 'testpay', intent: 'charge', description: 'Premium (mppx)', request: { amount: '1000', currency: 'usd', recipient: 'acct_mppx' } })

    // mppkit's paid retry: same id, same params, the credential in params._meta echoing mppx's challenge.
    expect(payer.sent[1]).toMatchObject({ jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'premium', arguments: { q: 1 } } })
    const credential = (payer.sent[1]!.params as AnyObject)._meta[CREDENTIAL_META]
    expect(credential.challenge).toEqual(offered)
    expect(credential).toMatchObject({ payload: { payer: 'did:example:mppkit-payer' }, source: 'did:example:mppkit-payer' })

    // The result, with the receipt where the draft puts it for MCP.
    const result = resultOf(response)
    expect(result.content).toEqual([{ type: 'text', text: 'mppx tool output' }])
    expect(result._meta[RECEIPT_META]).toEqual({ status: 'success', method: 'testpay', reference: 'tp_1', timestamp: expect.any(String), challengeId: offered.id })
    expect(payment?.receipt).toMatchObject({ status: 'success', method: 'testpay', reference: 'tp_1' })
    expect(payment?.challenge.id).toBe(offered.id)
    expect(payment?.offer).toMatchObject({ origin: 'https://tools.mppx.example', amount: 1000n, currency: 'usd', recipient: 'acct_mppx', description: 'Premium (mppx)' })
    expect(payer.events.map((e) => e.type)).toEqual(['challenge-received', 'payment-approved', 'credential-sent', 'receipt-received'])

    // Exactly one settlement; the tool ran once.
    expect(shop.settlements).toEqual([{ challengeId: offered.id, amount: '1000', currency: 'usd', payer: 'did:example:mppkit-payer' }])
    expect(shop.runs).toHaveLength(1)
  })

  it('mppx answers a bad mppkit proof with -32043 + fresh challenge; mppkit does not pay again and reports the rejection', async () => {
    const shop = mppxMcpShop()
    const bad = { ...mppkitTestpayClient(), pay: async () => ({ payload: { proof: 'not-a-proof', payer: 'p' } }) }
    const payer = mppkitPayer(shop.handle, bad as ReturnType<typeof mppkitTestpayClient>)
    const error = await payer.client.request({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'premium' } }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(PaymentRejectedError)
    expect(payer.sent).toHaveLength(2)
    const answer = errorOf(payer.received[1])
    expect(answer.code).toBe(-32043)
    expect(answer.data.problem.type).toBe('https://paymentauth.org/problems/verification-failed')
    expect(answer.data.challenges).toHaveLength(1)
    expect(shop.settlements).toEqual([])
    expect(shop.runs).toEqual([])
  })

  it('a replay of mppkit’s paid request to mppx gets -32043 and settles nothing more', async () => {
    const shop = mppxMcpShop()
    const payer = mppkitPayer(shop.handle)
    await payer.client.request({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'premium' } })
    const replay = errorOf(await shop.handle(payer.sent[1]!))
    expect(replay.code).toBe(-32043)
    expect(replay.data.problem.type).toBe('https://paymentauth.org/problems/invalid-challenge')
    expect(shop.settlements).toHaveLength(1)
  })

  it('mppx answers a malformed credential with -32602; mppkit passes that error through without paying', async () => {
    const shop = mppxMcpShop()
    const payer = mppkitPayer(shop.handle)
    const message = { jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'premium', _meta: { [CREDENTIAL_META]: { challenge: { realm: 'x' }, payload: 'nope' } } } } as JsonRpcRequest
    const { response, payment } = await payer.client.request(message)
    const error = errorOf(response)
    expect(error.code).toBe(-32602)
    expect(payment).toBeUndefined()
    expect(payer.sent).toHaveLength(1)
    expect(shop.settlements).toEqual([])
  })

  // mppx extension: when a route has `meta` (how an mppx server binds a challenge to one
  // tool), mppx's JSON-RPC challenge carries a non-draft `meta` object next to `opaque`
  // (its decoded form). mppkit accepts the challenge and echoes the draft members, opaque
  // byte for byte, but not `meta`; mppx's own client does the same (Credential.serialize
  // drops `meta` when `opaque` is present), and mppx re-derives meta from opaque.
  it('pays an mppx tool whose challenge is bound with meta (extra `meta` member); the binding holds across tools', async () => {
    const settlements: Settlement[] = []
    const toolA = mppxMcpShop({ meta: { tool: 'a' }, settlements })
    const toolB = mppxMcpShop({ meta: { tool: 'b' }, settlements })
    const payer = mppkitPayer(toolA.handle)
    const { response } = await payer.client.request({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'a' } })
    const offered = errorOf(payer.received[0]).data.challenges[0]
    expect(offered.meta).toEqual({ tool: 'a' })
    const echoed = (payer.sent[1]!.params as AnyObject)._meta[CREDENTIAL_META].challenge
    expect(echoed.opaque).toBe(offered.opaque)
    const { meta: _meta, ...draftMembers } = offered
    expect(echoed).toEqual(draftMembers)
    expect(resultOf(response)._meta[RECEIPT_META].challengeId).toBe(offered.id)
    expect(settlements).toHaveLength(1)

    // mppkit's credential for tool A, sent to tool B (same mppx secret): refused, nothing settles.
    const fresh = errorOf(await toolA.handle({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'a' } })).data.challenges[0]
    const credential = { challenge: fresh, payload: { proof: proofFor(fresh.id, '1000', 'usd'), payer: 'p' } }
    const crossed = errorOf(await toolB.handle({ jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'b', _meta: { [CREDENTIAL_META]: credential } } }))
    expect(crossed.code).toBe(-32043)
    expect(crossed.data.problem.type).toBe('https://paymentauth.org/problems/invalid-challenge')
    expect(settlements).toHaveLength(1)
  })

  // mppkit BUG (client): createMcpPaymentClient's bridge turns only -32042/-32043 into a
  // 402; every other JSON-RPC error becomes an HTTP 200. So when the paid retry is
  // answered -32602 (the draft's "malformed credential": nothing was processed; mppx also
  // uses it for a payload its method schema refuses, problem `invalid-payload`), the
  // client resolves as if it had paid: `payment` is set (no receipt), no `payment-failed`
  // event, and the budget reservation is never released, so the next, valid call is
  // refused by policy although nothing ever settled. Over HTTP the same refusal (mppx
  // answers 402 invalid-payload) releases the budget and throws PaymentRejectedError.
  // (The same bridge also drops the `refund` mppkit's own server puts in a -32603's data.)
  it('mppkit bug: a -32602 answer to the paid retry is treated as paid and keeps the budget reserved', async () => {
    const shop = mppxMcpShop()
    let broken = true
    const good = mppkitTestpayClient('did:example:mppkit-payer')
    // First payment: a payload without `payer`, which mppx's schema rejects (-32602).
    const flaky = { ...good, pay: async (context: Parameters<typeof good.pay>[0]) => (broken ? { payload: { proof: 'x' } } : good.pay(context)) }
    const events: ClientEvent[] = []
    const client = createMcpPaymentClient({
      origin: 'https://tools.mppx.example',
      methods: [flaky as typeof good],
      policy: { budgets: [{ currency: 'usd', limit: 1500n, period: 'day' }] },
      onEvent: (event) => events.push(event),
      send: async (message) => JSON.parse(JSON.stringify(await shop.handle(JSON.parse(JSON.stringify(message))))),
    })
    const outcome = await client.request({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'premium' } }).catch((e: unknown) => e)
    if (!(outcome instanceof PaymentRejectedError)) {
      const { response, payment } = outcome as Awaited<ReturnType<typeof client.request>>
      expect(errorOf(response).code).toBe(-32602)
      expect.soft(payment, 'a refused credential must not be reported as a payment').toBeUndefined()
    }
    expect.soft(events.map((e) => e.type)).toContain('payment-failed')
    expect(shop.settlements).toEqual([])

    // Nothing settled, so the 1500 budget still has room for a 1000 payment.
    broken = false
    const { response } = await client.request({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'premium' } })
    expect(resultOf(response)._meta[RECEIPT_META].reference).toBe('tp_1')
    expect(shop.settlements).toHaveLength(1)
  })

  // mppx deviation: the draft (§ Metadata Placement) says servers MUST check both the
  // nested and the root `_meta`. mppx's Transport.mcp() reads only `params._meta`, so a
  // credential in the root `_meta` is ignored and mppx answers -32042 again. mppkit's
  // client always uses `params._meta`, so this does not break mppkit -> mppx.
  it('mppx deviation: a credential in the root _meta is ignored by mppx (answers -32042 again, settles nothing)', async () => {
    const shop = mppxMcpShop()
    const payer = mppkitPayer(shop.handle)
    await payer.client.request({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'premium' } })
    const paid = payer.sent[1]!
    const { _meta, ...params } = paid.params as AnyObject
    // A fresh, never-used credential for a fresh challenge, placed at the root.
    const fresh = errorOf(await shop.handle({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'premium' } })).data.challenges[0]
    const credential = { challenge: fresh, payload: { proof: proofFor(fresh.id, '1000', 'usd'), payer: 'p' } }
    const root = errorOf(await shop.handle({ jsonrpc: '2.0', id: 3, method: 'tools/call', params, _meta: { [CREDENTIAL_META]: credential } }))
    expect(root.code).toBe(-32042)
    expect(shop.settlements).toHaveLength(1)
    // The same credential nested is accepted.
    const nested = await shop.handle({ jsonrpc: '2.0', id: 4, method: 'tools/call', params: { ...params, _meta: { [CREDENTIAL_META]: credential } } })
    expect(resultOf(nested)._meta[RECEIPT_META].challengeId).toBe(fresh.id)
    expect(shop.settlements).toHaveLength(2)
    void _meta
  })

  // mppx deviation: the draft (§ Notifications) says servers MUST NOT process payment-gated
  // operations invoked as notifications (and SHOULD drop them silently). mppx's
  // Transport.mcp() has no notion of a notification: an id-less request is challenged
  // like any other (an error "response" with no id), and an id-less request carrying a
  // valid credential is verified and settled.
  it('mppx deviation: a paid tools/call sent as a notification is still challenged, and settled when it carries a credential', async () => {
    const shop = mppxMcpShop()
    const unpaid = await shop.handle({ jsonrpc: '2.0', method: 'tools/call', params: { name: 'premium' } } as JsonRpcRequest)
    expect(errorOf(unpaid).code).toBe(-32042) // the draft: no answer at all
    const challenge = errorOf(unpaid).data.challenges[0]
    const credential = { challenge, payload: { proof: proofFor(challenge.id, '1000', 'usd'), payer: 'p' } }
    const paid = await shop.handle({ jsonrpc: '2.0', method: 'tools/call', params: { name: 'premium', _meta: { [CREDENTIAL_META]: credential } } } as JsonRpcRequest)
    expect(resultOf(paid)._meta[RECEIPT_META].challengeId).toBe(challenge.id)
    expect(shop.settlements).toHaveLength(1) // the draft: nothing processed
  })
})

// -----------------------------------------------------------------------------------------
// 3. The two codecs agree on the JSON-RPC constants and shapes.

describe('shared JSON-RPC vocabulary', () => {
  it('error codes and _meta keys are the same on both sides', () => {
    expect(ErrorCode.paymentRequired).toBe(MppxMcp.paymentRequiredCode)
    expect(ErrorCode.verificationFailed).toBe(MppxMcp.paymentVerificationFailedCode)
    expect(ErrorCode.invalidParams).toBe(MppxMcp.invalidParamsCode)
    expect(ErrorCode.internal).toBe(MppxMcp.internalErrorCode)
    expect(CREDENTIAL_META).toBe(MppxMcp.credentialMetaKey)
    expect(RECEIPT_META).toBe(MppxMcp.receiptMetaKey)
  })
})
