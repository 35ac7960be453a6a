// The part of `pg` (node-postgres, installed with ponder; no bundled types) that
// indexer/lib/schemaLock.ts uses.
declare module "pg" {
  type QueryResult = { rowCount: number | null; rows: Record<string, unknown>[] };
  class Client {
    constructor(options: { connectionString: string });
    connect(): Promise<void>;
    query(text: string, values?: unknown[]): Promise<QueryResult>;
    end(): Promise<void>;
  }
  const pg: { Client: typeof Client };
  export default pg;
}
