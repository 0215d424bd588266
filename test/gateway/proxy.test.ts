import { connect } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import * as Receipt from '../../src/Receipt.js'
import { listen, serve, type Loopback } from '../support/loopback.js'
import { START, startGateway, type Setup } from './fixture.js'

const open: { close(): Promise<void> }[] = []
afterEach(async () => {
  await Promise.all(open.splice(0).map((server) => server.close()))
})

async function echoUpstream(): Promise<Loopback> {
  const upstream = await serve(async (request) => {
    const body = request.body ? await request.text() : ''
    return Response.json({ method: request.method, path: new URL(request.url).pathname + new URL(request.url).search, body })
  })
  open.push(upstream)
  return upstream
}

async function gatewayFor(upstream: Loopback, config: Partial<Parameters<typeof startGateway>[1]> = {}): Promise<Setup> {
  const setup = await startGateway(upstream.url, {
    routes: [
      { path: '/free/*' },
      { method: 'GET', path: '/paid/:id', price: { price: '0.05' } },
      { method: 'POST', path: '/paid', price: { price: '0.10' } },
    ],
    ...config,
  })
  open.push(setup)
  return setup
}

describe('gateway: forwarding', () => {
  it('forwards a paid GET with its query, adds the receipt, and charges once', async () => {
    const upstream = await echoUpstream()
    const { url, pay, ledger } = await gatewayFor(upstream)
    const response = await pay(`${url}/paid/42?x=1`)
    expect(response.status).toBe(200)
    expect(await response.json()).toEqual({ method: 'GET', path: '/paid/42?x=1', body: '' })
    expect(Receipt.parse(response.headers.get('payment-receipt')!).status).toBe('success')
    expect(ledger.balance('alice')).toBe(START - 5n)
    expect(ledger.balance('shop')).toBe(5n)
    // One 402 answered by the gateway alone, one paid request forwarded.
    expect(upstream.requests).toHaveLength(1)
  })

  it('answers 402 without reaching the upstream when no credential is sent', async () => {
    const upstream = await echoUpstream()
    const { url } = await gatewayFor(upstream)
    const response = await fetch(`${url}/paid/1`)
    expect(response.status).toBe(402)
    expect(response.headers.get('www-authenticate')).toMatch(/^Payment /)
    expect(upstream.requests).toHaveLength(0)
  })

  it('forwards a paid POST with the exact body bytes the digest was bound to', async () => {
    const upstream = await echoUpstream()
    const { url, pay, ledger } = await gatewayFor(upstream)
    const body = JSON.stringify({ hello: 'wörld', n: [1, 2, 3] })
    const response = await pay(`${url}/paid`, { method: 'POST', headers: { 'content-type': 'application/json' }, body })
    expect(response.status).toBe(200)
    expect((await response.json()).body).toBe(body)
    expect(new TextDecoder().decode(await upstream.requests[0]!.body)).toBe(body)
    expect(upstream.requests[0]!.headers.get('content-type')).toBe('application/json')
    expect(ledger.balance('alice')).toBe(START - 10n)
  })

  it('passes a free route through without a challenge or receipt', async () => {
    const upstream = await echoUpstream()
    const { url, ledger } = await gatewayFor(upstream)
    const response = await fetch(`${url}/free/a/b`, { method: 'PUT', body: 'streamed' })
    expect(response.status).toBe(200)
    expect(await response.json()).toEqual({ method: 'PUT', path: '/free/a/b', body: 'streamed' })
    expect(response.headers.get('payment-receipt')).toBeNull()
    expect(ledger.balance('alice')).toBe(START)
  })

  it('answers 404 for an unmatched route by default, and forwards it free with unmatched: pass', async () => {
    const upstream = await echoUpstream()
    const strict = await gatewayFor(upstream)
    expect((await fetch(`${strict.url}/elsewhere`)).status).toBe(404)
    // A method the route does not list does not match it either.
    expect((await fetch(`${strict.url}/paid/1`, { method: 'DELETE' })).status).toBe(404)
    expect(upstream.requests).toHaveLength(0)
    const lenient = await gatewayFor(upstream, { unmatched: 'pass' })
    const response = await fetch(`${lenient.url}/elsewhere`)
    expect(response.status).toBe(200)
    expect(upstream.requests).toHaveLength(1)
  })

  it('refuses a path an upstream could decode into a paid route, without forwarding it', async () => {
    const upstream = await echoUpstream()
    const { url } = await gatewayFor(upstream)
    const response = await fetch(`${url}/free/..%2Fpaid%2F1`)
    expect(response.status).toBe(400)
    expect(upstream.requests).toHaveLength(0)
  })

  it('never forwards the Payment credential, whatever forwardAuthorization says', async () => {
    const upstream = await echoUpstream()
    for (const forwardAuthorization of [false, true]) {
      const { url, pay } = await gatewayFor(upstream, { forwardAuthorization })
      expect((await pay(`${url}/paid/1`)).status).toBe(200)
      expect((await pay(`${url}/paid`, { method: 'POST', body: 'x' })).status).toBe(200)
    }
    expect(upstream.requests).toHaveLength(4)
    for (const seen of upstream.requests) expect(seen.authorizations).toEqual([])
  })

  it('forwards other Authorization schemes only with forwardAuthorization, and never one that also carries Payment', async () => {
    const upstream = await echoUpstream()
    const closed = await gatewayFor(upstream)
    await fetch(`${closed.url}/free/x`, { headers: { authorization: 'Bearer upstream-token' } })
    const opened = await gatewayFor(upstream, { forwardAuthorization: true })
    await fetch(`${opened.url}/free/x`, { headers: { authorization: 'Bearer upstream-token' } })
    await fetch(`${opened.url}/free/x`, { headers: { authorization: 'Bearer upstream-token, Payment eyJhIjoxfQ' } })
    expect(upstream.requests.map((seen) => seen.authorizations)).toEqual([[], ['Bearer upstream-token'], []])
  })

  it('sets X-Forwarded-For/-Proto/-Host and Forwarded, replacing what the client claimed', async () => {
    const upstream = await echoUpstream()
    const { url } = await gatewayFor(upstream)
    await fetch(`${url}/free/x`, { headers: { 'x-forwarded-for': '6.6.6.6', forwarded: 'for=6.6.6.6' } })
    const headers = upstream.requests[0]!.headers
    const host = new URL(url).host
    expect(headers.get('x-forwarded-for')).toBe('127.0.0.1')
    expect(headers.get('x-forwarded-proto')).toBe('http')
    expect(headers.get('x-forwarded-host')).toBe(host)
    expect(headers.get('forwarded')).toBe(`for=127.0.0.1;proto=http;host="${host}"`)
    expect(headers.get('via')).toBe('1.1 mppkit')
    // The upstream is addressed by its own host, not the client's.
    expect(headers.get('host')).toBe(new URL(upstream.url).host)
  })

  it('extends the forwarding fields with trustForwarded', async () => {
    const upstream = await echoUpstream()
    const { url } = await gatewayFor(upstream, { trustForwarded: true })
    await fetch(`${url}/free/x`, { headers: { 'x-forwarded-for': '203.0.113.7', forwarded: 'for=203.0.113.7' } })
    const headers = upstream.requests[0]!.headers
    expect(headers.get('x-forwarded-for')).toBe('203.0.113.7, 127.0.0.1')
    expect(headers.get('forwarded')).toMatch(/^for=203\.0\.113\.7, for=127\.0\.0\.1;/)
  })
})

