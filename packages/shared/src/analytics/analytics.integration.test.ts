import { randomUUID } from "node:crypto";
import type { UploadEventType } from "@airlock/db";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { getDb } from "../db.ts";
import { AppError } from "../errors.ts";
import { createRedis, deleteKeysWithPrefix } from "../redis.ts";
import {
  type AnalyticsDeps,
  failures,
  metrics,
  mimeBreakdown,
  rebuild,
  scanTimes,
  storageUsage,
  timeseries,
  topUploaders,
  track,
  trackMany,
} from "./index.ts";

/**
 * The analytics service against the real PostgreSQL and Redis. Every figure below is computed by hand
 * from the fixture (comments show the sums). The fixture lives on 2024-02-27 .. 2024-03-02 (UTC), a leap
 * day included, so no other suite's events (recorded "now") fall in its days; this file also uses its
 * own Redis prefix, so flushing it disturbs nobody.
 */
const db = getDb();
const redis = createRedis(process.env.REDIS_URL as string, { maxRetriesPerRequest: 2 });
const prefix = `${process.env.REDIS_PREFIX}-analytics-svc`;
const deps: AnalyticsDeps = { db, redis, env: { REDIS_PREFIX: prefix }, analyticsCacheSeconds: 0 };
const RANGE = { from: "2024-02-28", to: "2024-03-01" };

const users = { alice: "", bob: "", carol: "" };
type UserName = keyof typeof users;

async function asset(owner: UserName, mime: string): Promise<string> {
  const id = randomUUID();
  await db.asset.create({
    data: {
      id,
      ownerId: users[owner],
      originalName: "f",
      safeName: "f",
      storageKey: `uploads/${users[owner]}/${id}/f`,
      declaredMime: mime,
      declaredSize: 1n,
    },
  });
  return id;
}

interface Step {
  type: UploadEventType;
  at: string;
  size?: number;
  durationMs?: number;
  reason?: string;
}

/** Records an asset's events in order, as the producers would. */
async function lifecycle(owner: UserName, mime: string, steps: Step[]): Promise<string> {
  const assetId = await asset(owner, mime);
  for (const s of steps) {
    const recorded = await track(deps, {
      type: s.type,
      assetId,
      userId: users[owner],
      mime,
      size: s.size ?? null,
      durationMs: s.durationMs ?? null,
      reason: s.reason ?? null,
      at: new Date(s.at),
    });
    expect(recorded).toBe(true);
  }
  return assetId;
}

const ids: Record<string, string> = {};

