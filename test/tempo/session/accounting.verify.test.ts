/**
 * verifyVoucher against the real escrow on a Tempo-mode anvil (draft-tempo-session-00
 * §"Voucher Verification", §"Idempotency", §"Rejection and Error Responses",
 * §"Signature Malleability"): the signer comes from the chain, the checks run in the
 * draft's order, every refusal has its reason and status and leaves the accounting record
 * as it was, and a refusal on state that can move (a top-up, a cancelled close) is
 * confirmed with a fresh read first.
 */
import { keccak256, parseSignature, serializeCompactSignature, signatureToCompactSignature, toHex, type Hex } from 'viem'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { describe, expect, it } from 'vitest'
import * as Accounting from '../../../src/methods/tempo/session/accounting.js'
import * as ChannelReader from '../../../src/methods/tempo/session/channelReader.js'
import * as ChannelState from '../../../src/methods/tempo/session/channelState.js'
import * as Escrow from '../../../src/methods/tempo/session/escrow.js'
import { SessionError, type SessionRejectReason } from '../../../src/methods/tempo/session/SessionError.js'
import { verifyVoucher } from '../../../src/methods/tempo/session/verifyVoucher.js'
import * as Voucher from '../../../src/methods/tempo/session/voucher.js'
import { memoryStore } from '../../../src/server/stores/memory.js'
import { escrowForThisFile, FEES, TOKEN, type Party } from './support.js'

const bed = await escrowForThisFile()
const { escrow, domain } = bed
const ORDER = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n

/** A server: its store, accounting and a cached reader counting chain reads. */
function server(options: { maxAgeMs?: number; minVoucherDelta?: bigint } = {}) {
  const store = memoryStore()
  const accounting = Accounting.create({ store })
  let reads = 0
  const channels = ChannelReader.create({
    read: (id) => {
      reads++
      return Escrow.getChannel(bed.chain.client, escrow, id)
    },
    maxAgeMs: options.maxAgeMs ?? 60_000,
  })
  const params = { domain, channels, accounting, ...(options.minVoucherDelta !== undefined && { minVoucherDelta: options.minVoucherDelta }) }
  return {
    store,
    accounting,
    reads: () => reads,
    forget: (id: Hex) => channels.forget(id),
    verify: (channelId: Hex, cumulativeAmount: bigint, signature: Hex) => verifyVoucher(params, { channelId, cumulativeAmount, signature }),
    /** The stored record, raw: a refusal must leave it byte for byte. */
    raw: (channelId: Hex) => store.get(ChannelState.key(channelId)),
  }
}

async function channel(deposit = 1_000_000n, options: { authorizedSigner?: Party } = {}) {
  const payer = await bed.party()
  const payee = await bed.party(0n)
  const id = await bed.open(payer, payee.account.address, deposit, options.authorizedSigner ? { authorizedSigner: options.authorizedSigner.account.address } : {})
  return { payer, payee, id }
}

const sign = (signer: Party['account'], channelId: Hex, cumulativeAmount: bigint) => Voucher.sign(signer, domain, { channelId, cumulativeAmount })

async function refused(promise: Promise<unknown>, reason: SessionRejectReason, status: 400 | 402 | 410 = 402) {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(error, `expected SessionError ${reason}`).toBeInstanceOf(SessionError)
  expect(error).toMatchObject({ reason, status, code: 'verification-failed' })
  return error as SessionError
}

function highS(signature: Hex): Hex {
  const { r, s, yParity } = parseSignature(signature)
  const flipped = toHex(ORDER - BigInt(s), { size: 32 })
  return `${r}${flipped.slice(2)}${(yParity === 0 ? 28 : 27).toString(16)}` as Hex
}

