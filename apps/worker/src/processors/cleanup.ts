import { runCleanup } from "@airlock/shared/cleanup";
import { publishEvent } from "@airlock/shared/events";
import type { Registration } from "../registry.ts";
import { announceCleanupRun } from "../services/pending-announcements.ts";
import { requestAlertEvaluation } from "./alerts.ts";

/** `upload-cleanup`: the hourly schedule and on-demand runs from the admin API. */
export const cleanupRegistration: Registration<"upload-cleanup"> = {
  concurrency: () => 1,
  async process(job, ctx) {
    const { env } = ctx;
    const report = await runCleanup(ctx, {
      dryRun: job.data.dryRun,
      trigger: job.data.trigger,
      categories: job.data.categories,
      olderThanHours: job.data.olderThanHours,
      announce: true,
      ages: {
        abandonedHours: env.CLEANUP_ABANDONED_HOURS,
        failedHours: env.CLEANUP_FAILED_HOURS,
        quarantinedHours: env.CLEANUP_QUARANTINED_HOURS,
      },
    });
    await job.updateProgress({ runId: report.runId });
    ctx.metrics.cleanupBytesFreed.inc(report.bytesFreed);
    ctx.metrics.cleanupFailures.inc(report.errors.length);
    ctx.metrics.cleanupRuns.inc({ result: report.errors.length ? "with_errors" : "ok" });
    await publishEvent(ctx.redis, env.REDIS_PREFIX, {
      type: "cleanup.completed",
      runId: report.runId,
      dryRun: report.dryRun,
      bytesFreed: report.bytesFreed,
      errors: report.errors.length,
      at: new Date().toISOString(),
    });
    await announceCleanupRun(ctx, {
      runId: report.runId,
      dryRun: report.dryRun,
      bytesFreed: report.bytesFreed,
      errors: report.errors.length,
      counts: report.counts,
    });
    if (report.errors.length) await requestAlertEvaluation(ctx, "cleanup_failures");
    const log = report.errors.length ? ctx.log.warn.bind(ctx.log) : ctx.log.info.bind(ctx.log);
    log(
      { runId: report.runId, counts: report.counts, bytesFreed: report.bytesFreed, errors: report.errors.length, ms: report.durationMs },
      "cleanup run finished",
    );
    return "success";
  },
};
