import { queueScan } from "@airlock/shared/scan-queue";
import { enqueueDelivery } from "@airlock/shared/webhooks";
import type { WorkerContext } from "../context.ts";
import type { Registration } from "../registry.ts";
import { runFollowUps } from "../services/follow-ups.ts";
import { announceLeftOvers } from "../services/pending-announcements.ts";

const BATCH = 500;

/**
 * `upload-reconcile` (scheduled): re-queues the scan of assets stuck in UPLOADED or SCANNING — Redis
 * was down when they were confirmed, or a worker died past BullMQ's stalled-job limit — so no file
 * ever stays unscanned. Queuing is idempotent (jobId = assetId), so an asset whose job is merely
 * waiting is left alone. Scans that ended without their follow-ups (a worker killed right after the
 * verdict) get them, and webhook deliveries whose next attempt is long overdue get the same care, as do
 * cleanup runs and disabled webhook endpoints whose announcement never went out.
 */
export const reconcileRegistration: Registration<"upload-reconcile"> = {
  concurrency: () => 1,
  async process(_job, ctx) {
    const cutoff = new Date(Date.now() - ctx.env.RECONCILE_AFTER_SECONDS * 1000);
    let requeued = 0;
    let cursor: string | undefined;
    for (;;) {
      const stuck = await ctx.db.asset.findMany({
        where: {
          OR: [
            { status: "UPLOADED", confirmedAt: { lt: cutoff } },
            { status: "SCANNING", scanStartedAt: { lt: cutoff } },
          ],
          ...(cursor ? { id: { gt: cursor } } : {}),
        },
        select: { id: true },
        orderBy: { id: "asc" },
        take: BATCH,
      });
      for (const { id } of stuck) {
        if ((await queueScan(ctx.queues, ctx.env, id)) === "queued") requeued++;
      }
      if (stuck.length < BATCH) break;
      cursor = stuck.at(-1)?.id;
    }
    if (requeued > 0) ctx.log.warn({ requeued }, "re-queued scans of stuck assets");
    const followUps = await finishFollowUps(ctx, cutoff);
    if (followUps > 0) ctx.log.warn({ assets: followUps }, "finished the follow-ups of scans whose worker stopped after the verdict");
    const deliveries = await requeueOverdueDeliveries(ctx, cutoff);
    if (deliveries > 0) ctx.log.warn({ deliveries }, "re-queued overdue webhook deliveries");
    const announcements = await announceLeftOvers(ctx, cutoff);
    if (announcements > 0)
      ctx.log.warn({ announcements }, "announced cleanup runs and disabled webhooks a stopped worker left unannounced");
    return requeued + followUps + deliveries + announcements > 0 ? "success" : "skipped";
  },
};

/**
 * A scan whose ending committed (CLEAN, QUARANTINED or FAILED with `followUpsPending`) before `cutoff` but
 * whose follow-ups did not all run: the worker died in between, or the queue refused the announcement.
 * Runs them now (they are idempotent: services/follow-ups.ts). Returns how many assets were finished.
 */
export async function finishFollowUps(ctx: WorkerContext, cutoff: Date): Promise<number> {
  const pending = await ctx.db.asset.findMany({
    where: { followUpsPending: true, updatedAt: { lt: cutoff } },
    orderBy: { updatedAt: "asc" },
    take: BATCH,
  });
  let finished = 0;
  for (const asset of pending) {
    const verdict = await ctx.db.scanResult.findFirst({
      where: { assetId: asset.id },
      orderBy: { createdAt: "desc" },
      select: { engine: true },
    });
    try {
      await runFollowUps(ctx, asset, verdict?.engine ?? null);
      finished++;
    } catch (error) {
      ctx.log.warn({ assetId: asset.id, err: (error as Error).message }, "follow-ups of a finished scan failed again; next run retries");
    }
  }
  return finished;
}

/**
 * A PENDING delivery whose attempt was due before `cutoff` lost its job (Redis flushed, or down when
 * the attempt was queued). Its next job id is `{id}-{attempt + 1}`, so a job that is merely late is not
 * doubled: BullMQ ignores an add with an existing id.
 */
export async function requeueOverdueDeliveries(ctx: WorkerContext, cutoff: Date): Promise<number> {
  const overdue = await ctx.db.webhookDelivery.findMany({
    where: {
      status: "PENDING",
      OR: [{ nextAttemptAt: { lt: cutoff } }, { nextAttemptAt: null, createdAt: { lt: cutoff } }],
    },
    select: { id: true, attempt: true },
    orderBy: { createdAt: "asc" },
    take: BATCH,
  });
  for (const { id, attempt } of overdue) await enqueueDelivery(ctx.queues, id, attempt + 1);
  return overdue.length;
}
