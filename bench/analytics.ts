/**
 * How fast are analytics queries over a year of events (goal: p95 ≤ 50 ms; the seed's bar is 1 s)?
 *   npx tsx bench/analytics.ts [--events 10000000] [--users 5000] [--rounds 5] [--calls 30] [--sql-calls 3]
 *
 * Loads N upload events spread over 365 UTC days into a throwaway PostgreSQL database, generated inside
 * PostgreSQL (INSERT … SELECT over generate_series, seeded, indexes built after the load), then fills
 * Redis with the product's own `rebuild` (the same bucket writer `track` uses) and times it. Then, in
 * interleaved rounds with the order rotated, each variant answers the same question:
 *   metrics 90d       — `metrics` (Redis day buckets, cache off) vs one SQL GROUP BY type over the rows
 *   topUploaders 365d — `topUploaders` (ZUNIONSTORE of the covering blocks, cache off) vs SQL GROUP BY
 *                       userId ORDER BY count LIMIT 10 (with the same totals and user join)
 * Each answer is checked equal to the SQL one before timing. Latency = one call, from request to answer,
 * client (this process) and servers (Redis, PostgreSQL) in separate processes. Redis runs without
 * persistence here; nothing is written while timing. Cleans up its database and Redis keys.
 *
 * The bench database has no foreign key from UploadEvent to Asset (3M asset rows would only cost load
 * time: neither query reads Asset).
 */
import { randomBytes } from "node:crypto";
import { isDeepStrictEqual, parseArgs } from "node:util";
import { createPrismaClient } from "@airlock/db";
import { createTempDatabase } from "@airlock/db/testing";
import {
  type AnalyticsDeps,
  addDays,
  epochDay,
  type MetricsResult,
  metrics,
  rebuild,
  startOf,
  topUploaders,
} from "@airlock/shared/analytics";
import { createRedis, deleteKeysWithPrefix } from "@airlock/shared/redis";
import pg from "pg";
import { BENCH_DATABASE_URL, BENCH_REDIS_URL, machine, median } from "./lib.ts";

const { values } = parseArgs({
  options: {
    events: { type: "string", default: "10000000" },
    users: { type: "string", default: "5000" },
    rounds: { type: "string", default: "5" },
    calls: { type: "string", default: "30" },
    "sql-calls": { type: "string", default: "3" },
    keep: { type: "boolean", default: false },
  },
});
const N = Number(values.events);
const USERS = Number(values.users);
const ROUNDS = Number(values.rounds);
const CALLS = Number(values.calls);
const SQL_CALLS = Number(values["sql-calls"]);
const log = (line: string) => process.stderr.write(`${line}\n`);

// The year: 365 UTC days ending yesterday-ish; fixed so runs are comparable.
const FIRST = "2025-01-01";
const LAST = addDays(FIRST, 364);

const database = await createTempDatabase(BENCH_DATABASE_URL, { label: "bench_analytics" });
const client = new pg.Client({ connectionString: database.url });
await client.connect();
const db = createPrismaClient(database.url, { max: 4 });
const redis = createRedis(BENCH_REDIS_URL, { maxRetriesPerRequest: 2 });
const prefix = `airlock-bench-analytics-${randomBytes(4).toString("hex")}`;
const deps: AnalyticsDeps = { db, redis, env: { REDIS_PREFIX: prefix }, analyticsCacheSeconds: 0 };

async function cleanup() {
  await deleteKeysWithPrefix(redis, prefix).catch(() => undefined);
  redis.disconnect();
  await db.$disconnect();
  await client.end();
  if (!values.keep) await database.drop();
}
process.once("SIGINT", () => {
  void cleanup().then(() => process.exit(130));
});

try {
  await main();
} finally {
  await cleanup();
}

