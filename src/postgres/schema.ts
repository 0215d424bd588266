/**
 * The table and function behind {@link postgresStore}, created on first use. Times are
 * epoch milliseconds read from PostgreSQL's `clock_timestamp()`: one clock for every
 * server sharing the database.
 */

/** Milliseconds since the epoch, by the database's clock. */
export const NOW_MS = `(extract(epoch from clock_timestamp()) * 1000)::bigint`

const IDENTIFIER = /^[a-z_][a-z0-9_]{0,40}$/

export function assertIdentifier(table: string): void {
  if (!IDENTIFIER.test(table)) throw new TypeError('table must be a lowercase SQL identifier of at most 41 characters')
}

/**
 * One statement (a DO block, serialized by an advisory lock so that processes starting
 * together do not race on the DDL) that creates the table, its expiry index and the
 * all-or-none `create` function.
 */
export function setupSql(table: string): string {
  return `DO $setup$ BEGIN
PERFORM pg_advisory_xact_lock(hashtext('mppkit-store:${table}'));
CREATE TABLE IF NOT EXISTS ${table} (key text PRIMARY KEY, value text NOT NULL, expires_at bigint NOT NULL);
CREATE INDEX IF NOT EXISTS ${table}_expires_at ON ${table} (expires_at);
CREATE OR REPLACE FUNCTION ${table}_create(keys text[], vals text[], expiries bigint[], not_after bigint)
RETURNS TABLE (status text, conflict_index int, conflict_value text) LANGUAGE plpgsql AS $fn$
DECLARE
  now_ms bigint := ${NOW_MS};
  hit int;
  hit_value text;
BEGIN
  IF not_after IS NOT NULL AND now_ms >= not_after THEN
    RETURN QUERY SELECT 'expired'::text, NULL::int, NULL::text; RETURN;
  END IF;
  BEGIN
    FOR i IN 1 .. coalesce(array_length(keys, 1), 0) LOOP
      INSERT INTO ${table} AS t (key, value, expires_at) VALUES (keys[i], vals[i], expiries[i])
        ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, expires_at = EXCLUDED.expires_at WHERE t.expires_at <= now_ms;
      IF NOT FOUND THEN
        hit := i;
        SELECT t.value INTO hit_value FROM ${table} t WHERE t.key = keys[i];
        -- Undo this call's earlier inserts: all or none.
        RAISE EXCEPTION 'mppkit-store-conflict';
      END IF;
    END LOOP;
  EXCEPTION WHEN raise_exception THEN
    RETURN QUERY SELECT 'conflict'::text, hit, hit_value; RETURN;
  END;
  RETURN QUERY SELECT 'created'::text, NULL::int, NULL::text;
END
$fn$;
END $setup$`
}
