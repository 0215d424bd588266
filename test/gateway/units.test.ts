import { describe, expect, it } from 'vitest'
import { createGateway } from '../../src/gateway/index.js'
import { setForwarded } from '../../src/gateway/forwarded.js'
import { stripHopByHop } from '../../src/gateway/hopByHop.js'
import { compilePath } from '../../src/gateway/match.js'
import { cacheKey, gateCache } from '../../src/gateway/prices.js'
import { createPaymentServer } from '../../src/server/index.js'
import { createLedger } from '../../src/testing/index.js'
import { caught, expectCode, messages } from '../support/errors.js'

const ledger = createLedger()
const serverConfig = { realm: 'gateway.test', secrets: ['s'.repeat(32)], methods: [ledger.server({ recipient: 'shop' })] }

describe('compilePath', () => {
  it('matches literal, named and trailing-wildcard patterns', () => {
    expect(compilePath('/a/b')('/a/b')).toBe(true)
    expect(compilePath('/a/b')('/a/b/')).toBe(false)
    expect(compilePath('/a/b')('/a/c')).toBe(false)
    expect(compilePath('/users/:id')('/users/7')).toBe(true)
    expect(compilePath('/users/:id')('/users/')).toBe(false)
    expect(compilePath('/users/:id')('/users/7/posts')).toBe(false)
    expect(compilePath('/v1/*')('/v1')).toBe(true)
    expect(compilePath('/v1/*')('/v1/chat/completions')).toBe(true)
    expect(compilePath('/v1/*')('/v2/chat')).toBe(false)
    expect(compilePath('/*')('/anything/at/all')).toBe(true)
  })

  it('refuses patterns it cannot mean', () => {
    expectCode(() => compilePath('v1'), 'configuration-invalid')
    expectCode(() => compilePath('/a/*/b'), 'configuration-invalid')
    expectCode(() => compilePath('/a*'), 'configuration-invalid')
  })
})

describe('stripHopByHop (RFC 9110 §7.6.1)', () => {
  it('drops the fixed set, the fields Connection names, and every Proxy-* field', () => {
    const headers = new Headers({
      connection: 'close, X-Named , x-other',
      'x-named': '1',
      'x-other': '2',
      'keep-alive': 'timeout=5',
      te: 'trailers',
      trailer: 'x-sum',
      'transfer-encoding': 'chunked',
      upgrade: 'h2c',
      'proxy-authorization': 'Basic x',
      'proxy-connection': 'keep-alive',
      'content-type': 'text/plain',
    })
    expect([...stripHopByHop(headers).keys()]).toEqual(['content-type'])
    // The input is left alone.
    expect(headers.get('x-named')).toBe('1')
  })
})

describe('setForwarded (RFC 7239)', () => {
  it('brackets and quotes an IPv6 node, unmaps IPv4-mapped addresses, quotes a host with a port', () => {
    const six = new Headers()
    setForwarded(six, new URL('https://api.example.com/x'), { clientAddress: '2001:db8::1', trust: false })
    expect(six.get('forwarded')).toBe('for="[2001:db8::1]";proto=https;host=api.example.com')
    expect(six.get('x-forwarded-for')).toBe('2001:db8::1')
    const mapped = new Headers()
    setForwarded(mapped, new URL('http://localhost:8080/'), { clientAddress: '::ffff:192.0.2.1', trust: false })
    expect(mapped.get('forwarded')).toBe('for=192.0.2.1;proto=http;host="localhost:8080"')
  })

  it('says unknown when the address is not known', () => {
    const headers = new Headers()
    setForwarded(headers, new URL('http://a.test/'), { trust: false })
    expect(headers.get('forwarded')).toBe('for=unknown;proto=http;host=a.test')
  })
})

describe('gate cache for computed prices', () => {
  it('keys by the options whatever their key order, and keeps at most its size', async () => {
    expect(cacheKey({ amount: '5', currency: 'usd' })).toBe(cacheKey({ currency: 'usd', amount: '5' }))
    expect(cacheKey({ amount: 5n })).not.toBe(cacheKey({ amount: '5' }))
    expectCode(() => cacheKey({ amount: '5', nested: { f: () => 1 } }), 'configuration-invalid')
    const gates = gateCache(createPaymentServer(serverConfig), { bind: { route: 'x' } }, 2)
    const first = gates.get({ amount: '1' })
    expect(gates.get({ amount: '1' })).toBe(first)
    gates.get({ amount: '2' })
    gates.get({ amount: '1' }) // now the most recently used
    gates.get({ amount: '3' }) // evicts '2'
    expect(gates.size).toBe(2)
    expect(gates.get({ amount: '1' })).toBe(first)
  })
})

describe('createGateway configuration', () => {
  it('refuses what it cannot honour', () => {
    const routes = [{ path: '/x', price: { amount: '1' } }]
    expectCode(() => createGateway({ upstream: 'ftp://a.test', server: serverConfig, routes }), 'configuration-invalid')
    expectCode(() => createGateway({ upstream: 'http://user:pw@a.test', server: serverConfig, routes }), 'configuration-invalid')
    expectCode(() => createGateway({ upstream: 'http://a.test', server: serverConfig, routes, timeout: 0 }), 'configuration-invalid')
    expectCode(() => createGateway({ upstream: 'http://a.test', server: serverConfig, routes: [{ path: '/x', only: ['ledger'] }] }), 'configuration-invalid')
    const server = createPaymentServer(serverConfig)
    expectCode(
      () => createGateway({ upstream: 'http://a.test', server, routes, refundOn: (() => true) as never }),
      'configuration-invalid',
    )
  })

  it('never puts the upstream credentials it refuses into its message', () => {
    const error = caught(() => createGateway({ upstream: 'http://user:hunter2@a.test', server: serverConfig, routes: [] }))
    expect(error).toBeDefined()
    expect(messages(error)).not.toContain('hunter2')
  })
})

describe('isAmbiguousPath', () => {
  it('flags encoded separators and encoded dot segments, not ordinary escapes', async () => {
    const { isAmbiguousPath } = await import('../../src/gateway/match.js')
    for (const path of ['/free/..%2Fpaid', '/free/a%2fb', '/free/a%5Cb', '/free/%2e%2e/paid', '/free/.%2E/paid', '/x/%2e'])
      expect(isAmbiguousPath(path), path).toBe(true)
    for (const path of ['/free/a%20b', '/free/caf%C3%A9', '/free/a.b', '/free/..x', '/free/%2ex'])
      expect(isAmbiguousPath(path), path).toBe(false)
  })
})
