/**
 * How long does cleanup take for N expired assets (goal: 100,000 in < 60 s on 2 cores)?
 *   npx tsx bench/cleanup.ts [--assets 100000] [--rounds 5]
 * Variants, interleaved and rotated per round, each on freshly seeded data (seeding is not timed):
 *   raw floor   — what any cleanup must at least do: unlink every file, one UPDATE for all rows.
 *   runCleanup  — the product's cleanup (local driver): batch claims, storage calls, event rows.
 * Data is durable when each variant finishes (PostgreSQL commits; unlink is a metadata operation).
 */
import { mkdir, rm, unlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { parseArgs } from "node:util";
import { createPrismaClient } from "@airlock/db";
import { createTempDatabase } from "@airlock/db/testing";
import { runCleanup } from "@airlock/shared/cleanup";
import { mapConcurrently } from "@airlock/shared/map-concurrently";
import { LocalStorageDriver } from "@airlock/shared/storage/local";
import pg from "pg";
import { BENCH_DATABASE_URL, machine, runRounds, table } from "./lib.ts";

const { values } = parseArgs({ options: { assets: { type: "string", default: "100000" }, rounds: { type: "string", default: "5" } } });
const N = Number(values.assets);
const ROUNDS = Number(values.rounds);

const database = await createTempDatabase(BENCH_DATABASE_URL, { label: "bench" });
const dataDir = join(tmpdir(), `airlock-bench-cleanup-${process.pid}`);
const db = createPrismaClient(database.url, { max: 20 });
const client = new pg.Client({ connectionString: database.url });
await client.connect();
const storage = new LocalStorageDriver({ dataDir, publicUrl: "http://localhost", secret: "x".repeat(32) });
const owner = await db.user.create({ data: { email: "bench@airlock.local" } });

/** N FAILED assets, 8 days old, each with a 1 KiB object. */
async function seed(): Promise<string[]> {
  await client.query(`DELETE FROM "UploadEvent"; DELETE FROM "Asset"; DELETE FROM "CleanupRun";`);
  await rm(dataDir, { recursive: true, force: true });
  const { rows } = await client.query<{ key: string }>(
    `INSERT INTO "Asset" (id, "ownerId", "originalName", "safeName", "storageKey", "declaredMime", "declaredSize", size, status, "createdAt", "updatedAt")
     SELECT g.id, $1::uuid, 'f.bin', 'f.bin', 'uploads/' || $1::text || '/' || g.id || '/f.bin', 'application/octet-stream', 1024, 1024, 'FAILED',
            now() - interval '8 days', now() - interval '8 days'
     FROM (SELECT gen_random_uuid() AS id FROM generate_series(1, $2)) g
     RETURNING "storageKey" AS key`,
    [owner.id, N],
  );
  const body = Buffer.alloc(1024, 1);
  await mapConcurrently(rows, 64, async ({ key }) => {
    const path = join(dataDir, "objects", key);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, body);
  });
  return rows.map((r) => r.key);
}

let keys: string[] = [];
const results = await runRounds(
  [
    {
      name: "raw floor (unlink + UPDATE)",
      setup: async () => {
        keys = await seed();
      },
      run: async () => {
        await mapConcurrently(keys, 16, (key) => unlink(join(dataDir, "objects", key)));
        await client.query(`UPDATE "Asset" SET status = 'DELETED', "deletedAt" = now() WHERE status = 'FAILED'`);
        return keys.length;
      },
    },
    {
      name: "runCleanup (local driver)",
      setup: async () => {
        keys = await seed();
      },
      run: async () => {
        const report = await runCleanup({ db, storage }, { dryRun: false, trigger: "bench", categories: ["failed"] });
        if (report.counts.failed.count !== N || report.errors.length)
          throw new Error(`cleanup did ${report.counts.failed.count}/${N}, ${report.errors.length} errors`);
        return report.counts.failed.count;
      },
    },
  ],
  ROUNDS,
);

console.log(`\n## Cleanup of ${N} expired assets (1 KiB objects, local driver) — ${machine()}\n`);
console.log(table(results, "raw floor (unlink + UPDATE)", "assets"));
console.log(`\nReproduce: npx tsx bench/cleanup.ts --assets ${N} --rounds ${ROUNDS}`);

await client.end();
await db.$disconnect();
await database.drop();
await rm(dataDir, { recursive: true, force: true });
