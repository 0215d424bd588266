/**
 * Fault injection across processes: child servers on one real Redis (AOF) or one real
 * PostgreSQL are SIGKILLed at each lifecycle step and a fresh process takes the payer's
 * retry; the store itself is killed and restarted; two servers' clocks disagree by 30
 * minutes. The money lives in a loopback "bank" in this process, so nothing the test
 * counts dies with a child. Rows go to the cross-process table of docs/faults.md.
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Challenge, Credential } from '../../src/index.js'
import { exited, startChild, stopChild, type Child } from '../support/child.js'
import { startPostgres, type RunningPostgres } from '../support/postgres.js'
import { startRedis, type RunningRedis } from '../support/redis.js'
import { outcomeTable, type Outcome } from './table.js'

const FIXTURE = fileURLToPath(new URL('./fixtures/paying-server.ts', import.meta.url))
const SECRET = 'process-fault-secret-0123456789abcdef'
const REALM = 'api.process-faults.test'
const table = outcomeTable('processes')

/** The payer's bank: charges idempotently per challenge, answers lookups, counts deliveries. */
function startBank() {
  const charges = new Map<string, { reference: string; refunded: boolean }>()
  const deliveries: string[] = []
  const server: Server = createServer(async (req, res) => {
    let body = ''
    for await (const chunk of req) body += chunk
    const json = body ? JSON.parse(body) : {}
    const send = (value: unknown) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(value))
    if (req.url === '/charge') {
      const existing = charges.get(json.challengeId)
      if (existing) return send(existing)
      const charge = { reference: `bank_${charges.size + 1}`, refunded: false }
      charges.set(json.challengeId, charge)
      return send(charge)
    }
    if (req.url?.startsWith('/charge/')) return send(charges.get(req.url.slice('/charge/'.length)) ?? {})
    if (req.url === '/refund') {
      for (const charge of charges.values()) if (charge.reference === json.reference) charge.refunded = true
      return send({ reference: `r_${json.reference}` })
    }
    if (req.url === '/delivered') {
      deliveries.push(json.authorization)
      return send({})
    }
    res.writeHead(404).end()
  })
  return {
    listen: () => new Promise<string>((resolve) => server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`))),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
    charges,
    deliveries,
  }
}

type Backend = { name: 'redis' | 'postgres'; url: () => string; recordOf: (challengeId: string) => Promise<string> }

describe('process faults', () => {
  const bank = startBank()
  let bankUrl: string
  let redis: RunningRedis
  let redisClient: Redis
  let postgres: RunningPostgres
  let pool: pg.Pool
  const children: Child[] = []

  beforeAll(async () => {
    bankUrl = await bank.listen()
    ;[redis, postgres] = await Promise.all([startRedis(), startPostgres()])
    redisClient = new Redis(redis.url)
    pool = new pg.Pool({ connectionString: postgres.url }).on('error', () => {})
  }, 60_000)
  afterAll(async () => {
    await Promise.all(children.map(stopChild))
    redisClient?.disconnect()
    await pool?.end()
    await Promise.all([redis?.stop(), postgres?.stop(), bank.close()])
    table.check()
  })

  const backends: Backend[] = [
    {
      name: 'redis',
      url: () => redis.url,
      recordOf: async (id) => stateOf((await redisClient.call('GET', `mppkit:pay:${id}`)) as string | null),
    },
    {
      name: 'postgres',
      url: () => postgres.url,
      recordOf: async (id) => stateOf((await pool.query('SELECT value FROM mppkit_store WHERE key = $1', [`pay:${id}`])).rows[0]?.value ?? null),
    },
  ]

  function stateOf(value: string | null): string {
    if (value === null) return 'none'
    return value === 'delivered' ? 'delivered' : (JSON.parse(value) as { state: string }).state
  }

  async function server(backend: Backend, env: Record<string, string> = {}): Promise<Child> {
    const child = await startChild(`${backend.name}-server`, FIXTURE, {
      STORE: backend.name,
      STORE_URL: backend.url(),
      BANK_URL: bankUrl,
      MPP_SECRET: SECRET,
      MPP_REALM: REALM,
      ...env,
    })
    children.push(child)
    return child
  }

  async function credential(child: Child) {
    const first = await fetch(`${child.origin}/x`)
    expect(first.status).toBe(402)
    const [challenge] = Challenge.parseList(first.headers.get('www-authenticate')!)
    return { id: challenge!.id, authorization: Credential.serialize(Credential.from({ challenge: challenge!, payload: { account: 'alice' } })) }
  }

  function outcome(id: string, authorization: string): Outcome {
    const charge = bank.charges.get(id)
    const delivered = bank.deliveries.filter((a) => a === authorization).length
    if (!charge) {
      expect(delivered).toBe(0)
      return 'not charged'
    }
    if (charge.refunded) return 'refunded'
    expect(delivered, 'delivered exactly once').toBe(1)
    return 'delivered once'
  }

  for (const backend of backends) {
    describe(`on ${backend.name}`, () => {
      for (const step of ['before-money', 'after-money', 'handler'] as const) {
        it(`SIGKILL at ${step}: a new process takes the retry and the payer is delivered once`, async () => {
          const doomed = await server(backend)
          const { id, authorization } = await credential(doomed)
          const first = await fetch(`${doomed.origin}/x`, { headers: { authorization, 'x-kill-at': step } }).then(
            (r) => String(r.status),
            () => 'connection lost',
          )
          expect(await exited(doomed)).toBe('SIGKILL')
          const fresh = await server(backend)
          // The dead owner's lease (1 s, plus the handler's 1 s once settled) must run out first.
          let retry: Response
          const answers: number[] = []
          for (;;) {
            retry = await fetch(`${fresh.origin}/x`, { headers: { authorization } })
            answers.push(retry.status)
            if (retry.status !== 409) break
            await new Promise((resolve) => setTimeout(resolve, Number(retry.headers.get('retry-after') ?? 1) * 500))
          }
          expect(retry.status).toBe(200)
          expect(await retry.text()).toBe('the paid resource')
          expect(retry.headers.get('payment-receipt')).not.toBeNull()
          const again = await fetch(`${fresh.origin}/x`, { headers: { authorization } })
          expect(again.status).toBe(402)
          // 409 with Retry-After while the dead owner's lease runs (how many depends on how fast the new process started), then 200.
          expect(answers.slice(0, -1).every((status) => status === 409)).toBe(true)
          const retryAnswer = '200 once the dead owner\'s lease ended (409 before)'
          table.add({ fault: `${backend.name}: server SIGKILLed at ${step}`, firstAnswer: first, retryAnswer, outcome: outcome(id, authorization), store: await backend.recordOf(id) })
          await stopChild(fresh)
        }, 30_000)
      }

      it('the store is killed and restarted: payments in between fail fast with 503 and charge nothing; paid credentials stay used', async () => {
        const child = await server(backend)
        const paid = await credential(child)
        expect((await fetch(`${child.origin}/x`, { headers: { authorization: paid.authorization } })).status).toBe(200)
        const during = await credential(child)
        await (backend.name === 'redis' ? redis.crash() : postgres.crash())
        const started = performance.now()
        const down = await fetch(`${child.origin}/x`, { headers: { authorization: during.authorization } })
        const took = performance.now() - started
        expect(down.status).toBe(503)
        expect(took).toBeLessThan(4_000) // the 2 s store deadline, with room for a loaded machine
        expect(bank.charges.has(during.id)).toBe(false)
        await (backend.name === 'redis' ? redis.restart() : postgres.restart())
        // The store came back with what it had (AOF / WAL): the paid credential is still used.
        let replay: Response
        for (let i = 0; ; i++) {
          replay = await fetch(`${child.origin}/x`, { headers: { authorization: paid.authorization } })
          if (replay.status !== 503 || i > 50) break
          await new Promise((resolve) => setTimeout(resolve, 200))
        }
        expect(replay.status).toBe(402)
        const retry = await fetch(`${child.origin}/x`, { headers: { authorization: during.authorization } })
        expect(retry.status).toBe(200)
        table.add({ fault: `${backend.name}: store killed and restarted`, firstAnswer: '503 within the store deadline (2 s)', retryAnswer: '200 once the store is back', outcome: outcome(during.id, during.authorization), store: await backend.recordOf(during.id) })
        table.add({ fault: `${backend.name}: replay after the store restarted`, firstAnswer: '200 (before the restart)', retryAnswer: '402 invalid-challenge', outcome: outcome(paid.id, paid.authorization), store: await backend.recordOf(paid.id) })
        await stopChild(child)
      }, 60_000)

      it('two servers 30 minutes apart: a replay after expiry is refused by the slow one (the store judges expiry)', async () => {
        const right = await server(backend, { CHALLENGE_TTL_MS: '4000' })
        const slow = await server(backend, { CHALLENGE_TTL_MS: '4000', CLOCK_OFFSET_MS: String(-30 * 60_000) })
        const fast = await server(backend, { CHALLENGE_TTL_MS: '4000', CLOCK_OFFSET_MS: String(30 * 60_000) })
        // Challenges live 4 s here (room for a loaded machine to pay in time). Issued by the right
        // clock, never paid until after it expired, presented to the slow server.
        const late = await credential(right)
        await new Promise((resolve) => setTimeout(resolve, 4_200))
        const refused = await fetch(`${slow.origin}/x`, { headers: { authorization: late.authorization } })
        expect(refused.status).toBe(402)
        expect(bank.charges.has(late.id)).toBe(false)
        // Paid in time, then replayed at the fast and the slow server after expiry.
        const paid = await credential(right)
        expect((await fetch(`${right.origin}/x`, { headers: { authorization: paid.authorization } })).status).toBe(200)
        await new Promise((resolve) => setTimeout(resolve, 4_200))
        for (const other of [slow, fast]) expect((await fetch(`${other.origin}/x`, { headers: { authorization: paid.authorization } })).status).toBe(402)
        table.add({ fault: `${backend.name}: expired credential at a server 30 min slow`, firstAnswer: '402 invalid-challenge', retryAnswer: '-', outcome: outcome(late.id, late.authorization), store: await backend.recordOf(late.id) })
        table.add({ fault: `${backend.name}: replay at servers 30 min slow and fast`, firstAnswer: '200 (in time, right clock)', retryAnswer: '402 at both', outcome: outcome(paid.id, paid.authorization), store: await backend.recordOf(paid.id) })
        await Promise.all([right, slow, fast].map(stopChild))
      }, 60_000)
    })
  }
})
