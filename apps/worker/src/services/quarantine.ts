import type { Asset, Prisma } from "@airlock/db";
import { quarantineKey } from "@airlock/shared/storage";
import type { WorkerContext } from "../context.ts";
import { runFollowUps } from "./follow-ups.ts";

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
  const ended = {
    status: "QUARANTINED",
    threats: outcome.threats,
    failureCode: outcome.reason === "unscannable" ? "unscannable" : null,
    failureReason: outcome.reason === "unscannable" ? (outcome.detail ?? "the file could not be scanned") : null,
    quarantinedAt: now,
    scannedAt: now,
    scanDurationMs: outcome.scanDurationMs,
    sha256: outcome.sha256 ?? asset.sha256,
    followUpsPending: true,
  } as const;
  const moved = await ctx.db.$transaction(async (tx) => {
    const changed = await tx.asset.updateMany({ where: { id: asset.id, status: "SCANNING" }, data: ended });
    if (changed.count === 1) {
      await outcome.record?.(tx);
      // The security record commits with the quarantine: never lost to a crash, never written twice.
      await tx.securityEvent.create({
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
    }
    return changed;
  });
  if (moved.count === 0) return false;
  ctx.log.warn({ assetId: asset.id, threats: outcome.threats, reason: outcome.reason }, "file quarantined");
  await runFollowUps(ctx, { ...asset, ...ended, threats: [...outcome.threats], updatedAt: now }, outcome.engine);
  return true;
}
