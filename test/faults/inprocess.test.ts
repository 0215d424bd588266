/**
 * Fault injection in one process: a Store that fails or hangs on a chosen operation, a
 * driver that throws before or after moving money, a handler that throws, hangs or
 * fails, a process that "dies" (its paid request is abandoned mid-lifecycle), a payer
 * that hangs up. For each fault: what the payer saw, what its retry with the same
 * credential saw, whether it was delivered once, refunded or never charged, and what
 * the Store's record says. The rows are the in-process table of docs/faults.md.
 */
import { afterAll, describe, expect, it } from 'vitest'
import { Challenge, Credential } from '../../src/index.js'
import * as Lifecycle from '../../src/server/lifecycle.js'
import { createPaymentServer, memoryStore, type PaymentServerConfig, type ServerEvent } from '../../src/server/index.js'
import type { Store } from '../../src/server/Store.js'
import { createLedger } from '../../src/testing/index.js'
import { outcomeTable, type Outcome } from './table.js'

const SECRET = 'fault-injection-secret-0123456789abcdef'
const T0 = Date.UTC(2026, 0, 1)
const PRICE = 25n
const START = 1_000n
const table = outcomeTable('in-process')
afterAll(() => table.check())

type Op = keyof Store
type Fault = { op: Op; mode: 'fail' | 'hang'; when?: (args: unknown[]) => boolean }

/** A memory store that fails or hangs the first call of `op` matching `when`; a hung call runs when released. */
function faultyStore(clock: { now: number }) {
  const inner = memoryStore({ now: () => clock.now })
  let fault: Fault | undefined
  const hung: Array<() => void> = []
  const wrap =
    (op: Op) =>
    (...args: unknown[]): Promise<any> => {
      const call = () => (inner[op] as (...a: unknown[]) => Promise<unknown>)(...args)
      if (fault && fault.op === op && (!fault.when || fault.when(args))) {
        const { mode } = fault
        fault = undefined
        if (mode === 'fail') return Promise.reject(new Error('ECONNRESET redis://:hunter2@cache.internal'))
        return new Promise((resolve) => hung.push(() => resolve(call())))
      }
      return call()
    }
  const store: Store = { create: wrap('create'), get: wrap('get'), swap: wrap('swap'), set: wrap('set'), delete: wrap('delete') }
  return {
    store,
    inner,
    inject: (next: Fault) => (fault = next),
    /** Runs every hung call now, as a queue flushed after an outage would. */
    releaseHung: async () => {
      for (const run of hung.splice(0)) run()
      await new Promise((resolve) => setTimeout(resolve, 10))
    },
  }
}

type Options = {
  settle?: 'throw-after-money' | 'refuse' | 'hang-before-money' | 'hang-after-money'
  handler?: 'throw' | 'hang' | '404'
} & Partial<PaymentServerConfig>

