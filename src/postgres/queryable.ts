/** The client shape mppkit's PostgreSQL pieces need: `pg`'s Pool or Client, or anything answering `query` the same way. */
export type PostgresQueryable = {
  query(text: string, values?: unknown[]): Promise<{ rows: any[]; rowCount?: number | null }>
}
