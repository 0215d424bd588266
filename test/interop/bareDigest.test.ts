/**
 * Paying a challenge whose `digest` is written without RFC 8941 colons
 * (`sha-256=<base64>`), as mppx, pympp and mpp-go write it. The mppkit client pays it
 * when it is the digest of the body it sends, echoes it byte-exact, and refuses it
 * otherwise. The server here is hand-written, like a peer SDK's, on real loopback HTTP.
 */
import { createHash } from 'node:crypto'
import { afterEach, describe, expect, it } from 'vitest'
import { createPaymentFetch } from '../../src/client/index.js'
import { isMppError } from '../../src/errors.js'
import { createLedger } from '../../src/testing/ledger.js'
import { serve, type Loopback } from '../support/loopback.js'

const BODY = '{"query":"weather in Lisbon"}'
const b64 = (algorithm: string, body: string) => createHash(algorithm).update(body).digest('base64')
const b64url = (text: string) => Buffer.from(text, 'utf8').toString('base64url')
const REQUEST = b64url(JSON.stringify({ amount: '25', currency: 'usd', recipient: 'shop' }))

let api: Loopback | undefined
afterEach(async () => {
  await api?.close()
  api = undefined
})

/** A peer-like server: issues one challenge with the given digest and serves any credential that echoes it. */
async function peer(digest: string): Promise<Loopback> {
  return serve(async (request) => {
    const authorization = request.headers.get('authorization')
    if (!authorization)
      return new Response(null, {
        status: 402,
        headers: {
          'www-authenticate': `Payment id="peer-1", realm="peer.example", method="ledger", intent="charge", request="${REQUEST}", digest="${digest}"`,
          'cache-control': 'no-store',
        },
      })
    const credential = JSON.parse(Buffer.from(authorization.slice('Payment '.length), 'base64url').toString('utf8'))
    if (credential.challenge.digest !== digest) return new Response('echo altered', { status: 400 })
    return Response.json({ ok: true })
  })
}

function client() {
  const ledger = createLedger()
  return createPaymentFetch({ methods: [ledger.client(ledger.open('alice', 1_000n))] })
}

const paidCredentials = (server: Loopback) => server.requests.flatMap((r) => r.authorizations)

describe('the paying client and colon-less body digests', () => {
  it('pays sha-256=<base64> when it is the digest of the body it sends, echoing it byte-exact', async () => {
    const digest = `sha-256=${b64('sha256', BODY)}`
    api = await peer(digest)
    const response = await client()(`${api.url}/paid`, { method: 'POST', body: BODY })
    expect(response.status).toBe(200)
    expect(await response.json()).toEqual({ ok: true })
    const [credential] = paidCredentials(api)
    expect(JSON.parse(Buffer.from(credential!.slice(8), 'base64url').toString()).challenge.digest).toBe(digest)
  })

  it('refuses to pay a colon-less digest of another body, and sends no credential', async () => {
    api = await peer(`sha-256=${b64('sha256', '{"query":"something else"}')}`)
    let error: unknown
    try {
      await client()(`${api.url}/paid`, { method: 'POST', body: BODY })
    } catch (e) {
      error = e
    }
    expect(isMppError(error, 'method-unsupported')).toBe(true)
    expect(paidCredentials(api)).toEqual([])
  })

  it('a colon-less digest of the empty body matches a request without a body', async () => {
    api = await peer(`sha-256=${b64('sha256', '')}`)
    expect((await client()(`${api.url}/paid`)).status).toBe(200)
  })

  it('the RFC 9530 form is paid as before', async () => {
    api = await peer(`sha-256=:${b64('sha256', BODY)}:`)
    expect((await client()(`${api.url}/paid`, { method: 'POST', body: BODY })).status).toBe(200)
    expect(paidCredentials(api)).toHaveLength(1)
  })
})
