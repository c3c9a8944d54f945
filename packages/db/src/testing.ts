import { randomBytes } from "node:crypto";
import pg from "pg";
import { ensureDatabase, migrate } from "./migrate.ts";

/**
 * A throwaway database for one test run (or one test), on the same server as `baseUrl`, so runs never
 * share state and can run side by side.
 */
export interface TempDatabase {
  url: string;
  name: string;
  drop(): Promise<void>;
}

export async function createTempDatabase(baseUrl: string, options: { migrate?: boolean; label?: string } = {}): Promise<TempDatabase> {
  const name = `airlock_test_${options.label ?? "run"}_${randomBytes(4).toString("hex")}`;
  const url = new URL(baseUrl);
  url.pathname = `/${name}`;
  await ensureDatabase(url.toString());
  if (options.migrate ?? true) await migrate(url.toString());
  return {
    url: url.toString(),
    name,
    async drop() {
      const admin = new URL(baseUrl);
      admin.pathname = "/postgres";
      const client = new pg.Client({ connectionString: admin.toString() });
      await client.connect();
      try {
        await client.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}