async function main() {
  log(`${machine()}; ${N.toLocaleString("en")} events, ${USERS} users, ${FIRST}..${LAST}`);
  const loadStarted = performance.now();
  await load();
  const loadMs = performance.now() - loadStarted;

  const memoryBefore = await usedMemory();
  const rebuildStarted = performance.now();
  const rebuilt = await rebuild(
    deps,
    { from: FIRST, to: LAST },
    { onChunk: (c) => log(`rebuild ${c.from}..${c.to}: ${c.events} events, ${c.ms.toFixed(0)} ms`) },
  );
  const rebuildMs = performance.now() - rebuildStarted;
  const memoryAfter = await usedMemory();
  const keys = await redis.eval(`return #redis.call('KEYS', ARGV[1])`, 0, `${prefix}:analytics:*`);

  // 90-day windows sliding through the year by 7 days; every variant asks the same ones in the same order.
  const windows = Array.from({ length: 39 }, (_, i) => ({ from: addDays(FIRST, i * 7), to: addDays(FIRST, i * 7 + 89) }));
  const year = { from: FIRST, to: LAST };
  for (const w of [windows[0], windows[20], windows[38]]) {
    const redisAnswer = await metrics(deps, w!);
    const sqlAnswer = await metricsBySql(w!);
    if (!isDeepStrictEqual(redisAnswer, sqlAnswer)) throw new Error(`metrics differ for ${w!.from}..${w!.to}`);
  }
  const topRedis = await topUploaders(deps, year);
  const topSql = await topUploadersBySql(year);
  if (!isDeepStrictEqual(topRedis, topSql)) throw new Error("topUploaders differ");
  log("answers checked: Redis buckets = SQL GROUP BY (metrics on 3 windows, topUploaders on the year)");

  type Variant = { name: string; pair: string; calls: number; run: (i: number) => Promise<unknown> };
  const variants: Variant[] = [
    { name: "metrics 90d — Redis buckets", pair: "metrics", calls: CALLS, run: (i) => metrics(deps, windows[i % windows.length]!) },
    { name: "metrics 90d — SQL GROUP BY", pair: "metrics", calls: SQL_CALLS, run: (i) => metricsBySql(windows[i % windows.length]!) },
    { name: "topUploaders 365d — Redis blocks", pair: "top", calls: CALLS, run: () => topUploaders(deps, year) },
    { name: "topUploaders 365d — SQL GROUP BY", pair: "top", calls: SQL_CALLS, run: () => topUploadersBySql(year) },
  ];
  const samples = new Map<string, number[][]>(variants.map((v) => [v.name, []]));
  for (let round = 0; round < ROUNDS; round++) {
    for (let k = 0; k < variants.length; k++) {
      const variant = variants[(k + round) % variants.length]!;
      const times: number[] = [];
      for (let i = 0; i < variant.calls; i++) {
        const started = performance.now();
        await variant.run(round * variant.calls + i);
        times.push(performance.now() - started);
      }
      samples.get(variant.name)!.push(times);
      log(`round ${round + 1}/${ROUNDS}  ${variant.name.padEnd(34)} p50 ${percentile(times, 0.5).toFixed(1).padStart(8)} ms`);
    }
  }

  const lines = [
    `${machine()}, Redis ${await redisVersion()}; ${N.toLocaleString("en")} events, ${USERS} users (skewed), ${FIRST}..${LAST}`,
    "",
    `Load: ${(loadMs / 1000).toFixed(0)} s (rows generated in PostgreSQL, indexes built after). ` +
      `rebuild of the year into Redis: ${(rebuildMs / 1000).toFixed(1)} s (${rebuilt.events.toLocaleString("en")} events, ${rebuilt.days} days); ` +
      `Redis memory +${((memoryAfter - memoryBefore) / 2 ** 20).toFixed(0)} MiB for ${keys} keys.`,
    "",
    `| query | variant | calls | p50 ms | p95 ms | per-round p50 min–max | × SQL (median of per-round p50 ratios) |`,
    "|---|---|---|---|---|---|---|",
  ];
  for (const pair of ["metrics", "top"]) {
    const [fast, sql] = variants.filter((v) => v.pair === pair) as [Variant, Variant];
    const roundsFast = samples.get(fast.name)!;
    const roundsSql = samples.get(sql.name)!;
    const ratios = roundsFast.map((r, i) => percentile(r, 0.5) / percentile(roundsSql[i]!, 0.5));
    for (const v of [sql, fast]) {
      const rounds = samples.get(v.name)!;
      const all = rounds.flat();
      const p50s = rounds.map((r) => percentile(r, 0.5));
      const [query, variant] = v.name.split(" — ");
      lines.push(
        `| ${query} | ${variant} | ${all.length} | ${percentile(all, 0.5).toFixed(1)} | ${percentile(all, 0.95).toFixed(1)} | ` +
          `${Math.min(...p50s).toFixed(1)}–${Math.max(...p50s).toFixed(1)} | ${v === sql ? "1 (baseline)" : `${median(ratios).toFixed(4)} (${(1 / median(ratios)).toFixed(0)}× faster)`} |`,
      );
    }
  }
  lines.push(
    "",
    `Command: npx tsx bench/analytics.ts --events ${N} --users ${USERS} --rounds ${ROUNDS} --calls ${CALLS} --sql-calls ${SQL_CALLS}`,
  );
  process.stdout.write(`${lines.join("\n")}\n`);
}

