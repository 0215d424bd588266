/**
 * Request bodies: the server binds its challenge to the body (RFC 9530 digest), so the
 * paid retry must send exactly the bytes of the unpaid request, whatever kind of body
 * the caller gave. Over real loopback HTTP, checked from the server side.
 */
import { createHash } from 'node:crypto'
import { afterEach, describe, expect, it } from 'vitest'
import * as Credential from '../../src/Credential.js'
import { createPaymentFetch, PaymentRejectedError } from '../../src/client/index.js'
import { createPaymentServer } from '../../src/server/index.js'
import { createLedger } from '../../src/testing/index.js'
import { serve, type Loopback } from '../support/loopback.js'

const SECRET = 'bodies-client-test-secret-0123456789'

const running: Loopback[] = []
afterEach(async () => {
  await Promise.all(running.splice(0).map((site) => site.close()))
})

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex')
const utf8 = (text: string) => new TextEncoder().encode(text)

/** A paid echo: answers the sha-256 and content type of the body it received. */
async function echoShop() {
  const ledger = createLedger({ currency: 'usd', decimals: 2 })
  const alice = ledger.open('alice', 1_000n)
  const server = createPaymentServer({ realm: 'api.test', secrets: [SECRET], methods: [ledger.server({ recipient: 'shop' })] })
  const api = await serve(
    server.route({ price: '0.25' }, async (request) => {
      const bytes = new Uint8Array(await request.arrayBuffer())
      return Response.json({ sha256: sha256(bytes), length: bytes.length, contentType: request.headers.get('content-type') })
    }),
  )
  running.push(api)
  return { ledger, api, client: ledger.client(alice) }
}

const binary = Uint8Array.from({ length: 300 }, (_, i) => (i * 151 + 7) % 256) // not valid UTF-8

function chunkedStream(chunks: Uint8Array[]): ReadableStream<Uint8Array> {
  let i = 0
  return new ReadableStream({
    pull(controller) {
      if (i < chunks.length) controller.enqueue(chunks[i++])
      else controller.close()
    },
  })
}

type BodyCase = {
  name: string
  init: () => RequestInit
  /** The bytes the body must arrive as, when they are known in advance. */
  expected?: Uint8Array
  contentType: RegExp | null
}

const cases: BodyCase[] = [
  { name: 'string', init: () => ({ body: '{"city":"Zürich","q":[1,2]}' }), expected: utf8('{"city":"Zürich","q":[1,2]}'), contentType: /^text\/plain/ },
  { name: 'Uint8Array', init: () => ({ body: binary, headers: { 'content-type': 'application/octet-stream' } }), expected: binary, contentType: /^application\/octet-stream$/ },
  {
    name: 'ReadableStream (duplex: half)',
    init: () => ({ body: chunkedStream([binary.slice(0, 100), binary.slice(100, 101), binary.slice(101)]), duplex: 'half' }) as RequestInit,
    expected: binary,
    contentType: null,
  },
  {
    name: 'URLSearchParams',
    init: () => ({ body: new URLSearchParams({ a: '1', b: 'two words', c: 'ä&=' }) }),
    expected: utf8('a=1&b=two+words&c=%C3%A4%26%3D'),
    contentType: /^application\/x-www-form-urlencoded/,
  },
  {
    name: 'FormData',
    init: () => {
      const form = new FormData()
      form.append('field', 'value')
      form.append('file', new Blob([binary], { type: 'application/octet-stream' }), 'data.bin')
      return { body: form }
    },
    contentType: /^multipart\/form-data; boundary=/,
  },
]

describe('the paid retry sends the same body, byte for byte', () => {
  it.each(cases)('$name', async ({ init, expected, contentType }) => {
    const { ledger, api, client } = await echoShop()
    const pay = createPaymentFetch({ methods: [client] })

    const response = await pay(`${api.url}/echo`, { method: 'POST', ...init() })

    expect(response.status).toBe(200)
    expect(api.requests).toHaveLength(2)
    const [unpaid, paid] = api.requests
    const unpaidBody = await unpaid!.body
    const paidBody = await paid!.body
    expect(paid!.authorizations).toHaveLength(1)
    expect(Buffer.from(paidBody).equals(Buffer.from(unpaidBody))).toBe(true)
    expect(paid!.headers.get('content-type')).toBe(unpaid!.headers.get('content-type'))
    if (contentType) expect(paid!.headers.get('content-type')).toMatch(contentType)
    else expect(paid!.headers.get('content-type')).toBeNull()
    if (expected) expect(sha256(paidBody)).toBe(sha256(expected))

    // The handler saw those bytes, and the credential echoed the digest of them.
    const echoed = (await response.json()) as { sha256: string; length: number }
    expect(echoed.sha256).toBe(sha256(paidBody))
    expect(echoed.length).toBeGreaterThan(0)
    const { challenge } = Credential.parse(paid!.authorizations[0]!)
    expect(challenge.digest).toBe(`sha-256=:${createHash('sha256').update(paidBody).digest('base64')}:`)
    expect(ledger.transfers).toHaveLength(1)
  })

  it('FormData keeps its fields and boundary on the paid retry', async () => {
    const { api, client } = await echoShop()
    const form = new FormData()
    form.append('field', 'value')

    await createPaymentFetch({ methods: [client] })(`${api.url}/echo`, { method: 'POST', body: form })

    const boundary = /boundary=(.+)$/.exec(api.requests[1]!.headers.get('content-type')!)![1]!
    const text = Buffer.from(await api.requests[1]!.body).toString('utf8')
    expect(text).toContain(`--${boundary}`)
    expect(text).toContain('name="field"')
    expect(text).toContain('value')
  })
})

describe('the digest binding, seen from the server', () => {
  it('a body altered only on the paid retry is rejected: 402 verification-failed, nothing settled', async () => {
    const { ledger, api, client } = await echoShop()
    const tampering: typeof fetch = (input, init) => {
      const paid = new Headers(init?.headers).has('authorization')
      return fetch(input, paid ? { ...init, body: '{"amount":1000000}' } : init)
    }
    const pay = createPaymentFetch({ methods: [client], fetch: tampering })

    const error = await pay(`${api.url}/echo`, { method: 'POST', body: '{"amount":1}' }).catch((e: unknown) => e)

    expect(error).toBeInstanceOf(PaymentRejectedError)
    expect((error as PaymentRejectedError).problem).toBe('verification-failed')
    expect((error as PaymentRejectedError).response.status).toBe(402)
    expect(Buffer.from(await api.requests[1]!.body).toString()).toBe('{"amount":1000000}')
    expect(ledger.transfers).toEqual([])
  })

  it('the same wrapper passing the body through unchanged is paid', async () => {
    const { ledger, api, client } = await echoShop()
    const passing: typeof fetch = (input, init) => fetch(input, init)
    const pay = createPaymentFetch({ methods: [client], fetch: passing })

    const response = await pay(`${api.url}/echo`, { method: 'POST', body: '{"amount":1}' })

    expect(response.status).toBe(200)
    expect(ledger.transfers).toHaveLength(1)
  })
})
