/**
 * What the shared SQL store (sql-store.ts) needs from a backend: run a statement, run a
 * transaction, bulk-load COPY text. Everything else — schema, queries, idempotency — is the one
 * SQL dialect both backends speak.
 */
export interface SqlStatement {
  /**
   * Set for statements run often with different values: a backend may keep them prepared under
   * this name (one name per distinct `text`).
   */
  readonly name?: string;
  readonly text: string;
  readonly values?: readonly unknown[];
}

export interface SqlResult<R> {
  readonly rows: R[];
  /** Rows inserted/updated/deleted by the statement (0 for other statements). */
  readonly rowCount: number;
}

export interface SqlSession {
  query<R extends object = Record<string, unknown>>(
    statement: SqlStatement | string,
  ): Promise<SqlResult<R>>;
  /**
   * `COPY table (columns) FROM` COPY text (tab-separated, `\N` for NULL, one row per line);
   * `chunks` are consecutive pieces of it, each ending at a row boundary.
   */
  copyFrom(table: string, columns: readonly string[], chunks: readonly string[]): Promise<void>;
}

export interface SqlDriver extends SqlSession {
  readonly backend: 'pglite' | 'postgres';
  /**
   * Run `fn` in one transaction on one connection: committed when `fn` resolves, rolled back
   * when it rejects (and the rejection passed on).
   */
  transaction<T>(fn: (session: SqlSession) => Promise<T>): Promise<T>;
  /**
   * Run `fn` on a connection of its own, opened for it and discarded afterwards (PGlite: its one
   * session). For statements that may make the server end the connection (TimescaleDB's
   * `FATAL: extension "timescaledb" must be preloaded`): whatever happens to that connection
   * reaches the caller as a rejection, never as an event, and the pool is never touched.
   */
  isolated<T>(fn: (session: SqlSession) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}
