/**
 * Interop with mppx 0.11.0 (the reference SDK) on one real `anvil --network tempo`
 * (notes docs/research/tempo.md §7): an mppx client pays an mppkit tempo server (pull with
 * its expiring-nonce transferWithMemo and no fee token, push, proof, sponsored 0x78),
 * and the mppkit client pays an mppx tempo server (which requires its attribution memo
 * on the transfer). Every payment comes from a fresh funded payer (mppx always uses an
 * expiring nonce: anvil mines only the first per sender).
 */
import { createClient, http, isAddressEqual, type Hex } from 'viem'
import { Mppx as MppxClient, tempo as tempoClient } from 'mppx/client'
import { Mppx as MppxServer, Store, tempo as tempoServer } from 'mppx/server'
import { describe, expect, it } from 'vitest'
import { Credential } from '../../src/index.js'
import { createPaymentFetch } from '../../src/client/index.js'
import { AttributionMemo, chargeClient } from '../../src/methods/tempo/index.js'
import { feeOf, chainForThisFile, TOKENS, transfersOf } from './support/chain.js'
import { MERCHANT, receiptOf, REALM, shop, URL_, type Shop } from './support/shop.js'
import type { PrivateKeyAccount } from 'viem/accounts'

const chain = await chainForThisFile()

const AMOUNT = 250_000n
const merchantBalance = () => chain.balance(TOKENS.pathUSD, MERCHANT)
const getClient = () => createClient({ chain: chain.chain, transport: http(chain.url) })

/** An mppx client for `payer` whose requests go to `s`, recording the credentials it sends. */
function mppxClientFor(s: { fetch: typeof fetch }, payer: PrivateKeyAccount, mode?: 'pull' | 'push') {
  const sent: Credential.Credential[] = []
  const recording = (async (input: RequestInfo | URL, init?: RequestInit) => {
    const authorization = new Request(input, init).headers.get('authorization')
    if (authorization) sent.push(Credential.parse(authorization))
    return s.fetch(input, init)
  }) as typeof fetch
  const client = MppxClient.create({
    methods: [tempoClient.charge({ account: payer, getClient, ...(mode && { mode }) })],
    polyfill: false,
    fetch: recording,
  })
  return { fetch: (url: string) => client.fetch(url), sent }
}

