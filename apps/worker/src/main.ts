import { getDb } from "@airlock/shared/db";
import { getEnv } from "@airlock/shared/env";
import { createLogger } from "@airlock/shared/logger";
import { createMetrics } from "@airlock/shared/metrics";
import { closeQueues, createQueues } from "@airlock/shared/queue-client";
import { createRedis } from "@airlock/shared/redis";
import { createScanner } from "@airlock/shared/scanner";
import { createStorage } from "@airlock/shared/storage";
import { startMetricsServer } from "./metrics-server.ts";
import { registry } from "./registry.ts";
import { startWorkers } from "./runtime.ts";
import { scheduleJobs } from "./schedules.ts";

const env = getEnv();
const log = createLogger({ name: "worker", level: env.LOG_LEVEL });
const db = getDb();
// BullMQ workers block on Redis and need maxRetriesPerRequest: null (they reconnect by themselves).
const redis = createRedis(env.REDIS_URL);
redis.on("error", (err) => log.warn({ err: err.message }, "redis error"));
const queues = createQueues(redis, env.REDIS_PREFIX, (err) => log.warn({ err: err.message }, "queue connection error"));
const storage = createStorage(env);
const scanner = createScanner(env);
if (env.SCANNER_PROVIDER === "mock") log.warn("SCANNER_PROVIDER=mock: files are checked for test patterns only; use clamav in production");
const metrics = createMetrics("worker", { db, queues });
const runtime = startWorkers({ env, db, redis, queues, log, storage, scanner, metrics }, registry);
const metricsServer = env.WORKER_METRICS_PORT ? await startMetricsServer(env, metrics) : undefined;
await scheduleJobs(queues);
await Promise.all(runtime.workers.map((w) => w.waitUntilReady()));
log.info({ queues: runtime.workers.map((w) => w.name) }, "worker ready");

/** Grace period for active jobs on SIGTERM; past it the process exits and BullMQ's stalled-job check retries them. */
const SHUTDOWN_GRACE_MS = 30_000;
let stopping = false;
async function shutdown(signal: string) {
  if (stopping) return;
  stopping = true;
  log.info({ signal }, "shutting down: finishing active jobs");
  const timer = setTimeout(() => {
    log.warn("active jobs did not finish in time; exiting, they will be retried");
    process.exit(1);
  }, SHUTDOWN_GRACE_MS);
  timer.unref();
  metricsServer?.close();
  await runtime.close();
  await closeQueues(queues);
  await scanner.close?.();
  await Promise.allSettled([db.$disconnect(), redis.quit()]);
  log.info("stopped");
  process.exit(0);
}
process.on("SIGTERM", () => void shutdown("SIGTERM"));
process.on("SIGINT", () => void shutdown("SIGINT"));
