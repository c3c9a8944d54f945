import type { PrismaClient } from "@airlock/db";
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import type { Queues } from "./queue-client.ts";
import { queueNames } from "./queues.ts";

/**
 * Prometheus metrics of one process (API or worker), on its own registry. Counters count what this
 * process did; the gauges that describe shared state (queue depths, assets and bytes by status) are
 * read at scrape time, so every replica reports the same current values.
 */
export type Metrics = ReturnType<typeof createMetrics>;

const JOB_STATES = ["waiting", "active", "delayed", "completed", "failed", "prioritized", "waiting-children"] as const;

export function createMetrics(service: "api" | "worker", sources: { db: PrismaClient; queues: Queues }) {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry });
  const registers = [registry];

  const metrics = {
    registry,
    httpRequests: new Counter({
      name: "airlock_http_requests_total",
      help: "HTTP requests by route, method and status",
      labelNames: ["route", "method", "status"],
      registers,
    }),
    httpDuration: new Histogram({
      name: "airlock_http_request_duration_seconds",
      help: "HTTP request latency by route and method",
      labelNames: ["route", "method"],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    scanDuration: new Histogram({
      name: "airlock_scan_duration_seconds",
      help: "Time one engine took for one file, by engine and verdict",
      labelNames: ["engine", "verdict"],
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
      registers,
    }),
    scansTotal: new Counter({
      name: "airlock_scans_total",
      help: "Scan outcomes by verdict (clean, infected, unscannable, error)",
      labelNames: ["verdict"],
      registers,
    }),
    cleanupBytesFreed: new Counter({ name: "airlock_cleanup_bytes_freed_total", help: "Bytes freed by cleanup runs", registers }),
    cleanupRuns: new Counter({
      name: "airlock_cleanup_runs_total",
      help: "Cleanup runs by result (ok, with_errors)",
      labelNames: ["result"],
      registers,
    }),
    cleanupFailures: new Counter({ name: "airlock_cleanup_item_failures_total", help: "Items a cleanup run could not remove", registers }),
  };

  new Gauge({
    name: "airlock_queue_jobs",
    help: "Jobs per queue and state (BullMQ)",
    labelNames: ["queue", "state"],
    registers,
    async collect() {
      const counts = await Promise.all(
        queueNames.map(async (name) => [name, await sources.queues[name].getJobCounts(...JOB_STATES)] as const),
      );
      for (const [queue, byState] of counts) for (const [state, value] of Object.entries(byState)) this.set({ queue, state }, value);
    },
  });
  // One GROUP BY feeds both asset gauges: the registry collects all metrics at once, so the query
  // started by the first collect of a scrape is shared by the second.
  let inFlight: Promise<Array<{ status: string; count: number; bytes: number }>> | undefined;
  const assetsByStatus = async () => {
    inFlight ??= sources.db.$queryRaw<Array<{ status: string; count: bigint; bytes: bigint | null }>>`
      SELECT status::text AS status, count(*) AS count, sum(coalesce(size, 0)) AS bytes FROM "Asset" GROUP BY status`
      .then((rows) => rows.map((r) => ({ status: r.status, count: Number(r.count), bytes: Number(r.bytes ?? 0) })))
      .finally(() => {
        inFlight = undefined;
      });
    return inFlight;
  };
  for (const [name, help, field] of [
    ["airlock_assets", "Assets by status (uploads by outcome)", "count"],
    ["airlock_storage_bytes", "Bytes stored by asset status", "bytes"],
  ] as const) {
    new Gauge({
      name,
      help,
      labelNames: ["status"],
      registers,
      async collect() {
        const rows = await assetsByStatus();
        this.reset();
        for (const row of rows) this.set({ status: row.status }, row[field]);
      },
    });
  }
  return metrics;
}
