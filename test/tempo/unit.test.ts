/**
 * tempo/charge building blocks that need no chain (mpp-digest §4.1, §8 items 87, 91, 95;
 * draft-tempo-charge-00 §4–§5): the attribution memo, the effects comparison used by
 * pull and push, call decoding, the zero-amount proof typed data (the test vector of
 * docs/research/tempo.md §6), did:pkh parsing, and the request/payload schemas.
 * This file starts no node.
 */
import {
  encodeAbiParameters,
  encodeEventTopics,
  encodeFunctionData,
  getAddress,
  hashTypedData,
  keccak256,
  recoverTypedDataAddress,
  stringToBytes,
  type Address,
  type Hex,
  type Log,
} from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { Abis } from 'viem/tempo'
import { Proof as MppxProof } from 'mppx/tempo'
// mppx's own encoder (not in its exports map): the reference for the memo layout.
import * as MppxAttribution from '../../node_modules/mppx/dist/tempo/Attribution.js'
import { describe, expect, it } from 'vitest'
import * as Effects from '../../src/methods/tempo/effects.js'
import { AttributionMemo, ChargePayload, ChargeRequest, Proof, TOKENS } from '../../src/methods/tempo/index.js'

// The draft's example addresses, checksummed properly (the draft's mixed case is not EIP-55).
const MERCHANT: Address = getAddress('0x742d35cc6634c0532925a3b844bc9e7595f8fe00')
const PLATFORM: Address = getAddress('0xa1b2c3d4e5f6a1b2c3d4e5f6a1b2c3d4e5f6a1b2')
const AFFILIATE: Address = getAddress('0xc4d5e6f7a8b9c4d5e6f7a8b9c4d5e6f7a8b9c4d5')
const REALM = 'api.example.com'
const ID = 'kM9xPqWvT2nJrHsY4aDfEb'
const MEMO: Hex = '0x00000000000000000000000000000000000000000000000000000000deadbeef'
const bytesOf = (hex: Hex, from: number, to: number) => `0x${hex.slice(2 + from * 2, 2 + to * 2)}`
const k = (text: string) => keccak256(stringToBytes(text))

describe('AttributionMemo', () => {
  it('encodes tag ‖ 0x01 ‖ keccak(realm)[0..10] ‖ zeros ‖ keccak(id)[0..7] without a client id', () => {
    const memo = AttributionMemo.encode(REALM, ID)
    expect(memo).toMatch(/^0x[0-9a-f]{64}$/)
    expect(bytesOf(memo, 0, 4)).toBe('0xef1ed712')
    expect(bytesOf(memo, 0, 4)).toBe(bytesOf(k('mpp'), 0, 4))
    expect(bytesOf(memo, 4, 5)).toBe('0x01')
    expect(bytesOf(memo, 5, 15)).toBe(bytesOf(k(REALM), 0, 10))
    expect(bytesOf(memo, 15, 25)).toBe(`0x${'00'.repeat(10)}`)
    expect(bytesOf(memo, 25, 32)).toBe(bytesOf(k(ID), 0, 7))
  })

  it('puts keccak(clientId)[0..10] in bytes 15..25 when a client id is given', () => {
    const memo = AttributionMemo.encode(REALM, ID, 'my-agent')
    expect(bytesOf(memo, 15, 25)).toBe(bytesOf(k('my-agent'), 0, 10))
    expect(bytesOf(memo, 0, 15)).toBe(bytesOf(AttributionMemo.encode(REALM, ID), 0, 15))
    expect(bytesOf(memo, 25, 32)).toBe(bytesOf(AttributionMemo.encode(REALM, ID), 25, 32))
  })

  it('is byte-identical to mppx 0.11.0 Attribution.encode (serverId = realm)', () => {
    expect(AttributionMemo.encode(REALM, ID)).toBe(MppxAttribution.encode({ serverId: REALM, challengeId: ID }))
    expect(AttributionMemo.encode('mppkit.test', 'abc', 'client-7')).toBe(
      MppxAttribution.encode({ serverId: 'mppkit.test', challengeId: 'abc', clientId: 'client-7' }),
    )
    expect(MppxAttribution.verifyChallengeBinding(AttributionMemo.encode(REALM, ID), ID)).toBe(true)
  })

  it('binds its realm and challenge id whatever the client id, in any hex case', () => {
    for (const clientId of [undefined, 'a', 'another-client']) {
      const memo = AttributionMemo.encode(REALM, ID, clientId)
      expect(AttributionMemo.binds(memo, REALM, ID)).toBe(true)
      expect(AttributionMemo.binds(memo.toUpperCase().replace('0X', '0x') as Hex, REALM, ID)).toBe(true)
    }
  })

  it('does not bind another challenge id, another realm, a plain memo, or a short one', () => {
    const memo = AttributionMemo.encode(REALM, ID, 'c')
    expect(AttributionMemo.binds(memo, REALM, `${ID}x`)).toBe(false)
    expect(AttributionMemo.binds(memo, 'api.other.com', ID)).toBe(false)
    expect(AttributionMemo.binds(MEMO, REALM, ID)).toBe(false)
    expect(AttributionMemo.binds(memo.slice(0, 64) as Hex, REALM, ID)).toBe(false)
    // Same bytes but another version byte.
    const v2 = `${memo.slice(0, 10)}02${memo.slice(12)}` as Hex
    expect(AttributionMemo.binds(v2, REALM, ID)).toBe(false)
  })
})