/** Nearest-rank percentile. */
function percentile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? Number.NaN;
}

async function usedMemory(): Promise<number> {
  const info = await redis.info("memory");
  return Number(/used_memory:(\d+)/.exec(info)?.[1] ?? 0);
}

async function redisVersion(): Promise<string> {
  return /redis_version:(\S+)/.exec(await redis.info("server"))?.[1] ?? "?";
}

/** The same answer as `metrics`, computed from the rows. */
async function metricsBySql(range: { from: string; to: string }): Promise<MetricsResult> {
  const { rows } = await client.query<{ type: string; n: number; bytes: number }>(
    `SELECT type::text AS type, count(*)::int AS n, coalesce(sum(size), 0)::float8 AS bytes
     FROM "UploadEvent" WHERE at >= $1 AND at < $2 GROUP BY type`,
    [startOf(range.from), startOf(addDays(range.to, 1))],
  );
  const get = (type: string) => rows.find((r) => r.type === type);
  const outcomes = ["initiated", "confirmed", "failed", "scanned", "quarantined", "deleted"] as const;
  const counts = Object.fromEntries(outcomes.map((o) => [o, get(o.toUpperCase())?.n ?? 0])) as Record<(typeof outcomes)[number], number>;
  const bytes = Object.fromEntries(outcomes.map((o) => [o, get(o.toUpperCase())?.bytes ?? 0])) as Record<(typeof outcomes)[number], number>;
  return {
    from: range.from,
    to: range.to,
    days: epochDay(range.to) - epochDay(range.from) + 1,
    ...counts,
    bytes,
    successRate: counts.initiated ? counts.confirmed / counts.initiated : null,
    quarantineRate: counts.scanned ? counts.quarantined / counts.scanned : null,
  };
}

