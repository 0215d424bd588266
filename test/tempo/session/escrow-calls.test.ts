/**
 * escrow.ts without a chain: every calldata builder decodes back to its function and
 * arguments, and revertReason only ever names one of the escrow's own errors.
 */
import { BaseError, encodeErrorResult, keccak256, toHex, zeroAddress, type Address } from 'viem'
import { describe, expect, it } from 'vitest'
import * as Escrow from '../../../src/methods/tempo/session/escrow.js'

const escrow: Address = '0x5FbDB2315678afecb367f032d93F642f64180aa3'
const payee: Address = '0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC'
const token: Address = '0x20C0000000000000000000000000000000000000'
const channelId = keccak256(toHex('c'))
const signature = `0x${'11'.repeat(65)}` as const

describe('calls', () => {
  it('each builder targets the escrow and decodes to its function and arguments', () => {
    const cases = [
      [Escrow.calls.open(escrow, { payee, token, deposit: 5n, salt: channelId }), 'open', [payee, token, 5n, channelId, zeroAddress]],
      [Escrow.calls.open(escrow, { payee, token, deposit: 5n, salt: channelId, authorizedSigner: payee }), 'open', [payee, token, 5n, channelId, payee]],
      [Escrow.calls.topUp(escrow, channelId, 7n), 'topUp', [channelId, 7n]],
      [Escrow.calls.settle(escrow, { channelId, cumulativeAmount: 9n }, signature), 'settle', [channelId, 9n, signature]],
      [Escrow.calls.close(escrow, { channelId, cumulativeAmount: 9n }, signature), 'close', [channelId, 9n, signature]],
      [Escrow.calls.requestClose(escrow, channelId), 'requestClose', [channelId]],
      [Escrow.calls.withdraw(escrow, channelId), 'withdraw', [channelId]],
    ] as const
    for (const [call, name, args] of cases) {
      expect(call.to).toBe(escrow)
      expect(Escrow.decodeCall(call.data)).toEqual({ functionName: name, args })
    }
  })

  it('approve targets the token with approve(escrow, amount)', () => {
    const call = Escrow.calls.approve(token, escrow, 12n)
    expect(call.to).toBe(token)
    expect(call.data).toBe(`0x095ea7b3${escrow.slice(2).toLowerCase().padStart(64, '0')}${(12).toString(16).padStart(64, '0')}`)
  })
})

describe('revertReason', () => {
  const wrap = (data: `0x${string}`) => new BaseError('reverted', { cause: Object.assign(new BaseError('raw'), { data }) })

  it('names an escrow custom error found anywhere in the cause chain', () => {
    expect(Escrow.revertReason(wrap(encodeErrorResult({ abi: Escrow.abi, errorName: 'NotPayee' })))).toBe('NotPayee')
  })
  it('is undefined for Error(string), unknown selectors, short data and non-viem errors', () => {
    const errorString = encodeErrorResult({
      abi: [{ type: 'error', name: 'Error', inputs: [{ name: 'message', type: 'string' }] }],
      errorName: 'Error',
      args: ['nope'],
    })
    expect(Escrow.revertReason(wrap(errorString))).toBeUndefined()
    expect(Escrow.revertReason(wrap('0xdeadbeef'))).toBeUndefined()
    expect(Escrow.revertReason(wrap('0x'))).toBeUndefined()
    expect(Escrow.revertReason(new Error('x'))).toBeUndefined()
  })
})
