/**
 * Payments over JSON-RPC / MCP (draft-payment-transport-mcp-00): the server binding
 * (paidOperation) and the paying client (createMcpPaymentClient), with the in-memory
 * ledger method. Cases follow the draft's §5–§9 and the digest's MCP list.
 */
import { describe, expect, it } from 'vitest'
import { Challenge, Json } from '../../src/index.js'
import { PaymentDeniedError } from '../../src/client/index.js'
import { CREDENTIAL_META, createMcpPaymentClient, ErrorCode, paidOperation, RECEIPT_META, type JsonRpcRequest, type JsonRpcResponse, type McpChallenge } from '../../src/mcp/index.js'
import { createPaymentServer } from '../../src/server/index.js'
import { createLedger } from '../../src/testing/index.js'

function setup() {
  const ledger = createLedger()
  const payer = ledger.open('payer', 1_000n)
  const server = createPaymentServer({ realm: 'tools.example.com', secrets: ['m'.repeat(32)], methods: [ledger.server({ recipient: 'shop' })] })
  const runs: string[] = []
  const tool = (name: string, fail = false) =>
    paidOperation(server, { operation: `tools/call:${name}`, price: '0.10', description: `${name} call` })
  const premium = tool('premium')
  const other = tool('other')
  const handle = (message: JsonRpcRequest, operation = premium, fail = false) =>
    operation.handle(message, async (params) => {
      runs.push(JSON.stringify(params))
      if (fail) throw new Error('tool crashed')
      return { content: [{ type: 'text', text: 'analysis' }] }
    })
  return { ledger, payer, server, runs, premium, other, handle }
}

const call = (id: number, extra: Record<string, unknown> = {}, root?: Record<string, unknown>): JsonRpcRequest => ({
  jsonrpc: '2.0',
  id,
  method: 'tools/call',
  params: { name: 'premium', arguments: { q: 1 }, ...extra },
  ...(root && { _meta: root }),
})

async function challengeOf(fx: ReturnType<typeof setup>) {
  const response = await fx.handle(call(1))
  if (!response || !('error' in response)) throw new Error('expected a payment error')
  return (response.error.data as { challenges: McpChallenge[] }).challenges[0]!
}

async function credentialFor(fx: ReturnType<typeof setup>, challenge: McpChallenge) {
  const wire = { ...challenge, request: Json.encodeCanonical(challenge.request) }
  const { payload } = await fx.ledger.client(fx.payer).pay({ challenge: wire, request: challenge.request as never, signal: new AbortController().signal })
  return { challenge, payload }
}

