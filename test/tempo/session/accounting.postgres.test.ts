/** Session accounting on a real PostgreSQL, through a pool so concurrent compare-and-sets race in the server. */
import pg from 'pg'
import { afterAll, beforeAll, describe } from 'vitest'
import { postgresStore } from '../../../src/postgres/index.js'
import { startPostgres, type RunningPostgres } from '../../support/postgres.js'
import { describeAccountingContract } from './accountingContract.js'

describe('session accounting on postgres', () => {
  let postgres: RunningPostgres
  let pool: pg.Pool

  beforeAll(async () => {
    postgres = await startPostgres()
    pool = new pg.Pool({ connectionString: postgres.url, max: 8 })
    pool.on('error', () => {})
  }, 60_000)
  afterAll(async () => {
    await pool?.end()
    await postgres?.stop()
  })

  // One table for all: every test uses fresh channel ids.
  describeAccountingContract('postgres', { store: () => postgresStore(pool, { table: 'session_accounting' }) })
})
