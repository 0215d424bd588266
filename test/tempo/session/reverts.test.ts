/**
 * Every revert path of the escrow, on a real Tempo node. Each case is checked twice:
 * `eth_call` names the contract's custom error, then the same call is mined and must
 * revert with nothing moved (the channel record, the escrow's and the parties' pathUSD).
 * draft-tempo-session-00 §"Access Control", §"Signature Verification",
 * §"Signature Malleability", §"Forced Close".
 */
import { keccak256, parseSignature, recoverAddress, serializeSignature, toHex, zeroAddress, type Hex } from 'viem'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { getBlock } from 'viem/actions'
import { beforeAll, describe, expect, it } from 'vitest'
import { EscrowRevertedError, type EscrowRevertReason } from '../../../src/methods/tempo/session/errors.js'
import * as Escrow from '../../../src/methods/tempo/session/escrow.js'
import * as Voucher from '../../../src/methods/tempo/session/voucher.js'
import { escrowForThisFile, FEES, TOKEN, type Party } from './support.js'

const bed = await escrowForThisFile()
const { escrow } = bed
const ORDER = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n
const NO_CHANNEL = keccak256(toHex('no such channel'))

const sign = (signer: Party['account'], channelId: Hex, cumulativeAmount: bigint, domain = bed.domain) =>
  Voucher.sign(signer, domain, { channelId, cumulativeAmount })

async function snapshot(channelId: Hex, parties: readonly Party[]) {
  return {
    channel: await Escrow.getChannel(bed.chain.client, escrow, channelId),
    escrow: await bed.balance(escrow),
    parties: await Promise.all(parties.map((p) => bed.balance(p.account.address))),
  }
}

/** `from` sending `call` reverts with `reason` (simulated), and mined it moves nothing. */
async function expectRevert(from: Party, call: Escrow.Call, reason: EscrowRevertReason, channelId: Hex = NO_CHANNEL, parties: readonly Party[] = []) {
  const simulated = await Escrow.simulate(bed.chain.client, from.account.address, call).then(() => undefined, (error: unknown) => error)
  expect(simulated).toBeInstanceOf(EscrowRevertedError)
  expect((simulated as EscrowRevertedError).reason).toBe(reason)
  expect((simulated as EscrowRevertedError).code).toBe('settlement-failed')

  const before = await snapshot(channelId, [from, ...parties])
  const mined = await Escrow.write(from.client, call, FEES).then(() => undefined, (error: unknown) => error)
  expect(mined).toBeInstanceOf(EscrowRevertedError)
  expect((mined as EscrowRevertedError).transactionHash).toMatch(/^0x[0-9a-f]{64}$/)
  expect(await snapshot(channelId, [from, ...parties])).toEqual(before)
}

let payer: Party
let payee: Party
let outsider: Party
let id: Hex
const DEPOSIT = 1_000_000n

beforeAll(async () => {
  ;[payer, payee, outsider] = [await bed.party(), await bed.party(0n), await bed.party()]
  // another channel first, so the escrow holds more than any one channel's deposit
  const other = await bed.party()
  await bed.open(other, payee.account.address, 5_000_000n)
  id = await bed.open(payer, payee.account.address, DEPOSIT)
})

const settle = (amount: bigint, signature: Hex, channelId = id) => Escrow.calls.settle(escrow, { channelId, cumulativeAmount: amount }, signature)

