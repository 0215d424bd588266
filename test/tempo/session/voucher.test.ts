/**
 * voucher.ts off-chain (draft-tempo-session-00 §"Voucher Signing Format",
 * §"Signature Malleability"): typed data exactly as the draft fixes it, sign/recover
 * round trips, and the signature forms the escrow refuses refused here too, each with a
 * typed reason.
 */
import fc from 'fast-check'
import { keccak256, parseSignature as viemParse, serializeCompactSignature, serializeSignature, signatureToCompactSignature, toHex, zeroAddress, type Hex } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { describe, expect, it } from 'vitest'
import { isMppError } from '../../../src/errors.js'
import { VoucherError, type VoucherRejectReason } from '../../../src/methods/tempo/session/errors.js'
import * as Voucher from '../../../src/methods/tempo/session/voucher.js'

const payer = privateKeyToAccount('0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d')
const domain: Voucher.Domain = { chainId: 31337, escrow: '0x5FbDB2315678afecb367f032d93F642f64180aa3' }
const voucher: Voucher.Voucher = { channelId: keccak256(toHex('channel')), cumulativeAmount: 250_000n }
const ORDER = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n

function rejects(run: () => unknown, reason: VoucherRejectReason) {
  try {
    run()
  } catch (error) {
    expect(error).toBeInstanceOf(VoucherError)
    expect((error as VoucherError).reason).toBe(reason)
    expect(isMppError(error, 'verification-failed')).toBe(true)
    return
  }
  throw new Error(`expected VoucherError ${reason}`)
}

describe('typed data', () => {
  it('is the draft v1 domain and Voucher type, field order included', () => {
    expect(Voucher.typedData(domain, voucher)).toEqual({
      domain: { name: 'Tempo Stream Channel', version: '1', chainId: 31337, verifyingContract: domain.escrow },
      types: { Voucher: [{ name: 'channelId', type: 'bytes32' }, { name: 'cumulativeAmount', type: 'uint128' }] },
      primaryType: 'Voucher',
      message: voucher,
    })
  })
  it('amounts outside uint128 are refused (amount-out-of-range)', () => {
    rejects(() => Voucher.digest(domain, { ...voucher, cumulativeAmount: -1n }), 'amount-out-of-range')
    rejects(() => Voucher.digest(domain, { ...voucher, cumulativeAmount: 2n ** 128n }), 'amount-out-of-range')
    expect(Voucher.digest(domain, { ...voucher, cumulativeAmount: 2n ** 128n - 1n })).toMatch(/^0x[0-9a-f]{64}$/)
  })
})

describe('sign and recover', () => {
  it('a signature is 65 bytes, v 27 or 28, low s, and recovers to the signer', async () => {
    const signature = await Voucher.sign(payer, domain, voucher)
    expect(signature).toMatch(/^0x[0-9a-f]{128}(1b|1c)$/)
    expect(BigInt(`0x${signature.slice(66, 130)}`) <= Voucher.HALF_ORDER).toBe(true)
    expect(await Voucher.recover(domain, voucher, signature)).toBe(payer.address)
  })
  it('the compact (EIP-2098) form recovers to the same signer', async () => {
    const signature = await Voucher.sign(payer, domain, voucher)
    const compact = serializeCompactSignature(signatureToCompactSignature(viemParse(signature)))
    expect(await Voucher.recover(domain, voucher, compact)).toBe(payer.address)
  })
  it('another amount, channel, chain or escrow recovers to someone else', async () => {
    const signature = await Voucher.sign(payer, domain, voucher)
    for (const [d, v] of [
      [domain, { ...voucher, cumulativeAmount: 250_001n }],
      [domain, { ...voucher, channelId: keccak256('0x00') }],
      [{ ...domain, chainId: 4217 }, voucher],
      [{ ...domain, escrow: zeroAddress }, voucher],
    ] as const) {
      expect(await Voucher.recover(d, v, signature)).not.toBe(payer.address)
    }
  })
  it('property: any amount and channel round-trips', async () => {
    await fc.assert(
      fc.asyncProperty(fc.bigInt({ min: 0n, max: Voucher.MAX_AMOUNT }), fc.uint8Array({ minLength: 32, maxLength: 32 }), async (amount, bytes) => {
        const v = { channelId: toHex(bytes), cumulativeAmount: amount }
        expect(await Voucher.recover(domain, v, await Voucher.sign(payer, domain, v))).toBe(payer.address)
      }),
      { numRuns: 25 },
    )
  })
})

describe('parseSignature refuses what the escrow refuses', () => {
  it('the high-s twin of a valid signature (signature-high-s)', async () => {
    const good = viemParse(await Voucher.sign(payer, domain, voucher))
    const twin = serializeSignature({ r: good.r, s: toHex(ORDER - BigInt(good.s), { size: 32 }), yParity: 1 - good.yParity! })
    rejects(() => Voucher.parseSignature(twin), 'signature-high-s')
    await expect(Voucher.recover(domain, voucher, twin)).rejects.toMatchObject({ reason: 'signature-high-s' })
  })
  it('s exactly at the half order is accepted, one above is not', () => {
    const r = `0x${'11'.repeat(32)}`
    expect(Voucher.parseSignature(`${r}${Voucher.HALF_ORDER.toString(16)}1b` as Hex).s).toBe(`0x${Voucher.HALF_ORDER.toString(16)}`)
    rejects(() => Voucher.parseSignature(`${r}${(Voucher.HALF_ORDER + 1n).toString(16)}1b` as Hex), 'signature-high-s')
  })
  it('wrong length, v other than 27/28, not hex (signature-malformed)', async () => {
    const good = await Voucher.sign(payer, domain, voucher)
    rejects(() => Voucher.parseSignature(good.slice(0, -4) as Hex), 'signature-malformed') // 63 bytes (64 would be compact)
    rejects(() => Voucher.parseSignature(`${good}00`), 'signature-malformed')
    rejects(() => Voucher.parseSignature('0x'), 'signature-malformed')
    rejects(() => Voucher.parseSignature(`${good.slice(0, -2)}00` as Hex), 'signature-malformed')
    rejects(() => Voucher.parseSignature(`${good.slice(0, -2)}1d` as Hex), 'signature-malformed')
    rejects(() => Voucher.parseSignature(`0x${'zz'.repeat(65)}` as Hex), 'signature-malformed')
  })
  it('r = 0 does not recover (signature-invalid)', async () => {
    const good = await Voucher.sign(payer, domain, voucher)
    await expect(Voucher.recover(domain, voucher, `0x${'00'.repeat(32)}${good.slice(66)}`)).rejects.toMatchObject({ reason: 'signature-invalid' })
  })
})

describe('expectedSigner', () => {
  it('is the authorized signer when set, else the payer', () => {
    const delegate = '0x000000000000000000000000000000000000dEaD'
    expect(Voucher.expectedSigner({ payer: payer.address, authorizedSigner: zeroAddress })).toBe(payer.address)
    expect(Voucher.expectedSigner({ payer: payer.address, authorizedSigner: delegate })).toBe(delegate)
  })
})
