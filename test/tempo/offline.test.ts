/**
 * tempo/charge flows that must never touch a chain, end to end through
 * createPaymentServer / createPaymentFetch, with a viem transport that records (and
 * refuses) every RPC call and accounts that record every signature:
 *
 * - zero-amount proofs (draft-tempo-charge-00 §5.3; mpp-digest §8 items 93-94): verified
 *   offline, receipt reference = challenge id;
 * - client refusals (§"Amount Verification"; item 88): a challenge for another chain,
 *   token or recipient, or with splits that leave the recipient nothing, is refused
 *   with nothing signed and nothing sent.
 *
 * This file starts no node.
 */
import { createClient, custom, type Address, type Hex, type LocalAccount } from 'viem'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { beforeEach, describe, expect, it } from 'vitest'
import { Challenge, isMppError } from '../../src/index.js'
import type { JsonObject } from '../../src/internal/json.js'
import { createPaymentFetch } from '../../src/client/index.js'
import { chargeClient, Proof, tempoChain, TOKENS, type ChargeClientOptions } from '../../src/methods/tempo/index.js'
import { MERCHANT, problemCode, receiptOf, REALM, shop, URL_ } from './support/shop.js'

const CHAIN_ID = 31337
const OTHER: Address = privateKeyToAccount(generatePrivateKey()).address

/** Every RPC request a viem client made; all of them fail (there is no node). */
let rpc: string[] = []
const offlineClient = (chainId = CHAIN_ID) =>
  createClient({
    chain: tempoChain('http://127.0.0.1:9', chainId),
    transport: custom(
      {
        async request({ method }: { method: string }) {
          rpc.push(method)
          throw new Error(`no node in this test (${method})`)
        },
      },
      { retryCount: 0 },
    ),
  })

/** A local account that records every signing call. */
function spyAccount() {
  const inner = privateKeyToAccount(generatePrivateKey())
  const signed: string[] = []
  const account: LocalAccount = {
    ...inner,
    async sign(parameters) {
      signed.push('sign')
      return inner.sign!(parameters)
    },
    async signMessage(parameters) {
      signed.push('message')
      return inner.signMessage(parameters)
    },
    async signTransaction(transaction, options) {
      signed.push('transaction')
      return inner.signTransaction(transaction, options as never)
    },
    async signTypedData(parameters) {
      signed.push('typedData')
      return inner.signTypedData(parameters as never)
    },
  }
  return { account, signed }
}

beforeEach(() => {
  rpc = []
})

