/**
 * tempo/charge PULL mode on a real `anvil --network tempo` (draft-tempo-charge-00 §5.1,
 * §"Transaction Verification"; mpp-digest §4.1 and §8 items 84-88, 90): the payer signs,
 * the server verifies the calls and broadcasts. Every refusal must happen BEFORE
 * broadcast: the payer's balances and protocol nonce are unchanged and the chain has
 * no receipt for the signed bytes. Also: a transaction that reverts on chain, and
 * replays. Each payment gets a fresh funded payer (notes gotcha 3).
 */
import { type Address, type Hex } from 'viem'
import { describe, expect, it } from 'vitest'
import { createPaymentFetch, PaymentRejectedError } from '../../src/client/index.js'
import { AttributionMemo, chargeClient, Proof } from '../../src/methods/tempo/index.js'
import type { Challenge } from '../../src/index.js'
import {
  approve,
  CHAIN_ID,
  feeOf,
  hashOf,
  randomAddress,
  chainForThisFile,
  TOKENS,
  transfer,
  transfersOf,
  type Call,
  type SignOptions,
} from './support/chain.js'
import { expirySeconds, MERCHANT, problemCode, problemDetail, receiptOf, requestOf, shop, URL_, type Shop, type ShopOptions } from './support/shop.js'
import type { PrivateKeyAccount } from 'viem/accounts'

const chain = await chainForThisFile()

const AMOUNT = 250_000n
const ATTACKER: Address = randomAddress()
const MEMO: Hex = '0x00000000000000000000000000000000000000000000000000000000deadbeef'
const newShop = (options: Omit<ShopOptions, 'client'> = {}) => shop({ client: chain.client, ...options })
const merchantBalance = () => chain.balance(TOKENS.pathUSD, MERCHANT)

/** Signs `calls` for `challenge` as a client would (validBefore = expiry unless overridden). */
async function signFor(payer: PrivateKeyAccount, challenge: Challenge.Challenge, calls: Call[], options: Partial<SignOptions> = {}) {
  return chain.sign(payer, { calls, validBefore: expirySeconds(challenge), ...options })
}

/**
 * Presents `hex` for `challenge` and checks it was refused with `code` and that nothing
 * reached the chain: no receipt for the bytes, the payer's balances and nonce unchanged.
 */
async function expectRefusedUnbroadcast(s: Shop, challenge: Challenge.Challenge, payer: PrivateKeyAccount, hex: Hex, code = 'verification-failed') {
  const [payerBefore, merchantBefore] = [await chain.state(payer.address), await merchantBalance()]
  const response = await s.present(challenge, { type: 'transaction', signature: hex }, Proof.did(CHAIN_ID, payer.address))
  expect(response.status, await problemDetail(response)).toBe(402)
  expect(await problemCode(response)).toBe(code)
  expect(response.headers.get('payment-receipt')).toBeNull()
  expect(s.delivered()).toBe(0)
  expect(await chain.receipt(hashOf(hex))).toBeUndefined()
  expect(await chain.seen(hashOf(hex))).toBe(false)
  expect(await chain.state(payer.address)).toEqual(payerBefore)
  expect(await merchantBalance()).toBe(merchantBefore)
  return response
}

