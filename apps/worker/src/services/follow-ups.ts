import type { Asset } from "@airlock/db";
import { track } from "@airlock/shared/analytics";
import { publishEvent } from "@airlock/shared/events";
import type { WorkerContext } from "../context.ts";
import { requestAlertEvaluation } from "../processors/alerts.ts";
import { announce } from "./announce.ts";

/**
 * What follows the transaction that ends a scan (CLEAN, QUARANTINED, or FAILED for want of a verdict):
 * the analytics event and its counters, the live status, the notifications job, and per outcome the
 * thumbnail job or an alert evaluation. That transaction sets `followUpsPending`; it is cleared only once
 * all of this succeeded, so a worker that dies in between leaves the mark for the reconciler, which runs
 * this again. Every step is idempotent: the event row is unique per asset and type (its counters move
 * only when the row is new), jobs have ids, the live status may be published twice.
 *
 * `asset` is the row as the transaction left it; `engine` names the verdict's engine for the analytics.
 */
export async function runFollowUps(ctx: WorkerContext, asset: Asset, engine: string | null): Promise<void> {
  const base = { assetId: asset.id, userId: asset.ownerId, mime: asset.detectedMime ?? asset.declaredMime };
  const scanned = {
    ...base,
    type: "SCANNED",
    size: asset.size,
    durationMs: asset.scanDurationMs,
    engine,
    at: asset.scannedAt ?? undefined,
  } as const;
  const status = { type: "asset.status", assetId: asset.id, ownerId: asset.ownerId } as const;
  let announced = true;
  switch (asset.status) {
    case "CLEAN": {
      await track(ctx, scanned);
      await publishEvent(ctx.redis, ctx.env.REDIS_PREFIX, { ...status, status: "CLEAN", at: at(asset.scannedAt) });
      announced = await announce(ctx, "asset.clean", asset.id, { assetId: asset.id });
      if ((asset.detectedMime ?? "").startsWith("image/")) {
        await ctx.queues["asset-thumbnail"].add("thumbnail", { assetId: asset.id }, { jobId: asset.id });
      }
      break;
    }
    case "QUARANTINED": {
      const reason = asset.failureCode === "unscannable" ? "unscannable" : "infected";
      await track(ctx, scanned);
      await track(ctx, {
        ...base,
        type: "QUARANTINED",
        size: asset.size,
        reason: reason === "infected" ? asset.threats.join(", ") : "unscannable",
        at: asset.quarantinedAt ?? undefined,
      });
      await publishEvent(ctx.redis, ctx.env.REDIS_PREFIX, {
        ...status,
        status: "QUARANTINED",
        threats: asset.threats,
        at: at(asset.quarantinedAt),
      });
      announced = await announce(ctx, "asset.quarantined", asset.id, { assetId: asset.id, payload: { reason } });
      if (reason === "infected") await requestAlertEvaluation(ctx, "virus_detected");
      break;
    }
    case "FAILED": {
      const failureCode = asset.failureCode ?? "scan_unavailable";
      await track(ctx, { ...base, type: "FAILED", reason: failureCode, at: asset.updatedAt });
      await publishEvent(ctx.redis, ctx.env.REDIS_PREFIX, { ...status, status: "FAILED", failureCode, at: at(asset.updatedAt) });
      announced = await announce(ctx, "asset.failed", asset.id, { assetId: asset.id });
      break;
    }
    default:
      // Deleted (or anything else) since: nothing of the ending is news any more.
      break;
  }
  if (!announced) return; // keep the mark: the reconciler announces it when the queue is back
  await ctx.db.asset.updateMany({ where: { id: asset.id, followUpsPending: true }, data: { followUpsPending: false } });
}

function at(date: Date | null): string {
  return (date ?? new Date()).toISOString();
}