beforeAll(async () => {
  for (const name of Object.keys(users) as UserName[]) {
    users[name] = (await db.user.create({ data: { email: `${name}-${randomUUID()}@analytics.test`, name } })).id;
  }
  // A1: clean image, all on 02-28.
  ids.A1 = await lifecycle("alice", "image/png", [
    { type: "INITIATED", at: "2024-02-28T10:00:00Z", size: 1000 },
    { type: "CONFIRMED", at: "2024-02-28T10:01:00Z", size: 1000 },
    { type: "SCANNED", at: "2024-02-28T10:02:00Z", size: 1000, durationMs: 40 },
  ]);
  // A2: initiated in the last millisecond of 02-28, confirmed in the first of 02-29, quarantined.
  ids.A2 = await lifecycle("alice", "application/pdf", [
    { type: "INITIATED", at: "2024-02-28T23:59:59.999Z", size: 2000 },
    { type: "CONFIRMED", at: "2024-02-29T00:00:00.000Z", size: 2000 },
    { type: "SCANNED", at: "2024-02-29T00:00:01.000Z", size: 2000, durationMs: 120 },
    { type: "QUARANTINED", at: "2024-02-29T00:00:01.500Z", size: 2000, reason: "Eicar-Test-Signature" },
  ]);
  // A3, A8: confirmation failed (nothing stays stored).
  ids.A3 = await lifecycle("bob", "image/png", [
    { type: "INITIATED", at: "2024-02-29T08:00:00Z", size: 500 },
    { type: "FAILED", at: "2024-02-29T08:05:00Z", reason: "size_mismatch" },
  ]);
  ids.A8 = await lifecycle("bob", "image/png", [
    { type: "INITIATED", at: "2024-02-29T10:00:00Z", size: 50 },
    { type: "FAILED", at: "2024-02-29T10:01:00Z", reason: "size_mismatch" },
  ]);
  // A4: confirmed, the scan failed (stays stored as FAILED), cleaned up on 03-01.
  ids.A4 = await lifecycle("bob", "text/plain", [
    { type: "INITIATED", at: "2024-02-29T09:00:00Z", size: 300 },
    { type: "CONFIRMED", at: "2024-02-29T09:01:00Z", size: 300 },
    { type: "FAILED", at: "2024-02-29T09:10:00Z", reason: "scan_unavailable" },
    { type: "DELETED", at: "2024-03-01T12:00:00Z", size: 300, reason: "cleanup:failed" },
  ]);
  // A5: clean, then deleted by its owner the same day.
  ids.A5 = await lifecycle("carol", "image/png", [
    { type: "INITIATED", at: "2024-03-01T01:00:00Z", size: 4000 },
    { type: "CONFIRMED", at: "2024-03-01T01:02:00Z", size: 4000 },
    { type: "SCANNED", at: "2024-03-01T01:03:00Z", size: 4000, durationMs: 3000 },
    { type: "DELETED", at: "2024-03-01T20:00:00Z", size: 4000 },
  ]);
  // A6: abandoned, cleaned up in the last millisecond of 03-01.
  ids.A6 = await lifecycle("carol", "application/pdf", [
    { type: "INITIATED", at: "2024-03-01T05:00:00Z", size: 700 },
    { type: "DELETED", at: "2024-03-01T23:59:59.999Z", reason: "cleanup:pending_upload" },
  ]);
  // A7: confirmed, waiting for its scan.
  ids.A7 = await lifecycle("alice", "image/png", [
    { type: "INITIATED", at: "2024-03-01T06:00:00Z", size: 100 },
    { type: "CONFIRMED", at: "2024-03-01T06:01:00Z", size: 100 },
  ]);
  // B1..B4: object_missing on two days (examples across days).
  for (const [i, at] of ["2024-02-28T12:00:00Z", "2024-02-28T13:00:00Z", "2024-03-01T07:00:00Z", "2024-03-01T08:00:00Z"].entries()) {
    const started = new Date(Date.parse(at) - 3600_000).toISOString();
    ids[`B${i + 1}`] = await lifecycle("carol", "image/jpeg", [
      { type: "INITIATED", at: started, size: 10 },
      { type: "FAILED", at, reason: "object_missing" },
    ]);
  }
  // A9: just outside the range on both sides.
  ids.A9 = await lifecycle("bob", "image/png", [
    { type: "INITIATED", at: "2024-02-27T23:59:59.999Z", size: 10 },
    { type: "CONFIRMED", at: "2024-03-02T00:00:00.000Z", size: 10 },
  ]);
});

afterAll(async () => {
  await deleteKeysWithPrefix(redis, prefix);
  redis.disconnect();
});

/** Every answer of the service for the fixture's range, for before/after comparisons. */
async function everything() {
  return {
    metrics: await metrics(deps, RANGE),
    timeseries: await timeseries(deps, RANGE),
    mime: await mimeBreakdown(deps, RANGE),
    failures: await failures(deps, RANGE),
    scan: await scanTimes(deps, RANGE),
    topByCount: await topUploaders(deps, { ...RANGE, by: "count" }),
    topByBytes: await topUploaders(deps, { ...RANGE, by: "bytes" }),
    storage: await storageUsage(deps, RANGE),
    edges: [
      await metrics(deps, { from: "2024-02-27", to: "2024-02-27" }),
      await metrics(deps, { from: "2024-02-29", to: "2024-02-29" }),
      await metrics(deps, { from: "2024-03-02", to: "2024-03-02" }),
    ],
  };
}