function setup(options: Options = {}) {
  const { settle, handler, ...config } = options
  const clock = { now: T0 }
  const ledger = createLedger({ currency: 'usd', decimals: 2 })
  const alice = ledger.open('alice', START)
  const payer = ledger.client(alice)
  const inner = ledger.server({ recipient: 'shop' })
  let settles = 0
  const driver = {
    ...inner,
    // Each fault strikes the first settle only: the process that retries is a healthy one.
    async settle(context: Parameters<typeof inner.settle>[0]) {
      if (settles++ > 0 && settle !== 'refuse') return inner.settle(context)
      if (settle === 'refuse') throw new (await import('../../src/Method.js')).VerificationError('card declined')
      if (settle === 'hang-before-money') return new Promise<never>(() => {})
      const settlement = await inner.settle(context)
      if (settle === 'throw-after-money') throw new Error('socket hang up after the transfer')
      if (settle === 'hang-after-money') return new Promise<never>(() => {})
      return settlement
    },
  }
  const faults = faultyStore(clock)
  const events: ServerEvent[] = []
  let runs = 0
  const server = createPaymentServer({
    realm: 'api.faults.test',
    secrets: [SECRET],
    methods: [driver],
    store: faults.store,
    now: () => clock.now,
    storeTimeout: 100,
    handlerTimeout: 100,
    settleLease: 5_000,
    idempotencyWait: 0,
    onEvent: (event) => events.push(event),
    ...config,
  })
  const route = { price: '0.25' }
  const app = server.route(route, async () => {
    runs++
    if (handler === 'throw') throw new Error('database down')
    if (handler === 'hang') return new Promise<never>(() => {})
    if (handler === '404') return new Response('no such forecast', { status: 404 })
    return new Response('forecast')
  })
  const gate = server.charge(route)
  const reconcile = server.reconcile

  async function credential(): Promise<{ id: string; request: (init?: RequestInit) => Request }> {
    const first = await app(new Request('https://api.faults.test/x'))
    const [challenge] = Challenge.parseList(first.headers.get('www-authenticate')!)
    const payment = await payer.pay({ challenge: challenge!, request: Challenge.decodeRequest(challenge!) as never, signal: new AbortController().signal })
    const authorization = Credential.serialize(Credential.from({ challenge: challenge!, ...payment }))
    return { id: challenge!.id, request: (init = {}) => new Request('https://api.faults.test/x', { ...init, headers: { authorization } }) }
  }

  async function storeSays(id: string): Promise<string> {
    const value = await faults.inner.get(Lifecycle.recordKey(id))
    if (value === undefined) return 'none'
    const record = Lifecycle.decode(value)
    return record === Lifecycle.DELIVERED ? 'delivered' : (record?.state ?? 'unreadable')
  }

  function outcome(): Outcome {
    const charged = ledger.transfers.filter((t) => !t.refunded)
    if (ledger.transfers.length === 0) return 'not charged'
    if (charged.length === 0 && ledger.balance('alice') === START) return 'refunded'
    expect(charged).toHaveLength(1)
    expect(runs, 'the handler ran once').toBe(1)
    expect(ledger.balance('alice')).toBe(START - PRICE)
    return 'delivered once'
  }

  return { app, gate, reconcile, clock, ledger, faults, events, credential, storeSays, outcome, runs: () => runs }
}

const answer = async (response: Response) => {
  const type = response.headers.get('content-type')?.includes('problem') ? ((await response.clone().json()) as { type: string }).type : undefined
  const name = type?.startsWith('urn:mppkit:problem:') ? type.slice('urn:mppkit:problem:'.length) : type?.split('/').pop()
  return `${response.status}${name && name !== 'about:blank' ? ` ${name}` : ''}${response.headers.has('payment-refund') ? ' + Payment-Refund' : ''}`
}

