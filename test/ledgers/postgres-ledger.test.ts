/**
 * The Postgres ledger's own guarantees, beyond the shared contract, on a real
 * PostgreSQL: the table it creates (NUMERIC amounts, created once even when many
 * processes start together), safe table names, and a database that does not answer
 * (here: a table locked by another session) failing calls at the deadline.
 */
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { isMppError } from '../../src/errors.js'
import { postgresSpendLedger } from '../../src/postgres/ledger.js'
import { startPostgres, type RunningPostgres } from '../support/postgres.js'

const END = Date.now() + 3_600_000

describe('postgres spend ledger specifics', () => {
  let postgres: RunningPostgres
  let pool: pg.Pool

  beforeAll(async () => {
    postgres = await startPostgres()
    pool = new pg.Pool({ connectionString: postgres.url, max: 12 })
    pool.on('error', () => {})
  })
  afterAll(async () => {
    await pool?.end()
    await postgres?.stop()
  })

  it('creates its table with NUMERIC amounts and stores them exactly', async () => {
    const ledger = postgresSpendLedger(pool, { table: 'exact' })
    expect(await ledger.reserve('usd:day', 10n ** 40n + 1n, 10n ** 41n, END)).toBe(true)
    const columns = await pool.query(`SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'exact' ORDER BY ordinal_position`)
    expect(columns.rows).toEqual([
      { column_name: 'key', data_type: 'text' },
      { column_name: 'spent', data_type: 'numeric' },
      { column_name: 'expires_at', data_type: 'bigint' },
    ])
    const row = await pool.query(`SELECT spent::text AS spent, expires_at::text AS expires_at FROM exact`)
    expect(row.rows).toEqual([{ spent: '10000000000000000000000000000000000000001', expires_at: String(END) }])
  })

  it('many ledgers creating the same table at once all succeed', async () => {
    const ledgers = Array.from({ length: 10 }, () => postgresSpendLedger(pool, { table: 'cold_start' }))
    const results = await Promise.all(ledgers.map((ledger) => ledger.reserve('k', 1n, 100n, END)))
    expect(results).toEqual(Array(10).fill(true))
    expect(await ledgers[0]!.spent('k')).toBe(10n)
  })

  it('accepts a schema-qualified table and refuses anything that is not a plain identifier', async () => {
    await pool.query('CREATE SCHEMA IF NOT EXISTS agents')
    expect(await postgresSpendLedger(pool, { table: 'agents.spend' }).reserve('k', 1n, 1n, END)).toBe(true)
    for (const table of ['spend; DROP TABLE x', 'a.b.c', '"quoted"', '1spend', ''])
      expect(() => postgresSpendLedger(pool, { table }), table).toThrow(expect.objectContaining({ code: 'configuration-invalid' }))
  })

  it('a database that does not answer fails every call with store-failure at the deadline', async () => {
    const ledger = postgresSpendLedger(pool, { table: 'locked', deadlineMs: 300 })
    expect(await ledger.reserve('k', 1n, 10n, END)).toBe(true)
    const holder = await pool.connect()
    try {
      await holder.query('BEGIN')
      await holder.query('LOCK TABLE locked IN ACCESS EXCLUSIVE MODE')
      for (const call of [() => ledger.reserve('k', 1n, 10n, END), () => ledger.release('k', 1n), () => ledger.spent('k')]) {
        const started = performance.now()
        const error = await call().catch((e: unknown) => e)
        const elapsed = performance.now() - started
        expect(isMppError(error, 'store-failure')).toBe(true)
        expect((error as Error).message).toMatch(/^spend ledger (reserve|release|read) did not finish within 300 ms$/)
        expect(elapsed).toBeGreaterThanOrEqual(290)
        expect(elapsed).toBeLessThan(1_500)
      }
    } finally {
      await holder.query('ROLLBACK')
      holder.release()
    }
  })

  it('a database that crashed fails calls fast with store-failure; after its restart the budget is still spent', async () => {
    const own = await startPostgres()
    const ownPool = new pg.Pool({ connectionString: own.url, max: 4, connectionTimeoutMillis: 5_000 })
    ownPool.on('error', () => {})
    try {
      const ledger = postgresSpendLedger(ownPool, { deadlineMs: 1_000 })
      expect(await ledger.reserve('usd:day', 900n, 1000n, END)).toBe(true)
      await ownPool.query('CHECKPOINT') // the test cluster runs with fsync off: flush before the crash
      await own.crash()
      const started = performance.now()
      const error = await ledger.reserve('usd:day', 100n, 1000n, END).catch((e: unknown) => e)
      expect(isMppError(error, 'store-failure')).toBe(true)
      expect(performance.now() - started).toBeLessThan(1_500)
      await own.restart()
      expect(await ledger.spent('usd:day')).toBe(900n)
      expect(await ledger.reserve('usd:day', 101n, 1000n, END)).toBe(false)
      expect(await ledger.reserve('usd:day', 100n, 1000n, END)).toBe(true)
    } finally {
      await ownPool.end().catch(() => {})
      await own.stop()
    }
  }, 60_000)

  it('a query error becomes store-failure with the cause kept', async () => {
    const failing = { query: async () => Promise.reject(Object.assign(new Error('connection terminated'), { code: '57P01' })) }
    const error = await postgresSpendLedger(failing).spent('k').catch((e: unknown) => e)
    expect(isMppError(error, 'store-failure')).toBe(true)
    expect((error as Error).message).toBe('spend ledger read failed')
  })
})
