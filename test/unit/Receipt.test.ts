import { afterEach, describe, expect, it, vi } from 'vitest'
import * as Receipt from '../../src/Receipt.js'
import { MppError } from '../../src/errors.js'
import { caught, expectCode } from '../support/errors.js'



const b64url = (text: string) => Buffer.from(text, 'utf8').toString('base64url')
const encode = (value: unknown) => b64url(JSON.stringify(value))
const decode = (text: string) => JSON.parse(Buffer.from(text, 'base64url').toString('utf8'))

const receipt = {
  status: 'success',
  method: 'tempo',
  timestamp: '2025-01-15T12:05:03Z',
  reference: '0x9f1c3b2e4d5a6978',
} as const

afterEach(() => {
  vi.useRealTimers()
})

describe('Receipt.parse (draft §5.3; digest §8 item 24)', () => {
  it('decodes status "success", method, timestamp and reference', () => {
    expect(Receipt.parse(encode(receipt))).toStrictEqual(receipt)
  })

  it('keeps method-specific members', () => {
    const extended = { ...receipt, subscriptionId: 'c3ViXzE', challengeId: 'abc', units: 3, nested: { a: [true] } }
    expect(Receipt.parse(encode(extended))).toStrictEqual(extended)
  })

  it('tolerates surrounding whitespace (field values are trimmed per RFC 9110 §5.5)', () => {
    expect(Receipt.parse(`  ${encode(receipt)}\t`)).toStrictEqual(receipt)
  })

  it('status must be exactly "success"', () => {
    for (const status of ['failed', 'Success', 'SUCCESS', '', undefined, true])
      expectCode(() => Receipt.parse(encode({ ...receipt, status })), 'receipt-invalid')
  })

  it('method must be a lowercase method identifier', () => {
    for (const method of ['Tempo', '', 'tempo1', 1, undefined]) expectCode(() => Receipt.parse(encode({ ...receipt, method })), 'receipt-invalid')
  })

  it('reference must be a string', () => {
    for (const reference of [1, null, undefined, ['x']]) expectCode(() => Receipt.parse(encode({ ...receipt, reference })), 'receipt-invalid')
  })

  it('timestamp must be RFC 3339', () => {
    for (const timestamp of ['2025-01-15', 'yesterday', '2025-01-15T12:05:03', 1736942703, undefined])
      expectCode(() => Receipt.parse(encode({ ...receipt, timestamp })), 'receipt-invalid')
    expect(Receipt.parse(encode({ ...receipt, timestamp: '2025-01-15T13:05:03.25+01:00' })).timestamp).toBe('2025-01-15T13:05:03.25+01:00')
  })

  it('encoding errors surface with their codes', () => {
    const standard = Buffer.from(JSON.stringify({ ...receipt, reference: '>>>???~' })).toString('base64')
    expect(standard).toMatch(/[+/]/)
    expectCode(() => Receipt.parse(standard), 'base64url-invalid')
    expectCode(() => Receipt.parse(encode(receipt) + '=='), 'base64url-invalid')
    expectCode(() => Receipt.parse(b64url('{oops')), 'json-invalid')
    expectCode(() => Receipt.parse(b64url('["success"]')), 'json-not-object')
    expectCode(() => Receipt.parse(Buffer.from([0x7b, 0xc3, 0x7d]).toString('base64url')), 'utf8-invalid')
  })

  it('refuses a value longer than MAX_LENGTH before decoding', () => {
    expectCode(() => Receipt.parse('!'.repeat(Receipt.MAX_LENGTH + 1)), 'header-too-large')
  })

  it('error messages do not quote the receipt', () => {
    const marker = 'rcpt_SECRETMARKER'
    for (const value of [encode({ ...receipt, status: marker }), encode({ ...receipt, reference: [marker] }), `${marker}=`, b64url(`{"${marker}"`)]) {
      const error = caught(() => Receipt.parse(value))
      expect(error).toBeInstanceOf(MppError)
      expect((error as Error).message).not.toContain(marker)
    }
  })
})

describe('Receipt.serialize', () => {
  it('writes unpadded base64url JSON, core members first, extras after', () => {
    const out = Receipt.serialize({ reference: 'r', extra: 1, timestamp: receipt.timestamp, method: 'm', status: 'success' } as Receipt.Receipt)
    expect(out).toMatch(/^[A-Za-z0-9_-]+$/)
    expect(Buffer.from(out, 'base64url').toString('utf8')).toBe(
      `{"status":"success","method":"m","timestamp":"${receipt.timestamp}","reference":"r","extra":1}`,
    )
  })

  it('round-trips through parse', () => {
    const extended = { ...receipt, externalId: 'order-1', note: 'Café "x" \\ 😀' }
    expect(Receipt.parse(Receipt.serialize(extended))).toStrictEqual(extended)
  })

  it('refuses to serialize an invalid receipt', () => {
    expectCode(() => Receipt.serialize({ ...receipt, status: 'failed' } as unknown as Receipt.Receipt), 'receipt-invalid')
    expectCode(() => Receipt.serialize({ ...receipt, timestamp: 'now' }), 'receipt-invalid')
  })
})

describe('Receipt.from', () => {
  it('sets status "success" and keeps extra fields', () => {
    const out = Receipt.from({ method: 'stripe', reference: 'pi_123', timestamp: '2025-01-15T12:05:03Z', externalId: 'e' })
    expect(out).toStrictEqual({ method: 'stripe', reference: 'pi_123', externalId: 'e', status: 'success', timestamp: '2025-01-15T12:05:03Z' })
  })

  it('formats a Date timestamp in whole seconds, UTC', () => {
    expect(Receipt.from({ method: 'm', reference: 'r', timestamp: new Date(Date.UTC(2025, 0, 15, 12, 5, 3, 750)) }).timestamp).toBe(
      '2025-01-15T12:05:03Z',
    )
  })

  it('defaults timestamp to the clock', () => {
    vi.useFakeTimers()
    vi.setSystemTime(Date.UTC(2030, 5, 1, 8, 9, 10, 11))
    expect(Receipt.from({ method: 'm', reference: 'r' }).timestamp).toBe('2030-06-01T08:09:10Z')
  })

  it('cannot be talked into another status', () => {
    const out = Receipt.from({ method: 'm', reference: 'r', status: 'failed' })
    expect(out.status).toBe('success')
  })

  it('validates its result', () => {
    expectCode(() => Receipt.from({ method: 'Stripe', reference: 'r' }), 'receipt-invalid')
    expectCode(() => Receipt.from({ method: 'm', reference: 'r', timestamp: 'yesterday' }), 'receipt-invalid')
  })

  it('refuses an invalid Date with receipt-invalid instead of a RangeError', () => {
    expectCode(() => Receipt.from({ method: 'm', reference: 'r', timestamp: new Date(Number.NaN) }), 'receipt-invalid')
  })

  it('serializes and parses back', () => {
    const out = Receipt.from({ method: 'tempo', reference: '0xabc', timestamp: '2025-01-15T12:05:03Z', channelId: '0x1' })
    expect(decode(Receipt.serialize(out))).toStrictEqual({ ...out })
    expect(Receipt.parse(Receipt.serialize(out))).toStrictEqual(out)
  })
})