describe('Effects.expected', () => {
  const request = (methodDetails?: ChargeRequest['methodDetails']): ChargeRequest => ({
    amount: '1000000',
    currency: TOKENS.pathUSD,
    recipient: MERCHANT,
    ...(methodDetails && { methodDetails }),
  })

  it('gives the primary recipient the amount minus the splits, each split its own amount', () => {
    const wanted = Effects.expected(
      request({ splits: [{ amount: '50000', recipient: PLATFORM }, { amount: '10000', recipient: AFFILIATE, memo: MEMO }] }),
    )
    expect(wanted).toEqual([
      { to: MERCHANT, amount: 940_000n, memo: 'any' },
      { to: PLATFORM, amount: 50_000n, memo: 'any' },
      { to: AFFILIATE, amount: 10_000n, memo: { exact: MEMO } },
    ])
  })

  it('requires the request memo exactly, else the bound memo when asked, else any', () => {
    const bind = { realm: REALM, challengeId: ID }
    expect(Effects.expected(request({ memo: MEMO }), bind)[0]!.memo).toEqual({ exact: MEMO })
    expect(Effects.expected(request(), bind)[0]!.memo).toEqual({ boundTo: bind })
    expect(Effects.expected(request())[0]!.memo).toBe('any')
  })
})

describe('Effects.satisfied', () => {
  const splitRequest: ChargeRequest = {
    amount: '1000000',
    currency: TOKENS.pathUSD,
    recipient: MERCHANT,
    methodDetails: { splits: [{ amount: '50000', recipient: PLATFORM }, { amount: '10000', recipient: AFFILIATE, memo: MEMO }] },
  }
  const wanted = Effects.expected(splitRequest)
  const primary = { to: MERCHANT, amount: 940_000n }
  const platform = { to: PLATFORM, amount: 50_000n }
  const affiliate = { to: AFFILIATE, amount: 10_000n, memo: MEMO }

  it('accepts the splits in any order (item 87)', () => {
    const orders = [
      [primary, platform, affiliate],
      [affiliate, primary, platform],
      [platform, affiliate, primary],
      [affiliate, platform, primary],
    ]
    for (const observed of orders) expect(Effects.satisfied(wanted, observed, true)).toBe(true)
  })

  it('fails when a split is missing, short, or sent to someone else', () => {
    expect(Effects.satisfied(wanted, [primary, platform], false)).toBe(false)
    expect(Effects.satisfied(wanted, [primary, affiliate], false)).toBe(false)
    expect(Effects.satisfied(wanted, [primary, { ...platform, amount: 49_999n }, affiliate], false)).toBe(false)
    expect(Effects.satisfied(wanted, [primary, { ...platform, to: AFFILIATE }, affiliate], false)).toBe(false)
    // The whole amount to the merchant does not stand in for the splits.
    expect(Effects.satisfied(wanted, [{ to: MERCHANT, amount: 1_000_000n }], false)).toBe(false)
  })

  it('uses each observed effect once: one transfer cannot pay two equal expectations', () => {
    const twice = [
      { to: MERCHANT, amount: 5n, memo: 'any' as const },
      { to: MERCHANT, amount: 5n, memo: 'any' as const },
    ]
    expect(Effects.satisfied(twice, [{ to: MERCHANT, amount: 5n }], false)).toBe(false)
    expect(Effects.satisfied(twice, [{ to: MERCHANT, amount: 5n }, { to: MERCHANT, amount: 5n }], true)).toBe(true)
  })

  it('in exact mode rejects an extra effect; otherwise tolerates it', () => {
    const extra = { to: '0x000000000000000000000000000000000000dEaD' as Address, amount: 1n }
    expect(Effects.satisfied(wanted, [primary, platform, affiliate, extra], true)).toBe(false)
    expect(Effects.satisfied(wanted, [primary, platform, affiliate, extra], false)).toBe(true)
  })

  it('memo rule exact: the same 32 bytes (any hex case), nothing else', () => {
    const want = [{ to: MERCHANT, amount: 1n, memo: { exact: MEMO } }]
    expect(Effects.satisfied(want, [{ to: MERCHANT, amount: 1n, memo: MEMO }], true)).toBe(true)
    expect(Effects.satisfied(want, [{ to: MERCHANT, amount: 1n, memo: MEMO.toUpperCase().replace('0X', '0x') as Hex }], true)).toBe(true)
    expect(Effects.satisfied(want, [{ to: MERCHANT, amount: 1n }], true)).toBe(false)
    expect(Effects.satisfied(want, [{ to: MERCHANT, amount: 1n, memo: `0x${'00'.repeat(31)}01` }], true)).toBe(false)
  })

  it('memo rule bound: a memo binding this realm and challenge (any client id); not another challenge, not none', () => {
    const want = [{ to: MERCHANT, amount: 1n, memo: { boundTo: { realm: REALM, challengeId: ID } } }]
    expect(Effects.satisfied(want, [{ to: MERCHANT, amount: 1n, memo: AttributionMemo.encode(REALM, ID) }], true)).toBe(true)
    expect(Effects.satisfied(want, [{ to: MERCHANT, amount: 1n, memo: AttributionMemo.encode(REALM, ID, 'x') }], true)).toBe(true)
    expect(Effects.satisfied(want, [{ to: MERCHANT, amount: 1n, memo: AttributionMemo.encode(REALM, 'other-id') }], true)).toBe(false)
    expect(Effects.satisfied(want, [{ to: MERCHANT, amount: 1n, memo: AttributionMemo.encode('other.realm', ID) }], true)).toBe(false)
    expect(Effects.satisfied(want, [{ to: MERCHANT, amount: 1n }], true)).toBe(false)
    expect(Effects.satisfied(want, [{ to: MERCHANT, amount: 1n, memo: MEMO }], true)).toBe(false)
  })

  it('memo rule any: with or without a memo', () => {
    const want = [{ to: MERCHANT, amount: 1n, memo: 'any' as const }]
    expect(Effects.satisfied(want, [{ to: MERCHANT, amount: 1n }], true)).toBe(true)
    expect(Effects.satisfied(want, [{ to: MERCHANT, amount: 1n, memo: MEMO }], true)).toBe(true)
  })

  it('a stricter memo expectation is matched first, so "any" cannot take the effect it needs', () => {
    const want = [
      { to: MERCHANT, amount: 1n, memo: 'any' as const },
      { to: MERCHANT, amount: 1n, memo: { exact: MEMO } },
    ]
    expect(Effects.satisfied(want, [{ to: MERCHANT, amount: 1n, memo: MEMO }, { to: MERCHANT, amount: 1n }], true)).toBe(true)
  })

  it('compares addresses as 20-byte values: checksum and lowercase are equal (item 95)', () => {
    const lower = MERCHANT.toLowerCase() as Address
    expect(Effects.satisfied([{ to: MERCHANT, amount: 7n, memo: 'any' }], [{ to: lower, amount: 7n }], true)).toBe(true)
    expect(Effects.satisfied([{ to: lower, amount: 7n, memo: 'any' }], [{ to: getAddress(MERCHANT), amount: 7n }], true)).toBe(true)
    expect(Effects.satisfied([{ to: MERCHANT, amount: 7n, memo: 'any' }], [{ to: PLATFORM, amount: 7n }], true)).toBe(false)
  })
})

