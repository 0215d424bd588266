/**
 * A {@link Store} on PostgreSQL: sellers keep payment state in the database they
 * already run. Every operation is one statement, atomic under concurrency across
 * processes; expiry is judged by the database's clock.
 *
 * Bring your own client: anything with `pg`'s `query(text, values)` works (a `pg.Pool`).
 *
 * @example
 * import pg from 'pg'
 * import { postgresStore } from 'mppkit/postgres'
 * const store = postgresStore(new pg.Pool({ connectionString: process.env.DATABASE_URL }))
 */
import { MppError } from '../errors.js'
import type { Store } from '../server/Store.js'
import type { PostgresQueryable } from './queryable.js'
import { assertIdentifier, NOW_MS, setupSql } from './schema.js'

export type { PostgresQueryable } from './queryable.js'
export { postgresSpendLedger, type PostgresSpendLedgerOptions } from './ledger.js'

export type PostgresStoreOptions = {
  /** Table name (default `mppkit_store`); created with its function on first use. */
  table?: string
  /** Expired rows are deleted, a batch at a time, once every this many writes (default 500). */
  sweepEvery?: number
}

export function postgresStore(client: PostgresQueryable, options: PostgresStoreOptions = {}): Store {
  const table = options.table ?? 'mppkit_store'
  assertIdentifier(table)
  const sweepEvery = options.sweepEvery ?? 500
  let setup: Promise<void> | undefined
  let writes = 0

  async function run(text: string, values: unknown[]): Promise<{ rows: any[]; rowCount?: number | null }> {
    setup ??= client.query(setupSql(table)).then(
      () => {},
      (error: unknown) => {
        setup = undefined // asked again next time
        throw error
      },
    )
    try {
      await setup
      return await client.query(text, values)
    } catch (error) {
      // The cause keeps the driver's error for operators; the message names no key or value.
      throw new MppError('store-failure', 'postgres query failed', { cause: error })
    }
  }

  function sweep(): void {
    if (++writes % sweepEvery !== 0) return
    run(`DELETE FROM ${table} WHERE key IN (SELECT key FROM ${table} WHERE expires_at <= ${NOW_MS} LIMIT 1000)`, []).catch(() => {})
  }

  return {
    async create(entries, { notAfter } = {}) {
      // Keys in one order for every caller, so two overlapping creates never deadlock.
      const order = entries.map((_, i) => i).sort((a, b) => (entries[a]!.key < entries[b]!.key ? -1 : 1))
      const { rows } = await run(`SELECT * FROM ${table}_create($1, $2, $3, $4)`, [
        order.map((i) => entries[i]!.key),
        order.map((i) => entries[i]!.value),
        order.map((i) => Math.ceil(entries[i]!.expiresAt)),
        notAfter === undefined ? null : Math.floor(notAfter),
      ])
      sweep()
      const row = rows[0]
      if (row.status === 'created') return { created: true }
      if (row.status === 'expired') return { created: false, expired: true }
      return { created: false, key: entries[order[row.conflict_index - 1]!]!.key, value: row.conflict_value }
    },
    async get(key) {
      const { rows } = await run(`SELECT value FROM ${table} WHERE key = $1 AND expires_at > ${NOW_MS}`, [key])
      return rows[0]?.value
    },
    async swap(key, expected, next, expiresAt) {
      const live = `key = $1 AND value = $2 AND expires_at > ${NOW_MS}`
      const result =
        next === undefined
          ? await run(`DELETE FROM ${table} WHERE ${live}`, [key, expected])
          : await run(`UPDATE ${table} SET value = $3, expires_at = coalesce($4, expires_at) WHERE ${live}`, [
              key,
              expected,
              next,
              expiresAt === undefined ? null : Math.ceil(expiresAt),
            ])
      return (result.rowCount ?? 0) === 1
    },
    async set(key, value, expiresAt) {
      await run(
        `INSERT INTO ${table} (key, value, expires_at) VALUES ($1, $2, $3)
         ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, expires_at = EXCLUDED.expires_at`,
        [key, value, Math.ceil(expiresAt)],
      )
      sweep()
    },
    async delete(key) {
      await run(`DELETE FROM ${table} WHERE key = $1`, [key])
    },
  }
}
