/**
 * tempo/charge with the SERVER paying fees (draft-tempo-charge-00 §"Fee Payment";
 * mpp-digest §8 item 92) on a real `anvil --network tempo`: the client signs with the
 * fee payer placeholder and no fee token, the server (a sponsor account, fees in
 * BetaUSD) co-signs in the 0x78 domain and broadcasts. The payer's only cost is the
 * amount; the sponsor pays the fee. Refusals happen before broadcast and cost the
 * sponsor nothing. Each test has a fresh payer and a fresh sponsor holding only BetaUSD.
 */
import { createClient, http, isAddressEqual, type Address, type Hex } from 'viem'
import { type PrivateKeyAccount } from 'viem/accounts'
import { prepareTransactionRequest, signTransaction } from 'viem/actions'
import { Transaction } from 'viem/tempo'
import { describe, expect, it } from 'vitest'
import { createPaymentFetch } from '../../src/client/index.js'
import type { Challenge } from '../../src/index.js'
import { chargeClient, Proof, type FeePayer } from '../../src/methods/tempo/index.js'
import {
  CHAIN_ID,
  envelope,
  envelopeFields,
  feeOf,
  gasFor,
  hashOf,
  randomAddress,
  chainForThisFile,
  TOKENS,
  transfer,
  type AccountState,
  type Call,
} from './support/chain.js'
import { expirySeconds, MERCHANT, problemCode, problemDetail, receiptOf, requestOf, shop, URL_, type Shop } from './support/shop.js'

const chain = await chainForThisFile()

const AMOUNT = 250_000n
const merchantBalance = () => chain.balance(TOKENS.pathUSD, MERCHANT)

/** A fresh sponsor holding 10 BetaUSD and nothing else, and a shop it pays fees for. */
async function sponsoredShop(limits: Partial<Omit<FeePayer, 'account'>> = {}) {
  const sponsor = await chain.fundPayer(10_000_000n, TOKENS.betaUSD)
  const s = shop({ client: chain.client, tempo: { feePayer: { account: sponsor, feeToken: TOKENS.betaUSD, ...limits } } })
  return { s, sponsor }
}

/** A viem-signed sponsored transaction: the 0x78 "handoff" envelope viem (and mppx) produce. */
async function viemHandoff(payer: PrivateKeyAccount, challenge: Challenge.Challenge, calls: Call[]): Promise<Hex> {
  const wallet = createClient({ account: payer, chain: chain.chain, transport: http(chain.url) })
  const prepared = await prepareTransactionRequest(wallet, {
    account: payer,
    chain: chain.chain,
    calls,
    feePayer: true,
    gas: gasFor(calls.length) + 40_000n, // expiring nonce costs more; anvil cannot estimate calls
    validBefore: Math.min(expirySeconds(challenge), Math.floor(Date.now() / 1000) + 25),
  } as unknown as Parameters<typeof prepareTransactionRequest>[1])
  return (await signTransaction(wallet, prepared as Parameters<typeof signTransaction>[1])) as Hex
}

const present = (s: Shop, challenge: Challenge.Challenge, hex: Hex, payer?: Address) =>
  s.present(challenge, { type: 'transaction', signature: hex }, payer && Proof.did(CHAIN_ID, payer))

/** Refused with verification-failed, and nothing moved for the payer, the sponsor or the merchant. */
async function expectRefusedUnbroadcast(s: Shop, response: Response, hex: Hex, watched: Address[]) {
  expect(response.status, await problemDetail(response)).toBe(402)
  expect(await problemCode(response)).toBe('verification-failed')
  expect(s.delivered()).toBe(0)
  expect(await chain.receipt(hashOf(hex))).toBeUndefined()
  expect(await chain.seen(hashOf(hex))).toBe(false)
  return watched
}

async function states(addresses: Address[]): Promise<AccountState[]> {
  return Promise.all(addresses.map((address) => chain.state(address)))
}

