import { describe, expect, it } from 'vitest'
import { fromByteString, toByteString } from '../../../src/internal/headerText.js'

const latin1 = (text: string) => Buffer.from(text, 'utf8').toString('latin1')

describe('header byte strings (RFC 9110 §5.5 obs-text)', () => {
  it('leaves ASCII unchanged both ways', () => {
    const ascii = 'Pay 10 USD, "now" \\ ~'
    expect(toByteString(ascii)).toBe(ascii)
    expect(fromByteString(ascii)).toBe(ascii)
  })

  it('toByteString gives one char per UTF-8 byte', () => {
    expect(toByteString('é')).toBe('\u00c3\u00a9')
    expect(toByteString('€')).toBe('\u00e2\u0082\u00ac')
    expect(toByteString('😀')).toBe('\u00f0\u009f\u0098\u0080')
    const text = 'Café – 日本語 😀'
    const out = toByteString(text)
    expect(out).toBe(latin1(text))
    for (let i = 0; i < out.length; i++) expect(out.charCodeAt(i)).toBeLessThanOrEqual(0xff)
  })

  it('fromByteString decodes UTF-8 byte strings', () => {
    expect(fromByteString('\u00c3\u00a9')).toBe('é')
    const text = 'Café – 日本語 😀'
    expect(fromByteString(latin1(text))).toBe(text)
  })

  it('fromByteString keeps bytes that are not UTF-8 (legacy Latin-1) as they are', () => {
    expect(fromByteString('caf\u00e9')).toBe('café')
    expect(fromByteString('\u00ff\u00fe')).toBe('\u00ff\u00fe')
    // a truncated multi-byte sequence is not UTF-8 either
    expect(fromByteString('\u00e2\u0082')).toBe('\u00e2\u0082')
  })

  it('fromByteString keeps strings already holding code points above U+00FF', () => {
    expect(fromByteString('€ and \u00c3\u00a9')).toBe('€ and \u00c3\u00a9')
  })

  it('fromByteString does not drop a UTF-8 BOM', () => {
    expect(fromByteString('\u00ef\u00bb\u00bfx')).toBe('\ufeffx')
  })
})
