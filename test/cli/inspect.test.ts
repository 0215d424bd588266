/**
 * `mppkit inspect` as a real process against loopback servers: challenges decoded for
 * people and as JSON, nothing paid, exit codes 0 (asks for payment) and 6 (does not).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import * as Challenge from '../../src/Challenge.js'
import { createPaymentServer } from '../../src/server/index.js'
import { createLedger } from '../../src/testing/index.js'
import { byPath, serve, type Loopback } from '../support/loopback.js'
import { cli } from './support/spawn.js'

const PATH_USD = '0x20c0000000000000000000000000000000000000'
const PAYEE = '0x00000000000000000000000000000000000000aa'

describe('mppkit inspect', { timeout: 120_000 }, () => {
  let api: Loopback
  const bank = createLedger({ currency: 'usd', decimals: 2 })

  beforeAll(async () => {
    const server = createPaymentServer({ realm: 'api.test', secrets: ['inspect-test-secret-0123456789abcdef'], methods: [bank.server({ recipient: 'shop' })] })
    const expires = new Date(Date.now() + 5 * 60_000)
    const tempo = Challenge.from({
      id: 'tempo-challenge-id',
      realm: 'api.test',
      method: 'tempo',
      intent: 'charge',
      request: { amount: '250000', currency: PATH_USD, recipient: PAYEE, methodDetails: { chainId: 42431 } },
      expires,
      description: 'one forecast',
      digest: 'sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:',
    })
    const other = Challenge.from({ id: 'other-id', realm: 'api.test', method: 'lightning', intent: 'charge', request: { invoice: 'lnbc1', sats: 42 } })
    api = await serve(
      byPath({
        '/ledger': server.route({ price: '0.25', description: 'weather' }, () => Response.json({ ok: true })),
        '/tempo': () => new Response('pay', { status: 402, headers: { 'www-authenticate': Challenge.serializeList([tempo, other]) } }),
        '/free': () => new Response('free'),
      }),
    )
  })
  afterAll(async () => api?.close())

  it('decodes a Tempo challenge for people: units and token name, recipient, expiry, description, digest; unknown methods raw', async () => {
    const result = await cli(['inspect', `${api.url}/tempo`])
    expect(result.code).toBe(0)
    expect(result.stderr).toBe('')
    const out = result.stdout
    expect(out).toContain(`${api.url}/tempo asks for payment (HTTP 402): 2 challenges`)
    expect(out).toContain('[1] tempo/charge  0.25 pathUSD')
    expect(out).toContain(`recipient   ${PAYEE}`)
    expect(out).toMatch(/expires {5}\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z \(in 4m 5\ds\)/)
    expect(out).toContain('description one forecast')
    expect(out).toContain('bound to the request body: sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:')
    expect(out).toContain('details     {"methodDetails":{"chainId":42431}}')
    expect(out).toContain('[2] lightning/charge')
    expect(out).toContain('request     {"invoice":"lnbc1","sats":42}')
    expect(out).toContain('expires     no expiry given')
  })

  it('--json gives machines every field, with the amount in base units and units', async () => {
    const result = await cli(['inspect', '--json', `${api.url}/tempo`])
    expect(result.code).toBe(0)
    const json = JSON.parse(result.stdout)
    expect(json.paymentRequired).toBe(true)
    expect(json.status).toBe(402)
    expect(json.challenges[0]).toMatchObject({
      method: 'tempo',
      intent: 'charge',
      recipient: PAYEE,
      amount: { base: '250000', currency: PATH_USD, decimals: 6, symbol: 'pathUSD', display: '0.25 pathUSD' },
      expires: { expired: false },
    })
    expect(json.challenges[1].request).toEqual({ invoice: 'lnbc1', sats: 42 })
  })

  it('reads a real server challenge and pays nothing: no credential is sent, no balance moves', async () => {
    const before = api.requests.length
    const result = await cli(['inspect', `${api.url}/ledger`])
    expect(result.code).toBe(0)
    expect(result.stdout).toContain('[1] ledger/charge  25 usd (base units)')
    expect(result.stdout).toContain('recipient   shop')
    expect(result.stdout).toContain('description weather')
    const seen = api.requests.slice(before)
    expect(seen).toHaveLength(1)
    expect(seen[0]!.authorizations).toEqual([])
    expect(bank.transfers).toHaveLength(0)
  })

  it('says a URL asks for no payment and exits 6', async () => {
    const result = await cli(['inspect', `${api.url}/free`])
    expect(result.code).toBe(6)
    expect(result.stdout).toBe(`${api.url}/free asks for no payment (HTTP 200)\n`)
    const json = await cli(['inspect', '--json', `${api.url}/free`])
    expect(json.code).toBe(6)
    expect(JSON.parse(json.stdout)).toMatchObject({ status: 200, paymentRequired: false, challenges: [] })
  })

  it('--quiet prints nothing; the exit code answers', async () => {
    const result = await cli(['inspect', '-q', `${api.url}/tempo`])
    expect(result).toEqual({ code: 0, stdout: '', stderr: '' })
  })

  it('an unreachable host is one line with the fix and exit 1', async () => {
    const result = await cli(['inspect', 'http://127.0.0.1:9/x'])
    expect(result.code).toBe(1)
    expect(result.stderr).toBe('mppkit: could not reach http://127.0.0.1:9 (fix: check the URL and your network)\n')
  })
})