describe('MCP server binding', () => {
  it('answers an unpaid tools/call with -32042, httpStatus 402 and challenges whose request is a JSON object', async () => {
    const fx = setup()
    const response = (await fx.handle(call(1)))!
    expect('error' in response && response.error.code).toBe(ErrorCode.paymentRequired)
    const data = (response as { error: { data: any } }).error.data
    expect(data.httpStatus).toBe(402)
    expect(data.problem.type).toBe('https://paymentauth.org/problems/payment-required')
    const [challenge] = data.challenges as McpChallenge[]
    expect(challenge!.request).toEqual({ amount: '10', currency: 'usd', recipient: 'shop' })
    expect(typeof challenge!.request).toBe('object')
    expect(challenge!).toMatchObject({ realm: 'tools.example.com', method: 'ledger', intent: 'charge', description: 'premium call' })
    expect(fx.runs).toEqual([])
  })

  it('runs a paid call with the credential in params._meta and puts the receipt in result._meta', async () => {
    const fx = setup()
    const credential = await credentialFor(fx, await challengeOf(fx))
    const response = (await fx.handle(call(2, { _meta: { [CREDENTIAL_META]: credential } })))!
    expect('result' in response).toBe(true)
    const result = (response as { result: any }).result
    expect(result.content[0].text).toBe('analysis')
    expect(result._meta[RECEIPT_META]).toMatchObject({ status: 'success', method: 'ledger', challengeId: credential.challenge.id, reference: 'ltx_1' })
    expect(fx.ledger.balance('shop')).toBe(10n)
    expect(fx.runs).toHaveLength(1)
  })

  it('also reads the credential from the root _meta (generic JSON-RPC)', async () => {
    const fx = setup()
    const credential = await credentialFor(fx, await challengeOf(fx))
    const response = (await fx.handle(call(3, {}, { [CREDENTIAL_META]: credential })))!
    expect('result' in response).toBe(true)
    expect(fx.ledger.transfers).toHaveLength(1)
  })

  it('verifies an echoed request whose keys were reordered (JCS)', async () => {
    const fx = setup()
    const credential = await credentialFor(fx, await challengeOf(fx))
    const reordered = { ...credential, challenge: { ...credential.challenge, request: { recipient: 'shop', currency: 'usd', amount: '10' } } }
    const response = (await fx.handle(call(4, { _meta: { [CREDENTIAL_META]: reordered } })))!
    expect('result' in response).toBe(true)
  })

  it('answers a bad proof with -32043, a fresh challenge and a failure reason, and runs nothing', async () => {
    const fx = setup()
    const credential = await credentialFor(fx, await challengeOf(fx))
    const forged = { ...credential, payload: { ...credential.payload, signature: 'AAAA' } }
    const response = (await fx.handle(call(5, { _meta: { [CREDENTIAL_META]: forged } })))!
    const error = (response as { error: any }).error
    expect(error.code).toBe(ErrorCode.verificationFailed)
    expect(error.data.failure.reason).toBe('verification-failed')
    expect(error.data.challenges[0].id).not.toBe(credential.challenge.id)
    expect(fx.runs).toEqual([])
    expect(fx.ledger.transfers).toHaveLength(0)
  })

  it('answers a credential without challenge.id with -32602', async () => {
    const fx = setup()
    const credential = await credentialFor(fx, await challengeOf(fx))
    const { id: _id, ...challenge } = credential.challenge
    const response = (await fx.handle(call(6, { _meta: { [CREDENTIAL_META]: { ...credential, challenge } } })))!
    expect((response as { error: any }).error).toMatchObject({ code: ErrorCode.invalidParams, data: { detail: 'Missing required field: challenge.id' } })
  })

  it('drops a paid call sent as a notification: no reply, nothing run', async () => {
    const fx = setup()
    const credential = await credentialFor(fx, await challengeOf(fx))
    const { id: _id, ...notification } = call(7, { _meta: { [CREDENTIAL_META]: credential } })
    expect(await fx.handle(notification as JsonRpcRequest)).toBeUndefined()
    expect(fx.runs).toEqual([])
    expect(fx.ledger.transfers).toHaveLength(0)
  })

  it('refuses a challenge issued for tool A on tool B, even at the same price', async () => {
    const fx = setup()
    const credential = await credentialFor(fx, await challengeOf(fx))
    const response = (await fx.handle(call(8, { name: 'other', _meta: { [CREDENTIAL_META]: credential } }), fx.other))!
    const error = (response as { error: any }).error
    expect(error.code).toBe(ErrorCode.verificationFailed)
    expect(error.data.failure.reason).toBe('invalid-challenge')
    expect(fx.ledger.transfers).toHaveLength(0)
  })

  it('refuses a replay of a paid credential', async () => {
    const fx = setup()
    const credential = await credentialFor(fx, await challengeOf(fx))
    await fx.handle(call(9, { _meta: { [CREDENTIAL_META]: credential } }))
    const again = (await fx.handle(call(10, { _meta: { [CREDENTIAL_META]: credential } })))!
    expect((again as { error: any }).error.code).toBe(ErrorCode.verificationFailed)
    expect(fx.ledger.transfers).toHaveLength(1)
  })

  it('refunds when the tool fails after payment and says so in the error', async () => {
    const fx = setup()
    const credential = await credentialFor(fx, await challengeOf(fx))
    const response = (await fx.handle(call(11, { _meta: { [CREDENTIAL_META]: credential } }), fx.premium, true))!
    const error = (response as { error: any }).error
    expect(error.code).toBe(ErrorCode.internal)
    expect(error.data.refund).toMatchObject({ status: 'refunded', method: 'ledger' })
    expect(fx.ledger.balance('payer')).toBe(1_000n)
  })

  it('puts the receipt in the root _meta with placement root', async () => {
    const fx = setup()
    const rpc = paidOperation(fx.server, { operation: 'eth_call', price: '0.10', placement: 'root' })
    const first = (await rpc.handle({ jsonrpc: '2.0', id: 1, method: 'eth_call', params: ['latest'] }, async () => ({ value: '0x1' })))!
    const challenge = ((first as { error: any }).error.data.challenges as McpChallenge[])[0]!
    const credential = await credentialFor(fx, challenge)
    const paid = (await rpc.handle({ jsonrpc: '2.0', id: 2, method: 'eth_call', params: ['latest'], _meta: { [CREDENTIAL_META]: credential } }, async () => ({ value: '0x1' })))!
    expect(paid).toMatchObject({ result: { value: '0x1' }, _meta: { [RECEIPT_META]: { challengeId: challenge.id } } })
  })
})