describe('Effects.fromCalls', () => {
  const token = TOKENS.pathUSD
  const transfer = (to: Address, amount: bigint) => encodeFunctionData({ abi: Abis.tip20, functionName: 'transfer', args: [to, amount] })
  const withMemo = (to: Address, amount: bigint, memo: Hex) =>
    encodeFunctionData({ abi: Abis.tip20, functionName: 'transferWithMemo', args: [to, amount, memo] })

  it('decodes transfer and transferWithMemo calls on the currency', () => {
    expect(
      Effects.fromCalls(
        [
          { to: token, data: transfer(MERCHANT, 940_000n) },
          { to: token, data: withMemo(AFFILIATE, 10_000n, MEMO), value: 0n },
        ],
        token,
      ),
    ).toEqual([
      { to: MERCHANT, amount: 940_000n },
      { to: AFFILIATE, amount: 10_000n, memo: MEMO },
    ])
  })

  it('matches the currency address in any case', () => {
    const observed = Effects.fromCalls([{ to: token.toUpperCase().replace('0X', '0x') as Address, data: transfer(MERCHANT, 1n) }], token)
    expect(observed).toEqual([{ to: MERCHANT, amount: 1n }])
  })

  it('rejects a call to another contract (another token)', () => {
    expect(typeof Effects.fromCalls([{ to: TOKENS.alphaUSD, data: transfer(MERCHANT, 1n) }], token)).toBe('string')
    expect(typeof Effects.fromCalls([{ to: token, data: transfer(MERCHANT, 1n) }, { to: TOKENS.alphaUSD, data: transfer(MERCHANT, 1n) }], token)).toBe(
      'string',
    )
    expect(typeof Effects.fromCalls([{ to: null, data: transfer(MERCHANT, 1n) }], token)).toBe('string')
  })

  it('rejects a call that sends value', () => {
    expect(typeof Effects.fromCalls([{ to: token, data: transfer(MERCHANT, 1n), value: 1n }], token)).toBe('string')
  })

  it('rejects non-canonical calldata (bytes appended after the arguments)', () => {
    expect(typeof Effects.fromCalls([{ to: token, data: `${transfer(MERCHANT, 1n)}00` }], token)).toBe('string')
    expect(typeof Effects.fromCalls([{ to: token, data: `${transfer(MERCHANT, 1n)}${'00'.repeat(32)}` }], token)).toBe('string')
    expect(typeof Effects.fromCalls([{ to: token, data: `${withMemo(MERCHANT, 1n, MEMO)}deadbeef` }], token)).toBe('string')
  })

  it('rejects approve, transferFrom, unknown selectors and empty calls', () => {
    const approve = encodeFunctionData({ abi: Abis.tip20, functionName: 'approve', args: [MERCHANT, 10n ** 18n] })
    const transferFrom = encodeFunctionData({ abi: Abis.tip20, functionName: 'transferFrom', args: [PLATFORM, MERCHANT, 1n] })
    expect(typeof Effects.fromCalls([{ to: token, data: approve }], token)).toBe('string')
    expect(typeof Effects.fromCalls([{ to: token, data: transfer(MERCHANT, 1n) }, { to: token, data: approve }], token)).toBe('string')
    expect(typeof Effects.fromCalls([{ to: token, data: transferFrom }], token)).toBe('string')
    expect(typeof Effects.fromCalls([{ to: token, data: '0xdeadbeef' }], token)).toBe('string')
    expect(typeof Effects.fromCalls([{ to: token }], token)).toBe('string')
  })
})

