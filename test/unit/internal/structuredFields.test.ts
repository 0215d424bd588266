import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { parseByteSequenceDictionary, serializeByteSequence } from '../../../src/internal/structuredFields.js'

const sha256 = (text: string) => new Uint8Array(createHash('sha256').update(text).digest())

describe('RFC 8941 dictionary of byte sequences (as RFC 9530 uses it)', () => {
  it('parses one member', () => {
    const out = parseByteSequenceDictionary('sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:')
    expect([...out!.keys()]).toEqual(['sha-256'])
    expect(out!.get('sha-256')).toEqual(sha256('{"hello": "world"}'))
  })

  it('parses several members with OWS around commas, and ignores member parameters', () => {
    const out = parseByteSequenceDictionary(' sha-256=:AQI=:;p=1 ,\tsha-512=:AwQ=:;q="x;y" ')
    expect(out!.get('sha-256')).toEqual(new Uint8Array([1, 2]))
    expect(out!.get('sha-512')).toEqual(new Uint8Array([3, 4]))
  })

  it('a later duplicate key overrides an earlier one (RFC 8941 §4.2.2)', () => {
    expect(parseByteSequenceDictionary('a=:AQ==:, a=:Ag==:')!.get('a')).toEqual(new Uint8Array([2]))
  })

  it('accepts missing "=" padding (RFC 8941 §4.2.7) and the empty byte sequence', () => {
    expect(parseByteSequenceDictionary('a=:AQ:')!.get('a')).toEqual(new Uint8Array([1]))
    expect(parseByteSequenceDictionary('a=::')!.get('a')).toEqual(new Uint8Array(0))
  })

  it('returns undefined for anything else', () => {
    for (const text of [
      '',
      '   ',
      'sha-256',
      'sha-256=',
      'sha-256=:AQ==',
      'SHA-256=:AQ==:', // keys are lowercase
      '1a=:AQ==:',
      'sha-256=AQ==',
      'sha-256="AQ=="',
      'sha-256=:AQ-_:', // base64url alphabet is not sf-binary
      'sha-256=:A:',
      'sha-256=:AQ==:,',
      'sha-256=:AQ==: x',
      'sha-256=:AQ==:,,a=:AQ==:',
    ])
      expect(parseByteSequenceDictionary(text), JSON.stringify(text)).toBeUndefined()
  })

  it('serializes with standard padded base64', () => {
    expect(serializeByteSequence('sha-256', sha256(''))).toBe(
      'sha-256=:' + createHash('sha256').update('').digest('base64') + ':',
    )
    expect(serializeByteSequence('k', new Uint8Array([0xfb, 0xff]))).toBe('k=:+/8=:')
  })
})