describe('MCP paying client', () => {
  it('pays a -32042 within policy and returns the result with what was paid', async () => {
    const fx = setup()
    const sent: JsonRpcRequest[] = []
    const client = createMcpPaymentClient({
      origin: 'https://tools.example.com',
      methods: [fx.ledger.client(fx.payer)],
      policy: { maxAmount: { usd: 50n } },
      send: async (message) => {
        sent.push(message)
        return (await fx.handle(message)) as JsonRpcResponse
      },
    })
    const { response, payment } = await client.request(call(20))
    expect('result' in response && (response.result as any).content[0].text).toBe('analysis')
    expect(payment?.receipt?.reference).toBe('ltx_1')
    expect(payment?.offer).toMatchObject({ origin: 'https://tools.example.com', amount: 10n, display: '0.1 usd' })
    expect(sent).toHaveLength(2)
    expect((sent[0]!.params as any)._meta).toBeUndefined()
    const echoed = (sent[1]!.params as any)._meta[CREDENTIAL_META].challenge
    expect(echoed.request).toEqual({ amount: '10', currency: 'usd', recipient: 'shop' })
    expect(fx.ledger.balance('shop')).toBe(10n)
  })

  it('refuses what policy refuses and sends no credential', async () => {
    const fx = setup()
    const sent: JsonRpcRequest[] = []
    const client = createMcpPaymentClient({
      origin: 'https://tools.example.com',
      methods: [fx.ledger.client(fx.payer)],
      policy: { maxAmount: { usd: 5n } },
      send: async (message) => {
        sent.push(message)
        return (await fx.handle(message)) as JsonRpcResponse
      },
    })
    await expect(client.request(call(21))).rejects.toBeInstanceOf(PaymentDeniedError)
    expect(sent).toHaveLength(1)
    expect(fx.ledger.transfers).toHaveLength(0)
  })

  it('releases the budget when the tool fails after payment and the server refunds', async () => {
    const fx = setup()
    let failing = true
    const client = createMcpPaymentClient({
      origin: 'https://tools.example.com',
      methods: [fx.ledger.client(fx.payer)],
      policy: { budgets: [{ currency: 'usd', limit: 10n, period: 'day' }] },
      send: async (message) => (await fx.handle(message, fx.premium, failing)) as JsonRpcResponse,
    })
    const { response } = await client.request(call(23))
    expect('error' in response && response.error.code).toBe(ErrorCode.internal)
    expect(fx.ledger.balance('payer')).toBe(1_000n)
    failing = false
    // The refunded 0.10 no longer counts against the 0.10 daily budget.
    const { payment } = await client.request(call(24))
    expect(payment?.receipt?.reference).toBeDefined()
    expect(fx.ledger.balance('payer')).toBe(990n)
  })

  it('passes through an answer that needs no payment', async () => {
    const fx = setup()
    const client = createMcpPaymentClient({
      origin: 'https://tools.example.com',
      methods: [fx.ledger.client(fx.payer)],
      send: async (message) => ({ jsonrpc: '2.0', id: message.id ?? null, result: { tools: [] } }),
    })
    const { response, payment } = await client.request({ jsonrpc: '2.0', id: 22, method: 'tools/list' })
    expect(response).toEqual({ jsonrpc: '2.0', id: 22, result: { tools: [] } })
    expect(payment).toBeUndefined()
  })
})

describe('challenge conversion', () => {
  it('round-trips a wire challenge through the JSON-RPC form', async () => {
    const fx = setup()
    const challenge = await challengeOf(fx)
    const wire = Challenge.validate({ ...challenge, request: Json.encodeCanonical(challenge.request) })
    expect(Challenge.decodeRequest(wire)).toEqual(challenge.request)
  })
})