describe('Effects.fromLogs', () => {
  // Logs shaped as the TIP-20 precompile emits them (see notes §2.3 and §4).
  let index = 0
  const log = (address: Address, topics: Hex[], data: Hex): Log =>
    ({
      address,
      topics,
      data,
      logIndex: index++,
      blockHash: `0x${'11'.repeat(32)}`,
      blockNumber: 1n,
      transactionHash: `0x${'22'.repeat(32)}`,
      transactionIndex: 0,
      removed: false,
    }) as Log
  const amountData = (amount: bigint) => encodeAbiParameters([{ type: 'uint256' }], [amount])
  const transferLog = (token: Address, from: Address, to: Address, amount: bigint) =>
    log(token, encodeEventTopics({ abi: Abis.tip20, eventName: 'Transfer', args: { from, to } }) as Hex[], amountData(amount))
  const memoLog = (token: Address, from: Address, to: Address, amount: bigint, memo: Hex) =>
    log(token, encodeEventTopics({ abi: Abis.tip20, eventName: 'TransferWithMemo', args: { from, to, memo } }) as Hex[], amountData(amount))
  const payer = privateKeyToAccount('0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d').address

  it('counts a Transfer + TransferWithMemo pair once, keeps other transfers, ignores other tokens (item 91)', () => {
    index = 0
    const logs = [
      transferLog(TOKENS.pathUSD, payer, MERCHANT, 940_000n),
      memoLog(TOKENS.pathUSD, payer, MERCHANT, 940_000n, MEMO),
      transferLog(TOKENS.pathUSD, payer, PLATFORM, 60_000n),
      transferLog(TOKENS.alphaUSD, payer, MERCHANT, 5n),
      transferLog(TOKENS.pathUSD, payer, '0xfeEC000000000000000000000000000000000000', 708n),
    ]
    expect(Effects.fromLogs(logs, TOKENS.pathUSD)).toEqual([
      { to: MERCHANT, amount: 940_000n, memo: MEMO },
      { to: PLATFORM, amount: 60_000n },
      { to: '0xfeEC000000000000000000000000000000000000', amount: 708n },
    ])
    // So one transferWithMemo cannot pay both a primary and an equal split to the same address.
    const double = [
      { to: MERCHANT, amount: 940_000n, memo: { exact: MEMO } },
      { to: MERCHANT, amount: 940_000n, memo: 'any' as const },
    ]
    expect(Effects.satisfied(double, Effects.fromLogs(logs, TOKENS.pathUSD), false)).toBe(false)
  })
})

