import type { Server } from "node:http";
import { getDb } from "@airlock/shared/db";
import { getEnv } from "@airlock/shared/env";
import { createLogger } from "@airlock/shared/logger";
import { createMetrics } from "@airlock/shared/metrics";
import { closeQueues, createQueues } from "@airlock/shared/queue-client";
import { createRedis } from "@airlock/shared/redis";
import { createScanner } from "@airlock/shared/scanner";
import { createStorage, S3StorageDriver } from "@airlock/shared/storage";
import { LocalStorageDriver } from "@airlock/shared/storage/local";
import { serve } from "@hono/node-server";
import { createApp } from "./app.ts";
import { attachLiveEvents } from "./events/ws.ts";
import { applyServerTimeouts } from "./server-timeouts.ts";

const env = getEnv();
const log = createLogger({ name: "api", level: env.LOG_LEVEL });
const db = getDb();
// The API fails fast while Redis is down (clear 503s) instead of queueing commands forever.
const redis = createRedis(env.REDIS_URL, { maxRetriesPerRequest: 2 });
redis.on("error", (err) => log.warn({ err: err.message }, "redis error"));

const storage = createStorage(env);
// Temp files of uploads cut off by a crash or restart.
if (storage instanceof LocalStorageDriver) await storage.sweepTemp();
if (storage instanceof S3StorageDriver) await storage.ensureBucket([new URL(env.PUBLIC_URL).origin, ...env.CORS_ORIGINS]);
const queues = createQueues(redis, env.REDIS_PREFIX, (err) => log.warn({ err: err.message }, "queue connection error"));
const scanner = createScanner(env);
const deps = { env, db, redis, log, storage, queues, scanner, metrics: createMetrics("api", { db, queues }) };
const app = createApp(deps);
const server = serve({ fetch: app.fetch, hostname: env.HOST, port: env.PORT }, (info) => {
  log.info({ host: info.address, port: info.port }, `Airlock API listening on ${env.PUBLIC_URL}`);
}) as Server;
applyServerTimeouts(server, env);
// tRPC subscriptions over WebSocket on the same port (ws://host/trpc), fed by one Redis subscriber.
const live = attachLiveEvents(server, deps);

let stopping = false;
async function shutdown(signal: string) {
  if (stopping) return;
  stopping = true;
  log.info({ signal }, "shutting down");
  const timer = setTimeout(() => process.exit(1), 15_000);
  timer.unref();
  server.close();
  await live.close().catch(() => {});
  await closeQueues(queues).catch(() => {});
  await Promise.allSettled([db.$disconnect(), redis.quit()]);
  process.exit(0);
}
process.on("SIGTERM", () => void shutdown("SIGTERM"));
process.on("SIGINT", () => void shutdown("SIGINT"));