/** The same answer as `topUploaders` (top 10 by confirmed uploads, ties by the larger user id). */
async function topUploadersBySql(range: { from: string; to: string }) {
  const { rows } = await client.query<{
    userId: string;
    email: string | null;
    name: string | null;
    n: number;
    bytes: number;
    totalN: number;
    totalBytes: number;
  }>(
    `SELECT g."userId"::text AS "userId", u.email, u.name, g.n, g.bytes, g."totalN", g."totalBytes" FROM (
       SELECT "userId", count(*)::int AS n, coalesce(sum(size), 0)::float8 AS bytes,
              (sum(count(*)) OVER ())::float8 AS "totalN", (sum(coalesce(sum(size), 0)) OVER ())::float8 AS "totalBytes"
       FROM "UploadEvent" WHERE type = 'CONFIRMED' AND at >= $1 AND at < $2
       GROUP BY "userId" ORDER BY n DESC, "userId" DESC LIMIT 10
     ) g LEFT JOIN "User" u ON u.id = g."userId" ORDER BY g.n DESC, g."userId" DESC`,
    [startOf(range.from), startOf(addDays(range.to, 1))],
  );
  const totalCount = rows[0]?.totalN ?? 0;
  const totalBytes = rows[0]?.totalBytes ?? 0;
  return {
    from: range.from,
    to: range.to,
    by: "count" as const,
    totalCount,
    totalBytes,
    users: rows.map((r) => ({
      userId: r.userId,
      email: r.email,
      name: r.name,
      count: r.n,
      bytes: r.bytes,
      countShare: totalCount ? r.n / totalCount : 0,
      bytesShare: totalBytes ? r.bytes / totalBytes : 0,
    })),
  };
}

/**
 * N events of ~3.3M assets: 6 % abandoned (deleted by cleanup a day later), 4 % failing confirmation,
 * the rest confirmed and scanned (20 ms – 8 s, log-uniform): 1 % quarantined, 2 % scan_unavailable (half
 * cleaned up a week later), 10 % of clean files deleted by their owner within a month. Owners are skewed
 * (user k of U is chosen with P ∝ (k/U)^(−2/3): a few heavy uploaders, a long tail). Events after the
 * year are not written (they have not happened yet).
 */