describe('Proof', () => {
  // notes §6: dev key 1, deterministic (RFC 6979).
  const VECTOR = {
    privateKey: '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d',
    address: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8',
    chainId: 31337,
    challengeId: 'kM9xPqWvT2nJrHsY4aDfEb',
    digest: '0x21317630b055ce43256130b71b421abd6abf27a4653401a243ae89439831a3f9',
    signature:
      '0x925502855fd9f75ce067241af2988b33325b9eb91e6bfdb2ac834c143561ed72795a65eed56cf033d8e52ae0d17ae1ed8937f69bb6e7109ff1377be7d45fc1e21b',
  } as const

  it('typed data is the draft\u2019s: domain {MPP, 1, chainId}, Proof(string challengeId)', () => {
    expect(Proof.typedData(31337, 'x')).toEqual({
      domain: { name: 'MPP', version: '1', chainId: 31337 },
      types: { Proof: [{ name: 'challengeId', type: 'string' }] },
      primaryType: 'Proof',
      message: { challengeId: 'x' },
    })
  })

  it('reproduces the test vector digest and signature, and verifies it', async () => {
    const data = Proof.typedData(VECTOR.chainId, VECTOR.challengeId)
    expect(hashTypedData(data)).toBe(VECTOR.digest)
    const account = privateKeyToAccount(VECTOR.privateKey)
    expect(account.address).toBe(VECTOR.address)
    expect(await account.signTypedData(data)).toBe(VECTOR.signature)
    expect(await recoverTypedDataAddress({ ...data, signature: VECTOR.signature })).toBe(VECTOR.address)
    const base = { address: VECTOR.address, chainId: VECTOR.chainId, challengeId: VECTOR.challengeId, realm: 'any', signature: VECTOR.signature } as const
    expect(await Proof.verify(base)).toBe(true)
    expect(await Proof.verify({ ...base, address: VECTOR.address.toLowerCase() as Address })).toBe(true)
  })

  it('does not verify for another challenge id, chain id or address, nor a garbage signature', async () => {
    const base = { address: VECTOR.address, chainId: VECTOR.chainId, challengeId: VECTOR.challengeId, realm: 'r', signature: VECTOR.signature } as const
    expect(await Proof.verify({ ...base, challengeId: `${VECTOR.challengeId}X` })).toBe(false)
    expect(await Proof.verify({ ...base, chainId: 42431 })).toBe(false)
    expect(await Proof.verify({ ...base, address: MERCHANT })).toBe(false)
    expect(await Proof.verify({ ...base, signature: '0x1234' })).toBe(false)
  })

  it('the mppx variant equals mppx 0.11.0 Proof.typedData and verifies only for its realm and account', async () => {
    const account = privateKeyToAccount(VECTOR.privateKey)
    const ours = Proof.mppxTypedData(31337, ID, REALM, account.address)
    expect(hashTypedData(ours)).toBe(hashTypedData(MppxProof.typedData({ account: account.address, chainId: 31337, challengeId: ID, realm: REALM })))
    const signature = await account.signTypedData(ours)
    const base = { address: account.address, chainId: 31337, challengeId: ID, realm: REALM, signature }
    expect(await Proof.verify(base)).toBe(true)
    expect(await Proof.verify({ ...base, realm: 'other.realm' })).toBe(false)
    expect(await Proof.verify({ ...base, challengeId: 'other' })).toBe(false)
  })

  it('did:pkh: formats a checksummed DID and parses only did:pkh:eip155:<chainId>:<address>', () => {
    const lower = '0x70997970c51812dc3a010c7d01b50e0d17dc79c8' as Address
    expect(Proof.did(31337, lower)).toBe('did:pkh:eip155:31337:0x70997970C51812dc3A010C7d01b50e0d17dc79C8')
    expect(Proof.parseDid('did:pkh:eip155:31337:0x70997970C51812dc3A010C7d01b50e0d17dc79C8')).toEqual({
      chainId: 31337,
      address: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8',
    })
    expect(Proof.parseDid(`did:pkh:eip155:4217:${lower}`)).toEqual({ chainId: 4217, address: lower })
    for (const bad of [
      undefined,
      '',
      `did:pkh:eip155:031337:${lower}`,
      `did:pkh:eip155::${lower}`,
      `did:pkh:eip155:31337:${lower.slice(0, 41)}`,
      `did:pkh:eip155:31337:${lower}00`,
      `did:pkh:eip155:31337:${lower.slice(2)}`,
      `did:pkh:solana:31337:${lower}`,
      `did:key:eip155:31337:${lower}`,
      ` did:pkh:eip155:31337:${lower}`,
      `did:pkh:eip155:-1:${lower}`,
    ])
      expect(Proof.parseDid(bad), String(bad)).toBeUndefined()
  })
})

