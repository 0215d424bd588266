import pg from 'pg'
import { afterAll, beforeAll, describe } from 'vitest'
import { postgresSpendLedger } from '../../src/postgres/ledger.js'
import { startPostgres, type RunningPostgres } from '../support/postgres.js'
import { describeLedgerContract } from './contract.js'

describe('postgres spend ledger on a real PostgreSQL', () => {
  let postgres: RunningPostgres
  let pool: pg.Pool
  let harnesses = 0

  beforeAll(async () => {
    postgres = await startPostgres()
    pool = new pg.Pool({ connectionString: postgres.url, max: 8 })
    pool.on('error', () => {}) // an idle connection dropped at shutdown is not a test failure
  })
  afterAll(async () => {
    await pool?.end()
    await postgres?.stop()
  })

  // Each harness gets its own table, created by the ledger on first use.
  describeLedgerContract('postgres', { durable: true }, async () => {
    const table = `spend_${++harnesses}`
    return {
      open: ({ now, deadlineMs }) => postgresSpendLedger(pool, { table, now, ...(deadlineMs && { deadlineMs }) }),
      child: { kind: 'postgres', target: postgres.url, namespace: table },
      cleanup: async () => {},
    }
  })
})