describe('store faults', () => {
  it('the store fails at the claim: 503, nothing charged; the retry pays', async () => {
    const fx = setup()
    const { id, request } = await fx.credential()
    fx.faults.inject({ op: 'create', mode: 'fail' })
    const first = await fx.app(request())
    expect(first.status).toBe(503)
    expect(JSON.stringify(await first.clone().json())).not.toContain('hunter2')
    expect(fx.ledger.transfers).toHaveLength(0)
    const retry = await fx.app(request())
    expect(retry.status).toBe(200)
    table.add({ fault: 'store fails at the claim', firstAnswer: await answer(first), retryAnswer: await answer(retry), outcome: fx.outcome(), store: await fx.storeSays(id) })
  })

  it('the store hangs at the claim and runs it late: 503 in time, nothing charged; the retry takes the late record over and pays once', async () => {
    const fx = setup()
    const { id, request } = await fx.credential()
    fx.faults.inject({ op: 'create', mode: 'hang' })
    const started = performance.now()
    const first = await fx.app(request())
    expect(performance.now() - started).toBeLessThan(1_000)
    expect(first.status).toBe(503)
    expect(fx.ledger.transfers).toHaveLength(0)
    await fx.faults.releaseHung() // the queued claim lands after the payer was told 503
    expect(await fx.storeSays(id)).toBe('settling')
    const early = await fx.app(request())
    expect(early.status).toBe(409)
    expect(early.headers.get('retry-after')).toBe('5')
    fx.clock.now += 5_001 // the lease of the request that never continued runs out
    const retry = await fx.app(request())
    expect(retry.status).toBe(200)
    table.add({ fault: 'store hangs at the claim, runs it late', firstAnswer: await answer(first), retryAnswer: `${await answer(early)}, after the lease ${await answer(retry)}`, outcome: fx.outcome(), store: await fx.storeSays(id) })
  })

  it('the store fails recording `settled` after money moved: 504 outcome unknown; the retry finds the payment and delivers', async () => {
    const fx = setup()
    const { id, request } = await fx.credential()
    fx.faults.inject({ op: 'swap', mode: 'fail', when: (args) => String(args[2]).includes('"settled"') })
    const first = await fx.app(request())
    expect(first.status).toBe(504)
    expect(fx.ledger.transfers).toHaveLength(1)
    fx.clock.now += 5_001
    const retry = await fx.app(request())
    expect(retry.status).toBe(200)
    expect(fx.ledger.transfers).toHaveLength(1)
    table.add({ fault: 'store fails recording settled', firstAnswer: await answer(first), retryAnswer: `after the lease ${await answer(retry)}`, outcome: fx.outcome(), store: await fx.storeSays(id) })
  })

  it('the store fails closing the record after delivery: delivered, and the failure is reported', async () => {
    const fx = setup()
    const { id, request } = await fx.credential()
    fx.faults.inject({ op: 'swap', mode: 'fail', when: (args) => args[2] === Lifecycle.DELIVERED })
    const first = await fx.app(request())
    expect(first.status).toBe(200)
    expect(fx.events.map((e) => e.type)).toContain('payment-record-failed')
    table.add({ fault: 'store fails closing the record', firstAnswer: await answer(first), retryAnswer: '-', outcome: fx.outcome(), store: await fx.storeSays(id) })
  })
})

describe('driver faults', () => {
  it('settle throws after the money moved: 504 outcome unknown, never 402; the retry delivers once', async () => {
    const fx = setup({ settle: 'throw-after-money' })
    const { id, request } = await fx.credential()
    const first = await fx.app(request())
    expect(first.status).toBe(504)
    expect(first.headers.get('www-authenticate')).toBeNull()
    expect(await fx.storeSays(id)).toBe('unknown')
    const retry = await fx.app(request())
    expect(retry.status).toBe(200)
    table.add({ fault: 'settle throws after moving money', firstAnswer: await answer(first), retryAnswer: await answer(retry), outcome: fx.outcome(), store: await fx.storeSays(id) })
  })

  it('settle refuses (nothing moved): 402, and nothing stays written', async () => {
    const fx = setup({ settle: 'refuse' })
    const { id, request } = await fx.credential()
    const first = await fx.app(request())
    expect(first.status).toBe(402)
    expect(await fx.storeSays(id)).toBe('none')
    const retry = await fx.app(request())
    expect(retry.status).toBe(402)
    table.add({ fault: 'settle refuses', firstAnswer: await answer(first), retryAnswer: await answer(retry), outcome: fx.outcome(), store: await fx.storeSays(id) })
  })

  it('the process dies while settling, before money moved: the retry looks it up, finds nothing, settles and delivers once', async () => {
    const fx = setup({ settle: 'hang-before-money' })
    const { id, request } = await fx.credential()
    void fx.app(request()) // never answers: the process is gone
    await new Promise((resolve) => setTimeout(resolve, 20))
    expect(await fx.storeSays(id)).toBe('settling')
    fx.clock.now += 5_001
    const retry = await fx.app(request())
    expect(retry.status).toBe(200)
    table.add({ fault: 'process dies while settling, nothing moved', firstAnswer: 'no answer', retryAnswer: `after the lease ${await answer(retry)}`, outcome: fx.outcome(), store: await fx.storeSays(id) })
  })

  it('the process dies while settling, after money moved: the retry looks it up, finds it, and delivers once', async () => {
    const fx = setup({ settle: 'hang-after-money' })
    const { id, request } = await fx.credential()
    void fx.app(request())
    await new Promise((resolve) => setTimeout(resolve, 20))
    expect(fx.ledger.transfers).toHaveLength(1)
    fx.clock.now += 5_001
    const retry = await fx.app(request())
    expect(retry.status).toBe(200)
    table.add({ fault: 'process dies while settling, money moved', firstAnswer: 'no answer', retryAnswer: `after the lease ${await answer(retry)}`, outcome: fx.outcome(), store: await fx.storeSays(id) })
  })
})

