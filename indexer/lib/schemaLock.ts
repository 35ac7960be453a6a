/**
 * Releases Ponder's lock on a schema after the Ponder process that held it has exited.
 *
 * Ponder 0.17.7 marks its schema locked (`_ponder_meta.app.is_locked = 1`, heartbeat every 10 s)
 * and a new process waits until the last heartbeat is 25 s old before taking over. Its shutdown
 * path is meant to unlock, but on PGlite the unlock query queues behind the indexing transaction
 * that the shutdown aborts, and the process exits (code 0, event loop empty) before it runs: the
 * next start then logs "Schema is locked by a different Ponder app" and waits out the heartbeat.
 * Once our own child is gone nothing else holds the lock, so we clear the flag ourselves; the next
 * start goes straight to Ponder's resume path ("Detected crash recovery": the normal restart).
 *
 * PostgreSQL shows the same (measured: "Schema is locked" after a clean SIGTERM). PGlite's directory
 * is opened with the same @electric-sql/pglite that Ponder uses, PostgreSQL with the same `pg`
 * (both dependencies of ponder). Opening PGlite takes 1-6 s here, so this runs only when asked.
 */
import { existsSync } from "node:fs";
import { PGlite } from "@electric-sql/pglite";
import pg from "pg";

const SCHEMA_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

const META_EXISTS =
  "SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema = $1 AND table_name = '_ponder_meta'";
const unlock = (schema: string): string =>
  `UPDATE "${schema}"."_ponder_meta" SET value = jsonb_set(value, '{is_locked}', to_jsonb(0)) ` +
  `WHERE key = 'app' AND (value->>'is_locked')::int = 1`;

/**
 * Sets `is_locked` to 0 in `<schema>._ponder_meta` of the PGlite directory `dir`. Call only once
 * the Ponder process using `dir` has exited (PGlite is single-process). Returns whether a lock was
 * found and released.
 */
export async function releasePgliteSchemaLock(dir: string, schema: string): Promise<boolean> {
  if (!SCHEMA_NAME.test(schema)) throw new RangeError(`invalid schema name ${JSON.stringify(schema)}`);
  if (dir === "memory://" || !existsSync(dir)) return false;
  const db = new PGlite(dir);
  try {
    const exists = await db.query<{ n: number }>(META_EXISTS, [schema]);
    if ((exists.rows[0]?.n ?? 0) === 0) return false;
    const r = await db.query(unlock(schema));
    return (r.affectedRows ?? 0) > 0;
  } finally {
    await db.close();
  }
}

/** The same on PostgreSQL (`connectionString` = DATABASE_URL), once the Ponder process has exited. */
export async function releasePostgresSchemaLock(connectionString: string, schema: string): Promise<boolean> {
  if (!SCHEMA_NAME.test(schema)) throw new RangeError(`invalid schema name ${JSON.stringify(schema)}`);
  const client = new pg.Client({ connectionString });
  await client.connect();
  try {
    const exists = await client.query(META_EXISTS, [schema]);
    if (Number(exists.rows[0]?.n ?? 0) === 0) return false;
    const r = await client.query(unlock(schema));
    return (r.rowCount ?? 0) > 0;
  } finally {
    await client.end();
  }
}
