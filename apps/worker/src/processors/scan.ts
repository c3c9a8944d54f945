import { type Asset, orNullIfNotFound, type Prisma } from "@airlock/db";
import { publishEvent } from "@airlock/shared/events";
import { resumeOf, type ScanMeta, type ScanVerdict } from "@airlock/shared/scanner";
import { DelayedError, UnrecoverableError } from "bullmq";
import type { WorkerContext } from "../context.ts";
import type { Registration } from "../registry.ts";
import { checkArchiveLimits } from "../services/archive-check.ts";
import { runFollowUps } from "../services/follow-ups.ts";
import { HashingStream } from "../services/hashing-stream.ts";
import { quarantineAsset } from "../services/quarantine.ts";
import { cacheVerdict, getCachedVerdict } from "../services/scan-cache.ts";
import { recordScanResults } from "../services/scan-results.ts";

/** An asynchronous engine still "pending" after this long counts as unavailable. */
const PENDING_LIMIT_MS = 60 * 60 * 1000;

/**
 * `asset-virus-scan`: UPLOADED → SCANNING → CLEAN | QUARANTINED | FAILED. Nothing becomes CLEAN without
 * a clean verdict; engine errors are retried with backoff and, once the attempts are spent, the asset
 * fails as `scan_unavailable` — never clean. A repeated job for a finished asset is a no-op.
 */
export const scanRegistration: Registration<"asset-virus-scan"> = {
  concurrency: (ctx) => ctx.env.SCAN_CONCURRENCY,
  async process(job, ctx, token) {
    const { assetId, pending } = job.data;
    const asset = await claim(ctx, assetId);
    if (!asset) return "skipped";
    const meta: ScanMeta = {
      assetId,
      size: Number(asset.size ?? asset.declaredSize),
      sha256: asset.sha256,
      filename: asset.safeName,
      mime: asset.detectedMime ?? asset.declaredMime,
    };

    const started = performance.now();
    const { verdict, sha256 } = await runScanner(ctx, asset, meta, pending?.ref).catch((error: unknown) => ({
      verdict: {
        kind: "error",
        engine: ctx.scanner.name,
        reason: (error as Error).message ?? String(error),
        retryable: true,
      } as ScanVerdict,
      sha256: asset.sha256,
    }));
    const engineMs = performance.now() - started;
    const scanDurationMs = Math.round(Date.now() - (asset.scanStartedAt ?? new Date()).getTime());

    switch (verdict.kind) {
      case "pending": {
        const since = pending?.since ?? Date.now();
        if (Date.now() - since > PENDING_LIMIT_MS) {
          await failScan(ctx, asset, `${verdict.engine} gave no verdict within ${PENDING_LIMIT_MS / 60000} minutes`);
          throw new UnrecoverableError("scan engine stayed pending too long");
        }
        // Ask again later without holding a worker slot: the job waits in the delayed set. An engine
        // that could not even take the file yet (its rate limit) wants the bytes again, not a poll.
        const next = resumeOf(verdict) === "scan" ? { assetId } : { assetId, pending: { ref: verdict.ref, since } };
        await job.updateData(next);
        await job.moveToDelayed(Date.now() + Math.max(1000, verdict.retryAfterMs), token);
        throw new DelayedError();
      }
      case "error": {
        await recordScanResults(ctx, asset, verdict, engineMs);
        const lastAttempt = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
        if (!verdict.retryable || lastAttempt) {
          await failScan(ctx, asset, verdict.reason);
          throw new UnrecoverableError(`scan unavailable: ${verdict.reason}`);
        }
        // The retry starts over with the bytes: a failed poll must not poison every later attempt.
        if (pending) await job.updateData({ assetId });
        throw new Error(`scan engine error (attempt ${job.attemptsMade + 1}): ${verdict.reason}`);
      }
      case "clean":
        await markClean(ctx, asset, { sha256, scanDurationMs, engine: verdict.engine }, (db) =>
          recordScanResults({ ...ctx, db }, asset, verdict, engineMs),
        );
        return "success";
      case "infected":
      case "unscannable":
        await quarantineAsset(ctx, asset, {
          record: (db) => recordScanResults({ ...ctx, db }, asset, verdict, engineMs),
          threats: verdict.kind === "infected" ? verdict.threats : [],
          reason: verdict.kind,
          detail: verdict.kind === "unscannable" ? verdict.reason : undefined,
          engine: verdict.engine,
          sha256,
          scanDurationMs,
        });
        return "success";
    }
  },
};

