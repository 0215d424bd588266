import { describe, expect, it } from 'vitest'
import { MppError } from '../../../src/errors.js'
import { decode, encode } from '../../../src/internal/base64url.js'

const bytes = (text: string) => new Uint8Array(Buffer.from(text, 'latin1'))

function expectInvalid(text: string) {
  let caught: unknown
  try {
    decode(text)
  } catch (error) {
    caught = error
  }
  expect(caught).toBeInstanceOf(MppError)
  expect((caught as MppError).code).toBe('base64url-invalid')
  expect((caught as MppError).message).not.toContain(text.length > 3 ? text : '\u0000never')
}

describe('base64url (RFC 4648 §5, unpadded)', () => {
  // RFC 4648 §10 test vectors, with the padding removed (§3.2 allows omitting it when the length is known).
  const vectors: Array<[string, string]> = [
    ['', ''],
    ['f', 'Zg'],
    ['fo', 'Zm8'],
    ['foo', 'Zm9v'],
    ['foob', 'Zm9vYg'],
    ['fooba', 'Zm9vYmE'],
    ['foobar', 'Zm9vYmFy'],
  ]
  for (const [plain, text] of vectors) {
    it(`RFC 4648 §10 vector "${plain}" -> "${text}"`, () => {
      expect(encode(bytes(plain))).toBe(text)
      expect(decode(text)).toEqual(bytes(plain))
    })
  }

  it('uses "-" and "_" where standard base64 uses "+" and "/" (§5 alphabet)', () => {
    // 0xfb 0xff 0xbf -> standard "+/+/" -> url-safe "-_-_"
    const input = new Uint8Array([0xfb, 0xff, 0xbf, 0xfb, 0xef])
    const text = encode(input)
    expect(text).toBe(Buffer.from(input).toString('base64url'))
    expect(text).toBe('-_-_--8')
    expect(decode(text)).toEqual(input)
  })

  it('encodes every byte value the way Buffer does', () => {
    const all = new Uint8Array(256).map((_, i) => i)
    for (let n = 0; n <= all.length; n += 1) {
      const slice = all.subarray(0, n)
      expect(encode(slice)).toBe(Buffer.from(slice).toString('base64url'))
    }
  })

  it('decodes to an ArrayBuffer-backed Uint8Array', () => {
    const out = decode('Zm9vYmFy')
    expect(out).toBeInstanceOf(Uint8Array)
    expect(out.buffer).toBeInstanceOf(ArrayBuffer)
    expect(out.byteLength).toBe(6)
  })

  it('rejects padding (strict: one spelling per byte string)', () => {
    expectInvalid('Zg==')
    expectInvalid('Zm8=')
    expectInvalid('Zm9vYg==')
  })

  it('rejects the standard-alphabet characters "+" and "/"', () => {
    expectInvalid('+/8')
    expectInvalid('ab+c')
    expectInvalid('ab/c')
  })

  it('rejects whitespace anywhere', () => {
    expectInvalid(' Zm9v')
    expectInvalid('Zm9v ')
    expectInvalid('Zm\n9v')
    expectInvalid('Zm9\tv')
  })

  it('rejects a length that is 1 mod 4 (no byte string has it)', () => {
    expectInvalid('Z')
    expectInvalid('Zm9vY')
  })

  it('rejects non-zero unused trailing bits (non-canonical spellings)', () => {
    // "Zg" is canonical for 0x66; "Zh".."Zv" decode to the same byte with stray low bits.
    expect(decode('Zg')).toEqual(bytes('f'))
    for (const text of ['Zh', 'Zi', 'Zp', 'Zv']) expectInvalid(text)
    // "Zm8" is canonical for "fo"; "Zm9" carries a stray bit.
    expectInvalid('Zm9')
    expectInvalid('Zm-')
  })

  it('rejects non-ASCII and characters outside the alphabet', () => {
    expectInvalid('Zm9vé')
    expectInvalid('Zm9v😀')
    expectInvalid('Zm.v')
    expectInvalid('Zm=v')
    expectInvalid('\u0000AAA')
  })

  it('decodes canonical text, including the URL-safe characters, and the empty string', () => {
    expect(decode('Zm9vYmFy')).toEqual(bytes('foobar'))
    expect(decode('-_8')).toEqual(new Uint8Array([0xfb, 0xff]))
    expect(decode('')).toEqual(new Uint8Array(0))
  })

  it('is re-exported from the public Json namespace', async () => {
    const { Json } = await import('../../../src/index.js')
    expect(Json.base64urlEncode(bytes('foobar'))).toBe('Zm9vYmFy')
    expect(Json.base64urlDecode('Zm9vYmFy')).toEqual(bytes('foobar'))
  })
})
