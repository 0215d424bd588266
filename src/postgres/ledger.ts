/**
 * A {@link SpendLedger} on PostgreSQL, shared by every agent that uses the same table
 * and kept across restarts. It creates its table when absent:
 *
 *     key text PRIMARY KEY, spent numeric NOT NULL CHECK (spent >= 0), expires_at bigint NOT NULL
 *
 * `reserve` is one statement, `INSERT … ON CONFLICT (key) DO UPDATE … WHERE <new total>
 * <= limit RETURNING`: the conflicting row is locked and the WHERE re-evaluated on its
 * latest version, so concurrent reservations from any number of processes never pass
 * the limit. Amounts are NUMERIC, sent and read as decimal text: exact at any size.
 *
 * Every call has a deadline (default 2 s): a database that is down or stuck fails the
 * call with `store-failure`, so the paying client refuses to pay rather than hang.
 *
 * Bring your own client: anything with `pg`'s `query(text, values)` (a `pg.Pool`).
 *
 * @example
 * import pg from 'pg'
 * import { postgresSpendLedger } from 'mppkit/postgres'
 * const spendLedger = postgresSpendLedger(new pg.Pool({ connectionString: process.env.DATABASE_URL }))
 */
import { checkAmount, checkKey, checkReserve } from '../client/ledgers/arguments.js'
import { deadlineOf, withDeadline, type LedgerOptions } from '../client/ledgers/deadline.js'
import type { SpendLedger } from '../client/SpendLedger.js'
import { MppError } from '../errors.js'
import type { PostgresQueryable } from './queryable.js'


export type PostgresSpendLedgerOptions = LedgerOptions & {
  /** The table, optionally schema-qualified (default `mppkit_spend`). Created when absent. */
  table?: string
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/
/** Errors two processes creating the same table at once may see; the table exists then. */
const ALREADY_CREATED = new Set(['42P07', '23505'])

export function postgresSpendLedger(pool: PostgresQueryable, options: PostgresSpendLedgerOptions = {}): SpendLedger {
  const table = quoteTable(options.table ?? 'mppkit_spend')
  const now = options.now ?? Date.now
  const deadlineMs = deadlineOf(options)

  const reserveSql = `
    INSERT INTO ${table} AS w (key, spent, expires_at) VALUES ($1, $2::numeric, $4::bigint)
    ON CONFLICT (key) DO UPDATE SET
      spent = CASE WHEN w.expires_at <= $5::bigint THEN EXCLUDED.spent ELSE w.spent + EXCLUDED.spent END,
      expires_at = CASE WHEN w.expires_at <= $5::bigint THEN EXCLUDED.expires_at ELSE w.expires_at END
    WHERE (CASE WHEN w.expires_at <= $5::bigint THEN 0 ELSE w.spent END) + EXCLUDED.spent <= $3::numeric
    RETURNING 1 AS reserved`
  const releaseSql = `
    UPDATE ${table} SET spent = GREATEST(spent - $2::numeric, 0)
    WHERE key = $1 AND expires_at > $3::bigint`
  const spentSql = `SELECT spent::text AS spent FROM ${table} WHERE key = $1 AND expires_at > $2::bigint`

  let created: Promise<void> | undefined
  const ensureTable = () =>
    (created ??= (async () => {
      try {
        await pool.query(
          `CREATE TABLE IF NOT EXISTS ${table} (
             key text PRIMARY KEY,
             spent numeric NOT NULL CHECK (spent >= 0 AND spent = trunc(spent)),
             expires_at bigint NOT NULL)`,
        )
      } catch (error) {
        if (!ALREADY_CREATED.has(String((error as { code?: unknown })?.code))) throw error
      }
    })().catch((error) => {
      created = undefined // try again on the next call
      throw error
    }))

  const query = (what: string, text: string, values: unknown[]) =>
    withDeadline(what, deadlineMs, async () => {
      await ensureTable()
      return (await pool.query(text, values)).rows
    })

  return {
    async reserve(key, amount, limit, expiresAt) {
      checkKey(key)
      checkReserve(amount, limit, expiresAt)
      // The insert path has no WHERE: an amount over the limit on its own is refused here.
      if (amount > limit) return false
      const rows = await query('reserve', reserveSql, [key, amount.toString(), limit.toString(), expiresAt, now()])
      return rows.length === 1
    },
    async release(key, amount) {
      checkKey(key)
      checkAmount(amount)
      await query('release', releaseSql, [key, amount.toString(), now()])
    },
    async spent(key) {
      checkKey(key)
      const rows = await query('read', spentSql, [key, now()])
      if (rows.length === 0) return 0n
      const text = rows[0]!.spent
      if (typeof text !== 'string' || !/^(0|[1-9][0-9]*)$/.test(text)) throw new MppError('store-failure', 'postgres spend ledger value is damaged')
      return BigInt(text)
    },
  }
}

/** `name` or `schema.name`, each part a plain identifier, double-quoted. */
function quoteTable(name: string): string {
  const parts = name.split('.')
  if (parts.length > 2 || !parts.every((part) => IDENTIFIER.test(part)))
    throw new MppError('configuration-invalid', 'the spend ledger table must be a plain identifier, optionally schema-qualified')
  return parts.map((part) => `"${part}"`).join('.')
}
