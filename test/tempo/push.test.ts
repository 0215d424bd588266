/**
 * tempo/charge PUSH mode on a real `anvil --network tempo` (draft-tempo-charge-00
 * §"Hash Settlement", §"Hash Verification"; mpp-digest §4.1 and §8 items 89-91): the
 * payer broadcasts, the server reads the receipt. A hash is accepted once, only when
 * the receipt succeeded and the currency's Transfer/TransferWithMemo logs pay the
 * challenge, with the primary transfer's memo bound to THIS challenge (memoBinding
 * 'push', the default). Each payment comes from a fresh funded payer.
 */
import { privateKeyToAccount, type PrivateKeyAccount } from 'viem/accounts'
import { keccak256, type Address, type Hex } from 'viem'
import { describe, expect, it } from 'vitest'
import { createPaymentFetch } from '../../src/client/index.js'
import type { Challenge } from '../../src/index.js'
import { AttributionMemo, chargeClient, Proof } from '../../src/methods/tempo/index.js'
import { CHAIN_ID, DEV_KEYS, feeOf, chainForThisFile, TOKENS, transfer, type Call } from './support/chain.js'
import { expirySeconds, MERCHANT, problemCode, problemDetail, receiptOf, requestOf, shop, URL_, type Shop, type ShopOptions } from './support/shop.js'

const chain = await chainForThisFile()

const AMOUNT = 250_000n
const MEMO: Hex = '0x00000000000000000000000000000000000000000000000000000000deadbeef'
const newShop = (options: Omit<ShopOptions, 'client'> = {}) => shop({ client: chain.client, ...options })
const merchantBalance = () => chain.balance(TOKENS.pathUSD, MERCHANT)
const bound = (challenge: Challenge.Challenge) => AttributionMemo.encode(challenge.realm, challenge.id)

/** The payer broadcasts `calls` itself (fees in pathUSD) and returns the hash and receipt status. */
async function push(payer: PrivateKeyAccount, calls: Call[]) {
  const receipt = await chain.broadcast(await chain.sign(payer, { calls, validBefore: Math.floor(Date.now() / 1000) + 120 }))
  return { hash: receipt.transactionHash, status: receipt.status }
}

async function presentHash(s: Shop, challenge: Challenge.Challenge, hash: Hex, payer?: Address) {
  return s.present(challenge, { type: 'hash', hash }, payer && Proof.did(CHAIN_ID, payer))
}

async function expectRejected(response: Response, s: Shop) {
  expect(response.status, await problemDetail(response)).toBe(402)
  expect(await problemCode(response)).toBe('verification-failed')
  expect(response.headers.get('payment-receipt')).toBeNull()
  expect(s.delivered()).toBe(0)
}

describe('push: accepted', () => {
  it('the mppkit client in push mode -> 200, reference = its tx hash, merchant +amount', async () => {
    const s = newShop()
    const payer = await chain.fundPayer()
    const merchantBefore = await merchantBalance()
    const pay = createPaymentFetch({ methods: [chargeClient({ account: payer, client: chain.client, mode: 'push' })], fetch: s.fetch })
    const response = await pay(URL_)
    expect(response.status).toBe(200)
    const reference = receiptOf(response).reference as Hex
    const mined = await chain.receipt(reference)
    expect(mined?.status).toBe('success')
    expect(mined?.from.toLowerCase()).toBe(payer.address.toLowerCase())
    expect(await merchantBalance()).toBe(merchantBefore + AMOUNT)
    expect(await chain.balance(TOKENS.pathUSD, payer.address)).toBe(10_000_000n - AMOUNT - feeOf(mined!).amount)
    expect(s.delivered()).toBe(1)
  })

  it('a challenge with supportedModes ["push"] makes the mppkit client push', async () => {
    const s = newShop({ tempo: { supportedModes: ['push'] } })
    const payer = await chain.fundPayer()
    const pay = createPaymentFetch({ methods: [chargeClient({ account: payer, client: chain.client })], fetch: s.fetch })
    const response = await pay(URL_)
    expect(response.status).toBe(200)
    expect((await chain.receipt(receiptOf(response).reference as Hex))?.status).toBe('success')
  })

  it('a hand-pushed transferWithMemo with the bound memo -> 200', async () => {
    const s = newShop()
    const challenge = await s.challenge()
    const payer = await chain.fundPayer()
    const { hash } = await push(payer, [transfer(TOKENS.pathUSD, MERCHANT, AMOUNT, bound(challenge))])
    const response = await presentHash(s, challenge, hash, payer.address)
    expect(response.status).toBe(200)
    expect(receiptOf(response).reference).toBe(hash)
  })
})