describe('process and handler faults', () => {
  it('the process dies after settling, before the handler: the retry waits out the lease, then is served once', async () => {
    const fx = setup()
    const { id, request } = await fx.credential()
    const abandoned = await fx.gate.check(request()) // settled; the handler never runs
    expect(abandoned.paid).toBe(true)
    expect(await fx.storeSays(id)).toBe('settled')
    const early = await fx.app(request())
    expect(early.status).toBe(409)
    expect(Number(early.headers.get('retry-after'))).toBeGreaterThan(0)
    fx.clock.now += 200 + 5_001 // handlerTimeout + settleLease
    const retry = await fx.app(request())
    expect(retry.status).toBe(200)
    expect(retry.headers.get('payment-receipt')).not.toBeNull()
    const again = await fx.app(request())
    expect(again.status).toBe(402)
    table.add({ fault: 'process dies after settling, before the handler', firstAnswer: 'no answer', retryAnswer: `${await answer(early)}, after the lease ${await answer(retry)}`, outcome: fx.outcome(), store: await fx.storeSays(id) })
  })

  it('the handler throws: 500, refunded, and the record says so', async () => {
    const fx = setup({ handler: 'throw' })
    const { id, request } = await fx.credential()
    const first = await fx.app(request())
    expect(first.status).toBe(500)
    const retry = await fx.app(request())
    expect(retry.status).toBe(402)
    table.add({ fault: 'handler throws', firstAnswer: await answer(first), retryAnswer: await answer(retry), outcome: fx.outcome(), store: await fx.storeSays(id) })
  })

  it('the handler hangs past handlerTimeout: 504, refunded', async () => {
    const fx = setup({ handler: 'hang' })
    const { id, request } = await fx.credential()
    const first = await fx.app(request())
    expect(first.status).toBe(504)
    expect(fx.events.map((e) => e.type)).toContain('handler-timeout')
    const retry = await fx.app(request())
    expect(retry.status).toBe(402)
    table.add({ fault: 'handler hangs', firstAnswer: await answer(first), retryAnswer: await answer(retry), outcome: fx.outcome(), store: await fx.storeSays(id) })
  })

  it('the handler answers 404: refunded by default', async () => {
    const fx = setup({ handler: '404' })
    const { id, request } = await fx.credential()
    const first = await fx.app(request())
    expect(first.status).toBe(404)
    table.add({ fault: 'handler answers 404', firstAnswer: await answer(first), retryAnswer: '-', outcome: fx.outcome(), store: await fx.storeSays(id) })
  })

  it('the payer hangs up before settlement: nothing charged, nothing stays written', async () => {
    const fx = setup()
    const { id, request } = await fx.credential()
    const controller = new AbortController()
    controller.abort()
    const first = await fx.app(request({ signal: controller.signal }))
    expect(first.status).toBe(503)
    expect(await fx.storeSays(id)).toBe('none')
    const retry = await fx.app(request())
    expect(retry.status).toBe(200)
    table.add({ fault: 'payer hangs up before settlement', firstAnswer: await answer(first), retryAnswer: await answer(retry), outcome: fx.outcome(), store: await fx.storeSays(id) })
  })
})

