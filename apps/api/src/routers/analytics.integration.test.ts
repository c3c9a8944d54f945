import { randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { blockKey, dayOf, epochDay, track } from "@airlock/shared/analytics";
import { createRedis } from "@airlock/shared/redis";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { seedUser, startTestServer, type TestServer, trpcError } from "../test-server.ts";
import { uploadFile } from "../test-upload-client.ts";

/**
 * `analytics.*` over tRPC: admin only, ranges checked, the figures of a small fixture on 2023-06-10/11
 * (days no other suite writes), and a real upload through the API reaching the aggregates. The full
 * figure-by-figure checks are in packages/shared/src/analytics/analytics.integration.test.ts.
 */
describe("[API][ANALYTICS] tRPC", () => {
  let server: TestServer;
  let dataDir: string;
  let redis: Redis;
  let adminKey: string;
  const day = { from: "2023-06-10", to: "2023-06-11" };

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), "airlock-api-analytics-"));
    server = await startTestServer({ DATA_DIR: dataDir });
    redis = createRedis(server.env.REDIS_URL, { maxRetriesPerRequest: 2 });
    adminKey = (await seedUser("ADMIN")).key;
    // Two uploads of one user: one clean (scan 300 ms), one that failed at confirmation.
    const { user } = await seedUser("USER");
    const deps = { db: server.db, redis, env: server.env };
    const events = [
      { type: "INITIATED", at: "2023-06-10T23:59:59.999Z", size: 100, asset: 0 },
      { type: "CONFIRMED", at: "2023-06-11T00:00:00.000Z", size: 100, asset: 0 },
      { type: "SCANNED", at: "2023-06-11T00:00:05.000Z", size: 100, durationMs: 300, asset: 0 },
      { type: "INITIATED", at: "2023-06-11T10:00:00.000Z", size: 50, asset: 1 },
      { type: "FAILED", at: "2023-06-11T10:01:00.000Z", reason: "mime_mismatch", asset: 1 },
    ] as const;
    const assets = [randomUUID(), randomUUID()];
    for (const id of assets) {
      await server.db.asset.create({
        data: {
          id,
          ownerId: user.id,
          originalName: "a.png",
          safeName: "a.png",
          storageKey: `uploads/${user.id}/${id}/a.png`,
          declaredMime: "image/png",
          declaredSize: 1n,
        },
      });
    }
    for (const e of events) {
      await track(deps, {
        type: e.type,
        assetId: assets[e.asset] as string,
        userId: user.id,
        mime: "image/png",
        size: "size" in e ? e.size : null,
        durationMs: "durationMs" in e ? e.durationMs : null,
        reason: "reason" in e ? e.reason : null,
        at: new Date(e.at),
      });
    }
  });
  afterAll(async () => {
    redis.disconnect();
    await server.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it("is for administrators only: no key → UNAUTHORIZED, a user's key → FORBIDDEN", async () => {
    const { key } = await seedUser("USER");
    expect((await trpcError(server.client().analytics.metrics.query(day))).data?.code).toBe("UNAUTHORIZED");
    for (const call of [
      () => server.client(key).analytics.metrics.query(day),
      () => server.client(key).analytics.timeseries.query(day),
      () => server.client(key).analytics.mimeBreakdown.query(day),
      () => server.client(key).analytics.failures.query(day),
      () => server.client(key).analytics.scanTimes.query(day),
      () => server.client(key).analytics.topUploaders.query(day),
      () => server.client(key).analytics.queueDepths.query(),
      () => server.client(key).analytics.storageUsage.query(day),
      () => server.client(key).analytics.rebuild.mutate(day),
    ]) {
      expect((await trpcError(call())).data?.code).toBe("FORBIDDEN");
    }
  });

  it("answers the fixture's figures", async () => {
    const client = server.client(adminKey);
    expect(await client.analytics.metrics.query(day)).toMatchObject({
      days: 2,
      initiated: 2,
      confirmed: 1,
      failed: 1,
      scanned: 1,
      bytes: { initiated: 150, confirmed: 100 },
      successRate: 0.5,
      quarantineRate: 0,
    });
    expect((await client.analytics.timeseries.query(day)).points.map((p) => [p.day, p.initiated, p.confirmed, p.failed])).toEqual([
      ["2023-06-10", 1, 0, 0],
      ["2023-06-11", 1, 1, 1],
    ]);
    expect((await client.analytics.failures.query(day)).failed.reasons).toMatchObject([{ reason: "mime_mismatch", count: 1, share: 1 }]);
    expect(await client.analytics.scanTimes.query(day)).toMatchObject({ count: 1, avgMs: 300, p50Ms: 375 }); // (250, 500]: 250 + 250 × 0.5 / 1
    expect((await client.analytics.topUploaders.query({ ...day, by: "bytes" })).users).toMatchObject([
      { count: 1, bytes: 100, countShare: 1 },
    ]);
    expect((await client.analytics.storageUsage.query(day)).current.bytes).toMatchObject({ CLEAN: 100, total: 100 });
    const queues = await client.analytics.queueDepths.query();
    expect(queues.queues.map((q) => q.name)).toContain("asset-virus-scan");
  });

  it("refuses invalid ranges with BAD_REQUEST and says why", async () => {
    const client = server.client(adminKey);
    const reversed = await trpcError(client.analytics.metrics.query({ from: "2023-06-11", to: "2023-06-10" }));
    expect(reversed.data?.code).toBe("BAD_REQUEST");
    expect(reversed.message).toBe("from (2023-06-11) is after to (2023-06-10)");
    const long = await trpcError(client.analytics.topUploaders.query({ from: "2022-01-01", to: "2023-06-10" }));
    expect(long.message).toMatch(/covers 526 days; at most 366 are allowed/);
    const malformed = await trpcError(client.analytics.metrics.query({ from: "2023-6-1" }));
    expect(malformed.data?.code).toBe("BAD_REQUEST");
    expect(malformed.data?.fieldErrors).toMatchObject({ from: ["expected a date written YYYY-MM-DD (UTC)"] });
  });

  it("rebuild recomputes the days from PostgreSQL with the same answers", async () => {
    const client = server.client(adminKey);
    const before = await client.analytics.metrics.query(day);
    for (const d of ["2023-06-10", "2023-06-11"]) {
      const keys = await redis.keys(`${server.env.REDIS_PREFIX}:analytics:day:${d}:*`);
      if (keys.length) await redis.del(...keys);
    }
    expect(await client.analytics.rebuild.mutate(day)).toMatchObject({ from: day.from, to: day.to, days: 2, events: 5 });
    expect(await client.analytics.metrics.query(day)).toEqual(before);
  });

  it("a real upload through the API reaches the aggregates (track at the call sites)", async () => {
    const { key, user } = await seedUser("USER");
    const bytes = Buffer.from("analytics counts this\n");
    await uploadFile(server.client(key), bytes, { filename: "count.txt", mimeType: "text/plain" });
    const today = dayOf(new Date());
    const block = { span: 1, start: epochDay(today) };
    expect(await redis.zscore(blockKey(server.env.REDIS_PREFIX, "count", block), user.id)).toBe("1");
    expect(await redis.zscore(blockKey(server.env.REDIS_PREFIX, "bytes", block), user.id)).toBe(String(bytes.length));
  });
});