describe('fee payer: accepted', () => {
  it('the mppkit client signs the placeholder; the server co-signs and broadcasts; payer pays only the amount', async () => {
    const { s, sponsor } = await sponsoredShop()
    const payer = await chain.fundPayer()
    const [payerBefore, sponsorBefore, merchantBefore] = [await chain.state(payer.address), await chain.state(sponsor.address), await merchantBalance()]
    const pay = createPaymentFetch({ methods: [chargeClient({ account: payer, client: chain.client })], fetch: s.fetch })
    const response = await pay(URL_)
    expect(response.status).toBe(200)
    expect(requestOf(response.payment!.challenge).methodDetails).toMatchObject({ feePayer: true, supportedModes: ['pull'] })
    const mined = await chain.receipt(receiptOf(response).reference as Hex)
    expect(mined?.status).toBe('success')
    expect(isAddressEqual(mined!.from, payer.address)).toBe(true)
    // The fee was paid in BetaUSD by the sponsor.
    const fee = feeOf(mined!)
    expect(fee.token.toLowerCase()).toBe(TOKENS.betaUSD)
    expect(isAddressEqual(fee.from, sponsor.address)).toBe(true)
    expect(fee.amount).toBeGreaterThan(0n)
    expect(await chain.state(sponsor.address)).toEqual({ ...sponsorBefore, betaUSD: sponsorBefore.betaUSD - fee.amount })
    // The payer: exactly the amount, no fee in any token.
    const payerAfter = await chain.state(payer.address)
    expect({ ...payerAfter, nonce: 0 }).toEqual({ ...payerBefore, pathUSD: payerBefore.pathUSD - AMOUNT, nonce: 0 })
    expect(await merchantBalance()).toBe(merchantBefore + AMOUNT)
  })

  it('a viem 0x78 handoff envelope (what viem/mppx clients send) is co-signed and settles the same way', async () => {
    const { s, sponsor } = await sponsoredShop()
    const challenge = await s.challenge()
    const payer = await chain.fundPayer()
    const hex = await viemHandoff(payer, challenge, [transfer(TOKENS.pathUSD, MERCHANT, AMOUNT)])
    expect(hex.slice(0, 4)).toBe('0x78')
    const [payerBefore, sponsorBefore] = [await chain.state(payer.address), await chain.state(sponsor.address)]
    const response = await present(s, challenge, hex, payer.address)
    expect(response.status, await response.clone().text()).toBe(200)
    const mined = await chain.receipt(receiptOf(response).reference as Hex)
    expect(isAddressEqual(mined!.from, payer.address)).toBe(true)
    expect((await chain.state(payer.address)).pathUSD).toBe(payerBefore.pathUSD - AMOUNT)
    expect((await chain.state(sponsor.address)).betaUSD).toBe(sponsorBefore.betaUSD - feeOf(mined!).amount)
  })
})

describe('fee payer: forged claimed sender in a 0x78 envelope', () => {
  it('is co-signed for the REAL sender (or rejected): the forged address is never charged', async () => {
    const { s } = await sponsoredShop()
    const challenge = await s.challenge()
    const payer = await chain.fundPayer()
    const victim = await chain.fundPayer() // a funded bystander the envelope claims as sender
    const honest = await viemHandoff(payer, challenge, [transfer(TOKENS.pathUSD, MERCHANT, AMOUNT)])
    const slot = payer.address.slice(2).toLowerCase()
    expect(honest.toLowerCase().split(slot)).toHaveLength(2) // the sender slot is the only occurrence
    const forged = honest.toLowerCase().replace(slot, victim.address.slice(2).toLowerCase()) as Hex
    // Precondition (notes gotcha 4): viem takes the claimed sender at face value.
    expect(isAddressEqual((Transaction.deserialize(forged as Transaction.TransactionSerializedTempo) as { from: Address }).from, victim.address)).toBe(true)

    const [payerBefore, victimBefore, merchantBefore] = [await chain.state(payer.address), await chain.state(victim.address), await merchantBalance()]
    const response = await present(s, challenge, forged, victim.address)
    expect(await chain.state(victim.address)).toEqual(victimBefore)
    if (response.status === 200) {
      const mined = await chain.receipt(receiptOf(response).reference as Hex)
      expect(isAddressEqual(mined!.from, payer.address)).toBe(true)
      expect((await chain.state(payer.address)).pathUSD).toBe(payerBefore.pathUSD - AMOUNT)
      expect(await merchantBalance()).toBe(merchantBefore + AMOUNT)
    } else {
      expect(response.status).toBe(402)
      expect(await chain.state(payer.address)).toEqual(payerBefore)
    }
  })
})