describe('zero-amount proof (server)', () => {
  const zeroShop = () => shop({ client: offlineClient(), route: { price: '0' } })

  it('a valid draft proof -> 200, receipt reference = challenge id, no RPC at all', async () => {
    const s = zeroShop()
    const challenge = await s.challenge()
    const payer = privateKeyToAccount(generatePrivateKey())
    const signature = await payer.signTypedData(Proof.typedData(CHAIN_ID, challenge.id))
    const response = await s.present(challenge, { type: 'proof', signature }, Proof.did(CHAIN_ID, payer.address))
    expect(response.status).toBe(200)
    const receipt = receiptOf(response)
    expect(receipt.reference).toBe(challenge.id)
    expect(receipt.method).toBe('tempo')
    expect(receipt.status).toBe('success')
    expect(s.delivered()).toBe(1)
    expect(rpc).toEqual([])
  })

  it('the request says amount "0" and no chain operation is needed', async () => {
    const challenge = await zeroShop().challenge()
    expect(Challenge.decodeRequest(challenge)).toMatchObject({ amount: '0', currency: TOKENS.pathUSD, methodDetails: { chainId: CHAIN_ID } })
  })

  it('the receipt echoes the request\u2019s externalId (taken from the request, digest §7 item 9)', async () => {
    const s = shop({ client: offlineClient(), route: { price: '0', externalId: 'order-7' } })
    const challenge = await s.challenge()
    const payer = privateKeyToAccount(generatePrivateKey())
    const signature = await payer.signTypedData(Proof.typedData(CHAIN_ID, challenge.id))
    const response = await s.present(challenge, { type: 'proof', signature }, Proof.did(CHAIN_ID, payer.address))
    expect(response.status).toBe(200)
    expect(receiptOf(response).externalId).toBe('order-7')
  })

  it('an mppx-style v3 proof (account, challengeId, realm) is also accepted', async () => {
    const s = zeroShop()
    const challenge = await s.challenge()
    const payer = privateKeyToAccount(generatePrivateKey())
    const signature = await payer.signTypedData(Proof.mppxTypedData(CHAIN_ID, challenge.id, REALM, payer.address))
    const response = await s.present(challenge, { type: 'proof', signature }, Proof.did(CHAIN_ID, payer.address))
    expect(response.status).toBe(200)
    expect(receiptOf(response).reference).toBe(challenge.id)
  })

  it('the mppkit client pays a zero-amount route with a proof, nothing sent on chain', async () => {
    const s = zeroShop()
    const { account, signed } = spyAccount()
    const pay = createPaymentFetch({ methods: [chargeClient({ account, client: offlineClient() })], fetch: s.fetch })
    const response = await pay(URL_)
    expect(response.status).toBe(200)
    expect(response.payment?.receipt?.reference).toBe(response.payment?.challenge.id)
    expect(signed).toEqual(['typedData'])
    expect(rpc).toEqual([])
  })

  type Case = { name: string; make: (challenge: Challenge.Challenge, other: Challenge.Challenge) => Promise<{ payload: JsonObject; source?: string }> }
  const payer = privateKeyToAccount(generatePrivateKey())
  const sign = (chainId: number, id: string) => payer.signTypedData(Proof.typedData(chainId, id))
  const rejected: Case[] = [
    { name: 'no source', make: async (c) => ({ payload: { type: 'proof', signature: await sign(CHAIN_ID, c.id) } }) },
    {
      name: 'a source that is not did:pkh',
      make: async (c) => ({ payload: { type: 'proof', signature: await sign(CHAIN_ID, c.id) }, source: payer.address }),
    },
    {
      name: 'a source on another chain (signature for this chain)',
      make: async (c) => ({ payload: { type: 'proof', signature: await sign(CHAIN_ID, c.id) }, source: Proof.did(42431, payer.address) }),
    },
    {
      name: 'a source and signature both for another chain',
      make: async (c) => ({ payload: { type: 'proof', signature: await sign(42431, c.id) }, source: Proof.did(42431, payer.address) }),
    },
    {
      name: 'a signature for another chain id',
      make: async (c) => ({ payload: { type: 'proof', signature: await sign(42431, c.id) }, source: Proof.did(CHAIN_ID, payer.address) }),
    },
    {
      name: 'signed over another (real) challenge id',
      make: async (_c, other) => ({ payload: { type: 'proof', signature: await sign(CHAIN_ID, other.id) }, source: Proof.did(CHAIN_ID, payer.address) }),
    },
    {
      name: 'a source naming someone else than the signer',
      make: async (c) => ({ payload: { type: 'proof', signature: await sign(CHAIN_ID, c.id) }, source: Proof.did(CHAIN_ID, MERCHANT) }),
    },
    {
      name: 'an mppx v3 proof for another realm',
      make: async (c) => ({
        payload: { type: 'proof', signature: await payer.signTypedData(Proof.mppxTypedData(CHAIN_ID, c.id, 'other.realm', payer.address)) },
        source: Proof.did(CHAIN_ID, payer.address),
      }),
    },
    { name: 'a transaction payload', make: async () => ({ payload: { type: 'transaction', signature: '0x76c0' }, source: Proof.did(CHAIN_ID, payer.address) }) },
    { name: 'a hash payload', make: async () => ({ payload: { type: 'hash', hash: `0x${'ab'.repeat(32)}` }, source: Proof.did(CHAIN_ID, payer.address) }) },
  ]
  for (const { name, make } of rejected)
    it(`rejected: ${name} -> 402 verification-failed`, async () => {
      const s = zeroShop()
      const [challenge, other] = [await s.challenge(), await s.challenge()]
      const { payload, source } = await make(challenge, other)
      const response = await s.present(challenge, payload, source)
      expect(response.status).toBe(402)
      expect(await problemCode(response)).toBe('verification-failed')
      expect(response.headers.get('payment-receipt')).toBeNull()
      expect(s.delivered()).toBe(0)
      expect(rpc).toEqual([])
    })

  it('rejected: a proof for a non-zero amount (item 94)', async () => {
    const s = shop({ client: offlineClient(), route: { price: '0.25' } })
    const challenge = await s.challenge()
    const response = await s.present(challenge, { type: 'proof', signature: await sign(CHAIN_ID, challenge.id) }, Proof.did(CHAIN_ID, payer.address))
    expect(response.status).toBe(402)
    expect(await problemCode(response)).toBe('verification-failed')
    expect(s.delivered()).toBe(0)
    expect(rpc).toEqual([])
  })

  it('the same proof credential twice -> the second is invalid-challenge', async () => {
    const s = zeroShop()
    const challenge = await s.challenge()
    const payload = { type: 'proof', signature: await sign(CHAIN_ID, challenge.id) }
    expect((await s.present(challenge, payload, Proof.did(CHAIN_ID, payer.address))).status).toBe(200)
    const again = await s.present(challenge, payload, Proof.did(CHAIN_ID, payer.address))
    expect(again.status).toBe(402)
    expect(await problemCode(again)).toBe('invalid-challenge')
    expect(s.delivered()).toBe(1)
  })
})