describe('pull: a correct payment', () => {
  it('-> 200; receipt reference = the mined tx hash; merchant +amount; payer -amount -fee (item 84)', async () => {
    const s = newShop()
    const payer = await chain.fundPayer()
    const [payerBefore, merchantBefore] = [await chain.state(payer.address), await merchantBalance()]
    const pay = createPaymentFetch({ methods: [chargeClient({ account: payer, client: chain.client })], fetch: s.fetch })
    const response = await pay(URL_)
    expect(response.status).toBe(200)
    expect(s.delivered()).toBe(1)
    const reference = receiptOf(response).reference as Hex
    expect(reference).toMatch(/^0x[0-9a-f]{64}$/)
    const mined = await chain.receipt(reference)
    expect(mined?.status).toBe('success')
    expect(await chain.seen(reference)).toBe(true)
    expect(mined?.from.toLowerCase()).toBe(payer.address.toLowerCase())
    const fee = feeOf(mined!)
    expect(fee.token.toLowerCase()).toBe(TOKENS.pathUSD) // the client pays fees in the charged currency by default
    expect(fee.amount).toBeGreaterThan(0n)
    expect(await merchantBalance()).toBe(merchantBefore + AMOUNT)
    expect(await chain.state(payer.address)).toEqual({ ...payerBefore, pathUSD: payerBefore.pathUSD - AMOUNT - fee.amount, nonce: payerBefore.nonce + 1 })
    // The client's primary transfer carries the memo bound to this challenge.
    const challenge = response.payment!.challenge
    const primary = transfersOf(mined!).find((t) => t.event === 'TransferWithMemo' && t.to === MERCHANT)
    expect(primary?.amount).toBe(AMOUNT)
    expect(AttributionMemo.binds(primary!.memo!, challenge.realm, challenge.id)).toBe(true)
  })

  it('a hand-signed plain transfer (no memo) is enough in pull mode by default', async () => {
    const s = newShop()
    const challenge = await s.challenge()
    const payer = await chain.fundPayer()
    const hex = await signFor(payer, challenge, [transfer(TOKENS.pathUSD, MERCHANT, AMOUNT)])
    const merchantBefore = await merchantBalance()
    const response = await s.present(challenge, { type: 'transaction', signature: hex }, Proof.did(CHAIN_ID, payer.address))
    expect(response.status).toBe(200)
    expect(receiptOf(response).reference).toBe(hashOf(hex))
    expect(await merchantBalance()).toBe(merchantBefore + AMOUNT)
  })

  it('the recipient may be written in lowercase in the calldata (addresses compare as bytes)', async () => {
    const s = newShop()
    const challenge = await s.challenge()
    const payer = await chain.fundPayer()
    const hex = await signFor(payer, challenge, [transfer(TOKENS.pathUSD, MERCHANT.toLowerCase() as Address, AMOUNT)])
    const response = await s.present(challenge, { type: 'transaction', signature: hex }, Proof.did(CHAIN_ID, payer.address))
    expect(response.status).toBe(200)
  })

  it('the receipt echoes the request\u2019s externalId (digest §4.1 receipt; §7 item 9: taken from the request)', async () => {
    const s = newShop({ route: { price: '0.25', externalId: 'order-42' } })
    const challenge = await s.challenge()
    expect(requestOf(challenge).externalId).toBe('order-42')
    const payer = await chain.fundPayer()
    const { response } = await s.payWith(challenge, chargeClient({ account: payer, client: chain.client }))
    expect(response.status).toBe(200)
    expect(receiptOf(response).externalId).toBe('order-42')
  })
})