describe("[ANALYTICS] figures of the fixture", () => {
  it("metrics: counts, bytes and rates", async () => {
    expect(await metrics(deps, RANGE)).toEqual({
      from: "2024-02-28",
      to: "2024-03-01",
      days: 3,
      initiated: 12, // 02-28: A1 A2 B1 B2; 02-29: A3 A4 A8; 03-01: A5 A6 A7 B3 B4
      confirmed: 5, // A1, A2, A4, A5, A7
      failed: 7, // A3, A8, A4, B1..B4
      scanned: 3, // A1, A2, A5
      quarantined: 1, // A2
      deleted: 3, // A4, A5, A6
      bytes: {
        initiated: 8690, // 1000 + 2000 + 500 + 50 + 300 + 4000 + 700 + 100 + 4 × 10
        confirmed: 7400, // 1000 + 2000 + 300 + 4000 + 100
        failed: 0,
        scanned: 7000, // 1000 + 2000 + 4000
        quarantined: 2000,
        deleted: 4300, // 300 + 4000 + (A6 had none)
      },
      successRate: 5 / 12,
      quarantineRate: 1 / 3,
    });
  });

  it("date edges: an event belongs to its UTC day, both ends of a range are included", async () => {
    // 23:59:59.999Z counts for that day, 00:00:00.000Z for the next.
    expect(await metrics(deps, { from: "2024-02-27", to: "2024-02-27" })).toMatchObject({ initiated: 1, confirmed: 0 }); // A9
    expect(await metrics(deps, { from: "2024-02-28", to: "2024-02-28" })).toMatchObject({ initiated: 4, confirmed: 1 }); // A2's initiate
    expect(await metrics(deps, { from: "2024-02-29", to: "2024-02-29" })).toMatchObject({ initiated: 3, confirmed: 2 }); // A2's confirm
    expect(await metrics(deps, { from: "2024-03-01", to: "2024-03-01" })).toMatchObject({ deleted: 3 }); // A6 at 23:59:59.999Z
    expect(await metrics(deps, { from: "2024-03-02", to: "2024-03-02" })).toMatchObject({ initiated: 0, confirmed: 1, successRate: null });
    expect(await metrics(deps, { from: "2024-02-27", to: "2024-03-02" })).toMatchObject({ initiated: 13, confirmed: 6 });
  });

  it("timeseries: one point per day and outcome", async () => {
    const zero = { initiated: 0, confirmed: 0, failed: 0, scanned: 0, quarantined: 0, deleted: 0, bytesConfirmed: 0 };
    expect((await timeseries(deps, { from: "2024-02-27", to: "2024-03-02" })).points).toEqual([
      { ...zero, day: "2024-02-27", initiated: 1 },
      { ...zero, day: "2024-02-28", initiated: 4, confirmed: 1, failed: 2, scanned: 1, bytesConfirmed: 1000 },
      { ...zero, day: "2024-02-29", initiated: 3, confirmed: 2, failed: 3, scanned: 1, quarantined: 1, bytesConfirmed: 2300 },
      { ...zero, day: "2024-03-01", initiated: 5, confirmed: 2, failed: 2, scanned: 1, deleted: 3, bytesConfirmed: 4100 },
      { ...zero, day: "2024-03-02", confirmed: 1, bytesConfirmed: 10 },
    ]);
  });

  it("mimeBreakdown: per type and outcome, most confirmed first", async () => {
    expect((await mimeBreakdown(deps, RANGE)).items).toEqual([
      // A1 A3 A5 A7 A8 initiated; A1 A5 A7 confirmed; A3 A8 failed; A1 A5 scanned; A5 deleted
      { mime: "image/png", initiated: 5, confirmed: 3, failed: 2, scanned: 2, quarantined: 0, deleted: 1, bytes: 5100, share: 3 / 5 },
      { mime: "application/pdf", initiated: 2, confirmed: 1, failed: 0, scanned: 1, quarantined: 1, deleted: 1, bytes: 2000, share: 1 / 5 },
      { mime: "text/plain", initiated: 1, confirmed: 1, failed: 1, scanned: 0, quarantined: 0, deleted: 1, bytes: 300, share: 1 / 5 },
      { mime: "image/jpeg", initiated: 4, confirmed: 0, failed: 4, scanned: 0, quarantined: 0, deleted: 0, bytes: 0, share: 0 },
    ]);
  });

  it("failures: by reason with the latest examples, across days", async () => {
    const result = await failures(deps, RANGE);
    const ex = (id: string, owner: UserName, mime: string, at: string) => ({ assetId: ids[id], userId: users[owner], mime, at });
    expect(result.failed).toEqual({
      total: 7,
      moreReasons: 0,
      reasons: [
        {
          reason: "object_missing",
          count: 4,
          share: 4 / 7,
          examples: [
            ex("B4", "carol", "image/jpeg", "2024-03-01T08:00:00.000Z"),
            ex("B3", "carol", "image/jpeg", "2024-03-01T07:00:00.000Z"),
            ex("B2", "carol", "image/jpeg", "2024-02-28T13:00:00.000Z"),
          ],
        },
        {
          reason: "size_mismatch",
          count: 2,
          share: 2 / 7,
          examples: [ex("A8", "bob", "image/png", "2024-02-29T10:01:00.000Z"), ex("A3", "bob", "image/png", "2024-02-29T08:05:00.000Z")],
        },
        { reason: "scan_unavailable", count: 1, share: 1 / 7, examples: [ex("A4", "bob", "text/plain", "2024-02-29T09:10:00.000Z")] },
      ],
    });
    expect(result.quarantined).toEqual({
      total: 1,
      moreReasons: 0,
      reasons: [
        {
          reason: "Eicar-Test-Signature",
          count: 1,
          share: 1,
          examples: [ex("A2", "alice", "application/pdf", "2024-02-29T00:00:01.500Z")],
        },
      ],
    });
    const limited = await failures(deps, { ...RANGE, limit: 1 });
    expect(limited.failed).toMatchObject({ total: 7, moreReasons: 2, reasons: [{ reason: "object_missing" }] });
  });

  it("scanTimes: exact average, percentiles interpolated in the histogram buckets", async () => {
    const result = await scanTimes(deps, RANGE);
    // 40 ms → (25, 50]; 120 ms → (100, 250]; 3000 ms → (2500, 5000].
    expect(result.count).toBe(3);
    expect(result.avgMs).toBeCloseTo(3160 / 3, 9);
    expect(result.p50Ms).toBeCloseTo(175, 9); // rank 1.5: 100 + 150 × (1.5 − 1) / 1
    expect(result.p95Ms).toBeCloseTo(4625, 9); // rank 2.85: 2500 + 2500 × (2.85 − 2) / 1
    expect(result.days).toEqual([
      { day: "2024-02-28", count: 1, avgMs: 40, p50Ms: 37.5, p95Ms: 48.75 }, // 25 + 25 × 0.5 / 0.95
      { day: "2024-02-29", count: 1, avgMs: 120, p50Ms: 175, p95Ms: 242.5 },
      { day: "2024-03-01", count: 1, avgMs: 3000, p50Ms: 3750, p95Ms: 4875 },
    ]);
    expect(result.buckets.filter((b) => b.count > 0)).toEqual([
      { leMs: 50, count: 1 },
      { leMs: 250, count: 1 },
      { leMs: 5000, count: 1 },
    ]);
  });

  it("topUploaders: confirmed uploads and bytes per user, with shares", async () => {
    const byCount = await topUploaders(deps, { ...RANGE, by: "count" });
    const row = (name: UserName, count: number, bytes: number) => ({
      userId: users[name],
      email: expect.stringContaining(`${name}-`),
      name,
      count,
      bytes,
      countShare: count / 5,
      bytesShare: bytes / 7400,
    });
    // bob and carol tie on 1 upload: the larger user id comes first.
    const ties = (["bob", "carol"] as UserName[]).sort((a, b) => (users[a] < users[b] ? 1 : -1));
    expect(byCount).toEqual({
      from: RANGE.from,
      to: RANGE.to,
      by: "count",
      totalCount: 5,
      totalBytes: 7400,
      users: [row("alice", 3, 3100), ...ties.map((n) => (n === "bob" ? row("bob", 1, 300) : row("carol", 1, 4000)))],
    });
    const byBytes = await topUploaders(deps, { ...RANGE, by: "bytes", limit: 2 });
    expect(byBytes.users).toEqual([row("carol", 1, 4000), row("alice", 3, 3100)]);
    // A range of one day is a single set, no union.
    expect((await topUploaders(deps, { from: "2024-03-02", to: "2024-03-02" })).users).toEqual([
      { userId: users.bob, email: expect.any(String), name: "bob", count: 1, bytes: 10, countShare: 1, bytesShare: 1 },
    ]);
  });

  it("storageUsage: stored bytes and objects by status at the end of each day", async () => {
    const level = (UPLOADED: number, CLEAN: number, QUARANTINED: number, FAILED: number) => ({
      UPLOADED,
      CLEAN,
      QUARANTINED,
      FAILED,
      total: UPLOADED + CLEAN + QUARANTINED + FAILED,
    });
    const result = await storageUsage(deps, RANGE);
    expect(result.points).toEqual([
      { day: "2024-02-28", bytes: level(0, 1000, 0, 0), assets: level(0, 1, 0, 0) }, // A1 clean
      { day: "2024-02-29", bytes: level(0, 1000, 2000, 300), assets: level(0, 1, 1, 1) }, // + A2 quarantined, A4 failed scan
      { day: "2024-03-01", bytes: level(100, 1000, 2000, 0), assets: level(1, 1, 1, 0) }, // − A4, A5 in and out, + A7 waiting
    ]);
    expect(result.current).toEqual({ bytes: level(100, 1000, 2000, 0), assets: level(1, 1, 1, 0) });
    expect((await storageUsage(deps, { from: "2024-03-02", to: "2024-03-02" })).current.bytes).toEqual(level(110, 1000, 2000, 0));
  });
});

