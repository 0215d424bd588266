/**
 * The escrow's happy paths on a real Tempo node, with every pathUSD balance checked
 * exactly (fees are paid in alphaUSD): open, settle (twice: cumulative deltas), topUp,
 * cooperative close, close at the settled amount, forced close (requestClose, grace
 * period, withdraw), a delegated signer, and EIP-2098 compact signatures.
 * draft-tempo-session-00 §"Contract Functions", §"Cumulative Semantics", §"Forced Close".
 */
import { getAddress, parseEventLogs, serializeCompactSignature, signatureToCompactSignature, parseSignature, zeroAddress, type Hex } from 'viem'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { getBlock } from 'viem/actions'
import { afterAll, describe, expect, it } from 'vitest'
import * as Escrow from '../../../src/methods/tempo/session/escrow.js'
import * as Voucher from '../../../src/methods/tempo/session/voucher.js'
import { escrowForThisFile, FEES, TOKEN, type Party } from './support.js'

const bed = await escrowForThisFile()
const { escrow } = bed
const gas: Record<string, bigint> = {}
afterAll(() => console.log(`escrow gas used: ${JSON.stringify(Object.fromEntries(Object.entries(gas).map(([k, v]) => [k, Number(v)])))}`))

const sign = (signer: Party['account'], channelId: Hex, cumulativeAmount: bigint) => Voucher.sign(signer, bed.domain, { channelId, cumulativeAmount })
const channel = (id: Hex) => Escrow.getChannel(bed.chain.client, escrow, id)

async function send(from: Party, call: Escrow.Call, label: string) {
  const receipt = await Escrow.write(from.client, call, FEES)
  gas[label] ??= receipt.gasUsed
  return receipt
}

/** pathUSD balances of payer, payee and the escrow. */
async function balances(payer: Party, payee: Party) {
  const [p, q, e] = await Promise.all([bed.balance(payer.account.address), bed.balance(payee.account.address), bed.balance(escrow)])
  return { payer: p, payee: q, escrow: e }
}