describe('pull: refused before broadcast (402 verification-failed, nothing on chain)', () => {
  const cases: Array<{ name: string; build: (payer: PrivateKeyAccount, challenge: Challenge.Challenge) => Promise<Hex> }> = [
    { name: 'wrong recipient', build: (p, c) => signFor(p, c, [transfer(TOKENS.pathUSD, ATTACKER, AMOUNT)]) },
    { name: 'wrong amount (one unit short)', build: (p, c) => signFor(p, c, [transfer(TOKENS.pathUSD, MERCHANT, AMOUNT - 1n)]) },
    { name: 'wrong amount (one unit more)', build: (p, c) => signFor(p, c, [transfer(TOKENS.pathUSD, MERCHANT, AMOUNT + 1n)]) },
    { name: 'wrong token (AlphaUSD instead of pathUSD)', build: (p, c) => signFor(p, c, [transfer(TOKENS.alphaUSD, MERCHANT, AMOUNT)]) },
    { name: 'wrong chain id (signed for 42431)', build: (p, c) => signFor(p, c, [transfer(TOKENS.pathUSD, MERCHANT, AMOUNT)], { chainId: 42431 }) },
    {
      name: 'validBefore one second after the challenge expiry',
      build: (p, c) => signFor(p, c, [transfer(TOKENS.pathUSD, MERCHANT, AMOUNT)], { validBefore: expirySeconds(c) + 1 }),
    },
    { name: 'no validBefore at all', build: (p, c) => signFor(p, c, [transfer(TOKENS.pathUSD, MERCHANT, AMOUNT)], { validBefore: undefined }) },
    {
      name: 'an extra call (a second transfer to the attacker)',
      build: (p, c) => signFor(p, c, [transfer(TOKENS.pathUSD, MERCHANT, AMOUNT), transfer(TOKENS.pathUSD, ATTACKER, 1n)]),
    },
    {
      name: 'an approve call next to the payment',
      build: (p, c) => signFor(p, c, [transfer(TOKENS.pathUSD, MERCHANT, AMOUNT), approve(TOKENS.pathUSD, ATTACKER, 10n ** 12n)]),
    },
    {
      name: 'non-canonical calldata (bytes appended to the transfer)',
      build: (p, c) => {
        const call = transfer(TOKENS.pathUSD, MERCHANT, AMOUNT)
        return signFor(p, c, [{ ...call, data: `${call.data}${'00'.repeat(32)}` }])
      },
    },
    {
      name: 'the payment split in two transfers to the merchant',
      build: (p, c) => signFor(p, c, [transfer(TOKENS.pathUSD, MERCHANT, AMOUNT / 2n), transfer(TOKENS.pathUSD, MERCHANT, AMOUNT / 2n)]),
    },
    {
      name: 'the fee payer placeholder on a challenge that does not offer a fee payer',
      build: (p, c) => signFor(p, c, [transfer(TOKENS.pathUSD, MERCHANT, AMOUNT)], { placeholder: true }),
    },
  ]
  for (const { name, build } of cases)
    it(name, async () => {
      const s = newShop()
      const challenge = await s.challenge()
      const payer = await chain.fundPayer()
      await expectRefusedUnbroadcast(s, challenge, payer, await build(payer, challenge))
    })

  it('an expired challenge (server clock past expiry) -> invalid-challenge', async () => {
    let clock = Date.now()
    const s = newShop({ now: () => clock })
    const challenge = await s.challenge()
    const payer = await chain.fundPayer()
    const hex = await signFor(payer, challenge, [transfer(TOKENS.pathUSD, MERCHANT, AMOUNT)])
    clock += 5 * 60_000 + 1
    await expectRefusedUnbroadcast(s, challenge, payer, hex, 'invalid-challenge')
  })
})

describe('pull: memo', () => {
  const memoShop = () => newShop({ route: { price: '0.25', tempo: { memo: MEMO } } })

  it('the challenge carries the memo; the mppkit client puts it on the primary transfer -> 200 (item 86)', async () => {
    const s = memoShop()
    const challenge = await s.challenge()
    expect(requestOf(challenge).methodDetails?.memo).toBe(MEMO)
    const payer = await chain.fundPayer()
    const { response } = await s.payWith(challenge, chargeClient({ account: payer, client: chain.client }))
    expect(response.status).toBe(200)
    const mined = await chain.receipt(receiptOf(response).reference as Hex)
    expect(transfersOf(mined!).filter((t) => t.event === 'TransferWithMemo')).toEqual([
      { token: TOKENS.pathUSD, event: 'TransferWithMemo', from: payer.address, to: MERCHANT, amount: AMOUNT, memo: MEMO },
    ])
  })

  it('a plain transfer where the memo is required -> refused before broadcast', async () => {
    const s = memoShop()
    const challenge = await s.challenge()
    const payer = await chain.fundPayer()
    await expectRefusedUnbroadcast(s, challenge, payer, await signFor(payer, challenge, [transfer(TOKENS.pathUSD, MERCHANT, AMOUNT)]))
  })

  it('transferWithMemo with another memo (even the challenge-bound one) -> refused before broadcast', async () => {
    const s = memoShop()
    const challenge = await s.challenge()
    const payer = await chain.fundPayer()
    const bound = AttributionMemo.encode(challenge.realm, challenge.id)
    await expectRefusedUnbroadcast(s, challenge, payer, await signFor(payer, challenge, [transfer(TOKENS.pathUSD, MERCHANT, AMOUNT, bound)]))
  })

  it('memoBinding "always": pull then needs the challenge-bound memo (plain transfer refused, mppkit client accepted)', async () => {
    const s = newShop({ tempo: { memoBinding: 'always' } })
    const challenge = await s.challenge()
    const payer = await chain.fundPayer()
    await expectRefusedUnbroadcast(s, challenge, payer, await signFor(payer, challenge, [transfer(TOKENS.pathUSD, MERCHANT, AMOUNT)]))
    const other = await s.challenge()
    const stale = AttributionMemo.encode(other.realm, challenge.id) // bound to the first challenge, not this one
    await expectRefusedUnbroadcast(s, other, payer, await signFor(payer, other, [transfer(TOKENS.pathUSD, MERCHANT, AMOUNT, stale)]))
    const third = await s.challenge()
    const { response } = await s.payWith(third, chargeClient({ account: payer, client: chain.client }))
    expect(response.status).toBe(200)
  })
})