describe('fee payer: refused before broadcast (the sponsor pays nothing)', () => {
  it('a client tx that set its own fee token (self-paid, no placeholder)', async () => {
    const { s, sponsor } = await sponsoredShop()
    const challenge = await s.challenge()
    const payer = await chain.fundPayer()
    const hex = await chain.sign(payer, { calls: [transfer(TOKENS.pathUSD, MERCHANT, AMOUNT)], validBefore: expirySeconds(challenge), feeToken: TOKENS.pathUSD })
    const before = await states([payer.address, sponsor.address])
    await expectRefusedUnbroadcast(s, await present(s, challenge, hex), hex, [])
    expect(await states([payer.address, sponsor.address])).toEqual(before)
  })

  it('a placeholder envelope that also names a fee token (hand-crafted RLP)', async () => {
    const { s, sponsor } = await sponsoredShop()
    const challenge = await s.challenge()
    const payer = await chain.fundPayer()
    const placeholder = await chain.sign(payer, { calls: [transfer(TOKENS.pathUSD, MERCHANT, AMOUNT)], validBefore: expirySeconds(challenge), placeholder: true })
    const fields = envelopeFields(placeholder)
    expect([fields[10], fields[11]]).toEqual(['0x', '0x00']) // fee_token empty, fee_payer_signature 0x00
    fields[10] = TOKENS.alphaUSD
    const hex = envelope(fields)
    const decoded = Transaction.deserialize(hex as Transaction.TransactionSerializedTempo) as { feeToken?: Address; feePayerSignature?: unknown; from: Address }
    expect(decoded.feeToken?.toLowerCase()).toBe(TOKENS.alphaUSD)
    expect(decoded.feePayerSignature).toBeNull()
    expect(isAddressEqual(decoded.from, payer.address)).toBe(true)
    const before = await states([payer.address, sponsor.address])
    await expectRefusedUnbroadcast(s, await present(s, challenge, hex), hex, [])
    expect(await states([payer.address, sponsor.address])).toEqual(before)
  })

  it('a transaction already carrying a fee payer signature', async () => {
    const { s, sponsor } = await sponsoredShop()
    const challenge = await s.challenge()
    const payer = await chain.fundPayer()
    const other = await chain.fundPayer(10_000_000n, TOKENS.betaUSD)
    const placeholder = await chain.sign(payer, { calls: [transfer(TOKENS.pathUSD, MERCHANT, AMOUNT)], validBefore: expirySeconds(challenge), placeholder: true })
    const { from: _from, signatures: _signatures, ...rest } = Transaction.deserialize(placeholder as Transaction.TransactionSerializedTempo) as Record<string, unknown>
    const cosigned = (await Transaction.serialize({ ...rest, feeToken: TOKENS.betaUSD, feePayer: other } as unknown as Parameters<typeof Transaction.serialize>[0])) as Hex
    const before = await states([payer.address, sponsor.address, other.address])
    await expectRefusedUnbroadcast(s, await present(s, challenge, cosigned), cosigned, [])
    expect(await states([payer.address, sponsor.address, other.address])).toEqual(before)
  })

  it('gas above the sponsor\u2019s maxGas', async () => {
    const { s, sponsor } = await sponsoredShop({ maxGas: 200_000n })
    const challenge = await s.challenge()
    const payer = await chain.fundPayer()
    const hex = await chain.sign(payer, {
      calls: [transfer(TOKENS.pathUSD, MERCHANT, AMOUNT)],
      validBefore: expirySeconds(challenge),
      placeholder: true,
      gas: 200_001n,
    })
    const before = await states([payer.address, sponsor.address])
    await expectRefusedUnbroadcast(s, await present(s, challenge, hex), hex, [])
    expect(await states([payer.address, sponsor.address])).toEqual(before)
  })

  it('maxFeePerGas above the sponsor\u2019s limit', async () => {
    const { s, sponsor } = await sponsoredShop({ maxFeePerGas: 1_000_000_000n })
    const challenge = await s.challenge()
    const payer = await chain.fundPayer()
    const hex = await chain.sign(payer, { calls: [transfer(TOKENS.pathUSD, MERCHANT, AMOUNT)], validBefore: expirySeconds(challenge), placeholder: true })
    const before = await states([payer.address, sponsor.address])
    await expectRefusedUnbroadcast(s, await present(s, challenge, hex), hex, [])
    expect(await states([payer.address, sponsor.address])).toEqual(before)
  })

  it('a wrong recipient (the usual checks still apply)', async () => {
    const { s, sponsor } = await sponsoredShop()
    const challenge = await s.challenge()
    const payer = await chain.fundPayer()
    const hex = await chain.sign(payer, { calls: [transfer(TOKENS.pathUSD, randomAddress(), AMOUNT)], validBefore: expirySeconds(challenge), placeholder: true })
    const before = await states([payer.address, sponsor.address])
    await expectRefusedUnbroadcast(s, await present(s, challenge, hex), hex, [])
    expect(await states([payer.address, sponsor.address])).toEqual(before)
  })
})

