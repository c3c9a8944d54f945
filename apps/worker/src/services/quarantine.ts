import type { Asset, Prisma } from "@airlock/db";
import { track } from "@airlock/shared/analytics";
import { publishEvent } from "@airlock/shared/events";
import { quarantineKey } from "@airlock/shared/storage";
import type { WorkerContext } from "../context.ts";
import { requestAlertEvaluation } from "../processors/alerts.ts";
import { announce } from "./announce.ts";

/**
 * Moves an infected or unscannable file out of the upload prefix (copy + delete, verified) into the
 * quarantine prefix, for which no URL is ever signed, then records why. Safe to repeat: a retry after
 * the move but before the database update finds the object already in quarantine.
 */
export async function quarantineAsset(
  ctx: WorkerContext,
  asset: Asset,
  outcome: {
    threats: string[];
    reason: "infected" | "unscannable";
    detail?: string;
    engine: string;
    sha256: string | null;
    scanDurationMs: number;
    /** Writes the verdict inside the transaction of the status change (only the worker that wins records). */
    record?: (db: Prisma.TransactionClient) => Promise<unknown>;
  },
): Promise<boolean> {
  const target = quarantineKey(asset.storageKey);
  const source = await ctx.storage.head(asset.storageKey);
  if (source) await ctx.storage.move(asset.storageKey, target);
  else if (!(await ctx.storage.head(target))) throw new Error(`object of asset ${asset.id} is neither in uploads nor in quarantine`);

  const now = new Date();
  const moved = await ctx.db.$transaction(async (tx) => {
    const changed = await tx.asset.updateMany({
      where: { id: asset.id, status: "SCANNING" },
      data: {
        status: "QUARANTINED",
        threats: outcome.threats,
        failureCode: outcome.reason === "unscannable" ? "unscannable" : null,
        failureReason: outcome.reason === "unscannable" ? (outcome.detail ?? "the file could not be scanned") : null,
        quarantinedAt: now,
        scannedAt: now,
        scanDurationMs: outcome.scanDurationMs,
        sha256: outcome.sha256 ?? asset.sha256,
      },
    });
    if (changed.count === 1) await outcome.record?.(tx);
    return changed;
  });
  if (moved.count === 0) return false;
  await ctx.db.securityEvent.create({
    data: {
      type: outcome.reason === "infected" ? "malware_detected" : "unscannable_file",
      severity: outcome.reason === "infected" ? "CRITICAL" : "WARNING",
      assetId: asset.id,
      userId: asset.ownerId,
      details: {
        threats: outcome.threats,
        engine: outcome.engine,
        sha256: outcome.sha256,
        filename: asset.originalName,
        detail: outcome.detail ?? null,
      },
    },
  });
  const base = { assetId: asset.id, userId: asset.ownerId, mime: asset.detectedMime ?? asset.declaredMime, size: asset.size };
  await track(ctx, { ...base, type: "SCANNED", durationMs: outcome.scanDurationMs, engine: outcome.engine });
  await track(ctx, {
    ...base,
    type: "QUARANTINED",
    reason: outcome.reason === "infected" ? outcome.threats.join(", ") : "unscannable",
  });
  await publishEvent(ctx.redis, ctx.env.REDIS_PREFIX, {
    type: "asset.status",
    assetId: asset.id,
    ownerId: asset.ownerId,
    status: "QUARANTINED",
    threats: outcome.threats,
    at: now.toISOString(),
  });
  await announce(ctx, "asset.quarantined", asset.id, { assetId: asset.id, payload: { reason: outcome.reason } });
  ctx.log.warn({ assetId: asset.id, threats: outcome.threats, reason: outcome.reason }, "file quarantined");
  if (outcome.reason === "infected") await requestAlertEvaluation(ctx, "virus_detected");
  return true;
}
