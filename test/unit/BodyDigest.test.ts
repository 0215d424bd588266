import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import * as BodyDigest from '../../src/BodyDigest.js'
import { MppError } from '../../src/errors.js'

const sha = (algorithm: 'sha256' | 'sha512', body: string | Uint8Array) => createHash(algorithm).update(body).digest('base64')
const HELLO = '{"hello": "world"}'
const HELLO_256 = 'sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:'
const EMPTY_256 = 'sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:'

async function rejectsWith(promise: Promise<unknown>, code: string): Promise<MppError> {
  let error: unknown
  try {
    await promise
  } catch (e) {
    error = e
  }
  expect(error).toBeInstanceOf(MppError)
  expect((error as MppError).code).toBe(code)
  return error as MppError
}

function streamOf(chunks: Uint8Array[]): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(chunk)
      controller.close()
    },
  })
}

describe('BodyDigest.compute (RFC 9530 §2, digest §1.7)', () => {
  it('digest §8 item 41: {"hello": "world"} -> sha-256=:X48E9q…BPE=:', async () => {
    expect(await BodyDigest.compute(HELLO)).toBe(HELLO_256)
    expect(HELLO_256).toBe(`sha-256=:${sha('sha256', HELLO)}:`)
  })

  it('an empty or absent body digests as the empty string', async () => {
    expect(EMPTY_256).toBe(`sha-256=:${sha('sha256', '')}:`)
    expect(await BodyDigest.compute('')).toBe(EMPTY_256)
    expect(await BodyDigest.compute(null)).toBe(EMPTY_256)
    expect(await BodyDigest.compute(undefined)).toBe(EMPTY_256)
    expect(await BodyDigest.compute(new Uint8Array(0))).toBe(EMPTY_256)
    expect(await BodyDigest.compute(streamOf([]))).toBe(EMPTY_256)
  })

  it('hashes a string as UTF-8', async () => {
    const text = 'Café 日本 😀'
    expect(await BodyDigest.compute(text)).toBe(`sha-256=:${sha('sha256', Buffer.from(text, 'utf8'))}:`)
  })

  it('bytes, a Buffer, an ArrayBuffer and a subarray view hash their bytes', async () => {
    const bytes = new Uint8Array(300).map((_, i) => (i * 7) & 255)
    const expected = `sha-256=:${sha('sha256', bytes)}:`
    expect(await BodyDigest.compute(bytes)).toBe(expected)
    expect(await BodyDigest.compute(Buffer.from(bytes))).toBe(expected)
    expect(await BodyDigest.compute(bytes.slice().buffer)).toBe(expected)
    const backing = new Uint8Array(310)
    backing.set(bytes, 5)
    expect(await BodyDigest.compute(backing.subarray(5, 305))).toBe(expected)
  })

  it('a ReadableStream in several chunks hashes their concatenation', async () => {
    const body = Buffer.from(HELLO)
    const stream = streamOf([body.subarray(0, 3), body.subarray(3, 4), new Uint8Array(0), body.subarray(4)])
    expect(await BodyDigest.compute(stream)).toBe(HELLO_256)
  })

  it('sha-512 on request', async () => {
    expect(await BodyDigest.compute(HELLO, { algorithm: 'sha-512' })).toBe(`sha-512=:${sha('sha512', HELLO)}:`)
  })

  it('an unknown algorithm is digest-unsupported', async () => {
    await rejectsWith(BodyDigest.compute(HELLO, { algorithm: 'md5' as BodyDigest.Algorithm }), 'digest-unsupported')
  })

  it('refuses a body above maxBytes and takes one exactly at it', async () => {
    expect(await BodyDigest.compute('x'.repeat(10), { maxBytes: 10 })).toBe(`sha-256=:${sha('sha256', 'x'.repeat(10))}:`)
    await rejectsWith(BodyDigest.compute('x'.repeat(11), { maxBytes: 10 }), 'body-too-large')
    // the limit counts UTF-8 bytes, not characters
    await rejectsWith(BodyDigest.compute('é'.repeat(6), { maxBytes: 11 }), 'body-too-large')
    await rejectsWith(BodyDigest.compute(new Uint8Array(11), { maxBytes: 10 }), 'body-too-large')
    await rejectsWith(BodyDigest.compute(new ArrayBuffer(11), { maxBytes: 10 }), 'body-too-large')
    expect(await BodyDigest.compute(streamOf([new Uint8Array(4), new Uint8Array(6)]), { maxBytes: 10 })).toBe(
      `sha-256=:${sha('sha256', new Uint8Array(10))}:`,
    )
  })

  it('the default cap is 16 MiB', () => {
    expect(BodyDigest.DEFAULT_MAX_BYTES).toBe(16 * 1024 * 1024)
  })

  it('cuts an oversized stream off early and cancels it', async () => {
    let pulls = 0
    let cancelled: unknown = 'not cancelled'
    const endless = new ReadableStream<Uint8Array>(
      {
        pull(controller) {
          pulls += 1
          controller.enqueue(new Uint8Array(1024))
        },
        cancel(reason) {
          cancelled = reason
        },
      },
      { highWaterMark: 0 },
    )
    await rejectsWith(BodyDigest.compute(endless, { maxBytes: 4096 }), 'body-too-large')
    expect(cancelled).not.toBe('not cancelled')
    // 4 chunks fit, the 5th crosses the cap; nothing much beyond that is read
    expect(pulls).toBeGreaterThanOrEqual(5)
    expect(pulls).toBeLessThanOrEqual(6)
    const pullsAtCancel = pulls
    for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve))
    expect(pulls).toBe(pullsAtCancel)
  })
})

