import type pg from 'pg';

/**
 * Runs `fn` inside BEGIN/COMMIT on one pooled connection. `begin` may add SET LOCAL
 * statements after BEGIN (one simple-protocol round trip).
 *
 * While a client is checked out, node-postgres emits `'error'` on it when the server drops
 * the connection between two queries (a restart, `pg_terminate_backend`). The pool only
 * listens while the client is idle, so without a listener here that event crashed the whole
 * process. The error is recorded instead: the pending query fails on its own, and the broken
 * client is destroyed on release rather than returned to the pool.
 */
export async function withTransaction<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>, begin = 'BEGIN'): Promise<T> {
  return withClient(pool, async (client) => {
    await client.query(begin);
    try {
      const result = await fn(client);
      await client.query('COMMIT');
      return result;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    }
  });
}

/** Checks a client out for `fn`, guarding it against connection-loss events (see above). */
export async function withClient<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  let broken: Error | undefined;
  const onError = (err: Error) => {
    broken = err;
  };
  // The listener goes on inside the pool's callback, not after `await pool.connect()`: the
  // pool takes its own listener off synchronously while handing the client over, and a
  // server message that arrives in the same socket read (a new connection's ReadyForQuery
  // followed by "terminating connection", as from pg_terminate_backend) was emitted before
  // the awaiting code ran. With no listener, the 'error' event crashed the worker.
  const client = await new Promise<pg.PoolClient>((resolve, reject) => {
    pool.connect((err, c) => {
      if (err || !c) return reject(err ?? new Error('pool.connect returned no client'));
      c.on('error', onError);
      resolve(c);
    });
  });
  try {
    return await fn(client);
  } catch (err) {
    // A failed ROLLBACK or a connection-level error means the client cannot be reused.
    if (isConnectionError(err)) broken ??= err as Error;
    throw err;
  } finally {
    client.off('error', onError);
    client.release(broken);
  }
}

function isConnectionError(err: unknown): boolean {
  const code = (err as { code?: string } | null)?.code;
  // Class 08 (connection exception), 57P01-03 (admin shutdown, crash, cannot connect now).
  return typeof code === 'string'
    ? code.startsWith('08') || code.startsWith('57P')
    : err instanceof Error && /Connection terminated|ECONNRESET|EPIPE/.test(err.message);
}