describe('pull: splits', () => {
  const splitShop = (platform: Address, affiliate: Address) =>
    newShop({
      route: {
        price: '1.00',
        tempo: { splits: [{ amount: '50000', recipient: platform }, { amount: '10000', recipient: affiliate, memo: MEMO }] },
      },
    })

  it('a route with two splits: the mppkit client builds them, the server accepts, each recipient is paid', async () => {
    const [platform, affiliate] = [randomAddress(), randomAddress()]
    const s = splitShop(platform, affiliate)
    const challenge = await s.challenge()
    expect(requestOf(challenge).methodDetails?.splits).toHaveLength(2)
    const payer = await chain.fundPayer()
    const merchantBefore = await merchantBalance()
    const { response } = await s.payWith(challenge, chargeClient({ account: payer, client: chain.client }))
    expect(response.status, await response.clone().text()).toBe(200)
    expect(await merchantBalance()).toBe(merchantBefore + 940_000n)
    expect(await chain.balance(TOKENS.pathUSD, platform)).toBe(50_000n)
    expect(await chain.balance(TOKENS.pathUSD, affiliate)).toBe(10_000n)
    const mined = await chain.receipt(receiptOf(response).reference as Hex)
    expect(transfersOf(mined!).find((t) => t.event === 'TransferWithMemo' && t.to === affiliate)?.memo).toBe(MEMO)
  })

  it('the server accepts the splits in shuffled call order (hand-crafted tx, item 87)', async () => {
    const [platform, affiliate] = [randomAddress(), randomAddress()]
    const s = splitShop(platform, affiliate)
    const challenge = await s.challenge()
    const payer = await chain.fundPayer()
    const merchantBefore = await merchantBalance()
    const hex = await signFor(payer, challenge, [
      transfer(TOKENS.pathUSD, affiliate, 10_000n, MEMO),
      transfer(TOKENS.pathUSD, MERCHANT, 940_000n),
      transfer(TOKENS.pathUSD, platform, 50_000n),
    ])
    const response = await s.present(challenge, { type: 'transaction', signature: hex }, Proof.did(CHAIN_ID, payer.address))
    expect(response.status, await response.clone().text()).toBe(200)
    expect(receiptOf(response).reference).toBe(hashOf(hex))
    expect(await merchantBalance()).toBe(merchantBefore + 940_000n)
    expect(await chain.balance(TOKENS.pathUSD, platform)).toBe(50_000n)
    expect(await chain.balance(TOKENS.pathUSD, affiliate)).toBe(10_000n)
  })

  it('a missing split -> refused before broadcast', async () => {
    const [platform, affiliate] = [randomAddress(), randomAddress()]
    const s = splitShop(platform, affiliate)
    const challenge = await s.challenge()
    const payer = await chain.fundPayer()
    const hex = await signFor(payer, challenge, [transfer(TOKENS.pathUSD, MERCHANT, 940_000n), transfer(TOKENS.pathUSD, platform, 50_000n)])
    await expectRefusedUnbroadcast(s, challenge, payer, hex)
    expect(await chain.balance(TOKENS.pathUSD, platform)).toBe(0n)
  })

  it('a split paid without its required memo -> refused before broadcast', async () => {
    const [platform, affiliate] = [randomAddress(), randomAddress()]
    const s = splitShop(platform, affiliate)
    const challenge = await s.challenge()
    const payer = await chain.fundPayer()
    const hex = await signFor(payer, challenge, [
      transfer(TOKENS.pathUSD, MERCHANT, 940_000n),
      transfer(TOKENS.pathUSD, platform, 50_000n),
      transfer(TOKENS.pathUSD, affiliate, 10_000n),
    ])
    await expectRefusedUnbroadcast(s, challenge, payer, hex)
  })

  it('the whole amount to the merchant instead of the splits -> refused before broadcast', async () => {
    const [platform, affiliate] = [randomAddress(), randomAddress()]
    const s = splitShop(platform, affiliate)
    const challenge = await s.challenge()
    const payer = await chain.fundPayer()
    await expectRefusedUnbroadcast(s, challenge, payer, await signFor(payer, challenge, [transfer(TOKENS.pathUSD, MERCHANT, 1_000_000n)]))
  })
})