describe('client refusals: nothing signed, nothing sent', () => {
  /** A seller that answers every request with one hand-made challenge, and records what it was sent. */
  function handMade(request: JsonObject) {
    const challenge = Challenge.from({
      id: 'hand-made-challenge-id',
      realm: REALM,
      method: 'tempo',
      intent: 'charge',
      request,
      expires: new Date(Date.now() + 5 * 60_000),
    })
    const authorizations: Array<string | null> = []
    const fetchImpl = (async (input: RequestInfo | URL, init?: RequestInit) => {
      authorizations.push(new Request(input, init).headers.get('authorization'))
      return new Response(null, { status: 402, headers: { 'www-authenticate': Challenge.serialize(challenge) } })
    }) as typeof fetch
    return { fetch: fetchImpl, authorizations }
  }

  /**
   * Refused both ways, with nothing signed, no RPC and no credential sent: the paying
   * fetch skips or refuses the offer (method-unsupported when no offer is payable,
   * policy-denied when the driver refuses), and the driver's own `pay` refuses the
   * challenge if called directly.
   */
  async function expectRefused(seller: { fetch: typeof fetch; authorizations?: Array<string | null> }, options: Partial<ChargeClientOptions> = {}) {
    const { account, signed } = spyAccount()
    const driver = chargeClient({ account, client: offlineClient(), ...options })
    const pay = createPaymentFetch({ methods: [driver], fetch: seller.fetch })
    const error = await pay(URL_).then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(isMppError(error, 'policy-denied') || isMppError(error, 'method-unsupported'), String(error)).toBe(true)
    expect(signed).toEqual([])
    expect(rpc).toEqual([])
    if (seller.authorizations) expect(seller.authorizations.filter((a) => a !== null)).toEqual([])

    const response = await seller.fetch(URL_)
    const [challenge] = Challenge.parseList(response.headers.get('www-authenticate')!)
    const direct = await driver
      .pay({ challenge: challenge!, request: Challenge.decodeRequest(challenge!) as never, signal: new AbortController().signal })
      .then(
        () => undefined,
        (e: unknown) => e,
      )
    expect(isMppError(direct, 'policy-denied'), String(direct)).toBe(true)
    expect(signed).toEqual([])
    expect(rpc).toEqual([])
  }

  const base = { amount: '250000', currency: TOKENS.pathUSD, recipient: MERCHANT }

  it('a challenge for another chain id (the server is on 42431, the client on 31337)', async () => {
    const s = shop({ client: offlineClient(42431) })
    expect(Challenge.decodeRequest(await s.challenge())).toMatchObject({ methodDetails: { chainId: 42431 } })
    await expectRefused(s)
    expect(s.delivered()).toBe(0)
  })

  it('a challenge with no chain id (the draft default 42431) on a 31337 client', async () => {
    await expectRefused(handMade({ ...base }))
  })

  it('a currency outside expect.currencies', async () => {
    const s = shop({ client: offlineClient(), tempo: { currency: TOKENS.alphaUSD } })
    await expectRefused(s, { expect: { currencies: [TOKENS.pathUSD] } })
  })

  it('a recipient outside expect.recipients', async () => {
    const s = shop({ client: offlineClient(), tempo: { recipient: OTHER } })
    await expectRefused(s, { expect: { recipients: [MERCHANT] } })
  })

  it('a split recipient outside expect.recipients (draft: "verify ... that all split recipients are expected")', async () => {
    const s = shop({ client: offlineClient(), route: { price: '0.25', tempo: { splits: [{ amount: '10000', recipient: OTHER }] } } })
    await expectRefused(s, { expect: { recipients: [MERCHANT] } })
  })

  it('splits summing to exactly the amount', async () => {
    await expectRefused(handMade({ ...base, methodDetails: { chainId: CHAIN_ID, splits: [{ amount: '200000', recipient: OTHER }, { amount: '50000', recipient: OTHER }] } }))
  })

  it('splits summing to more than the amount', async () => {
    await expectRefused(handMade({ ...base, methodDetails: { chainId: CHAIN_ID, splits: [{ amount: '250001', recipient: OTHER }] } }))
  })

  it('the same challenges are paid when the client is told to expect them (control)', async () => {
    // Refusals above are about the challenge, not the set-up: a matching one signs.
    const { account, signed } = spyAccount()
    const client = chargeClient({ account, client: offlineClient(), expect: { currencies: [TOKENS.pathUSD], recipients: [MERCHANT] } })
    const challenge = Challenge.from({ id: 'c', realm: REALM, method: 'tempo', intent: 'charge', request: { ...base, amount: '0', methodDetails: { chainId: CHAIN_ID } } })
    const payment = await client.pay({ challenge, request: Challenge.decodeRequest(challenge) as never, signal: new AbortController().signal })
    expect(payment.payload.type).toBe('proof')
    expect(signed).toEqual(['typedData'])
    expect(payment.source).toBe(Proof.did(CHAIN_ID, account.address))
    const signature = (payment.payload as { signature: Hex }).signature
    expect(await Proof.verify({ address: account.address, chainId: CHAIN_ID, challengeId: 'c', realm: REALM, signature })).toBe(true)
  })
})