describe('BodyDigest.verify (RFC 9530 §2; draft §5.1.4)', () => {
  it('digest §8 item 39: a matching body verifies (string, bytes, stream, sha-512)', async () => {
    expect(await BodyDigest.verify(HELLO_256, HELLO)).toBe(true)
    expect(await BodyDigest.verify(HELLO_256, Buffer.from(HELLO))).toBe(true)
    expect(await BodyDigest.verify(HELLO_256, streamOf([Buffer.from(HELLO)]))).toBe(true)
    expect(await BodyDigest.verify(`sha-512=:${sha('sha512', HELLO)}:`, HELLO)).toBe(true)
    expect(await BodyDigest.verify(EMPTY_256, null)).toBe(true)
  })

  it('digest §8 item 40: a changed body does not verify', async () => {
    expect(await BodyDigest.verify(HELLO_256, '{"hello":"world"}')).toBe(false)
    expect(await BodyDigest.verify(HELLO_256, HELLO + ' ')).toBe(false)
    expect(await BodyDigest.verify(HELLO_256, '')).toBe(false)
    expect(await BodyDigest.verify(EMPTY_256, HELLO)).toBe(false)
  })

  it('a digest of the wrong length never matches', async () => {
    expect(await BodyDigest.verify('sha-256=:AAAA:', HELLO)).toBe(false)
    expect(await BodyDigest.verify('sha-256=::', '')).toBe(false)
    expect(await BodyDigest.verify(`sha-256=:${sha('sha512', HELLO)}:`, HELLO)).toBe(false)
  })

  it('digest §8 item 42: a base64url spelling of the digest is not accepted', async () => {
    // The empty-body SHA-256 contains "+" and "/": its base64url spelling uses "-" and "_".
    const urlSpelling = `sha-256=:${createHash('sha256').update('').digest('base64url')}:`
    expect(urlSpelling).toMatch(/[-_]/)
    await rejectsWith(BodyDigest.verify(urlSpelling, ''), 'digest-invalid')
  })

  it('the same bytes without "=" padding still match (RFC 8941 §4.2.7)', async () => {
    expect(await BodyDigest.verify('sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE:', HELLO)).toBe(true)
  })

  it('every supported algorithm present must match', async () => {
    const good256 = `sha-256=:${sha('sha256', HELLO)}:`
    const good512 = `sha-512=:${sha('sha512', HELLO)}:`
    const bad512 = `sha-512=:${sha('sha512', 'other')}:`
    expect(await BodyDigest.verify(`${good256}, ${good512}`, HELLO)).toBe(true)
    expect(await BodyDigest.verify(`${good256}, ${bad512}`, HELLO)).toBe(false)
    expect(await BodyDigest.verify(`${bad512}, ${good256}`, HELLO)).toBe(false)
  })

  it('unknown algorithms are ignored next to a supported one', async () => {
    expect(await BodyDigest.verify(`md5=:AAAA:, ${HELLO_256}`, HELLO)).toBe(true)
    expect(await BodyDigest.verify(`${HELLO_256}, unixsum=:AAAA:`, HELLO)).toBe(true)
  })

  it('a value with no supported algorithm is digest-unsupported', async () => {
    await rejectsWith(BodyDigest.verify('md5=:1B2M2Y8AsgTpgAmY7PhCfg==:', ''), 'digest-unsupported')
    await rejectsWith(BodyDigest.verify('sha=:2jmj7l5rSw0yVb/vlWAYkK/YBwk=:, unixcksum=:AAAA:', ''), 'digest-unsupported')
  })

  it('a value that is not a byte-sequence dictionary is digest-invalid', async () => {
    for (const value of ['', 'sha-256', 'X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=', 'sha-256="X48E"', 'SHA-256=:AAAA:'])
      await rejectsWith(BodyDigest.verify(value, HELLO), 'digest-invalid')
  })

  it('bare: true also verifies the colon-less form other SDKs write (sha-256=<base64>), padded or not', async () => {
    const bare = HELLO_256.replaceAll(':', '')
    const lenient = { bare: true }
    expect(bare).toBe('sha-256=X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=')
    expect(await BodyDigest.verify(bare, HELLO, lenient)).toBe(true)
    expect(await BodyDigest.verify(bare.replace(/=$/, ''), HELLO, lenient)).toBe(true)
    expect(await BodyDigest.verify(bare, 'another body', lenient)).toBe(false)
    expect(await BodyDigest.verify(`sha-512=${sha('sha512', HELLO)}`, HELLO, lenient)).toBe(true)
    expect(await BodyDigest.verify(`sha-256=${sha('sha256', HELLO)}, sha-512=${sha('sha512', 'other')}`, HELLO, lenient)).toBe(false)
    await rejectsWith(BodyDigest.verify(`md5=${createHash('md5').update(HELLO).digest('base64')}`, HELLO, lenient), 'digest-unsupported')
    // RFC 9530 form is still read with bare: true.
    expect(await BodyDigest.verify(HELLO_256, HELLO, lenient)).toBe(true)
  })

  it('without bare: true the colon-less form is digest-invalid (the default is RFC 9530 only)', async () => {
    await rejectsWith(BodyDigest.verify(HELLO_256.replaceAll(':', ''), HELLO), 'digest-invalid')
  })

  it('colon-less values are held to base64 too; the two forms do not mix in one value', async () => {
    const urlSpelling = `sha-256=${createHash('sha256').update('').digest('base64url')}`
    expect(urlSpelling).toMatch(/[-_]/)
    for (const value of [urlSpelling, 'sha-256=', 'sha-256=AAAAA', `${HELLO_256}, sha-512=${sha('sha512', HELLO)}`, 'sha-256 =X48E'])
      await rejectsWith(BodyDigest.verify(value, HELLO, { bare: true }), 'digest-invalid')
  })

  it('form() names the spelling', () => {
    expect(BodyDigest.form(HELLO_256)).toBe('rfc9530')
    expect(BodyDigest.form(HELLO_256.replaceAll(':', ''))).toBe('bare')
    expect(BodyDigest.form('sha-256')).toBeUndefined()
    expect(BodyDigest.form('')).toBeUndefined()
  })

  it('the body cap applies to verify too', async () => {
    await rejectsWith(BodyDigest.verify(HELLO_256, HELLO, { maxBytes: 5 }), 'body-too-large')
  })

  it('the digest is checked before the body stream is read', async () => {
    let pulled = false
    const stream = new ReadableStream<Uint8Array>(
      {
        pull(controller) {
          pulled = true
          controller.close()
        },
      },
      { highWaterMark: 0 },
    )
    await rejectsWith(BodyDigest.verify('md5=:AAAA:', stream), 'digest-unsupported')
    expect(pulled).toBe(false)
  })

  it('round-trips compute -> verify for each algorithm', async () => {
    for (const algorithm of ['sha-256', 'sha-512'] as const) {
      const digest = await BodyDigest.compute('payload', { algorithm })
      expect(await BodyDigest.verify(digest, 'payload')).toBe(true)
      expect(await BodyDigest.verify(digest, 'payloaD')).toBe(false)
    }
  })
})

describe('BodyDigest.readBody', () => {
  it('returns the bytes of each body kind', async () => {
    expect(await BodyDigest.readBody('ab', 10)).toEqual(new Uint8Array([0x61, 0x62]))
    expect(await BodyDigest.readBody(null, 0)).toEqual(new Uint8Array(0))
    expect(await BodyDigest.readBody(streamOf([new Uint8Array([1]), new Uint8Array([2, 3])]), 3)).toEqual(new Uint8Array([1, 2, 3]))
    expect(await BodyDigest.readBody(new Uint8Array([9, 8]).buffer, 2)).toEqual(new Uint8Array([9, 8]))
  })
})
