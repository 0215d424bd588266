import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { MppError } from '../../src/errors.js'
import { postgresStore } from '../../src/postgres/index.js'
import { startPostgres, type RunningPostgres } from '../support/postgres.js'
import { describeStoreContract } from './contract.js'

describe('postgres store on a real PostgreSQL', () => {
  let postgres: RunningPostgres
  let pool: pg.Pool
  let harnesses = 0

  beforeAll(async () => {
    postgres = await startPostgres()
    pool = new pg.Pool({ connectionString: postgres.url, max: 8 })
    // pg reports idle connections the server dropped as pool errors; the store sees them as failed queries.
    pool.on('error', () => {})
  }, 60_000)
  afterAll(async () => {
    await pool?.end()
    await postgres?.stop()
  })

  // Each harness gets its own table: an empty store without truncating between tests.
  describeStoreContract('postgres', async () => ({
    store: postgresStore(pool, { table: `contract_${++harnesses}` }),
    now: Date.now,
    advance: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    cleanup: async () => {},
  }))

  it('two stores starting together on a fresh database set up once, without errors', async () => {
    const stores = Array.from({ length: 8 }, () => postgresStore(pool, { table: 'racing_setup' }))
    const results = await Promise.all(stores.map((s, i) => s.create([{ key: `k${i}`, value: 'v', expiresAt: Date.now() + 60_000 }])))
    expect(results.every((r) => r.created)).toBe(true)
  })

  it('refuses a table name that is not a plain identifier', () => {
    expect(() => postgresStore(pool, { table: 'x; drop table y' })).toThrow(TypeError)
  })

  it('expired rows are swept as writes go on', async () => {
    const store = postgresStore(pool, { table: 'swept', sweepEvery: 2 })
    await store.set('old', 'v', Date.now() - 1)
    await store.set('a', 'v', Date.now() + 60_000)
    await new Promise((resolve) => setTimeout(resolve, 100))
    const { rows } = await pool.query(`SELECT key FROM swept ORDER BY key`)
    expect(rows.map((r) => r.key)).toEqual(['a'])
  })

  it('a database that is gone fails with store-failure naming no key or value, and recovers', async () => {
    const store = postgresStore(pool, { table: 'outage' })
    await store.set('k', 'v', Date.now() + 60_000)
    await postgres.crash()
    const error = await store.get('SECRET-KEY').catch((e: unknown) => e)
    expect(error).toBeInstanceOf(MppError)
    expect(error).toMatchObject({ code: 'store-failure' })
    expect(String(error)).not.toContain('SECRET')
    await postgres.restart()
    let value: string | undefined
    for (let i = 0; i < 100 && value === undefined; i++) {
      value = await store.get('k').catch(() => undefined)
      if (value === undefined) await new Promise((resolve) => setTimeout(resolve, 100))
    }
    expect(value).toBe('v')
  }, 60_000)
})