describe("[ANALYTICS] at-least-once, ranges, Redis down, rebuild", () => {
  it("a replayed event is recorded and counted once", async () => {
    const before = await everything();
    const replay = { type: "CONFIRMED" as const, assetId: ids.A1 as string, userId: users.alice, mime: "image/png", size: 1000 };
    expect(await track(deps, { ...replay, at: new Date("2024-02-28T10:01:00Z") })).toBe(false);
    // Even with another timestamp, and twice in one batch with the other events of A1.
    expect(
      await trackMany(deps, [
        { ...replay, at: new Date("2024-02-29T10:01:00Z") },
        { ...replay, at: new Date("2024-02-29T10:01:00Z") },
        { type: "SCANNED", assetId: ids.A1 as string, userId: users.alice, durationMs: 40, at: new Date("2024-02-28T10:02:00Z") },
      ]),
    ).toBe(0);
    expect(await everything()).toEqual(before);
    expect(await db.uploadEvent.count({ where: { assetId: ids.A1 as string } })).toBe(3);
  });

  it("empty ranges answer zeros, not errors", async () => {
    const empty = { from: "2010-01-01", to: "2010-01-31" };
    expect(await metrics(deps, empty)).toMatchObject({ days: 31, initiated: 0, confirmed: 0, successRate: null, quarantineRate: null });
    const series = await timeseries(deps, empty);
    expect(series.points).toHaveLength(31);
    expect(series.points.every((p) => p.initiated === 0 && p.bytesConfirmed === 0)).toBe(true);
    expect((await mimeBreakdown(deps, empty)).items).toEqual([]);
    expect(await failures(deps, empty)).toMatchObject({ failed: { total: 0, reasons: [] }, quarantined: { total: 0, reasons: [] } });
    expect(await scanTimes(deps, empty)).toMatchObject({ count: 0, avgMs: null, p50Ms: null, p95Ms: null });
    expect(await topUploaders(deps, empty)).toMatchObject({ totalCount: 0, users: [] });
    expect((await storageUsage(deps, empty)).current.bytes.total).toBe(0);
  });

  it("refuses from > to, more than 366 days and malformed dates, saying why", async () => {
    const refused = async (range: { from: string; to: string }) => {
      const error = await metrics(deps, range).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(AppError);
      expect((error as AppError).code).toBe("BAD_REQUEST");
      return (error as AppError).message;
    };
    expect(await refused({ from: "2024-03-01", to: "2024-02-28" })).toBe("from (2024-03-01) is after to (2024-02-28)");
    expect(await refused({ from: "2024-01-01", to: "2025-01-01" })).toBe(
      "the range 2024-01-01..2025-01-01 covers 367 days; at most 366 are allowed",
    );
    expect(await refused({ from: "2024-02-30", to: "2024-03-01" })).toMatch(/from must be a date written YYYY-MM-DD/);
    // A leap year is exactly the limit.
    expect(await metrics(deps, { from: "2024-01-01", to: "2024-12-31" })).toMatchObject({ days: 366, initiated: 13 });
    await expect(topUploaders(deps, { from: "2024-01-01", to: "2025-01-01" })).rejects.toThrow(/367 days/);
  });

  it("Redis down: the row is recorded, the caller does not fail, rebuild counts it once", async () => {
    const down = createRedis("redis://127.0.0.1:1", { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0 });
    down.on("error", () => {});
    const warn = vi.fn();
    const assetId = await asset("alice", "image/gif");
    const event = {
      type: "INITIATED" as const,
      assetId,
      userId: users.alice,
      mime: "image/gif",
      size: 77,
      at: new Date("2024-03-05T12:00:00Z"),
    };
    expect(await track({ db, redis: down, env: deps.env, log: { warn } }, event)).toBe(true);
    expect(warn).toHaveBeenCalledWith(
      expect.objectContaining({ err: expect.stringContaining("redis is") }),
      expect.stringContaining("rebuild"),
    );
    expect(await db.uploadEvent.count({ where: { assetId } })).toBe(1);
    const day = { from: "2024-03-05", to: "2024-03-05" };
    expect((await metrics(deps, day)).initiated).toBe(0);
    // The producer retries: the row exists, so nothing is counted now either (never twice).
    expect(await track(deps, event)).toBe(false);
    expect((await metrics(deps, day)).initiated).toBe(0);
    await rebuild(deps, day);
    expect(await metrics(deps, day)).toMatchObject({ initiated: 1, bytes: { initiated: 77 } });
    await rebuild(deps, day);
    expect((await metrics(deps, day)).initiated).toBe(1);
    down.disconnect();
  });

  it("rebuild over live aggregates changes no answer", async () => {
    const before = await everything();
    const result = await rebuild(deps, { from: "2024-02-27", to: "2024-03-02" });
    expect(result).toMatchObject({ from: "2024-02-27", to: "2024-03-02", days: 5, events: 33 });
    expect(await everything()).toEqual(before);
  });

  it("Redis flushed: everything reads empty, rebuild restores the same answers", async () => {
    const before = await everything();
    await deleteKeysWithPrefix(redis, prefix);
    expect((await metrics(deps, RANGE)).initiated).toBe(0);
    expect((await topUploaders(deps, RANGE)).users).toEqual([]);
    // Chunks smaller than the range exercise the block unions across chunk boundaries.
    await rebuild(deps, { from: "2024-02-27", to: "2024-03-02" }, { chunkDays: 2 });
    expect(await everything()).toEqual(before);
  });

  it("caches answers for a few seconds and drops the cache on rebuild", async () => {
    const cachedDeps: AnalyticsDeps = { ...deps, analyticsCacheSeconds: 60 };
    const day = { from: "2024-03-07", to: "2024-03-07" };
    expect((await metrics(cachedDeps, day)).initiated).toBe(0);
    const assetId = await asset("bob", "image/png");
    await track(deps, { type: "INITIATED", assetId, userId: users.bob, mime: "image/png", size: 5, at: new Date("2024-03-07T01:00:00Z") });
    expect((await metrics(deps, day)).initiated).toBe(1);
    expect((await metrics(cachedDeps, day)).initiated).toBe(0); // cached
    await rebuild(deps, day);
    expect((await metrics(cachedDeps, day)).initiated).toBe(1);
  });
});