describe('mppx 0.11.0 client -> mppkit tempo server', () => {
  it('pull: transferWithMemo(attribution), expiring nonce, no fee token -> 200, balances moved', async () => {
    const s: Shop = shop({ client: chain.client })
    const payer = await chain.fundPayer()
    const merchantBefore = await merchantBalance()
    const mppx = mppxClientFor(s, payer, 'pull')
    const response = await mppx.fetch(URL_)
    expect(response.status, await response.clone().text()).toBe(200)
    expect(mppx.sent.map((c) => c.payload.type)).toEqual(['transaction'])
    const credential = mppx.sent[0]!
    const reference = receiptOf(response).reference as Hex
    const mined = await chain.receipt(reference)
    expect(mined?.status).toBe('success')
    expect(isAddressEqual(mined!.from, payer.address)).toBe(true)
    const memo = transfersOf(mined!).find((t) => t.event === 'TransferWithMemo')?.memo
    expect(AttributionMemo.binds(memo!, REALM, credential.challenge.id)).toBe(true)
    expect(await merchantBalance()).toBe(merchantBefore + AMOUNT)
    // No fee token: the node charged the fee in the only token the payer holds.
    const fee = feeOf(mined!)
    expect(await chain.balance(TOKENS.pathUSD, payer.address)).toBe(10_000_000n - AMOUNT - (fee.token.toLowerCase() === TOKENS.pathUSD ? fee.amount : 0n))
    expect(s.delivered()).toBe(1)
  })

  it('push: the mppx client broadcasts and sends the hash -> 200, reference = that hash', async () => {
    const s = shop({ client: chain.client })
    const payer = await chain.fundPayer()
    const merchantBefore = await merchantBalance()
    const mppx = mppxClientFor(s, payer, 'push')
    const response = await mppx.fetch(URL_)
    expect(response.status, await response.clone().text()).toBe(200)
    expect(mppx.sent.map((c) => c.payload.type)).toEqual(['hash'])
    expect(receiptOf(response).reference).toBe(mppx.sent[0]!.payload.hash)
    expect(await merchantBalance()).toBe(merchantBefore + AMOUNT)
  })

  it('zero amount: the mppx v3 proof -> 200, reference = challenge id', async () => {
    const s = shop({ client: chain.client, route: { price: '0' } })
    const payer = await chain.fundPayer()
    const mppx = mppxClientFor(s, payer)
    const response = await mppx.fetch(URL_)
    expect(response.status, await response.clone().text()).toBe(200)
    expect(mppx.sent.map((c) => c.payload.type)).toEqual(['proof'])
    expect(receiptOf(response).reference).toBe(mppx.sent[0]!.challenge.id)
  })

  it('fee payer: the mppx 0x78 handoff is co-signed by the mppkit server; the payer pays only the amount', async () => {
    const sponsor = await chain.fundPayer(10_000_000n, TOKENS.betaUSD)
    const s = shop({ client: chain.client, tempo: { feePayer: { account: sponsor, feeToken: TOKENS.betaUSD } } })
    const payer = await chain.fundPayer()
    const mppx = mppxClientFor(s, payer)
    const response = await mppx.fetch(URL_)
    expect(response.status, await response.clone().text()).toBe(200)
    expect(String(mppx.sent[0]!.payload.signature).slice(0, 4)).toBe('0x78')
    const mined = await chain.receipt(receiptOf(response).reference as Hex)
    expect(isAddressEqual(feeOf(mined!).from, sponsor.address)).toBe(true)
    expect(await chain.balance(TOKENS.pathUSD, payer.address)).toBe(10_000_000n - AMOUNT)
  })
})

describe('mppkit client -> mppx 0.11.0 tempo server', () => {
  function mppxShop() {
    const mppx = MppxServer.create({
      methods: [tempoServer.charge({ getClient, currency: TOKENS.pathUSD, recipient: MERCHANT, store: Store.memory() })],
      realm: 'mppx.test',
      secretKey: 'mppx-interop-secret-0123456789abcdef',
    })
    let delivered = 0
    const handler = async (request: Request): Promise<Response> => {
      const result = await mppx.charge({ amount: '0.25' })(request)
      if (result.status === 402) return result.challenge
      delivered++
      return result.withReceipt(new Response('PAID'))
    }
    return {
      fetch: (async (input: RequestInfo | URL, init?: RequestInit) => handler(new Request(input, init))) as typeof fetch,
      delivered: () => delivered,
    }
  }

  for (const mode of ['pull', 'push'] as const)
    it(`${mode}: the attribution memo mppkit sends by default satisfies mppx -> 200, balances moved`, async () => {
      const seller = mppxShop()
      const payer = await chain.fundPayer()
      const merchantBefore = await merchantBalance()
      const pay = createPaymentFetch({ methods: [chargeClient({ account: payer, client: chain.client, mode })], fetch: seller.fetch })
      const response = await pay('https://mppx.test/resource')
      expect(response.status, await response.clone().text()).toBe(200)
      expect(await response.text()).toBe('PAID')
      expect(seller.delivered()).toBe(1)
      const reference = response.payment?.receipt?.reference as Hex
      const mined = await chain.receipt(reference)
      expect(mined?.status).toBe('success')
      expect(isAddressEqual(mined!.from, payer.address)).toBe(true)
      const memo = transfersOf(mined!).find((t) => t.event === 'TransferWithMemo')?.memo
      expect(AttributionMemo.binds(memo!, 'mppx.test', response.payment!.challenge.id)).toBe(true)
      expect(await merchantBalance()).toBe(merchantBefore + AMOUNT)
      expect(await chain.balance(TOKENS.pathUSD, payer.address)).toBe(10_000_000n - AMOUNT - feeOf(mined!).amount)
    })
})