describe('escrow lifecycle', () => {
  it('open pulls the deposit and records the channel', async () => {
    const payer = await bed.party()
    const payee = await bed.party(0n)
    const escrowBefore = await bed.balance(escrow)
    const salt: Hex = `0x${'ab'.repeat(32)}`
    const { channelId, receipt } = await Escrow.open(payer.client, escrow, { payee: payee.account.address, token: TOKEN, deposit: 3_000_000n, salt }, FEES)
    gas['approve+open'] = receipt.gasUsed
    expect(await bed.balance(payer.account.address)).toBe(7_000_000n)
    expect(await bed.balance(escrow)).toBe(escrowBefore + 3_000_000n)
    expect(await channel(channelId)).toEqual({
      payer: payer.account.address,
      payee: payee.account.address,
      token: getAddress(TOKEN),
      authorizedSigner: zeroAddress,
      deposit: 3_000_000n,
      settled: 0n,
      closeRequestedAt: 0n,
      finalized: false,
    })
    const [opened] = parseEventLogs({ abi: Escrow.abi, logs: receipt.logs, eventName: 'ChannelOpened' })
    expect(opened?.args).toMatchObject({ channelId, payer: payer.account.address, payee: payee.account.address, token: getAddress(TOKEN), deposit: 3_000_000n })
  })

  it('settle pays the payee the cumulative delta each time; topUp adds to the deposit; close pays the rest and refunds', async () => {
    const payer = await bed.party()
    const payee = await bed.party(0n)
    const id = await bed.open(payer, payee.account.address, 2_000_000n)
    let before = await balances(payer, payee)

    await send(payee, Escrow.calls.settle(escrow, { channelId: id, cumulativeAmount: 300_000n }, await sign(payer.account, id, 300_000n)), 'settle')
    let after = await balances(payer, payee)
    expect(after).toEqual({ payer: before.payer, payee: before.payee + 300_000n, escrow: before.escrow - 300_000n })
    expect((await channel(id)).settled).toBe(300_000n)

    // a later voucher carries the running total: only the delta moves
    const receipt = await send(payee, Escrow.calls.settle(escrow, { channelId: id, cumulativeAmount: 750_000n }, await sign(payer.account, id, 750_000n)), 'settle (2nd)')
    const [settled] = parseEventLogs({ abi: Escrow.abi, logs: receipt.logs, eventName: 'Settled' })
    expect(settled?.args).toMatchObject({ cumulativeAmount: 750_000n, deltaPaid: 450_000n, newSettled: 750_000n })
    expect(await bed.balance(payee.account.address)).toBe(before.payee + 750_000n)

    before = await balances(payer, payee)
    await send(payer, Escrow.calls.approve(TOKEN, escrow, 500_000n), 'approve')
    await send(payer, Escrow.calls.topUp(escrow, id, 500_000n), 'topUp')
    after = await balances(payer, payee)
    expect(after).toEqual({ payer: before.payer - 500_000n, payee: before.payee, escrow: before.escrow + 500_000n })
    expect((await channel(id)).deposit).toBe(2_500_000n)

    // close at 2,000,000: the payee gets 2,000,000 − 750,000, the payer 2,500,000 − 2,000,000
    before = after
    const closed = await send(payee, Escrow.calls.close(escrow, { channelId: id, cumulativeAmount: 2_000_000n }, await sign(payer.account, id, 2_000_000n)), 'close')
    after = await balances(payer, payee)
    expect(after).toEqual({ payer: before.payer + 500_000n, payee: before.payee + 1_250_000n, escrow: before.escrow - 1_750_000n })
    expect(await channel(id)).toMatchObject({ deposit: 2_500_000n, settled: 2_000_000n, finalized: true })
    const [event] = parseEventLogs({ abi: Escrow.abi, logs: closed.logs, eventName: 'ChannelClosed' })
    expect(event?.args).toMatchObject({ settledToPayee: 1_250_000n, refundedToPayer: 500_000n })
    // over the channel's life: payer −2,000,000, payee +2,000,000
    expect(await bed.balance(payer.account.address)).toBe(10_000_000n - 2_000_000n)
    expect(await bed.balance(payee.account.address)).toBe(2_000_000n)
  })

  it('close at the full deposit refunds nothing; close at the settled amount needs no voucher and refunds the rest', async () => {
    const payer = await bed.party()
    const payee = await bed.party(0n)
    const full = await bed.open(payer, payee.account.address, 1_000_000n)
    await send(payee, Escrow.calls.close(escrow, { channelId: full, cumulativeAmount: 1_000_000n }, await sign(payer.account, full, 1_000_000n)), 'close (full)')
    expect(await bed.balance(payee.account.address)).toBe(1_000_000n)
    expect(await bed.balance(payer.account.address)).toBe(9_000_000n)

    const id = await bed.open(payer, payee.account.address, 1_000_000n)
    await send(payee, Escrow.calls.settle(escrow, { channelId: id, cumulativeAmount: 400_000n }, await sign(payer.account, id, 400_000n)), 'settle')
    await send(payee, Escrow.calls.close(escrow, { channelId: id, cumulativeAmount: 400_000n }, '0x'), 'close (no new voucher)')
    expect(await bed.balance(payee.account.address)).toBe(1_400_000n)
    expect(await bed.balance(payer.account.address)).toBe(8_600_000n)
    expect((await channel(id)).finalized).toBe(true)
  })

  it('close with nothing ever spent (0, no voucher) refunds the whole deposit', async () => {
    const payer = await bed.party()
    const payee = await bed.party(0n)
    const id = await bed.open(payer, payee.account.address, 1_000_000n)
    await send(payee, Escrow.calls.close(escrow, { channelId: id, cumulativeAmount: 0n }, '0x'), 'close (zero)')
    expect(await bed.balance(payer.account.address)).toBe(10_000_000n)
    expect(await bed.balance(payee.account.address)).toBe(0n)
  })

  it('a delegated authorizedSigner signs the vouchers', async () => {
    const payer = await bed.party()
    const payee = await bed.party(0n)
    const delegate = privateKeyToAccount(generatePrivateKey())
    const id = await bed.open(payer, payee.account.address, 1_000_000n, { authorizedSigner: delegate.address })
    expect((await channel(id)).authorizedSigner).toBe(delegate.address)
    await send(payee, Escrow.calls.settle(escrow, { channelId: id, cumulativeAmount: 100_000n }, await sign(delegate, id, 100_000n)), 'settle (delegate)')
    expect(await bed.balance(payee.account.address)).toBe(100_000n)
  })

  it('a 64-byte EIP-2098 compact signature is accepted', async () => {
    const payer = await bed.party()
    const payee = await bed.party(0n)
    const id = await bed.open(payer, payee.account.address, 1_000_000n)
    const full = await sign(payer.account, id, 123_456n)
    const compact = serializeCompactSignature(signatureToCompactSignature(parseSignature(full)))
    expect((compact.length - 2) / 2).toBe(64)
    await send(payee, Escrow.calls.settle(escrow, { channelId: id, cumulativeAmount: 123_456n }, compact), 'settle (compact)')
    expect(await bed.balance(payee.account.address)).toBe(123_456n)
  })

  it('forced close: requestClose, the payee may still settle in the grace period, withdraw after 15 minutes refunds the unsettled rest', async () => {
    const payer = await bed.party()
    const payee = await bed.party(0n)
    const id = await bed.open(payer, payee.account.address, 1_000_000n)
    expect(await Escrow.gracePeriod(bed.chain.client, escrow)).toBe(900n)
    const requested = await send(payer, Escrow.calls.requestClose(escrow, id), 'requestClose')
    const { timestamp } = await getBlock(bed.chain.client, { blockNumber: requested.blockNumber })
    expect((await channel(id)).closeRequestedAt).toBe(timestamp)
    const [event] = parseEventLogs({ abi: Escrow.abi, logs: requested.logs, eventName: 'CloseRequested' })
    expect(event?.args.closeGraceEnd).toBe(timestamp + 900n)

    await send(payee, Escrow.calls.settle(escrow, { channelId: id, cumulativeAmount: 250_000n }, await sign(payer.account, id, 250_000n)), 'settle (in grace)')
    await bed.rpc('evm_setNextBlockTimestamp', [Number(timestamp) + 900])
    await send(payer, Escrow.calls.withdraw(escrow, id), 'withdraw')
    expect(await bed.balance(payer.account.address)).toBe(9_750_000n)
    expect(await bed.balance(payee.account.address)).toBe(250_000n)
    expect(await channel(id)).toMatchObject({ settled: 250_000n, finalized: true })
  })

  it('topUp cancels a pending close request', async () => {
    const payer = await bed.party()
    const payee = await bed.party(0n)
    const id = await bed.open(payer, payee.account.address, 1_000_000n)
    await send(payer, Escrow.calls.requestClose(escrow, id), 'requestClose')
    expect((await channel(id)).closeRequestedAt).not.toBe(0n)
    const receipt = await Escrow.write(payer.client, [Escrow.calls.approve(TOKEN, escrow, 1n), Escrow.calls.topUp(escrow, id, 1n)], FEES)
    expect(parseEventLogs({ abi: Escrow.abi, logs: receipt.logs, eventName: 'CloseRequestCancelled' })).toHaveLength(1)
    expect(await channel(id)).toMatchObject({ closeRequestedAt: 0n, deposit: 1_000_001n })
  })
})