describe('schemas', () => {
  const base = { amount: '1000000', currency: TOKENS.pathUSD, recipient: MERCHANT }

  it('accept the draft\u2019s example request', () => {
    const parsed = ChargeRequest.safeParse({
      ...base,
      methodDetails: {
        chainId: 4217,
        feePayer: true,
        splits: [{ amount: '50000', recipient: PLATFORM }, { amount: '10000', memo: MEMO, recipient: AFFILIATE }],
        supportedModes: ['pull'],
      },
    })
    expect(parsed.success).toBe(true)
  })

  it('reject bad amounts, addresses, memos, empty splits and empty modes', () => {
    const bad = [
      { ...base, amount: '1.5' },
      { ...base, amount: '-1' },
      { ...base, amount: '01' },
      { ...base, amount: ' 1' },
      { ...base, currency: '0x20c0' },
      { ...base, recipient: 'merchant' },
      { ...base, methodDetails: { memo: '0xdeadbeef' } },
      { ...base, methodDetails: { splits: [] } },
      { ...base, methodDetails: { supportedModes: [] } },
      { ...base, methodDetails: { supportedModes: ['pull', 'stream'] } },
      { ...base, methodDetails: { chainId: '31337' } },
      { ...base, methodDetails: { splits: [{ amount: '1', recipient: 'x' }] } },
    ]
    for (const request of bad) expect(ChargeRequest.safeParse(request).success, JSON.stringify(request)).toBe(false)
  })

  it('payloads: transaction and proof carry hex, hash carries 32 bytes', () => {
    expect(ChargePayload.safeParse({ type: 'transaction', signature: '0x76f9' }).success).toBe(true)
    expect(ChargePayload.safeParse({ type: 'hash', hash: `0x${'ab'.repeat(32)}` }).success).toBe(true)
    expect(ChargePayload.safeParse({ type: 'proof', signature: '0x12' }).success).toBe(true)
    expect(ChargePayload.safeParse({ type: 'hash', hash: '0xabcd' }).success).toBe(false)
    expect(ChargePayload.safeParse({ type: 'transaction', signature: '76f9' }).success).toBe(false)
    expect(ChargePayload.safeParse({ type: 'session', signature: '0x12' }).success).toBe(false)
  })
})
