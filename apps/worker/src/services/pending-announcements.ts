import type { CleanupRun, WebhookEndpoint } from "@airlock/db";
import type { WorkerContext } from "../context.ts";
import { announce } from "./announce.ts";

const BATCH = 100;

/** What cleanup.completed says about a run. */
export interface CleanupSummary {
  runId: string;
  dryRun: boolean;
  bytesFreed: number;
  errors: number;
  counts: Record<string, { count: number; bytes: number }>;
}

/**
 * cleanup.completed for a finished run. runCleanup marked the run `announcePending` in the write that
 * finished it; the mark goes only once the notifications job is queued, so a worker that stops in between
 * leaves it for `announceLeftOvers`. Keyed by the run: announcing twice queues one job.
 */
export async function announceCleanupRun(ctx: WorkerContext, summary: CleanupSummary): Promise<boolean> {
  if (!(await announce(ctx, "cleanup.completed", summary.runId, { payload: { ...summary } }))) return false;
  await ctx.db.cleanupRun.updateMany({ where: { id: summary.runId, announcePending: true }, data: { announcePending: false } });
  return true;
}

/**
 * webhook.disabled for an endpoint switched off for failing, marked `announcePending` in the same write;
 * keyed by the moment it was disabled (a later disabling of the same endpoint is news again).
 */
export async function announceWebhookDisabled(
  ctx: WorkerContext,
  endpoint: Pick<WebhookEndpoint, "id" | "url" | "failureCount"> & { disabledAt: Date },
): Promise<boolean> {
  const payload = { endpointId: endpoint.id, url: endpoint.url, failures: endpoint.failureCount };
  if (!(await announce(ctx, "webhook.disabled", `${endpoint.id}-${endpoint.disabledAt.getTime()}`, { payload }))) return false;
  await ctx.db.webhookEndpoint.updateMany({
    where: { id: endpoint.id, disabledAt: endpoint.disabledAt, announcePending: true },
    data: { announcePending: false },
  });
  return true;
}

/**
 * For the reconciler: runs finished and endpoints disabled before `cutoff` whose announcement a stopped
 * worker (or a refusing queue) left pending. Returns how many were announced now.
 */
export async function announceLeftOvers(ctx: WorkerContext, cutoff: Date): Promise<number> {
  let announced = 0;
  const runs = await ctx.db.cleanupRun.findMany({
    where: { announcePending: true, finishedAt: { lt: cutoff } },
    orderBy: { finishedAt: "asc" },
    take: BATCH,
  });
  for (const run of runs) if (await announceCleanupRun(ctx, summaryOf(run))) announced++;
  const endpoints = await ctx.db.webhookEndpoint.findMany({
    where: { announcePending: true, disabledAt: { lt: cutoff } },
    orderBy: { disabledAt: "asc" },
    take: BATCH,
  });
  for (const endpoint of endpoints) {
    if (endpoint.disabledAt && (await announceWebhookDisabled(ctx, { ...endpoint, disabledAt: endpoint.disabledAt }))) announced++;
  }
  return announced;
}

/** The summary of a run as stored (its counts carry the dry run's sample too, which the announcement leaves out). */
function summaryOf(run: CleanupRun): CleanupSummary {
  const { sample: _sample, ...counts } = run.counts as Record<string, { count: number; bytes: number }> & { sample?: unknown };
  return {
    runId: run.id,
    dryRun: run.dryRun,
    bytesFreed: Number(run.bytesFreed),
    errors: Array.isArray(run.errors) ? run.errors.length : 0,
    counts,
  };
}
