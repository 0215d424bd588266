/**
 * At most once across processes: two Node processes, each a PaymentServer with the
 * same secret and realm on one Redis, receive 100 concurrent copies of ONE credential.
 * Exactly one is served and settled; every other copy is 402 invalid-challenge.
 */
import { fileURLToPath } from 'node:url'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Challenge, Credential, Problem, Receipt } from '../../src/index.js'
import { startChild as startWith, stopChild, type Child } from '../support/child.js'
import { redisSkip, skipNote, startRedis, type RunningRedis } from '../support/redis.js'

const FIXTURE = fileURLToPath(new URL('./fixtures/redis-payment-server.ts', import.meta.url))
const SECRET = 'cross-process-secret-0123456789abcdef'
const REALM = 'api.cross-process.test'
const COPIES = 100

const startChild = (name: string, redisUrl: string) => startWith(name, FIXTURE, { REDIS_URL: redisUrl, MPP_SECRET: SECRET, MPP_REALM: REALM })

describe.skipIf(redisSkip)(`two processes, one Redis: at most once${skipNote}`, () => {
  let redis: RunningRedis
  let client: Redis
  let a: Child
  let b: Child

  beforeAll(async () => {
    redis = await startRedis()
    client = new Redis(redis.url)
    ;[a, b] = await Promise.all([startChild('A', redis.url), startChild('B', redis.url)])
    // Warm up: compile the pipeline in both children and open keep-alive connections,
    // so the storms below arrive together instead of trickling in behind handshakes.
    await storm('/paid', 'Payment e30')
    await storm('/racy', 'Payment e30')
  })
  afterAll(async () => {
    await Promise.all([stopChild(a), stopChild(b)])
    client?.disconnect()
    await redis?.stop()
  })

  /** A challenge from A and ONE credential for it. */
  async function oneCredential(path: string) {
    const first = await fetch(a.origin + path)
    expect(first.status).toBe(402)
    const [challenge] = Challenge.parseList(first.headers.get('www-authenticate')!)
    expect(challenge).toMatchObject({ method: 'counter', intent: 'charge', realm: REALM })
    const authorization = Credential.serialize(Credential.from({ challenge: challenge!, payload: { payer: 'alice' } }))
    return { challenge: challenge!, authorization }
  }

  /**
   * COPIES concurrent requests with the same credential, alternating between A and B.
   * Each process holds its copies at the claim until all COPIES/2 arrived, then lets
   * them hit Redis together (see the fixture's claim barrier).
   */
  async function storm(path: string, authorization: string) {
    const headers = { authorization, 'x-claim-barrier': String(COPIES / 2) }
    const responses = await Promise.all(
      Array.from({ length: COPIES }, async (_, i) => {
        const response = await fetch((i % 2 === 0 ? a : b).origin + path, { headers })
        return { status: response.status, servedBy: response.headers.get('x-served-by'), headers: response.headers, body: await response.text() }
      }),
    )
    return responses
  }

  it(`${COPIES} concurrent copies of one credential across both processes: one 200, one settlement, the rest 402 invalid-challenge`, async () => {
    const { challenge, authorization } = await oneCredential('/paid')
    const started = performance.now()
    const responses = await storm('/paid', authorization)
    const elapsed = performance.now() - started

    const served = responses.filter((r) => r.status === 200)
    const rejected = responses.filter((r) => r.status === 402)
    expect(served, `statuses: ${JSON.stringify(responses.map((r) => r.status))}`).toHaveLength(1)
    expect(rejected).toHaveLength(COPIES - 1)

    // Settled exactly once, counted in Redis by whichever process settled.
    expect(await client.call('GET', `settled:${challenge.id}`)).toBe('1')
    expect(await client.call('KEYS', 'settled:*')).toEqual([`settled:${challenge.id}`])

    // The one success carries the receipt for this challenge, from the process that settled.
    const receipt = Receipt.parse(served[0]!.headers.get('payment-receipt')!)
    expect(receipt).toMatchObject({ status: 'success', method: 'counter', challengeId: challenge.id, reference: `${served[0]!.servedBy}:1` })

    // Every other copy, in both processes, is invalid-challenge with a fresh challenge.
    for (const response of rejected) {
      const problem = JSON.parse(response.body) as Problem.Problem
      expect(Problem.codeOf(problem)).toBe('invalid-challenge')
      expect(problem.detail).toBe('challenge has already been used')
      const [fresh] = Challenge.parseList(response.headers.get('www-authenticate')!)
      expect(fresh!.id).not.toBe(challenge.id)
    }
    expect(new Set(rejected.map((r) => r.servedBy))).toEqual(new Set(['A', 'B']))

    // The payment's record lives in the shared store, under the servers' prefix, closed as delivered.
    expect(await client.call('GET', `mpp:pay:${challenge.id}`)).toBe('delivered')
    console.info(`[redis-concurrency] ${COPIES} copies over 2 processes in ${elapsed.toFixed(0)} ms`)
  })

  it('a replay after the storm is still refused by either process', async () => {
    const { challenge, authorization } = await oneCredential('/paid')
    const first = await fetch(b.origin + '/paid', { headers: { authorization } })
    expect(first.status).toBe(200) // B accepts a challenge A issued: same secret, same realm
    for (const child of [a, b]) {
      const again = await fetch(child.origin + '/paid', { headers: { authorization } })
      expect(again.status).toBe(402)
      expect(Problem.codeOf((await again.json()) as Problem.Problem)).toBe('invalid-challenge')
    }
    expect(await client.call('GET', `settled:${challenge.id}`)).toBe('1')
  })

  it('control: the same storm against a non-atomic store (GET then SET) settles more than once', async () => {
    const { challenge, authorization } = await oneCredential('/racy')
    const responses = await storm('/racy', authorization)
    const settled = Number(await client.call('GET', `settled:${challenge.id}`))
    // If this ever fails, the storm stopped racing and the test above proves nothing:
    // held copies are released together, and many see the record absent before any SET.
    expect(settled).toBeGreaterThan(COPIES / 10)
    // The lifecycle's compare-and-set still lets only one of them deliver: the rest lost the record.
    expect(responses.filter((r) => r.status === 200).length).toBeLessThanOrEqual(settled)
    console.info(`[redis-concurrency] control: a non-atomic store settled ${settled} of ${COPIES} copies`)
  })
})