describe('nothing written for free', () => {
  it('a flood of unpaid bogus credentials writes nothing: a genuine payer still pays on a store of 50 entries', async () => {
    const fx = setup({ store: memoryStore({ maxEntries: 50, now: () => T0 }) })
    const { request } = await fx.credential()
    for (let i = 0; i < 500; i++) {
      const { request: bogus } = await fx.credential()
      const forged = bogus()
      const parsed = Credential.parse(forged.headers.get('authorization')!)
      const tampered = Credential.serialize(Credential.from({ challenge: parsed.challenge as Challenge.Challenge, payload: { ...parsed.payload, signature: 'AAAA' } }))
      expect((await fx.app(new Request('https://api.faults.test/x', { headers: { authorization: tampered } }))).status).toBe(402)
    }
    const genuine = await fx.app(request())
    expect(genuine.status).toBe(200)
  })

  it('a client that is gone is never charged even when everything else is fine', async () => {
    const fx = setup()
    const { request } = await fx.credential()
    const controller = new AbortController()
    controller.abort()
    await fx.app(request({ signal: controller.signal }))
    expect(fx.ledger.transfers).toHaveLength(0)
    expect(fx.runs()).toBe(0)
  })
})

describe('reconcile: payers who never come back', () => {
  it('an unknown outcome whose money moved is refunded; the payer, if it comes back, finds it refunded', async () => {
    const fx = setup({ settle: 'throw-after-money' })
    const { id, request } = await fx.credential()
    expect((await fx.app(request())).status).toBe(504)
    expect(await fx.reconcile(id)).toEqual({ was: 'unknown', action: 'refunded' })
    expect(fx.ledger.balance('alice')).toBe(START)
    expect(await fx.storeSays(id)).toBe('refunded')
    const late = await fx.app(request())
    expect(late.status).toBe(402)
    expect(fx.runs()).toBe(0)
    table.add({ fault: 'settle throws after moving money, payer never retries; reconcile', firstAnswer: '504 payment-outcome-unknown', retryAnswer: 'late retry: 402 invalid-challenge', outcome: fx.outcome(), store: await fx.storeSays(id) })
  })

  it('a settled payment whose server died is left alone while its lease runs, then refunded', async () => {
    const fx = setup()
    const { id, request } = await fx.credential()
    const abandoned = await fx.gate.check(request())
    expect(abandoned.paid).toBe(true)
    expect(await fx.reconcile(id)).toEqual({ was: 'settled', action: 'in-progress' })
    fx.clock.now += 200 + 5_001
    expect(await fx.reconcile(id)).toEqual({ was: 'settled', action: 'refunded' })
    expect(fx.ledger.balance('alice')).toBe(START)
    table.add({ fault: 'process dies after settling, payer never retries; reconcile', firstAnswer: 'no answer', retryAnswer: '-', outcome: fx.outcome(), store: await fx.storeSays(id) })
  })

  it('a payment that moved nothing is released: no trace left', async () => {
    const fx = setup({ settle: 'hang-before-money' })
    const { id, request } = await fx.credential()
    void fx.app(request())
    await new Promise((resolve) => setTimeout(resolve, 20))
    fx.clock.now += 5_001
    expect(await fx.reconcile(id)).toEqual({ was: 'settling', action: 'released' })
    expect(await fx.storeSays(id)).toBe('none')
    table.add({ fault: 'process dies while settling, nothing moved, payer never retries; reconcile', firstAnswer: 'no answer', retryAnswer: '-', outcome: fx.outcome(), store: await fx.storeSays(id) })
  })

  it('settled: keep marks it delivered and keeps the money; a delivered payment is left alone', async () => {
    const fx = setup({ settle: 'throw-after-money' })
    const { id, request } = await fx.credential()
    await fx.app(request())
    expect(await fx.reconcile(id, { settled: 'keep' })).toEqual({ was: 'unknown', action: 'kept' })
    expect(await fx.storeSays(id)).toBe('delivered')
    expect(fx.ledger.balance('alice')).toBe(START - PRICE)
    expect(await fx.reconcile(id)).toEqual({ was: 'delivered', action: 'nothing' })
    expect(await fx.reconcile('no-such-challenge')).toEqual({ was: 'none', action: 'nothing' })
  })
})
