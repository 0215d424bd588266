/**
 * Off-chain voucher digests and channel ids (voucher.ts, channelId.ts) equal what the
 * deployed escrow computes (draft-tempo-session-00 §"Voucher Signing Format",
 * §"Contract-Backed Channel State"), on the anvil Tempo node (chain id 31337).
 */
import { hashTypedData, keccak256, toHex, zeroAddress, type Hex } from 'viem'
import fc from 'fast-check'
import { getChainId, getCode, readContract } from 'viem/actions'
import { describe, expect, it } from 'vitest'
import { deployedBytecode } from '../../../src/methods/tempo/session/artifact.js'
import * as ChannelId from '../../../src/methods/tempo/session/channelId.js'
import * as Escrow from '../../../src/methods/tempo/session/escrow.js'
import * as Voucher from '../../../src/methods/tempo/session/voucher.js'
import { CHAIN_ID, escrowForThisFile, TOKEN } from './support.js'

const bed = await escrowForThisFile()
const client = bed.chain.client

describe('voucher digest: off-chain = getVoucherDigest', () => {
  it('node chain id is 31337 and the domain uses it', async () => {
    expect(await getChainId(client)).toBe(CHAIN_ID)
    const separator = await readContract(client, { address: bed.escrow, abi: Escrow.abi, functionName: 'domainSeparator' })
    const expected = keccak256(
      `0x${[
        keccak256(toHex('EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)')),
        keccak256(toHex('Tempo Stream Channel')),
        keccak256(toHex('1')),
        toHex(CHAIN_ID, { size: 32 }),
        `0x${bed.escrow.slice(2).toLowerCase().padStart(64, '0')}`,
      ]
        .map((h) => h.slice(2))
        .join('')}`,
    )
    expect(separator).toBe(expected)
  })

  it('VOUCHER_TYPEHASH is keccak("Voucher(bytes32 channelId,uint128 cumulativeAmount)")', async () => {
    const typehash = await readContract(client, { address: bed.escrow, abi: Escrow.abi, functionName: 'VOUCHER_TYPEHASH' })
    expect(typehash).toBe(keccak256(toHex('Voucher(bytes32 channelId,uint128 cumulativeAmount)')))
  })

  for (const amount of [0n, 1n, 250_000n, 2n ** 96n - 1n, Voucher.MAX_AMOUNT]) {
    it(`cumulativeAmount ${amount}`, async () => {
      const voucher = { channelId: keccak256(toHex(`channel ${amount}`)), cumulativeAmount: amount }
      const onChain = await Escrow.getVoucherDigest(client, bed.escrow, voucher)
      expect(Voucher.digest(bed.domain, voucher)).toBe(onChain)
      // and equals viem's own hashTypedData over the draft's literal typed data
      expect(
        hashTypedData({
          domain: { name: 'Tempo Stream Channel', version: '1', chainId: 31337, verifyingContract: bed.escrow },
          types: { Voucher: [{ name: 'channelId', type: 'bytes32' }, { name: 'cumulativeAmount', type: 'uint128' }] },
          primaryType: 'Voucher',
          message: voucher,
        }),
      ).toBe(onChain)
    })
  }

  it('another chain id or another escrow gives another digest', () => {
    const voucher = { channelId: keccak256(toHex('x')), cumulativeAmount: 5n }
    const base = Voucher.digest(bed.domain, voucher)
    expect(Voucher.digest({ ...bed.domain, chainId: 4217 }, voucher)).not.toBe(base)
    expect(Voucher.digest({ ...bed.domain, escrow: zeroAddress }, voucher)).not.toBe(base)
  })
})

describe('channel id: off-chain = computeChannelId', () => {
  it('matches for a payer-signed and a delegated channel', async () => {
    const salt: Hex = keccak256(toHex('salt'))
    for (const authorizedSigner of [zeroAddress, '0x000000000000000000000000000000000000dEaD'] as const) {
      const p = { payer: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8', payee: '0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC', token: TOKEN, salt, authorizedSigner } as const
      expect(ChannelId.compute({ ...p, escrow: bed.escrow, chainId: CHAIN_ID })).toBe(await Escrow.computeChannelId(client, bed.escrow, p))
    }
  })

  it('the id open() emits is the computed one', async () => {
    const payer = await bed.party()
    const payee = await bed.party(0n)
    const salt: Hex = keccak256(toHex('open'))
    const id = await bed.open(payer, payee.account.address, 1_000n, { salt })
    expect(id).toBe(ChannelId.compute({ payer: payer.account.address, payee: payee.account.address, token: TOKEN, salt, authorizedSigner: zeroAddress, escrow: bed.escrow, chainId: CHAIN_ID }))
  })
})

describe('deployment', () => {
  it('the code on chain is the artifact runtime bytecode', async () => {
    expect(await getCode(client, { address: bed.escrow })).toBe(deployedBytecode)
  })

  it('property: off-chain digest = on-chain digest for random channels and amounts', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.bigInt({ min: 0n, max: Voucher.MAX_AMOUNT }), async (bytes, amount) => {
        const voucher = { channelId: toHex(bytes), cumulativeAmount: amount }
        expect(Voucher.digest(bed.domain, voucher)).toBe(await Escrow.getVoucherDigest(client, bed.escrow, voucher))
      }),
      { numRuns: 30 },
    )
  })
})