describe('gateway: hop-by-hop fields (RFC 9110 §7.6.1)', () => {
  it('strips them from the request, and from the response', async () => {
    const seen: Record<string, string | string[] | undefined>[] = []
    const upstream = await listen((req, res) => {
      seen.push(req.headers)
      res.setHeader('x-upstream-private', 'hop')
      res.setHeader('connection', 'x-upstream-private')
      res.setHeader('proxy-authenticate', 'Basic')
      res.setHeader('x-end-to-end', 'kept')
      res.end('ok')
    })
    open.push(upstream)
    const { url } = await startGateway(upstream.url, { routes: [{ path: '/*' }] }).then((setup) => (open.push(setup), setup))
    // A raw request: Node's own client refuses to send some of these fields.
    const target = new URL(url)
    const raw = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(target.port), target.hostname)
      let text = ''
      socket.on('data', (chunk) => (text += chunk))
      socket.on('end', () => resolve(text))
      socket.on('error', reject)
      socket.write(
        [
          'GET /x HTTP/1.1',
          `Host: ${target.host}`,
          'Connection: close, x-client-private',
          'X-Client-Private: hop',
          'Keep-Alive: timeout=5',
          'TE: trailers',
          'Trailer: x-checksum',
          'Upgrade: websocket',
          'Proxy-Authorization: Basic cHJveHk6c2VjcmV0',
          'X-End-To-End: kept',
          '',
          '',
        ].join('\r\n'),
      )
    })
    const [head, ...rest] = raw.split('\r\n\r\n')
    const headers = Object.fromEntries(
      head!
        .split('\r\n')
        .slice(1)
        .map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]),
    )
    const answer = { headers: headers as Record<string, string | undefined>, body: rest.join('\r\n\r\n') }
    expect(answer.body).toContain('ok')
    const forwarded = seen[0]!
    for (const name of ['x-client-private', 'keep-alive', 'te', 'trailer', 'upgrade', 'proxy-authorization']) expect(forwarded[name]).toBeUndefined()
    expect(forwarded['x-end-to-end']).toBe('kept')
    expect(answer.headers['x-upstream-private']).toBeUndefined()
    expect(answer.headers['proxy-authenticate']).toBeUndefined()
    expect(answer.headers['x-end-to-end']).toBe('kept')
  })
})
