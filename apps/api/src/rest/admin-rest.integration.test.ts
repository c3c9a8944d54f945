import { randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { track } from "@airlock/shared/analytics";
import { createRedis } from "@airlock/shared/redis";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { seedUser, startTestServer, type TestServer } from "../test-server.ts";
import { openApiDocument } from "./openapi.ts";

/**
 * The REST façade under /api/admin: the same keys and checks as tRPC, JSON errors, query validation,
 * the figures of a fixture across the new year 2023-12-31 / 2024-01-01 (days no other suite writes).
 */
describe("[API][REST] /api/admin", () => {
  let server: TestServer;
  let dataDir: string;
  let redis: Redis;
  let adminKey: string;
  let userKey: string;
  let uploaderId: string;
  const range = "from=2023-12-31&to=2024-01-01";
  /** The asset confirmed and quarantined in the fixture. */
  const quarantinedId = randomUUID();

  const call = async (path: string, init: RequestInit & { key?: string | null } = {}) => {
    const key = init.key === undefined ? adminKey : init.key;
    const res = await fetch(`${server.url}/api/admin${path}`, {
      ...init,
      headers: { ...(key ? { authorization: `Bearer ${key}` } : {}), ...(init.body ? { "content-type": "application/json" } : {}) },
    });
    // biome-ignore lint/suspicious/noExplicitAny: JSON answers of several shapes, each checked by expect()
    return { status: res.status, type: res.headers.get("content-type"), body: (await res.json()) as Record<string, any> };
  };

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), "airlock-api-rest-"));
    server = await startTestServer({ DATA_DIR: dataDir });
    redis = createRedis(server.env.REDIS_URL, { maxRetriesPerRequest: 2 });
    adminKey = (await seedUser("ADMIN")).key;
    userKey = (await seedUser("USER")).key;
    const { user } = await seedUser("USER");
    uploaderId = user.id;
    const deps = { db: server.db, redis, env: server.env };
    // One upload confirmed and quarantined across midnight, one failed upload.
    const [a, b] = [quarantinedId, randomUUID()];
    for (const id of [a, b]) {
      await server.db.asset.create({
        data: {
          id,
          ownerId: user.id,
          originalName: "x.zip",
          safeName: "x.zip",
          storageKey: `uploads/${user.id}/${id}/x.zip`,
          declaredMime: "application/zip",
          declaredSize: 1n,
        },
      });
    }
    const base = { userId: user.id, mime: "application/zip" };
    await track(deps, { ...base, type: "INITIATED", assetId: a, size: 4096, at: new Date("2023-12-31T23:59:59.999Z") });
    await track(deps, { ...base, type: "CONFIRMED", assetId: a, size: 4096, at: new Date("2024-01-01T00:00:00.000Z") });
    await track(deps, { ...base, type: "SCANNED", assetId: a, size: 4096, durationMs: 20, at: new Date("2024-01-01T00:00:00.020Z") });
    await track(deps, {
      ...base,
      type: "QUARANTINED",
      assetId: a,
      size: 4096,
      reason: "Win.Test.EICAR_HDB-1",
      at: new Date("2024-01-01T00:00:00.021Z"),
    });
    await track(deps, { ...base, type: "INITIATED", assetId: b, size: 10, at: new Date("2024-01-01T05:00:00Z") });
    await track(deps, { ...base, type: "FAILED", assetId: b, reason: "object_missing", at: new Date("2024-01-01T06:00:00Z") });
  });
  afterAll(async () => {
    redis.disconnect();
    await server.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  const routes: Array<[string, string]> = [
    ["GET", `/analytics/uploads?${range}`],
    ["GET", "/analytics/uploads/queue"],
    ["GET", `/uploads/failures?${range}`],
    ["GET", `/uploads/top-users?${range}`],
    ["POST", "/uploads/cleanup"],
    ["GET", `/assets/${quarantinedId}/history`],
  ];

  it("401 without a valid key and 403 for a non-admin, as JSON errors", async () => {
    for (const [method, path] of routes) {
      const none = await call(path, { method, key: null });
      expect(none).toMatchObject({ status: 401, body: { error: { code: "UNAUTHORIZED", message: expect.stringContaining("Bearer") } } });
      expect(none.type).toMatch(/application\/json/);
      expect((await call(path, { method, key: `ak_${"x".repeat(43)}` })).status).toBe(401);
      const user = await call(path, { method, key: userKey });
      expect(user).toMatchObject({ status: 403, body: { error: { code: "FORBIDDEN", message: "this needs an administrator's key" } } });
    }
  });

  it("GET /analytics/uploads: totals, series, types, scan times and storage of the range", async () => {
    const { status, body } = await call(`/analytics/uploads?${range}`);
    expect(status).toBe(200);
    expect(body.metrics).toMatchObject({
      from: "2023-12-31",
      to: "2024-01-01",
      days: 2,
      initiated: 2,
      confirmed: 1,
      failed: 1,
      scanned: 1,
      quarantined: 1,
      successRate: 0.5,
      quarantineRate: 1,
    });
    expect(body.timeseries.map((p: { day: string; initiated: number; confirmed: number }) => [p.day, p.initiated, p.confirmed])).toEqual([
      ["2023-12-31", 1, 0],
      ["2024-01-01", 1, 1],
    ]);
    expect(body.mimeBreakdown).toEqual([
      { mime: "application/zip", initiated: 2, confirmed: 1, failed: 1, scanned: 1, quarantined: 1, deleted: 0, bytes: 4096, share: 1 },
    ]);
    expect(body.scanTimes).toMatchObject({ count: 1, avgMs: 20, p50Ms: 17.5 }); // (10, 25]: 10 + 15 × 0.5
    expect(body.storageUsage.points.map((p: { bytes: { QUARANTINED: number } }) => p.bytes.QUARANTINED)).toEqual([0, 4096]);
  });

  it("GET /uploads/failures and /uploads/top-users", async () => {
    const failures = await call(`/uploads/failures?${range}&limit=5`);
    expect(failures.status).toBe(200);
    expect(failures.body.failed).toMatchObject({
      total: 1,
      reasons: [{ reason: "object_missing", count: 1, examples: [{ userId: uploaderId }] }],
    });
    expect(failures.body.quarantined).toMatchObject({ total: 1, reasons: [{ reason: "Win.Test.EICAR_HDB-1", count: 1 }] });
    const top = await call(`/uploads/top-users?${range}&by=bytes&limit=3`);
    expect(top).toMatchObject({
      status: 200,
      body: { by: "bytes", totalCount: 1, totalBytes: 4096, users: [{ userId: uploaderId, count: 1, bytes: 4096, bytesShare: 1 }] },
    });
  });

  it("400 for invalid ranges and parameters, saying what is wrong", async () => {
    const cases: Array<[string, RegExp]> = [
      ["/uploads/top-users?from=2024-01-02&to=2024-01-01", /^from \(2024-01-02\) is after to \(2024-01-01\)$/],
      ["/analytics/uploads?from=2023-01-01&to=2024-01-02", /covers 367 days; at most 366 are allowed/],
      ["/uploads/failures?from=yesterday", /from: expected a date written YYYY-MM-DD \(UTC\)/],
      ["/uploads/failures?from=2024-02-30&to=2024-03-01", /from: expected a date written YYYY-MM-DD/],
      ["/uploads/top-users?frm=2024-01-01", /unknown query parameter "frm"; this route takes from, to, limit, by/],
      ["/uploads/top-users?from=2024-01-01&from=2024-01-02", /given 2 times/],
      ["/uploads/top-users?limit=ten", /limit must be a whole number/],
      ["/uploads/top-users?limit=1000", /limit: .*100/],
      ["/uploads/top-users?by=size", /by: /],
      ["/analytics/uploads/queue?from=2024-01-01", /this route takes none/],
    ];
    for (const [path, message] of cases) {
      const res = await call(path);
      expect(res.status, path).toBe(400);
      expect(res.body.error.code, path).toBe("BAD_REQUEST");
      expect(res.body.error.message, path).toMatch(message);
    }
    // Exactly 366 days (2024 is a leap year) is accepted.
    expect((await call("/analytics/uploads?from=2024-01-01&to=2024-12-31")).status).toBe(200);
  });

  it("GET /analytics/uploads/queue: counts of every queue by state", async () => {
    const { status, body } = await call("/analytics/uploads/queue");
    expect(status).toBe(200);
    expect(body.queues.map((q: { name: string }) => q.name)).toEqual([
      "asset-virus-scan",
      "upload-cleanup",
      "asset-thumbnail",
      "notifications",
      "webhook-delivery",
      "alerts-evaluate",
      "upload-reconcile",
    ]);
    expect(Object.keys(body.queues[0].counts)).toEqual(["waiting", "prioritized", "delayed", "active", "failed", "completed"]);
  });

  it("POST /uploads/cleanup: a dry run by default, a queued real run with dryRun false", async () => {
    const preview = await call("/uploads/cleanup", { method: "POST" });
    expect(preview).toMatchObject({
      status: 200,
      body: { dryRun: true, runId: expect.any(String), counts: { abandoned: expect.any(Object) } },
    });
    const scoped = await call("/uploads/cleanup", {
      method: "POST",
      body: JSON.stringify({ categories: ["failed"], olderThanHours: 1000 }),
    });
    expect(scoped).toMatchObject({ status: 200, body: { dryRun: true } });
    const real = await call("/uploads/cleanup", { method: "POST", body: JSON.stringify({ dryRun: false, categories: ["abandoned"] }) });
    expect(real).toMatchObject({ status: 202, body: { dryRun: false, status: "queued", jobId: expect.any(String) } });
    const job = await server.queues["upload-cleanup"].getJob(real.body.jobId);
    expect(job?.data).toMatchObject({ dryRun: false, trigger: "admin", categories: ["abandoned"] });
    await job?.remove();
    for (const [body, message] of [
      ["{not json", /must be JSON/],
      ["[]", /JSON object/],
      [JSON.stringify({ dryRun: "no" }), /dryRun must be true or false/],
      [JSON.stringify({ categories: ["everything"] }), /categories/],
      [JSON.stringify({ force: true }), /force/],
    ] as const) {
      const res = await call("/uploads/cleanup", { method: "POST", body });
      expect(res.status, body).toBe(400);
      expect(res.body.error.message, body).toMatch(message);
    }
  });

  it("GET /assets/{assetId}/history: the asset's events oldest first; unknown 404, malformed 400", async () => {
    const { status, body } = await call(`/assets/${quarantinedId}/history`);
    expect(status).toBe(200);
    expect(body.events.map((e: { type: string }) => e.type)).toEqual(["INITIATED", "CONFIRMED", "SCANNED", "QUARANTINED"]);
    expect(body.events[3]).toMatchObject({ reason: "Win.Test.EICAR_HDB-1", size: 4096, at: "2024-01-01T00:00:00.021Z" });
    expect(body.securityEvents).toEqual([]);
    expect(await call(`/assets/${randomUUID()}/history`)).toMatchObject({ status: 404, body: { error: { code: "NOT_FOUND" } } });
    expect(await call("/assets/not-a-uuid/history")).toMatchObject({ status: 400, body: { error: { code: "BAD_REQUEST" } } });
    expect((await call(`/assets/${quarantinedId}/history?from=2024-01-01`)).body.error.message).toMatch(/unknown query parameter "from"/);
  });

  it("serves an OpenAPI document describing every route", async () => {
    const res = await call("/openapi.json", { key: null });
    expect(res.status).toBe(200);
    expect(res.body.openapi).toBe("3.1.0");
    for (const [method, path] of routes) {
      const template = (path.split("?")[0] as string).replace(quarantinedId, "{assetId}");
      expect(res.body.paths[template]?.[method.toLowerCase()], `${method} ${path}`).toBeDefined();
    }
    expect(res.body).toEqual(JSON.parse(JSON.stringify(openApiDocument)));
  });
});
