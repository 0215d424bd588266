import { describe, expect, it } from 'vitest'
import { MppError } from '../../../src/errors.js'
import { decodeObject, encodeCanonical, encodeObject, isObject, parseObject } from '../../../src/internal/json.js'

const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64url')
const b64bytes = (bytes: number[]) => Buffer.from(bytes).toString('base64url')

function codeOf(fn: () => unknown): string {
  try {
    fn()
  } catch (error) {
    expect(error).toBeInstanceOf(MppError)
    return (error as MppError).code
  }
  throw new Error('expected an error')
}

describe('JSON object codec (base64url -> fatal UTF-8 -> JSON object)', () => {
  it('decodes base64url of a UTF-8 JSON object', () => {
    expect(decodeObject(b64('{"a":"é","b":[1,2]}'))).toEqual({ a: 'é', b: [1, 2] })
  })

  it('only a top-level object is accepted', () => {
    for (const text of ['[]', '"x"', '1', 'null', 'true']) expect(codeOf(() => decodeObject(b64(text)))).toBe('json-not-object')
  })

  it('rejects text that is not JSON', () => {
    for (const text of ['', '{', "{'a':1}", '{"a":1}x', 'NaN']) expect(codeOf(() => decodeObject(b64(text)))).toBe('json-invalid')
  })

  it('decodes UTF-8 fatally: invalid sequences are errors, not U+FFFD', () => {
    expect(codeOf(() => decodeObject(b64bytes([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d])))).toBe('utf8-invalid')
    // overlong encoding of "/"
    expect(codeOf(() => decodeObject(b64bytes([0x7b, 0x22, 0xc0, 0xaf, 0x22, 0x3a, 0x31, 0x7d])))).toBe('utf8-invalid')
    // UTF-8 encoded surrogate half
    expect(codeOf(() => decodeObject(b64bytes([0x7b, 0x22, 0xed, 0xa0, 0x80, 0x22, 0x3a, 0x31, 0x7d])))).toBe('utf8-invalid')
  })

  it('keeps a leading BOM, so JSON parsing rejects it', () => {
    expect(codeOf(() => decodeObject(b64bytes([0xef, 0xbb, 0xbf, 0x7b, 0x7d])))).toBe('json-invalid')
  })

  it('rejects bad base64url before decoding text', () => {
    expect(codeOf(() => decodeObject(Buffer.from('{}').toString('base64')))).toBe('base64url-invalid') // "e30=" padded
  })

  it('encodeCanonical is base64url(JCS(value)), unpadded (digest §8 item 17)', () => {
    const encoded = encodeCanonical({ b: 1, a: { d: 2, c: 3 } })
    expect(encoded).toBe(b64('{"a":{"c":3,"d":2},"b":1}'))
    expect(encoded).not.toMatch(/[=+/]/)
  })

  it('encodeObject keeps insertion order', () => {
    expect(encodeObject({ b: 1, a: 2 })).toBe(b64('{"b":1,"a":2}'))
  })

  it('parseObject / isObject', () => {
    expect(parseObject('{"x":null}')).toEqual({ x: null })
    expect(isObject({})).toBe(true)
    expect(isObject([])).toBe(false)
    expect(isObject(null)).toBe(false)
    expect(isObject('x')).toBe(false)
  })
})