describe('verifyVoucher on the deployed escrow', () => {
  it('accepts a payer-signed voucher, stores it with its signature, and a replay is idempotent', async () => {
    const { payer, id } = await channel()
    const s = server()
    const signature = await sign(payer.account, id, 250_000n)
    const first = await s.verify(id, 250_000n, signature)
    expect(first).toMatchObject({ idempotent: false, state: { acceptedCumulative: 250_000n, spent: 0n, deposit: 1_000_000n, signature } })
    const stored = await s.raw(id)
    expect(await s.verify(id, 250_000n, signature)).toMatchObject({ idempotent: true, state: { acceptedCumulative: 250_000n } })
    expect(await s.raw(id)).toBe(stored)
    // The EIP-2098 compact form of the same signature is the same voucher.
    const compact = serializeCompactSignature(signatureToCompactSignature(parseSignature(signature)))
    expect((await s.verify(id, 250_000n, compact)).idempotent).toBe(true)
    // What was stored settles on chain.
    await Escrow.simulate(bed.chain.client, (await Escrow.getChannel(bed.chain.client, escrow, id)).payee, Escrow.calls.settle(escrow, { channelId: id, cumulativeAmount: 250_000n }, first.state.signature!))
  })

  it('a lower voucher after a higher one is refused; a rise below minVoucherDelta is refused; above the deposit is refused', async () => {
    const { payer, id } = await channel()
    const s = server({ minVoucherDelta: 1_000n })
    await s.verify(id, 500_000n, await sign(payer.account, id, 500_000n))
    const stored = await s.raw(id)
    await refused(s.verify(id, 400_000n, await sign(payer.account, id, 400_000n)), 'amount-not-increasing')
    await refused(s.verify(id, 500_999n, await sign(payer.account, id, 500_999n)), 'delta-too-small')
    await refused(s.verify(id, 1_000_001n, await sign(payer.account, id, 1_000_001n)), 'amount-exceeds-deposit')
    expect(await s.raw(id)).toBe(stored)
    expect((await s.verify(id, 1_000_000n, await sign(payer.account, id, 1_000_000n))).state.acceptedCumulative).toBe(1_000_000n)
  })

  it('refuses a high-s twin, a malformed and an unrecoverable signature with invalid-signature, storing nothing', async () => {
    const { payer, id } = await channel()
    const s = server()
    const good = await sign(payer.account, id, 100n)
    const error = await refused(s.verify(id, 100n, highS(good)), 'invalid-signature')
    expect(error.cause).toMatchObject({ reason: 'signature-high-s' })
    await refused(s.verify(id, 100n, `${good.slice(0, -2)}1b1b` as Hex), 'invalid-signature')
    await refused(s.verify(id, 100n, `0x${'00'.repeat(64)}1b`), 'invalid-signature')
    expect(await s.raw(id)).toBeUndefined()
    expect(s.reads(), 'a bad signature costs no chain read').toBe(0)
  })

  it('the signer comes from the chain: a stranger, or the payer of a delegated channel, is signer-mismatch', async () => {
    const stranger = privateKeyToAccount(generatePrivateKey())
    const { id } = await channel()
    const s = server()
    await refused(s.verify(id, 100n, await sign(stranger, id, 100n)), 'signer-mismatch')

    const delegate = await bed.party(0n)
    const delegated = await channel(1_000_000n, { authorizedSigner: delegate })
    await refused(s.verify(delegated.id, 100n, await sign(delegated.payer.account, delegated.id, 100n)), 'signer-mismatch')
    expect((await s.verify(delegated.id, 100n, await sign(delegate.account, delegated.id, 100n))).state.acceptedCumulative).toBe(100n)
  })

  it('an id with no channel is channel-not-found (410), read fresh before refusing', async () => {
    const s = server()
    const id = keccak256(toHex('no such channel'))
    await refused(s.verify(id, 100n, await sign(privateKeyToAccount(generatePrivateKey()), id, 100n)), 'channel-not-found', 410)
    expect(s.reads()).toBe(2)
    expect(await s.raw(id)).toBeUndefined()
  })

  it('a close request refuses vouchers (close-pending); a top-up cancels it, seen by a fresh read before refusing', async () => {
    const { payer, id } = await channel()
    const s = server()
    await s.verify(id, 100n, await sign(payer.account, id, 100n))
    await Escrow.write(payer.client, Escrow.calls.requestClose(escrow, id), FEES)
    s.forget(id) // as a server whose cache has aged out
    const stored = await s.raw(id)
    await refused(s.verify(id, 200n, await sign(payer.account, id, 200n)), 'close-pending')
    expect(await s.raw(id)).toBe(stored)
    await Escrow.write(payer.client, [Escrow.calls.approve(TOKEN, escrow, 1n), Escrow.calls.topUp(escrow, id, 1n)], FEES)
    const reads = s.reads()
    // The cache still says a close is pending; the refusal is confirmed on chain, which says it was cancelled.
    expect((await s.verify(id, 200n, await sign(payer.account, id, 200n))).state).toMatchObject({ acceptedCumulative: 200n, closeRequestedAt: 0n })
    expect(s.reads()).toBe(reads + 1)
  })

  it('a voucher above the cached deposit is accepted after a top-up the cache has not seen', async () => {
    const { payer, id } = await channel(1_000n)
    const s = server()
    await s.verify(id, 1_000n, await sign(payer.account, id, 1_000n))
    await Escrow.write(payer.client, [Escrow.calls.approve(TOKEN, escrow, 500n), Escrow.calls.topUp(escrow, id, 500n)], FEES)
    expect((await s.verify(id, 1_500n, await sign(payer.account, id, 1_500n))).state).toMatchObject({ acceptedCumulative: 1_500n, deposit: 1_500n })
  })

  it('a finalized channel is channel-finalized (410), checked after the signature and signer, before the amount', async () => {
    const { payer, payee, id } = await channel(1_000n)
    const s = server()
    const signature = await sign(payer.account, id, 400n)
    await s.verify(id, 400n, signature)
    await Escrow.write(payee.client, Escrow.calls.close(escrow, { channelId: id, cumulativeAmount: 400n }, signature), FEES)
    const stored = await s.raw(id)
    await refused(s.verify(id, 5_000n, await sign(payer.account, id, 5_000n)), 'channel-finalized', 410)
    await refused(s.verify(id, 400n, signature), 'channel-finalized', 410)
    // Order: a bad signature or a stranger is refused as such before the channel's state is looked at.
    await refused(s.verify(id, 500n, highS(await sign(payer.account, id, 500n))), 'invalid-signature')
    await refused(s.verify(id, 500n, await sign(privateKeyToAccount(generatePrivateKey()), id, 500n)), 'signer-mismatch')
    expect(await s.raw(id)).toBe(stored)
  })

  it('a burst of vouchers on one channel costs one chain read; the best one wins', async () => {
    const { payer, id } = await channel()
    const s = server()
    const amounts = Array.from({ length: 20 }, (_, i) => BigInt(i + 1) * 1_000n)
    const signed = await Promise.all(amounts.map(async (a) => [a, await sign(payer.account, id, a)] as const))
    const results = await Promise.allSettled(signed.map(([a, sig]) => s.verify(id, a, sig)))
    for (const r of results) if (r.status === 'rejected') expect(r.reason).toMatchObject({ reason: 'amount-not-increasing' })
    expect(s.reads()).toBe(1)
    expect((await s.accounting.get(id))!.acceptedCumulative).toBe(20_000n)
  })

  it('then charges against it: spent persisted, requiredTopUp when short', async () => {
    const { payer, id } = await channel()
    const s = server()
    await s.verify(id, 300n, await sign(payer.account, id, 300n))
    expect(await s.accounting.charge(id, 200n)).toMatchObject({ ok: true, state: { spent: 200n } })
    expect(await s.accounting.charge(id, 200n)).toMatchObject({ ok: false, requiredTopUp: 100n, requiredCumulative: 400n })
  })
})

describe('malformed vouchers (400), before any signature work or chain read', () => {
  it('a channel id that is not 32 bytes of hex, an amount outside uint128', async () => {
    const s = server()
    const account = privateKeyToAccount(generatePrivateKey())
    const id = keccak256(toHex('x'))
    const signature = await sign(account, id, 1n)
    for (const [channelId, amount] of [
      [`0x${'ab'.repeat(31)}` as Hex, 1n],
      [`0x${'zz'.repeat(32)}` as Hex, 1n],
      [id, -1n],
      [id, 2n ** 128n],
    ] as const)
      await refused(s.verify(channelId, amount, signature), 'voucher-malformed', 400)
    expect(s.reads()).toBe(0)
  })
})
