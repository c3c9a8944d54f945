import { createServer } from "node:net";
import { getDb } from "@airlock/shared/db";
import { getEnv, parseEnv } from "@airlock/shared/env";
import { createMetrics } from "@airlock/shared/metrics";
import { closeQueues, createQueues } from "@airlock/shared/queue-client";
import { createRedis } from "@airlock/shared/redis";
import parsePrometheusTextFormat from "parse-prometheus-text-format";
import { expect, it } from "vitest";
import { startMetricsServer } from "./metrics-server.ts";

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, "127.0.0.1", r));
  const { port } = probe.address() as { port: number };
  await new Promise((r) => probe.close(r));
  return port;
}

it("[WORKER][METRICS] serves scan and cleanup metrics, behind METRICS_TOKEN", async () => {
  const redis = createRedis(getEnv().REDIS_URL);
  const queues = createQueues(redis, getEnv().REDIS_PREFIX);
  const metrics = createMetrics("worker", { db: getDb(), queues });
  const env = parseEnv({ ...process.env, WORKER_METRICS_PORT: String(await freePort()), METRICS_TOKEN: "worker-scrape-token-456" });
  const server = await startMetricsServer(env, metrics);
  try {
    metrics.scanDuration.observe({ engine: "clamav", verdict: "clean" }, 0.2);
    metrics.cleanupBytesFreed.inc(1234);
    const url = `http://${env.HOST}:${env.WORKER_METRICS_PORT}`;
    expect((await fetch(`${url}/metrics`)).status).toBe(401);
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    const res = await fetch(`${url}/metrics`, { headers: { authorization: "Bearer worker-scrape-token-456" } });
    const families = parsePrometheusTextFormat(await res.text());
    const byName = new Map(families.map((f) => [f.name, f]));
    expect(byName.get("airlock_cleanup_bytes_freed_total")?.metrics[0]).toMatchObject({ value: "1234" });
    expect(byName.get("airlock_scan_duration_seconds")?.metrics[0]).toMatchObject({ buckets: { "0.1": "0", "0.25": "1", "+Inf": "1" } });
  } finally {
    server.close();
    await closeQueues(queues);
    redis.disconnect();
  }
});
