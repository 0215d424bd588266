/**
 * The session `open` as the draft moves it (§"Open Payload"): the payer signs a Tempo
 * transaction offline, [approve, open] in one envelope, and someone else (the server)
 * broadcasts it. The server can decode the calls before broadcasting, and the channel
 * exists once it is mined; sponsored by the payee as fee payer (§"Fee Payment"), the
 * payer is still the channel's payer. Fees in alphaUSD, so pathUSD moves by the deposit only.
 */
import { getAddress, isAddressEqual, keccak256, toHex, zeroAddress } from 'viem'
import { Transaction } from 'viem/tempo'
import { describe, expect, it } from 'vitest'
import * as ChannelId from '../../../src/methods/tempo/session/channelId.js'
import * as Escrow from '../../../src/methods/tempo/session/escrow.js'
import { CHAIN_ID, escrowForThisFile, FEES, TOKEN } from './support.js'

const bed = await escrowForThisFile()

describe('open by a pre-signed Tempo transaction', () => {
  it('decodes to approve + open, broadcasts, and opens the channel it names', async () => {
    const payer = await bed.party()
    const payee = await bed.party(0n)
    const salt = keccak256(toHex('pre-signed'))
    const params = { payee: payee.account.address, token: TOKEN, deposit: 2_000_000n, salt }
    const hex = await bed.chain.sign(payer.account, {
      calls: [Escrow.calls.approve(TOKEN, bed.escrow, params.deposit), Escrow.calls.open(bed.escrow, params)],
      feeToken: FEES.feeToken,
      gas: 400_000n,
    })

    // what a server sees before broadcasting
    const tx = Transaction.deserialize(hex as Transaction.TransactionSerializedTempo)
    expect(isAddressEqual(tx.from!, payer.account.address)).toBe(true)
    const [approve, open] = tx.calls ?? []
    expect(isAddressEqual(approve!.to!, TOKEN)).toBe(true)
    expect(isAddressEqual(open!.to!, bed.escrow)).toBe(true)
    const decoded = Escrow.decodeCall(open!.data!)
    expect(decoded.functionName).toBe('open')
    expect(decoded.args).toEqual([getAddress(payee.account.address), getAddress(TOKEN), 2_000_000n, salt, zeroAddress])
    const expectedId = ChannelId.compute({ payer: payer.account.address, ...params, authorizedSigner: zeroAddress, escrow: bed.escrow, chainId: CHAIN_ID })

    const receipt = await bed.chain.broadcast(hex)
    expect(receipt.status).toBe('success')
    expect(await Escrow.getChannel(bed.chain.client, bed.escrow, expectedId)).toMatchObject({
      payer: payer.account.address,
      payee: payee.account.address,
      deposit: 2_000_000n,
      finalized: false,
    })
    expect(await bed.balance(payer.account.address)).toBe(8_000_000n)
  })

  it('sponsored: the payee co-signs as fee payer; the payer stays the channel payer and pays only the deposit', async () => {
    const payer = await bed.chain.fundPayer(3_000_000n) // pathUSD only, nothing to pay fees with
    const payee = await bed.party(0n)
    const params = { payee: payee.account.address, token: TOKEN, deposit: 3_000_000n, salt: keccak256(toHex('sponsored')) }
    const placeholder = await bed.chain.sign(payer, {
      calls: [Escrow.calls.approve(TOKEN, bed.escrow, params.deposit), Escrow.calls.open(bed.escrow, params)],
      placeholder: true,
      gas: 400_000n,
    })
    // the fee payer's signature, with the claimed sender dropped so the chain recovers it
    const { from: _from, signatures: _signatures, ...fields } = Transaction.deserialize(placeholder as Transaction.TransactionSerializedTempo) as Record<string, unknown>
    const final = await Transaction.serialize({ ...fields, feeToken: FEES.feeToken, feePayer: payee.account } as unknown as Parameters<typeof Transaction.serialize>[0])
    const feesBefore = await bed.chain.balance(FEES.feeToken, payee.account.address)

    const receipt = await bed.chain.broadcast(final as `0x${string}`)
    expect(receipt.status).toBe('success')
    const id = ChannelId.compute({ payer: payer.address, ...params, authorizedSigner: zeroAddress, escrow: bed.escrow, chainId: CHAIN_ID })
    expect((await Escrow.getChannel(bed.chain.client, bed.escrow, id)).payer).toBe(payer.address)
    expect(await bed.balance(payer.address)).toBe(0n)
    expect(await bed.chain.balance(FEES.feeToken, payee.account.address)).toBeLessThan(feesBefore)
  })

  it('open without the approve call is mined as reverted and opens nothing', async () => {
    const payer = await bed.party()
    const payee = await bed.party(0n)
    const params = { payee: payee.account.address, token: TOKEN, deposit: 1_000n, salt: keccak256(toHex('no approve')) }
    const receipt = await bed.chain.broadcast(await bed.chain.sign(payer.account, { calls: [Escrow.calls.open(bed.escrow, params)], feeToken: FEES.feeToken, gas: 300_000n }))
    expect(receipt.status).toBe('reverted')
    const id = ChannelId.compute({ payer: payer.account.address, ...params, authorizedSigner: zeroAddress, escrow: bed.escrow, chainId: CHAIN_ID })
    expect((await Escrow.getChannel(bed.chain.client, bed.escrow, id)).payer).toBe(zeroAddress)
    expect(await bed.balance(payer.account.address)).toBe(10_000_000n)
  })
})