describe('open', () => {
  it('payee 0x0 → InvalidPayee', async () => {
    await expectRevert(payer, Escrow.calls.open(escrow, { payee: zeroAddress, token: TOKEN, deposit: 1n, salt: keccak256('0x01') }), 'InvalidPayee')
  })
  it('deposit 0 → ZeroAmount', async () => {
    await expectRevert(payer, Escrow.calls.open(escrow, { payee: payee.account.address, token: TOKEN, deposit: 0n, salt: keccak256('0x02') }), 'ZeroAmount')
  })
  it('no allowance → TransferFailed (the TIP-20 transferFrom reverts)', async () => {
    await expectRevert(payer, Escrow.calls.open(escrow, { payee: payee.account.address, token: TOKEN, deposit: 1n, salt: keccak256('0x03') }), 'TransferFailed')
  })
  it('a token address with no code → TransferFailed (a call to an empty account "succeeds")', async () => {
    const fake = privateKeyToAccount(generatePrivateKey()).address
    await expectRevert(payer, Escrow.calls.open(escrow, { payee: payee.account.address, token: fake, deposit: 1n, salt: keccak256('0x04') }), 'TransferFailed')
  })
  it('the same (payer, payee, token, salt, signer) twice → ChannelAlreadyExists, also once finalized', async () => {
    const salt = keccak256('0x05')
    const channelId = await bed.open(payer, payee.account.address, 10n, { salt })
    await Escrow.write(payer.client, Escrow.calls.approve(TOKEN, escrow, 10n), FEES)
    const again = Escrow.calls.open(escrow, { payee: payee.account.address, token: TOKEN, deposit: 10n, salt })
    await expectRevert(payer, again, 'ChannelAlreadyExists', channelId)
    await Escrow.write(payee.client, Escrow.calls.close(escrow, { channelId, cumulativeAmount: 0n }, '0x'), FEES)
    await expectRevert(payer, again, 'ChannelAlreadyExists', channelId)
  })
})

describe('settle', () => {
  it('unknown channel → ChannelNotFound', async () => {
    await expectRevert(payee, settle(1n, await sign(payer.account, NO_CHANNEL, 1n), NO_CHANNEL), 'ChannelNotFound')
  })
  it('by the payer or an outsider → NotPayee', async () => {
    const signature = await sign(payer.account, id, 1n)
    await expectRevert(payer, settle(1n, signature), 'NotPayee', id, [payee])
    await expectRevert(outsider, settle(1n, signature), 'NotPayee', id, [payee, payer])
  })
  it('above the deposit → AmountExceedsDeposit (even though the escrow holds other funds)', async () => {
    expect(await bed.balance(escrow)).toBeGreaterThan(DEPOSIT + 1n)
    await expectRevert(payee, settle(DEPOSIT + 1n, await sign(payer.account, id, DEPOSIT + 1n)), 'AmountExceedsDeposit', id, [payer])
  })
  it('zero, the same voucher twice (double settle), or a lower one → AmountNotIncreasing', async () => {
    await expectRevert(payee, settle(0n, await sign(payer.account, id, 0n)), 'AmountNotIncreasing', id, [payer])
    const voucher = await sign(payer.account, id, 200_000n)
    await Escrow.write(payee.client, settle(200_000n, voucher), FEES)
    await expectRevert(payee, settle(200_000n, voucher), 'AmountNotIncreasing', id, [payer])
    await expectRevert(payee, settle(150_000n, await sign(payer.account, id, 150_000n)), 'AmountNotIncreasing', id, [payer])
  })

  describe('signature → InvalidSignature', () => {
    const amount = 300_000n
    it('signed by someone else', async () => {
      await expectRevert(payee, settle(amount, await sign(outsider.account, id, amount)), 'InvalidSignature', id, [payer])
    })
    it('signed by the payer for another amount or another channel', async () => {
      await expectRevert(payee, settle(amount, await sign(payer.account, id, amount + 1n)), 'InvalidSignature', id, [payer])
      await expectRevert(payee, settle(amount, await sign(payer.account, NO_CHANNEL, amount)), 'InvalidSignature', id, [payer])
    })
    it('signed for another chain id or another escrow (domain binding)', async () => {
      await expectRevert(payee, settle(amount, await sign(payer.account, id, amount, { ...bed.domain, chainId: 4217 })), 'InvalidSignature', id, [payer])
      await expectRevert(payee, settle(amount, await sign(payer.account, id, amount, { ...bed.domain, escrow: TOKEN })), 'InvalidSignature', id, [payer])
    })
    it('the high-s twin of a valid signature (it recovers to the payer, but is malleable)', async () => {
      const good = parseSignature(await sign(payer.account, id, amount))
      const twin = serializeSignature({ r: good.r, s: toHex(ORDER - BigInt(good.s), { size: 32 }), yParity: 1 - good.yParity! })
      const digest = Voucher.digest(bed.domain, { channelId: id, cumulativeAmount: amount })
      expect(await recoverAddress({ hash: digest, signature: twin })).toBe(payer.account.address)
      await expectRevert(payee, settle(amount, twin), 'InvalidSignature', id, [payer])
    })
    it('wrong length (63, 66 bytes, empty), v = 29, r = 0', async () => {
      const good = await sign(payer.account, id, amount)
      await expectRevert(payee, settle(amount, good.slice(0, -4) as Hex), 'InvalidSignature', id, [payer])
      await expectRevert(payee, settle(amount, `${good}00`), 'InvalidSignature', id, [payer])
      await expectRevert(payee, settle(amount, '0x'), 'InvalidSignature', id, [payer])
      await expectRevert(payee, settle(amount, `${good.slice(0, -2)}1d` as Hex), 'InvalidSignature', id, [payer])
      await expectRevert(payee, settle(amount, `0x${'00'.repeat(32)}${good.slice(66)}`), 'InvalidSignature', id, [payer])
    })
    it('signed by the payer when the channel has an authorizedSigner', async () => {
      const delegate = privateKeyToAccount(generatePrivateKey())
      const delegated = await bed.open(payer, payee.account.address, 1_000n, { authorizedSigner: delegate.address })
      await expectRevert(payee, settle(10n, await sign(payer.account, delegated, 10n), delegated), 'InvalidSignature', delegated, [payer])
    })
  })
})

