import type { Queues } from "@airlock/shared/queue-client";

/**
 * Repeating jobs. `upsertJobScheduler` keeps exactly one schedule per id however many workers start
 * (each start updates the same scheduler instead of adding a new one).
 */
export async function scheduleJobs(queues: Queues): Promise<void> {
  await queues["upload-reconcile"].upsertJobScheduler("reconcile-every-minute", { every: 60_000 }, { name: "reconcile", data: {} });
  await queues["alerts-evaluate"].upsertJobScheduler(
    "alerts-every-minute",
    { every: 60_000 },
    { name: "evaluate", data: { reason: "schedule" } },
  );
  await queues["upload-cleanup"].upsertJobScheduler(
    "cleanup-hourly",
    { pattern: "0 * * * *" },
    { name: "cleanup", data: { dryRun: false, trigger: "schedule" } },
  );
}
