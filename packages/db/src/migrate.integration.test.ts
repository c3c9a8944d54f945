import { cp, mkdir, mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterEach, describe, expect, it } from "vitest";
import { defaultMigrationsDir, migrate, readMigrations } from "./migrate.ts";
import { createTempDatabase, type TempDatabase } from "./testing.ts";

const baseUrl = process.env.DATABASE_URL as string;
const dropLater: TempDatabase[] = [];
afterEach(async () => {
  await Promise.all(dropLater.splice(0).map((db) => db.drop()));
});

async function freshDatabase(): Promise<TempDatabase> {
  const db = await createTempDatabase(baseUrl, { migrate: false, label: "mig" });
  dropLater.push(db);
  return db;
}

async function query<T extends pg.QueryResultRow>(url: string, sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}

describe("[DB][MIGRATE]", () => {
  it("applies every migration to a fresh database and records it like Prisma does", async () => {
    const db = await freshDatabase();
    const all = await readMigrations();
    const result = await migrate(db.url);
    expect(result.applied).toEqual(all.map((m) => m.name));
    const rows = await query<{ migration_name: string; checksum: string; finished_at: Date | null; applied_steps_count: number }>(
      db.url,
      `SELECT migration_name, checksum, finished_at, applied_steps_count FROM "_prisma_migrations" ORDER BY migration_name`,
    );
    expect(rows.map((r) => r.migration_name)).toEqual(all.map((m) => m.name));
    expect(rows.map((r) => r.checksum)).toEqual(all.map((m) => m.checksum));
    expect(rows.every((r) => r.finished_at instanceof Date && r.applied_steps_count === 1)).toBe(true);
    const tables = await query<{ table_name: string }>(
      db.url,
      `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'`,
    );
    expect(tables.map((t) => t.table_name)).toEqual(expect.arrayContaining(["User", "ApiKey", "Asset", "UploadEvent", "WebhookDelivery"]));
  });

  it("is a no-op when repeated", async () => {
    const db = await freshDatabase();
    await migrate(db.url);
    const again = await migrate(db.url);
    expect(again.applied).toEqual([]);
    expect(again.alreadyApplied.length).toBeGreaterThan(0);
    const [count] = await query<{ n: string }>(db.url, `SELECT count(*) AS n FROM "_prisma_migrations"`);
    expect(Number(count?.n)).toBe(again.alreadyApplied.length);
  });

  it("applies each migration once when several runners start at the same time", async () => {
    const db = await freshDatabase();
    const results = await Promise.all([migrate(db.url), migrate(db.url), migrate(db.url), migrate(db.url)]);
    const total = results.reduce((n, r) => n + r.applied.length, 0);
    expect(total).toBe((await readMigrations()).length);
    const [count] = await query<{ n: string }>(db.url, `SELECT count(*) AS n FROM "_prisma_migrations"`);
    expect(Number(count?.n)).toBe(total);
  });

  it("rolls a failing migration back whole and records nothing for it", async () => {
    const db = await freshDatabase();
    const dir = await mkdtemp(join(tmpdir(), "airlock-mig-"));
    await cp(defaultMigrationsDir, dir, { recursive: true });
    await mkdir(join(dir, "9999_broken"));
    await writeFile(join(dir, "9999_broken", "migration.sql"), `CREATE TABLE "Half" (id int);\nSELECT * FROM "NoSuchTable";`);
    await expect(migrate(db.url, { dir })).rejects.toThrow(/9999_broken failed and was rolled back/);
    const half = await query(db.url, `SELECT 1 FROM information_schema.tables WHERE table_name = 'Half'`);
    expect(half).toEqual([]);
    const names = await query<{ migration_name: string }>(db.url, `SELECT migration_name FROM "_prisma_migrations"`);
    expect(names.map((n) => n.migration_name)).not.toContain("9999_broken");
  });

  it("refuses a migration that was edited after it was applied", async () => {
    const db = await freshDatabase();
    await migrate(db.url);
    const dir = await mkdtemp(join(tmpdir(), "airlock-mig-"));
    await cp(defaultMigrationsDir, dir, { recursive: true });
    const [first] = await readMigrations();
    await writeFile(join(dir, first!.name, "migration.sql"), `${first!.sql}\n-- edited`);
    await expect(migrate(db.url, { dir })).rejects.toThrow(/was changed after it was applied/);
  });
});