describe('fee payer: replay', () => {
  it('one client signature in its 0x78 and 0x76 forms, for two challenges -> co-signed once, paid once', async () => {
    const { s } = await sponsoredShop()
    const first = await s.challenge()
    const payer = await chain.fundPayer()
    const as78 = await viemHandoff(payer, first, [transfer(TOKENS.pathUSD, MERCHANT, AMOUNT)])
    const { feeToken: _feeToken, signatures: _signatures, ...rest } = Transaction.deserialize(as78 as Transaction.TransactionSerializedTempo) as Record<string, unknown>
    const as76 = (await Transaction.serialize({ ...rest, feePayerSignature: null } as unknown as Parameters<typeof Transaction.serialize>[0])) as Hex
    expect(as76.slice(0, 4)).toBe('0x76')
    expect(hashOf(as76)).not.toBe(hashOf(as78))
    const merchantBefore = await merchantBalance()
    expect((await present(s, first, as78)).status).toBe(200)
    const response = await present(s, await s.challenge(), as76)
    expect(response.status).toBe(402)
    expect(await problemCode(response)).toBe('verification-failed')
    expect(s.delivered()).toBe(1)
    expect(await merchantBalance()).toBe(merchantBefore + AMOUNT)
  })

  it('the same placeholder tx for a second challenge -> rejected', async () => {
    const { s } = await sponsoredShop()
    const first = await s.challenge()
    const payer = await chain.fundPayer()
    const hex = await chain.sign(payer, { calls: [transfer(TOKENS.pathUSD, MERCHANT, AMOUNT)], validBefore: expirySeconds(first), placeholder: true })
    expect((await present(s, first, hex)).status).toBe(200)
    const response = await present(s, await s.challenge(), hex)
    expect(response.status).toBe(402)
    expect(s.delivered()).toBe(1)
  })
})

describe('fee payer: a sponsored transaction that reverts', () => {
  it('a payer short of pathUSD -> mined reverted -> 402, no 200', async () => {
    const { s } = await sponsoredShop()
    const challenge = await s.challenge()
    const payer = await chain.fundPayer(1_000n)
    const merchantBefore = await merchantBalance()
    const { response } = await s.payWith(challenge, chargeClient({ account: payer, client: chain.client }))
    expect(response.status).toBe(402)
    expect(await problemCode(response)).toBe('verification-failed')
    expect(s.delivered()).toBe(0)
    expect(await merchantBalance()).toBe(merchantBefore)
    expect(await chain.balance(TOKENS.pathUSD, payer.address)).toBe(1_000n)
  })
})