describe('topUp', () => {
  it('unknown channel → ChannelNotFound', async () => {
    await expectRevert(payer, Escrow.calls.topUp(escrow, NO_CHANNEL, 1n), 'ChannelNotFound')
  })
  it('by the payee or an outsider → NotPayer', async () => {
    await expectRevert(payee, Escrow.calls.topUp(escrow, id, 1n), 'NotPayer', id)
    await expectRevert(outsider, Escrow.calls.topUp(escrow, id, 1n), 'NotPayer', id)
  })
  it('zero → ZeroAmount', async () => {
    await expectRevert(payer, Escrow.calls.topUp(escrow, id, 0n), 'ZeroAmount', id)
  })
  it('a deposit past 2^128 − 1 → DepositOverflow', async () => {
    await expectRevert(payer, Escrow.calls.topUp(escrow, id, Voucher.MAX_AMOUNT), 'DepositOverflow', id)
  })
  it('no allowance → TransferFailed', async () => {
    await Escrow.write(payer.client, Escrow.calls.approve(TOKEN, escrow, 0n), FEES)
    await expectRevert(payer, Escrow.calls.topUp(escrow, id, 1n), 'TransferFailed', id)
  })
})

describe('requestClose and withdraw', () => {
  it('unknown channel → ChannelNotFound', async () => {
    await expectRevert(payer, Escrow.calls.requestClose(escrow, NO_CHANNEL), 'ChannelNotFound')
    await expectRevert(payer, Escrow.calls.withdraw(escrow, NO_CHANNEL), 'ChannelNotFound')
  })
  it('by the payee or an outsider → NotPayer', async () => {
    for (const who of [payee, outsider]) {
      await expectRevert(who, Escrow.calls.requestClose(escrow, id), 'NotPayer', id)
      await expectRevert(who, Escrow.calls.withdraw(escrow, id), 'NotPayer', id)
    }
  })
  it('withdraw before any requestClose → CloseNotReady', async () => {
    await expectRevert(payer, Escrow.calls.withdraw(escrow, id), 'CloseNotReady', id, [payee])
  })
  it('requestClose twice → CloseAlreadyRequested; withdraw one second before the grace end → CloseNotReady', async () => {
    const channelId = await bed.open(payer, payee.account.address, 1_000n)
    const receipt = await Escrow.write(payer.client, Escrow.calls.requestClose(escrow, channelId), FEES)
    await expectRevert(payer, Escrow.calls.requestClose(escrow, channelId), 'CloseAlreadyRequested', channelId)
    const { timestamp } = await getBlock(bed.chain.client, { blockNumber: receipt.blockNumber })
    await bed.rpc('evm_mine', [Number(timestamp) + 898])
    // eth_call runs at 898 s (or the pending block just after): too early either way; the mined attempt runs at 899 s
    const simulated = await Escrow.simulate(bed.chain.client, payer.account.address, Escrow.calls.withdraw(escrow, channelId)).catch((e: unknown) => e)
    expect((simulated as EscrowRevertedError).reason).toBe('CloseNotReady')
    await bed.rpc('evm_setNextBlockTimestamp', [Number(timestamp) + 899])
    const before = await snapshot(channelId, [payer])
    await expect(Escrow.write(payer.client, Escrow.calls.withdraw(escrow, channelId), FEES)).rejects.toBeInstanceOf(EscrowRevertedError)
    expect(await snapshot(channelId, [payer])).toEqual(before)
    // at exactly 900 s it goes through
    await bed.rpc('evm_setNextBlockTimestamp', [Number(timestamp) + 900])
    await Escrow.write(payer.client, Escrow.calls.withdraw(escrow, channelId), FEES)
    expect((await Escrow.getChannel(bed.chain.client, escrow, channelId)).finalized).toBe(true)
  })
})