describe('pull: a transaction that reverts on chain', () => {
  it('a payer short of pathUSD signs a valid-looking payment -> mined reverted -> 402 verification-failed, no 200', async () => {
    const s = newShop()
    const challenge = await s.challenge()
    const payer = await chain.fundPayer(50_000n) // enough for the fee, not for 0.25
    const merchantBefore = await merchantBalance()
    const { response, payload } = await s.payWith(challenge, chargeClient({ account: payer, client: chain.client }))
    expect(response.status).toBe(402)
    expect(await problemCode(response)).toBe('verification-failed')
    expect(response.headers.get('payment-receipt')).toBeNull()
    expect(s.delivered()).toBe(0)
    const mined = await chain.receipt(hashOf(payload.signature as Hex))
    expect(mined?.status).toBe('reverted')
    expect(await merchantBalance()).toBe(merchantBefore)
    // The payer lost only the fee of the reverted transaction.
    expect(await chain.balance(TOKENS.pathUSD, payer.address)).toBe(50_000n - feeOf(mined!).amount)
  })

  it('the paying fetch surfaces it as PaymentRejectedError', async () => {
    const s = newShop()
    const payer = await chain.fundPayer(50_000n)
    const pay = createPaymentFetch({ methods: [chargeClient({ account: payer, client: chain.client })], fetch: s.fetch })
    await expect(pay(URL_)).rejects.toBeInstanceOf(PaymentRejectedError)
    expect(s.delivered()).toBe(0)
  })
})

describe('pull: replay', () => {
  it('the same signed transaction for a second challenge -> rejected (already presented), paid once', async () => {
    const s = newShop()
    const first = await s.challenge()
    const payer = await chain.fundPayer()
    const hex = await signFor(payer, first, [transfer(TOKENS.pathUSD, MERCHANT, AMOUNT)])
    const merchantBefore = await merchantBalance()
    expect((await s.present(first, { type: 'transaction', signature: hex }, Proof.did(CHAIN_ID, payer.address))).status).toBe(200)
    const second = await s.challenge()
    const response = await s.present(second, { type: 'transaction', signature: hex }, Proof.did(CHAIN_ID, payer.address))
    expect(response.status).toBe(402)
    expect(await problemCode(response)).toBe('verification-failed')
    expect(await problemDetail(response)).toMatch(/already/)
    expect(s.delivered()).toBe(1)
    expect(await merchantBalance()).toBe(merchantBefore + AMOUNT)
  })

  it('the same credential twice -> the second is invalid-challenge', async () => {
    const s = newShop()
    const challenge = await s.challenge()
    const payer = await chain.fundPayer()
    const hex = await signFor(payer, challenge, [transfer(TOKENS.pathUSD, MERCHANT, AMOUNT)])
    const merchantBefore = await merchantBalance()
    const payload = { type: 'transaction', signature: hex }
    expect((await s.present(challenge, payload)).status).toBe(200)
    const again = await s.present(challenge, payload)
    expect(again.status).toBe(402)
    expect(await problemCode(again)).toBe('invalid-challenge')
    expect(s.delivered()).toBe(1)
    expect(await merchantBalance()).toBe(merchantBefore + AMOUNT)
  })
})