describe('push: rejected', () => {
  it('a hash reused for a second challenge (bound memo of the first) -> rejected', async () => {
    const s = newShop()
    const first = await s.challenge()
    const payer = await chain.fundPayer()
    const { hash } = await push(payer, [transfer(TOKENS.pathUSD, MERCHANT, AMOUNT, bound(first))])
    expect((await presentHash(s, first, hash)).status).toBe(200)
    const response = await presentHash(s, await s.challenge(), hash)
    expect(response.status).toBe(402)
    expect(await problemCode(response)).toBe('verification-failed')
    expect(s.delivered()).toBe(1)
  })

  it('a hash reused for a second challenge where the memo is the route\u2019s fixed memo -> rejected (single use)', async () => {
    const s = newShop({ route: { price: '0.25', tempo: { memo: MEMO } } })
    const first = await s.challenge()
    const payer = await chain.fundPayer()
    const { hash } = await push(payer, [transfer(TOKENS.pathUSD, MERCHANT, AMOUNT, MEMO)])
    expect((await presentHash(s, first, hash)).status).toBe(200)
    const response = await presentHash(s, await s.challenge(), hash)
    expect(response.status).toBe(402)
    expect(await problemDetail(response)).toMatch(/already/)
    expect(s.delivered()).toBe(1)
  })

  it('a hash reused for a second challenge with memoBinding "never" -> rejected (single use)', async () => {
    const s = newShop({ tempo: { memoBinding: 'never' } })
    const payer = await chain.fundPayer()
    const { hash } = await push(payer, [transfer(TOKENS.pathUSD, MERCHANT, AMOUNT)])
    expect((await presentHash(s, await s.challenge(), hash)).status).toBe(200)
    const response = await presentHash(s, await s.challenge(), hash)
    expect(response.status).toBe(402)
    expect(await problemDetail(response)).toMatch(/already/)
  })

  it('a transaction paid in pull mode, then its hash pushed for a second challenge -> rejected (one claim space)', async () => {
    const s = newShop({ route: { price: '0.25', tempo: { memo: MEMO } } })
    const first = await s.challenge()
    const payer = await chain.fundPayer()
    const hex = await chain.sign(payer, { calls: [transfer(TOKENS.pathUSD, MERCHANT, AMOUNT, MEMO)], validBefore: expirySeconds(first) })
    const pulled = await s.present(first, { type: 'transaction', signature: hex })
    expect(pulled.status).toBe(200)
    const response = await presentHash(s, await s.challenge(), receiptOf(pulled).reference as Hex)
    expect(response.status).toBe(402)
    expect(await problemDetail(response)).toMatch(/already/)
    expect(s.delivered()).toBe(1)
  })

  it('a pushed transaction, then its signed bytes presented in pull mode for a second challenge -> rejected', async () => {
    const s = newShop({ route: { price: '0.25', tempo: { memo: MEMO } } })
    const payer = await chain.fundPayer()
    const first = await s.challenge()
    const hex = await chain.sign(payer, { calls: [transfer(TOKENS.pathUSD, MERCHANT, AMOUNT, MEMO)], validBefore: expirySeconds(first) })
    const { transactionHash } = await chain.broadcast(hex)
    expect((await presentHash(s, first, transactionHash)).status).toBe(200)
    const merchantBefore = await merchantBalance()
    const response = await s.present(await s.challenge(), { type: 'transaction', signature: hex })
    expect(response.status).toBe(402)
    expect(s.delivered()).toBe(1)
    expect(await merchantBalance()).toBe(merchantBefore)
  })

  it('a plain transfer to the merchant with no challenge-bound memo -> rejected (memoBinding "push" default)', async () => {
    const s = newShop()
    const challenge = await s.challenge()
    const payer = await chain.fundPayer()
    const { hash, status } = await push(payer, [transfer(TOKENS.pathUSD, MERCHANT, AMOUNT)])
    expect(status).toBe('success')
    await expectRejected(await presentHash(s, challenge, hash), s)
  })

  it('a memo that binds ANOTHER challenge of the same server -> rejected', async () => {
    const s = newShop()
    const [challenge, other] = [await s.challenge(), await s.challenge()]
    const payer = await chain.fundPayer()
    const { hash } = await push(payer, [transfer(TOKENS.pathUSD, MERCHANT, AMOUNT, bound(other))])
    await expectRejected(await presentHash(s, challenge, hash), s)
  })

  it('a memo bound to this challenge id but another realm -> rejected', async () => {
    const s = newShop()
    const challenge = await s.challenge()
    const payer = await chain.fundPayer()
    const { hash } = await push(payer, [transfer(TOKENS.pathUSD, MERCHANT, AMOUNT, AttributionMemo.encode('other.realm', challenge.id))])
    await expectRejected(await presentHash(s, challenge, hash), s)
  })

  it('logs from another token (AlphaUSD, bound memo) -> rejected', async () => {
    const s = newShop()
    const challenge = await s.challenge()
    const payer = await chain.fundPayer() // pathUSD for the fee
    await chain.fund(payer.address, 10_000_000n, TOKENS.alphaUSD)
    const { hash, status } = await push(payer, [transfer(TOKENS.alphaUSD, MERCHANT, AMOUNT, bound(challenge))])
    expect(status).toBe('success')
    await expectRejected(await presentHash(s, challenge, hash), s)
  })

  it('a reverted transaction (payer short of funds, bound memo) -> rejected', async () => {
    const s = newShop()
    const challenge = await s.challenge()
    const payer = await chain.fundPayer(50_000n)
    const { hash, status } = await push(payer, [transfer(TOKENS.pathUSD, MERCHANT, AMOUNT, bound(challenge))])
    expect(status).toBe('reverted')
    await expectRejected(await presentHash(s, challenge, hash), s)
  })

  it('a hash the chain has never seen -> rejected', async () => {
    const s = newShop()
    await expectRejected(await presentHash(s, await s.challenge(), `0x${'5a'.repeat(32)}`), s)
  })

  it('the wrong amount or the wrong recipient (bound memo) -> rejected', async () => {
    const s = newShop()
    const payer = await chain.fundPayer()
    const short = await s.challenge()
    await expectRejected(await presentHash(s, short, (await push(payer, [transfer(TOKENS.pathUSD, MERCHANT, AMOUNT - 1n, bound(short))])).hash), s)
    const elsewhere = await s.challenge()
    const someoneElse = privateKeyToAccount(DEV_KEYS[7]).address
    await expectRejected(await presentHash(s, elsewhere, (await push(payer, [transfer(TOKENS.pathUSD, someoneElse, AMOUNT, bound(elsewhere))])).hash), s)
  })

  it('one transferWithMemo (Transfer + TransferWithMemo logs) is counted once, not as two payments (item 91)', async () => {
    // 0.002 with a 0.001 split to the merchant itself: two separate 1000-unit transfers are due.
    const s = newShop({ route: { amount: '2000', tempo: { splits: [{ amount: '1000', recipient: MERCHANT }] } } })
    const payer = await chain.fundPayer()
    const once = await s.challenge()
    await expectRejected(await presentHash(s, once, (await push(payer, [transfer(TOKENS.pathUSD, MERCHANT, 1000n, bound(once))])).hash), s)
    const twice = await s.challenge()
    const { hash } = await push(payer, [transfer(TOKENS.pathUSD, MERCHANT, 1000n, bound(twice)), transfer(TOKENS.pathUSD, MERCHANT, 1000n)])
    expect((await presentHash(s, twice, hash)).status).toBe(200)
  })

  it('a hash payload on a challenge with supportedModes ["pull"] -> rejected', async () => {
    const s = newShop({ tempo: { supportedModes: ['pull'] } })
    const challenge = await s.challenge()
    expect(requestOf(challenge).methodDetails?.supportedModes).toEqual(['pull'])
    const payer = await chain.fundPayer()
    const { hash } = await push(payer, [transfer(TOKENS.pathUSD, MERCHANT, AMOUNT, bound(challenge))])
    await expectRejected(await presentHash(s, challenge, hash), s)
  })

  it('a hash payload on a feePayer challenge -> rejected', async () => {
    const s = newShop({ tempo: { feePayer: { account: privateKeyToAccount(DEV_KEYS[9]), feeToken: TOKENS.betaUSD } } })
    const challenge = await s.challenge()
    expect(requestOf(challenge).methodDetails?.feePayer).toBe(true)
    const payer = await chain.fundPayer()
    const { hash } = await push(payer, [transfer(TOKENS.pathUSD, MERCHANT, AMOUNT, bound(challenge))])
    await expectRejected(await presentHash(s, challenge, hash), s)
  })

  it('a transaction payload on a challenge with supportedModes ["push"] -> rejected, not broadcast', async () => {
    const s = newShop({ tempo: { supportedModes: ['push'] } })
    const challenge = await s.challenge()
    const payer = await chain.fundPayer()
    const before = await chain.state(payer.address)
    const hex = await chain.sign(payer, {
      calls: [transfer(TOKENS.pathUSD, MERCHANT, AMOUNT, bound(challenge))],
      validBefore: Math.floor(Date.now() / 1000) + 120,
    })
    await expectRejected(await s.present(challenge, { type: 'transaction', signature: hex }), s)
    expect(await chain.state(payer.address)).toEqual(before)
    expect(await chain.seen(keccak256(hex))).toBe(false)
  })
})