describe('close', () => {
  it('unknown channel → ChannelNotFound', async () => {
    await expectRevert(payee, Escrow.calls.close(escrow, { channelId: NO_CHANNEL, cumulativeAmount: 0n }, '0x'), 'ChannelNotFound')
  })
  it('by the payer or an outsider → NotPayee', async () => {
    const signature = await sign(payer.account, id, 300_000n)
    await expectRevert(payer, Escrow.calls.close(escrow, { channelId: id, cumulativeAmount: 300_000n }, signature), 'NotPayee', id, [payee])
    await expectRevert(outsider, Escrow.calls.close(escrow, { channelId: id, cumulativeAmount: 300_000n }, signature), 'NotPayee', id, [payee, payer])
  })
  it('below what was settled → AmountNotIncreasing', async () => {
    const { settled } = await Escrow.getChannel(bed.chain.client, escrow, id)
    expect(settled).toBeGreaterThan(0n)
    const lower = settled - 1n
    await expectRevert(payee, Escrow.calls.close(escrow, { channelId: id, cumulativeAmount: lower }, await sign(payer.account, id, lower)), 'AmountNotIncreasing', id, [payer])
  })
  it('above the deposit → AmountExceedsDeposit', async () => {
    const over = DEPOSIT + 1n
    await expectRevert(payee, Escrow.calls.close(escrow, { channelId: id, cumulativeAmount: over }, await sign(payer.account, id, over)), 'AmountExceedsDeposit', id, [payer])
  })
  it('above the settled amount with a bad or missing voucher → InvalidSignature', async () => {
    await expectRevert(payee, Escrow.calls.close(escrow, { channelId: id, cumulativeAmount: 300_000n }, '0x'), 'InvalidSignature', id, [payer])
    await expectRevert(payee, Escrow.calls.close(escrow, { channelId: id, cumulativeAmount: 300_000n }, await sign(outsider.account, id, 300_000n)), 'InvalidSignature', id, [payer])
  })
})

describe('a finalized channel refuses everything → ChannelFinalized', () => {
  async function refusesAll(channelId: Hex) {
    const signature = await sign(payer.account, channelId, 500n)
    await Escrow.write(payer.client, Escrow.calls.approve(TOKEN, escrow, 1n), FEES)
    await expectRevert(payee, settle(500n, signature, channelId), 'ChannelFinalized', channelId, [payer])
    await expectRevert(payee, Escrow.calls.close(escrow, { channelId, cumulativeAmount: 500n }, signature), 'ChannelFinalized', channelId, [payer])
    await expectRevert(payer, Escrow.calls.topUp(escrow, channelId, 1n), 'ChannelFinalized', channelId, [payee])
    await expectRevert(payer, Escrow.calls.requestClose(escrow, channelId), 'ChannelFinalized', channelId, [payee])
    await expectRevert(payer, Escrow.calls.withdraw(escrow, channelId), 'ChannelFinalized', channelId, [payee])
  }
  it('after a cooperative close', async () => {
    const channelId = await bed.open(payer, payee.account.address, 1_000n)
    await Escrow.write(payee.client, Escrow.calls.close(escrow, { channelId, cumulativeAmount: 100n }, await sign(payer.account, channelId, 100n)), FEES)
    await refusesAll(channelId)
  })
  it('after a forced close (withdraw)', async () => {
    const channelId = await bed.open(payer, payee.account.address, 1_000n)
    const receipt = await Escrow.write(payer.client, Escrow.calls.requestClose(escrow, channelId), FEES)
    const { timestamp } = await getBlock(bed.chain.client, { blockNumber: receipt.blockNumber })
    await bed.rpc('evm_setNextBlockTimestamp', [Number(timestamp) + 900])
    await Escrow.write(payer.client, Escrow.calls.withdraw(escrow, channelId), FEES)
    await refusesAll(channelId)
  })
})