/**
 * UPLOADED → SCANNING (guarded), one UPDATE … RETURNING. A SCANNING asset is resumed (a crashed worker,
 * a pending engine) with one attempt more; any other state means the scan is over: null.
 */
async function claim(ctx: WorkerContext, assetId: string): Promise<Asset | null> {
  const claimed = await orNullIfNotFound(
    ctx.db.asset.update({
      where: { id: assetId, status: "UPLOADED" },
      data: { status: "SCANNING", scanStartedAt: new Date(), scanAttempts: { increment: 1 } },
    }),
  );
  if (!claimed) {
    return orNullIfNotFound(ctx.db.asset.update({ where: { id: assetId, status: "SCANNING" }, data: { scanAttempts: { increment: 1 } } }));
  }
  await publishEvent(ctx.redis, ctx.env.REDIS_PREFIX, {
    type: "asset.status",
    assetId,
    ownerId: claimed.ownerId,
    status: "SCANNING",
    at: new Date().toISOString(),
  });
  return claimed;
}

/**
 * Streams the object through the engine (never buffered whole), hashing it on the way; a verdict
 * for the same bytes and engine version comes from the cache instead. An archive past the limits
 * the engine scans in full is unscannable without asking it.
 */
async function runScanner(
  ctx: WorkerContext,
  asset: Asset,
  meta: ScanMeta,
  pendingRef: string | undefined,
): Promise<{ verdict: ScanVerdict; sha256: string | null }> {
  if (pendingRef && ctx.scanner.poll) return { verdict: await ctx.scanner.poll(pendingRef, meta), sha256: asset.sha256 };
  // Before the verdict cache too: a bomb an engine once answered OK for must not stay CLEAN by cache.
  const beyondLimits = await checkArchiveLimits(ctx, asset, meta);
  if (beyondLimits) return { verdict: beyondLimits, sha256: asset.sha256 };
  const version = await ctx.scanner.version();
  if (asset.sha256) {
    const cached = await getCachedVerdict(ctx.redis, ctx.env.REDIS_PREFIX, asset.sha256, version);
    if (cached) return { verdict: { ...cached, raw: { cached: true, version } }, sha256: asset.sha256 };
  }
  const source = await ctx.storage.read(asset.storageKey);
  const hashing = new HashingStream();
  source.on("error", (error) => hashing.destroy(error));
  source.pipe(hashing);
  try {
    const verdict = await ctx.scanner.scan(hashing, meta);
    // The engine may stop reading early (a match); only a fully read stream yields the file's hash.
    const sha256 = hashing.readableEnded && hashing.bytes === meta.size ? hashing.digest() : asset.sha256;
    if (sha256) await cacheVerdict(ctx.redis, ctx.env.REDIS_PREFIX, sha256, version, verdict);
    return { verdict, sha256 };
  } finally {
    source.destroy();
    hashing.destroy();
  }
}

/**
 * SCANNING → CLEAN and the verdict that justifies it, in one transaction: a worker that loses a race (the
 * job was handed to another after a lost lock) records nothing, and no CLEAN asset lacks its verdict.
 */
async function markClean(
  ctx: WorkerContext,
  asset: Asset,
  outcome: { sha256: string | null; scanDurationMs: number; engine: string },
  record: (db: Prisma.TransactionClient) => Promise<unknown>,
) {
  const now = new Date();
  const ended = {
    status: "CLEAN",
    scannedAt: now,
    scanDurationMs: outcome.scanDurationMs,
    sha256: outcome.sha256 ?? asset.sha256,
    followUpsPending: true,
  } as const;
  const moved = await ctx.db.$transaction(async (tx) => {
    const changed = await tx.asset.updateMany({ where: { id: asset.id, status: "SCANNING" }, data: ended });
    if (changed.count === 1) await record(tx);
    return changed;
  });
  if (moved.count === 0) return;
  await runFollowUps(ctx, { ...asset, ...ended, updatedAt: now }, outcome.engine);
}

/** SCANNING → FAILED `scan_unavailable`: fail closed, the file is never served. */
async function failScan(ctx: WorkerContext, asset: Asset, reason: string) {
  const ended = {
    status: "FAILED",
    failureCode: "scan_unavailable",
    failureReason: `no scanner verdict: ${reason}`.slice(0, 1000),
    followUpsPending: true,
  } as const;
  const moved = await ctx.db.asset.updateMany({ where: { id: asset.id, status: "SCANNING" }, data: ended });
  if (moved.count === 0) return;
  await runFollowUps(ctx, { ...asset, ...ended, updatedAt: new Date() }, null);
  ctx.log.error({ assetId: asset.id, reason }, "scan failed for good; the file stays unavailable");
}
