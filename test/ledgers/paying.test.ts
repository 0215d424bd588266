/**
 * Durable ledgers behind the paying fetch, against a real server over loopback HTTP:
 * one budget held across agents and restarts, and a ledger that fails or hangs makes
 * the client refuse to pay (fail closed): nothing is sent, no balance moves.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { hostname, tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createPaymentFetch, PaymentDeniedError } from '../../src/client/index.js'
import { fileSpendLedger } from '../../src/client/ledgers/file.js'
import { isMppError } from '../../src/errors.js'
import { redisSpendLedger } from '../../src/redis/ledger.js'
import { createPaymentServer } from '../../src/server/index.js'
import { createLedger } from '../../src/testing/index.js'
import { byPath, serve, type Loopback } from '../support/loopback.js'

const SECRET = 'durable-ledger-test-secret-0123456789'
const DAILY_50_CENTS = { budgets: [{ currency: 'usd', limit: 50n, period: 'day' as const }] }

describe('durable ledgers behind the paying fetch', () => {
  let dir: string
  let api: Loopback
  let bank: ReturnType<typeof createLedger>
  let seen: string[]

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mppkit-paying-'))
    bank = createLedger({ currency: 'usd', decimals: 2 })
    const server = createPaymentServer({ realm: 'api.test', secrets: [SECRET], methods: [bank.server({ recipient: 'shop' })] })
    const paid = server.route({ price: '0.25' }, () => Response.json({ ok: true }))
    seen = []
    api = await serve(
      byPath({
        '/p': async (request: Request) => {
          seen.push(request.headers.get('authorization') ? 'paid' : 'unpaid')
          return paid(request)
        },
      }),
    )
  })
  afterEach(async () => {
    await api?.close()
    rmSync(dir, { recursive: true, force: true })
  })

  it('two agents and a restarted one share one file budget: 0.50 a day is two payments of 0.25 in all', async () => {
    const path = join(dir, 'spend.json')
    const alice = bank.open('alice', 1_000n)
    const agent = () => createPaymentFetch({ methods: [bank.client(alice)], policy: DAILY_50_CENTS, spendLedger: fileSpendLedger(path) })
    const [first, second] = [agent(), agent()]
    expect((await first(`${api.url}/p`)).status).toBe(200)
    expect((await second(`${api.url}/p`)).status).toBe(200)
    const denied = await agent()(`${api.url}/p`).catch((e: unknown) => e)
    expect(denied).toBeInstanceOf(PaymentDeniedError)
    expect((denied as PaymentDeniedError).reasons).toEqual(['the daily budget for usd would be exceeded'])
    expect(bank.balance('alice')).toBe(950n)
  })

  it('a ledger that cannot answer in time makes the client refuse to pay', async () => {
    const path = join(dir, 'spend.json')
    // A live process (this one) holds the lock and never lets go.
    writeFileSync(`${path}.lock`, JSON.stringify({ pid: process.pid, host: hostname(), token: 'held', at: Date.now() }))
    const alice = bank.open('alice', 1_000n)
    const pay = createPaymentFetch({ methods: [bank.client(alice)], policy: DAILY_50_CENTS, spendLedger: fileSpendLedger(path, { deadlineMs: 200 }) })
    const error = await pay(`${api.url}/p`).catch((e: unknown) => e)
    expect(isMppError(error, 'store-failure')).toBe(true)
    expect(seen).toEqual(['unpaid']) // the 402 only: no credential was ever sent
    expect(bank.balance('alice')).toBe(1_000n)
  })

  it('a Redis that is unreachable makes the client refuse to pay', async () => {
    const alice = bank.open('alice', 1_000n)
    const unreachable = { call: () => Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:1')) }
    const pay = createPaymentFetch({ methods: [bank.client(alice)], policy: DAILY_50_CENTS, spendLedger: redisSpendLedger(unreachable) })
    const error = await pay(`${api.url}/p`).catch((e: unknown) => e)
    expect(isMppError(error, 'store-failure')).toBe(true)
    expect(seen).toEqual(['unpaid'])
    expect(bank.balance('alice')).toBe(1_000n)
  })
})
