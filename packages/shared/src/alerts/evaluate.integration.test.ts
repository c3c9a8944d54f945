import { randomUUID } from "node:crypto";
import { createPrismaClient, type PrismaClient, type UploadEventType } from "@airlock/db";
import { createTempDatabase, type TempDatabase } from "@airlock/db/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getEnv } from "../env.ts";
import { closeQueues, createQueues, type Queues } from "../queue-client.ts";
import { createRedis } from "../redis.ts";
import { evaluateAlerts } from "./evaluate.ts";
import { type AlertRule, cleanupFailures, scanQueueDepth, scanTime, uploadSuccessRate, virusDetected } from "./rules.ts";

/** Each rule, driven with real rows and jobs until it fires, kept firing once, then cleared until it resolves. */
describe("[ALERTS]", () => {
  // A database and queue prefix of their own: other suites' uploads and scans must not move these numbers.
  let database: TempDatabase;
  let db: PrismaClient;
  let queues: Queues;
  const redis = createRedis(getEnv().REDIS_URL);
  const thresholds = { successRateMin: 0.95, successRateMinSample: 20, scanTimeMaxMs: 120_000, scanQueueMax: 3, windowMinutes: 60 };
  let ownerId: string;
  beforeAll(async () => {
    database = await createTempDatabase(getEnv().DATABASE_URL, { label: "alerts" });
    db = createPrismaClient(database.url);
    queues = createQueues(redis, `${getEnv().REDIS_PREFIX}-alerts`);
    ownerId = (await db.user.create({ data: { email: "alerts@test.local" } })).id;
  });
  afterAll(async () => {
    await queues["asset-virus-scan"].obliterate({ force: true });
    await closeQueues(queues);
    redis.disconnect();
    await db.$disconnect();
    await database.drop();
  });

  const evaluate = (rule: AlertRule, now = new Date()) => evaluateAlerts({ db, queues, now, thresholds }, [rule]);
  const firing = (rule: AlertRule) => db.alert.count({ where: { rule: rule.name, state: "FIRING" } });

  async function events(type: UploadEventType, count: number, extra: { durationMs?: number; reason?: string } = {}) {
    for (let i = 0; i < count; i++) {
      const asset = await db.asset.create({
        data: {
          ownerId,
          originalName: "a",
          safeName: "a",
          storageKey: `uploads/${ownerId}/${randomUUID()}/a`,
          declaredMime: "text/plain",
          declaredSize: 1n,
        },
      });
      await db.uploadEvent.create({ data: { type, assetId: asset.id, userId: ownerId, ...extra } });
    }
  }

  async function lifecycle(rule: AlertRule, makeTrue: () => Promise<void>, makeFalse: () => Promise<Date | undefined>) {
    expect(await evaluate(rule)).toEqual([]);
    await makeTrue();
    const fired = await evaluate(rule);
    expect(fired.map((t) => t.kind)).toEqual(["fired"]);
    expect(fired[0]?.alert).toMatchObject({ rule: rule.name, state: "FIRING" });
    // Still true: no second alert, no second announcement.
    expect(await evaluate(rule)).toEqual([]);
    expect(await firing(rule)).toBe(1);
    const later = await makeFalse();
    const resolved = await evaluate(rule, later);
    expect(resolved.map((t) => t.kind)).toEqual(["resolved"]);
    expect(resolved[0]?.alert.resolvedAt).toBeInstanceOf(Date);
    expect(await firing(rule)).toBe(0);
  }

  it("upload success rate below 95 % (with a minimum sample) fires, then resolves", async () => {
    await events("CONFIRMED", 10);
    await events("FAILED", 2, { reason: "size_mismatch" });
    // 10 / 12 is below 95 % but the sample is too small: quiet.
    expect(await evaluate(uploadSuccessRate)).toEqual([]);
    await db.uploadEvent.deleteMany({});
    await lifecycle(
      uploadSuccessRate,
      async () => {
        await events("CONFIRMED", 18);
        await events("FAILED", 2, { reason: "mime_mismatch" });
      },
      async () => {
        await events("CONFIRMED", 60);
        return undefined;
      },
    );
  });

  it("a scan slower than 2 minutes fires, and resolves once it leaves the window", async () => {
    await lifecycle(
      scanTime,
      () => events("SCANNED", 1, { durationMs: 150_000 }),
      async () => new Date(Date.now() + 61 * 60_000),
    );
  });

  it("a detected virus fires at once, and resolves once it leaves the window", async () => {
    await lifecycle(
      virusDetected,
      async () => {
        await db.securityEvent.create({
          data: { type: "malware_detected", severity: "CRITICAL", details: { threats: ["Eicar-Test-Signature"] } },
        });
      },
      async () => new Date(Date.now() + 61 * 60_000),
    );
  });

  it("a scan queue deeper than the threshold fires, and resolves when it drains", async () => {
    const queue = queues["asset-virus-scan"];
    await lifecycle(
      scanQueueDepth,
      async () => {
        for (let i = 0; i < 4; i++) await queue.add("scan", { assetId: randomUUID() });
      },
      async () => {
        await queue.drain();
        return undefined;
      },
    );
  });

  it("a cleanup run with failures fires, and the next clean run resolves it", async () => {
    await lifecycle(
      cleanupFailures,
      async () => {
        await db.cleanupRun.create({
          data: { dryRun: false, trigger: "test", errors: [{ assetId: randomUUID(), message: "storage refused" }], finishedAt: new Date() },
        });
      },
      async () => {
        await db.cleanupRun.create({
          data: { dryRun: false, trigger: "test", errors: [], startedAt: new Date(Date.now() + 1000), finishedAt: new Date() },
        });
        return undefined;
      },
    );
  });
});
