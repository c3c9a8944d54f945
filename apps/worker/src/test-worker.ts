import { randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { getDb } from "@airlock/shared/db";
import { parseEnv } from "@airlock/shared/env";
import { createLogger } from "@airlock/shared/logger";
import { createMetrics } from "@airlock/shared/metrics";
import { closeQueues, createQueues } from "@airlock/shared/queue-client";
import { createRedis } from "@airlock/shared/redis";
import { createScanner } from "@airlock/shared/scanner";
import { createStorage, uploadKey } from "@airlock/shared/storage";
import { expect } from "vitest";
import type { WorkerContext } from "./context.ts";
import { registry } from "./registry.ts";
import { startWorkers } from "./runtime.ts";

/**
 * The real worker processors, in-process, against this test run's database, Redis prefix, a local
 * storage folder of their own and the engine chosen by `overrides` (real clamd by default).
 */
export async function createTestWorkerContext(overrides: Record<string, string> = {}) {
  const dataDir = await mkdtemp(join(tmpdir(), "airlock-worker-"));
  const env = parseEnv({ ...process.env, DATA_DIR: dataDir, SCANNER_PROVIDER: "clamav", SCAN_BACKOFF_MS: "50", ...overrides });
  const redis = createRedis(env.REDIS_URL);
  const queues = createQueues(redis, env.REDIS_PREFIX);
  const ctx: WorkerContext = {
    env,
    db: getDb(),
    redis,
    queues,
    log: createLogger({ name: "worker-test", level: env.LOG_LEVEL }),
    storage: createStorage(env),
    scanner: createScanner(env),
    metrics: createMetrics("worker", { db: getDb(), queues }),
  };
  return {
    ctx,
    dataDir,
    async close() {
      await closeQueues(queues);
      await ctx.scanner.close?.();
      redis.disconnect();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

export async function startTestWorker(overrides: Record<string, string> = {}) {
  const { ctx, dataDir, close } = await createTestWorkerContext(overrides);
  const runtime = startWorkers(ctx, registry);
  return {
    ctx,
    runtime,
    dataDir,
    async close() {
      await runtime.close();
      await close();
    },
  };
}

/** An asset as `upload.confirm` leaves it: UPLOADED, with its object in storage. */
export async function seedUploadedAsset(ctx: WorkerContext, bytes: Buffer, options: { filename?: string; mime?: string } = {}) {
  const db = ctx.db;
  const owner = await db.user.create({ data: { email: `owner-${randomUUID()}@test.local` } });
  const id = randomUUID();
  const safeName = options.filename ?? "file.bin";
  const mime = options.mime ?? "application/octet-stream";
  const storageKey = uploadKey(owner.id, id, safeName);
  await ctx.storage.write(storageKey, bytes, mime);
  return db.asset.create({
    data: {
      id,
      ownerId: owner.id,
      originalName: safeName,
      safeName,
      storageKey,
      declaredMime: mime,
      detectedMime: mime,
      declaredSize: BigInt(bytes.length),
      size: BigInt(bytes.length),
      status: "UPLOADED",
      confirmedAt: new Date(),
    },
  });
}

export async function waitForStatus(ctx: WorkerContext, assetId: string, statuses: string[], timeout = 30_000) {
  await expect
    .poll(async () => (await ctx.db.asset.findUniqueOrThrow({ where: { id: assetId } })).status, { timeout, interval: 100 })
    .toSatisfy((s: string) => statuses.includes(s));
  return ctx.db.asset.findUniqueOrThrow({ where: { id: assetId } });
}