async function load() {
  await client.query(`SET maintenance_work_mem = '1GB'; SET synchronous_commit = off; SELECT setseed(0.42)`);
  await client.query(
    `INSERT INTO "User" (id, email, name, role) SELECT gen_random_uuid(), 'user' || g || '@bench.local', 'User ' || g, 'USER'
     FROM generate_series(0, $1 - 1) g`,
    [USERS],
  );
  await client.query(`CREATE TEMP TABLE bench_users AS SELECT (row_number() OVER (ORDER BY email) - 1)::int AS idx, id FROM "User"`);
  await client.query(`CREATE TEMP TABLE bench_mimes (mime text, lo float8, hi float8);
    INSERT INTO bench_mimes VALUES ('image/png', 0, 0.35), ('image/jpeg', 0.35, 0.60), ('application/pdf', 0.60, 0.80),
      ('application/zip', 0.80, 0.88), ('text/plain', 0.88, 0.95), ('image/webp', 0.95, 1.01)`);
  // Rows load faster without indexes; the same definitions are built afterwards.
  const { rows: indexes } = await client.query<{ name: string; def: string; constraint: string | null; kind: string | null }>(
    `SELECT i.indexname AS name, i.indexdef AS def, c.conname AS constraint, c.contype AS kind
     FROM pg_indexes i LEFT JOIN pg_constraint c ON c.conname = i.indexname
     WHERE i.tablename = 'UploadEvent'`,
  );
  await client.query(`ALTER TABLE "UploadEvent" DROP CONSTRAINT "UploadEvent_assetId_fkey"`);
  for (const index of indexes) {
    await client.query(index.constraint ? `ALTER TABLE "UploadEvent" DROP CONSTRAINT "${index.constraint}"` : `DROP INDEX "${index.name}"`);
  }
  const start = startOf(FIRST);
  const end = startOf(addDays(LAST, 1));
  let loaded = 0;
  const started = performance.now();
  while (loaded < N) {
    const batch = Math.min(1_000_000, Math.ceil(((N - loaded) / 3) * 1.05));
    const result = await client.query(
      `INSERT INTO "UploadEvent" (id, type, "assetId", "userId", mime, size, "durationMs", engine, reason, at)
       SELECT gen_random_uuid(), ev.type::"UploadEventType", a.asset, a.uid, a.mime, ev.size, ev.dur, ev.engine, ev.reason, ev.at
       FROM (
         SELECT gen_random_uuid() AS asset, u.id AS uid, m.mime, s.*,
                $1::timestamptz + s.r1 * interval '365 days' AS t0,
                floor(exp(6 + s.r4 * 14))::bigint AS size,
                floor(exp(3 + s.r5 * 6))::int AS dur
         FROM (SELECT g, random() r1, random() r2, random() r3, random() r4, random() r5, random() r6, random() r7, random() r8
               FROM generate_series(1, $3::int) g) s
         JOIN bench_users u ON u.idx = floor($4::int * s.r2 ^ 3)::int
         JOIN bench_mimes m ON s.r3 >= m.lo AND s.r3 < m.hi
         OFFSET 0
       ) a
       CROSS JOIN LATERAL (SELECT a.t0 + (5 + a.r7 * 600) * interval '1 second' AS tc) c
       CROSS JOIN LATERAL (SELECT c.tc + (1000 + a.dur) * interval '1 millisecond' AS ts) t
       CROSS JOIN LATERAL (VALUES
         ('INITIATED', a.t0, a.size, NULL::int, NULL::text, NULL::text, true),
         ('DELETED', a.t0 + interval '1 day', NULL, NULL, NULL, 'cleanup:pending_upload', a.r6 < 0.06),
         ('FAILED', a.t0 + interval '30 seconds', NULL, NULL, NULL,
            (ARRAY['object_missing', 'size_mismatch', 'mime_mismatch', 'checksum_mismatch'])[1 + floor(a.r7 * 4)::int], a.r6 >= 0.06 AND a.r6 < 0.10),
         ('CONFIRMED', c.tc, a.size, NULL, NULL, NULL, a.r6 >= 0.10),
         ('SCANNED', t.ts, a.size, a.dur, 'clamav', NULL, a.r6 >= 0.10 AND (a.r8 < 0.01 OR a.r8 >= 0.03)),
         ('QUARANTINED', t.ts + interval '5 milliseconds', a.size, NULL, NULL,
            (ARRAY['Win.Test.EICAR_HDB-1', 'Doc.Dropper.Agent-1', 'Js.Trojan.Nemucod-7'])[1 + floor(a.r5 * 3)::int], a.r6 >= 0.10 AND a.r8 < 0.01),
         ('FAILED', t.ts, NULL, NULL, NULL, 'scan_unavailable', a.r6 >= 0.10 AND a.r8 >= 0.01 AND a.r8 < 0.03),
         ('DELETED', t.ts + interval '7 days', a.size, NULL, NULL, 'cleanup:failed', a.r6 >= 0.10 AND a.r8 >= 0.01 AND a.r8 < 0.02),
         ('DELETED', t.ts + a.r7 * 10 * interval '30 days', a.size, NULL, NULL, NULL, a.r6 >= 0.10 AND a.r8 >= 0.03 AND a.r7 < 0.10)
       ) ev(type, at, size, dur, engine, reason, keep)
       WHERE ev.keep AND ev.at < $2
       LIMIT $5`,
      [start, end, batch, USERS, N - loaded],
    );
    loaded += result.rowCount ?? 0;
    log(`loaded ${loaded.toLocaleString("en")} events (${((performance.now() - started) / 1000).toFixed(0)} s)`);
  }
  for (const index of indexes) {
    const indexStarted = performance.now();
    await client.query(index.def);
    if (index.constraint) {
      const kind = index.kind === "p" ? "PRIMARY KEY" : "UNIQUE";
      await client.query(`ALTER TABLE "UploadEvent" ADD CONSTRAINT "${index.constraint}" ${kind} USING INDEX "${index.name}"`);
    }
    log(`index ${index.name}: ${((performance.now() - indexStarted) / 1000).toFixed(0)} s`);
  }
  await client.query(`VACUUM ANALYZE "UploadEvent"`);
}
